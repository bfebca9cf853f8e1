//! The integration suite, one binary (the crate is linked once). Each module drives the real
//! library API or the real binary over loopback; `common` holds the shared fixtures.
//!
//! PostgreSQL parts run when `HOOKWATCH_TEST_PG` names a server (`.ci/run` starts one), and the
//! tests that need tmux, groff, promtool or the Python clients when they are installed; without
//! them a test says it was skipped (`common::skipped`), and under `CI` it fails the run.

mod common;

mod access;
mod architecture;
mod attach;
mod bench;
mod cluster;
mod contrib;
mod crash;
mod dashboard_views;
mod delivery;
mod errors;
mod hostile;
mod idempotency;
mod ingest;
mod observe;
mod openapi;
mod operational;
mod pagination;
mod pipefy;
mod remote_fuzz;
mod replays;
mod settings;
mod storage;
mod subscriptions;
mod tracing_otlp;
mod tui_e2e;
