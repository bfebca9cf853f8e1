//! hookwatch: a self-hosted webhook dispatcher with a live terminal dashboard.
//!
//! Data flows one way, a folder per stage: `api` → `validate` → `store` → `dispatch` → `observe`
//! (stats, metrics, feed) → `dashboard` / the SSE stream, all wired by `engine`. `domain` holds the
//! plain types they share; `tools` the commands beside the server.

pub mod api;
pub mod cli;
pub mod config;
pub mod dashboard;
pub(crate) mod dispatch;
pub mod domain;
pub mod engine;
pub mod logging;
pub mod observe;
pub mod store;
pub mod tools;
pub mod validate;
pub mod wire;
