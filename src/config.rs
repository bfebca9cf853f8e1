//! Options: defaults, then `hookwatch.toml`, then the command line (each option has a config key).

use crate::dispatch::{BreakerConfig, RetrySchedule};
use crate::subscriptions::SubscriptionInput;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The config file's shape. Every key is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<SocketAddr>,
    pub db: Option<String>,
    pub allow_private: Option<bool>,
    /// Networks deliveries may reach although they are not public, e.g. ["10.0.0.0/8"].
    pub allow_networks: Option<Vec<String>>,
    pub retry_schedule: Option<String>,
    pub max_body_bytes: Option<usize>,
    pub max_backlog: Option<usize>,
    pub retention: Option<String>,
    pub disable_after: Option<String>,
    pub idempotency_window: Option<String>,
    pub header_timeout: Option<String>,
    pub max_db_bytes: Option<u64>,
    pub breaker_threshold: Option<u32>,
    pub breaker_cooldown: Option<String>,
    pub breaker_max_cooldown: Option<String>,
    pub admin_token: Option<String>,
    pub ingest_token: Option<String>,
    pub extra_actions: Option<Vec<String>>,
    pub log_file: Option<PathBuf>,
    pub node_id: Option<String>,
    pub lease: Option<String>,
    #[serde(default)]
    pub subscriptions: Vec<SubscriptionInput>,
}

impl FileConfig {
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read the config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("the config file {} is invalid: {e}", path.display()))
    }
}

/// Resolved settings the engine runs with.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub db: String,
    pub allow_private: bool,
    pub allow_networks: Vec<ipnet::IpNet>,
    pub retry_schedule: RetrySchedule,
    pub max_body_bytes: usize,
    pub max_backlog: usize,
    pub retention: Duration,
    pub disable_after: Duration,
    pub idempotency_window: Duration,
    /// A client must send its request head within this time or the connection is closed.
    pub header_timeout: Duration,
    /// Refuse new events (503) once the database reaches this size, before the disk fills.
    pub max_db_bytes: Option<u64>,
    pub breaker: BreakerConfig,
    pub admin_token: Option<String>,
    pub ingest_token: Option<String>,
    pub extra_actions: Vec<String>,
    pub log_file: Option<PathBuf>,
    /// This node's name in a cluster; a node restarted under the same id takes its leases back at once.
    pub node_id: Option<String>,
    /// In a cluster, how long a silent node keeps its deliveries before the others take them over.
    pub lease: Duration,
    pub subscriptions: Vec<SubscriptionInput>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8430)),
            db: "hookwatch.db".into(),
            allow_private: false,
            allow_networks: Vec::new(),
            retry_schedule: RetrySchedule::default(),
            max_body_bytes: 256 * 1024,
            max_backlog: 100_000,
            retention: Duration::from_secs(7 * 86_400),
            disable_after: Duration::from_secs(5 * 86_400),
            idempotency_window: Duration::from_secs(86_400),
            header_timeout: Duration::from_secs(10),
            max_db_bytes: None,
            breaker: BreakerConfig::default(),
            admin_token: None,
            ingest_token: None,
            extra_actions: Vec::new(),
            log_file: None,
            node_id: None,
            lease: Duration::from_secs(30),
            subscriptions: Vec::new(),
        }
    }
}

fn duration(key: &str, text: &str) -> anyhow::Result<Duration> {
    humantime::parse_duration(text.trim())
        .map_err(|e| anyhow::anyhow!("{key} = {text:?} is not a duration ({e}); write e.g. 30s, 10m, 7d"))
}

