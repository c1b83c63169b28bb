//! A sweep as a Slurm job array, for real: four array tasks write their shards into one shared
//! directory, `faultline merge` combines them, and the result must be byte-identical to the
//! same sweep run locally.

mod common;

use common::{faultline, scratch_dir};
use std::path::Path;
use std::process::Command;

const SMALL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/small.toml");

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
#[ignore = "needs a running Slurm cluster: .ci/run starts a single-node one (.ci/slurm.sh) and runs this test with --ignored"]
fn a_slurm_job_array_sweep_merges_to_the_local_result() {
    assert!(
        std::env::var_os("SLURM_CONF").is_some(),
        "SLURM_CONF is not set: start a cluster with `.ci/slurm.sh up DIR` and source DIR/env"
    );
    let dir = scratch_dir("slurm");
    let local = dir.join("local");
    let shared = dir.join("shared");
    let sweep_args = [
        "sweep",
        SMALL,
        "--set",
        "backends.api.concurrency=1..3",
        "--set",
        "gateway.retry.max_attempts=1,3",
        "--threads",
        "1",
    ];
    let mut args = sweep_args.to_vec();
    args.extend(["--out", local.to_str().unwrap()]);
    let out = faultline(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The shard comes from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT: no --shard flag.
    let command = format!(
        "{} {} --out {}",
        env!("CARGO_BIN_EXE_faultline"),
        sweep_args
            .iter()
            .map(|a| format!("'{a}'"))
            .collect::<Vec<_>>()
            .join(" "),
        shared.display()
    );
    let job = Command::new("sbatch")
        .args([
            "--array=0-3",
            "--wait",
            "--job-name=faultline-sweep",
            &format!("--output={}/slurm-%A_%a.out", dir.display()),
            &format!("--chdir={}", dir.display()),
            "--wrap",
            &command,
        ])
        .output()
        .expect("sbatch runs");
    let logs: String = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.ok()?.path();
            let name = p.file_name()?.to_string_lossy().to_string();
            name.starts_with("slurm-").then(|| {
                format!(
                    "{name}:\n{}",
                    std::fs::read_to_string(&p).unwrap_or_default()
                )
            })
        })
        .collect();
    assert!(
        job.status.success(),
        "the job array failed: {}\n{}\n{logs}",
        String::from_utf8_lossy(&job.stdout),
        String::from_utf8_lossy(&job.stderr)
    );
    let shard_lines = logs.matches("shard ").count();
    assert!(shard_lines >= 4, "expected four shards to report:\n{logs}");

    let merged = faultline(&["merge", shared.to_str().unwrap()]);
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let (a, b) = (files(&local), files(&shared));
    let names = |f: &[(String, Vec<u8>)]| f.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&a), names(&b));
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(
            x == y,
            "{name} differs between the local and the Slurm sweep"
        );
    }
}
