//! hookwatch: a self-hosted webhook dispatcher with a live terminal dashboard.
//!
//! Data flows one way: `api` → `engine` (validate, `store`) → `dispatch` → `stats` / `feed`.

pub mod api;
pub mod bench;
pub mod catalog;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod dashboard;
pub mod demo;
pub mod dispatch;
pub mod engine;
pub mod error;
pub mod feed;
pub mod logging;
pub mod metrics;
pub mod model;
pub mod payload;
pub mod report;
pub mod secret;
pub mod server;
pub mod signals;
pub mod stats;
pub mod store;
pub mod subscriptions;
pub mod tokens;
