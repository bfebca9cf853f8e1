//! Command-line options shared by the commands, merged over the config file.

use crate::config::{Config, FileConfig};
use crate::dispatch::RetrySchedule;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Args, Default)]
pub struct CommonOptions {
    /// Address the HTTP API listens on [config: listen] [default: 127.0.0.1:8430]
    #[arg(long, env = "HOOKWATCH_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// SQLite database file, or postgres://user@host/db for several nodes on one database
    /// [config: db] [default: hookwatch.db]
    #[arg(long, env = "HOOKWATCH_DB")]
    pub db: Option<String>,
    /// This node's id in a cluster [config: node_id] [default: the host name and a random tail]
    #[arg(long, env = "HOOKWATCH_NODE_ID")]
    pub node_id: Option<String>,
    /// Config file (TOML); every option has a key there
    #[arg(long, env = "HOOKWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Allow deliveries to loopback, private and link-local addresses [config: allow_private]
    #[arg(long)]
    pub allow_private: bool,
    /// Delays between attempts, e.g. 5s,5m,30m,2h,5h,10h,10h [config: retry_schedule]
    #[arg(long)]
    pub retry_schedule: Option<String>,
}

impl CommonOptions {
    /// Defaults, then the config file, then the environment and command line.
    pub fn resolve(&self) -> anyhow::Result<Config> {
        let file = match &self.config {
            Some(path) => FileConfig::load(path)?,
            None => FileConfig::default(),
        };
        let mut config = Config::from_file(file)?;
        if let Some(v) = self.listen {
            config.listen = v;
        }
        if let Some(v) = &self.db {
            config.db = v.clone();
        }
        if let Some(v) = &self.node_id {
            config.node_id = Some(crate::config::check_node_id(v)?);
        }
        if self.allow_private {
            config.allow_private = true;
        }
        if let Some(v) = &self.retry_schedule {
            config.retry_schedule = RetrySchedule::parse(v).map_err(anyhow::Error::msg)?;
        }
        if let Ok(t) = std::env::var("HOOKWATCH_ADMIN_TOKEN") {
            config.admin_token = Some(t);
        }
        if let Ok(t) = std::env::var("HOOKWATCH_INGEST_TOKEN") {
            config.ingest_token = Some(t);
        }
        Ok(config)
    }
}
