//! Independent replications run in parallel and collected in replication order, so whatever the
//! thread count, the sequential reduction that follows sees the same values in the same order.

use rayon::prelude::*;

#[derive(Debug, thiserror::Error)]
#[error("could not start {threads} worker threads: {message}")]
pub struct ThreadPoolError {
    pub threads: usize,
    pub message: String,
}

/// Runs `replicate(0..count)` on `threads` workers (all cores if `None`), results in index order.
pub fn run_replications<R, F>(
    count: u32,
    threads: Option<usize>,
    replicate: F,
) -> Result<Vec<R>, ThreadPoolError>
where
    R: Send,
    F: Fn(u32) -> R + Sync + Send,
{
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        builder = builder.num_threads(t);
    }
    let pool = builder.build().map_err(|e| ThreadPoolError {
        threads: threads.unwrap_or(0),
        message: e.to_string(),
    })?;
    Ok(pool.install(|| (0..count).into_par_iter().map(&replicate).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_for_any_thread_count() {
        let one = run_replications(50, Some(1), |i| i * i).unwrap();
        let two = run_replications(50, Some(2), |i| i * i).unwrap();
        assert_eq!(one, two);
        assert_eq!(one[7], 49);
    }
}
