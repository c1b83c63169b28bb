//! Independent replications run in parallel and collected in replication order, so whatever the
//! thread count, the sequential reduction that follows sees the same values in the same order.

use rayon::prelude::*;

/// Why [`thread_pool`] could not start its workers.
#[derive(Debug, thiserror::Error)]
#[error("could not start {threads} worker threads: {message}")]
pub struct ThreadPoolError {
    /// The number of threads asked for (0 when the default, all cores, failed).
    pub threads: usize,
    /// What went wrong: the pool builder's error, or why the request was refused.
    pub message: String,
}

/// A worker pool of `threads` threads (all cores if `None`). Results never depend on its size;
/// one pool serves every run of a command (a sweep's points, a comparison's arms).
pub fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool, ThreadPoolError> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(t) = threads {
        if t == 0 {
            return Err(ThreadPoolError {
                threads: 0,
                message: "at least one thread is needed".to_string(),
            });
        }
        builder = builder.num_threads(t);
    }
    builder.build().map_err(|e| ThreadPoolError {
        threads: threads.unwrap_or(0),
        message: e.to_string(),
    })
}

/// Runs `replicate(0..count)` on the current rayon pool (inside [`rayon::ThreadPool::install`],
/// that pool), results in index order.
pub fn in_order<R, F>(count: u32, replicate: F) -> Vec<R>
where
    R: Send,
    F: Fn(u32) -> R + Sync + Send,
{
    (0..count).into_par_iter().map(&replicate).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_order_for_any_thread_count() {
        let run = |threads| {
            thread_pool(Some(threads))
                .unwrap()
                .install(|| in_order(50, |i| i * i))
        };
        let one = run(1);
        let two = run(2);
        assert_eq!(one, two);
        assert_eq!(one[7], 49);
        assert_eq!(one.len(), 50);
    }

    #[test]
    fn zero_threads_is_an_error() {
        assert_eq!(thread_pool(Some(0)).unwrap_err().threads, 0);
    }
}
