//! `hookwatch bench` end to end at a tiny size: every phase runs and reports, and the live phase
//! (hookwatch as a child process) delivers every event it acknowledged. No figure is judged here:
//! the benchmark measures, this checks that it measures.

use serde_json::Value;

#[test]
fn the_bench_runs_every_phase_and_the_live_phase_delivers_what_it_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hookwatch"))
        .args(["bench", "--json", "--duration", "1s", "--latency-duration", "1s", "--latency-rate", "200"])
        .args(["--frame-events", "500", "--memory-events", "1000", "--concurrency", "8"])
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the bench failed: {stderr}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap();
    assert!(stderr.contains("[6/6] live"), "{stderr}");
    let n = |key: &str| report[key].as_f64().unwrap_or_else(|| panic!("{key} in {report}"));
    assert!(n("live_events") > 0.0 && n("live_per_s") > 0.0, "{report}");
    assert_eq!(n("live_undelivered"), 0.0, "every acknowledged event was delivered: {report}");
    assert!(n("live_cpu_us_per_event") > 0.0, "the child's CPU was read: {report}");
    assert!(n("live_p99_ms") > 0.0 && n("live_ingest_p99_ms") > 0.0, "{report}");
    assert!((n("live_ratio") - n("live_per_s") / n("bare_ingest_per_s")).abs() < 1e-6, "{report}");
}