impl Config {
    /// Applies a config file on top of the defaults.
    pub fn from_file(file: FileConfig) -> anyhow::Result<Self> {
        let mut c = Config::default();
        if let Some(v) = file.listen {
            c.listen = v;
        }
        if let Some(v) = file.db {
            c.db = v;
        }
        if let Some(v) = file.allow_private {
            c.allow_private = v;
        }
        if let Some(list) = file.allow_networks {
            c.allow_networks = list.iter().map(|n| parse_network(n)).collect::<anyhow::Result<_>>()?;
        }
        if let Some(v) = file.retry_schedule {
            c.retry_schedule = RetrySchedule::parse(&v).map_err(anyhow::Error::msg)?;
        }
        if let Some(v) = file.max_body_bytes {
            anyhow::ensure!(v >= 1024, "max_body_bytes must be at least 1024");
            c.max_body_bytes = v;
        }
        if let Some(v) = file.max_backlog {
            c.max_backlog = v;
        }
        if let Some(v) = file.retention {
            c.retention = duration("retention", &v)?;
        }
        if let Some(v) = file.disable_after {
            c.disable_after = duration("disable_after", &v)?;
        }
        if let Some(v) = file.idempotency_window {
            c.idempotency_window = duration("idempotency_window", &v)?;
        }
        if let Some(v) = file.header_timeout {
            c.header_timeout = duration("header_timeout", &v)?;
        }
        if let Some(v) = file.max_db_bytes {
            anyhow::ensure!(v >= 1 << 20, "max_db_bytes must be at least 1048576 (1 MiB)");
            c.max_db_bytes = Some(v);
        }
        if let Some(v) = file.breaker_threshold {
            anyhow::ensure!(v >= 1, "breaker_threshold must be at least 1");
            c.breaker.failure_threshold = v;
        }
        if let Some(v) = file.breaker_cooldown {
            c.breaker.first_cooldown = duration("breaker_cooldown", &v)?;
        }
        if let Some(v) = file.breaker_max_cooldown {
            c.breaker.max_cooldown = duration("breaker_max_cooldown", &v)?;
        }
        c.admin_token = file.admin_token;
        c.ingest_token = file.ingest_token;
        c.extra_actions = file.extra_actions.unwrap_or_default();
        c.log_file = file.log_file;
        if let Some(v) = file.lease {
            c.lease = duration("lease", &v)?;
            anyhow::ensure!(c.lease >= Duration::from_millis(500), "lease must be at least 500ms");
        }
        if let Some(id) = file.node_id {
            c.node_id = Some(check_node_id(&id)?);
        }
        c.subscriptions = file.subscriptions;
        Ok(c)
    }

    /// The database `db` names.
    pub fn database(&self) -> crate::store::Database {
        crate::store::Database::parse(&self.db)
    }
}

pub fn check_node_id(id: &str) -> anyhow::Result<String> {
    let ok = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    anyhow::ensure!(ok, "node id {id:?} must be 1 to 64 letters, digits or - _ . :");
    Ok(id.to_string())
}

pub fn parse_network(text: &str) -> anyhow::Result<ipnet::IpNet> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| anyhow::anyhow!("allow_networks entry {text:?} is not an address or CIDR network like 10.0.0.0/8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_keys_override_defaults_and_bad_values_explain_themselves() {
        let file: FileConfig = toml::from_str(
            r#"listen = "0.0.0.0:9000"
               retry_schedule = "1s,2s"
               retention = "2d"
               allow_networks = ["10.0.0.0/8", "192.168.1.7"]
               [[subscriptions]]
               name = "crm"
               url = "https://crm.example.com/hooks"
               actions = ["card.*"]"#,
        )
        .unwrap();
        let c = Config::from_file(file).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.retry_schedule.delays.len(), 2);
        assert_eq!(c.retention, Duration::from_secs(2 * 86_400));
        assert_eq!(c.allow_networks.len(), 2);
        assert_eq!(c.subscriptions.len(), 1);

        let bad: FileConfig = toml::from_str(r#"retention = "a week""#).unwrap();
        let err = Config::from_file(bad).unwrap_err().to_string();
        assert!(err.contains("retention") && err.contains("7d"), "{err}");
        assert!(toml::from_str::<FileConfig>("lisen = 1").is_err(), "unknown keys are refused");
    }
}
