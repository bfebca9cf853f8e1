//! Options, layered with figment: defaults, then the config file (`--config`, TOML), then the
//! environment (`HOOKWATCH_<KEY>`), then the command line. Every option has a config key, an
//! environment variable and a flag (except `subscriptions`, a list of tables, file only, and the
//! tokens, never flags: a flag shows in `ps`).

use crate::dispatch::{BreakerConfig, RetrySchedule};
use crate::subscriptions::SubscriptionInput;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One layer of settings (the file, the environment or the flags); every key is optional.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<SocketAddr>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub db: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_private: Option<bool>,
    /// Networks deliveries may reach although they are not public, e.g. ["10.0.0.0/8"].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_networks: Option<Vec<String>>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub retry_schedule: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_body_bytes: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_backlog: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backlog_alert: Option<usize>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub retention: Option<String>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub disable_after: Option<String>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub idempotency_window: Option<String>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub dedupe_window: Option<String>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub header_timeout: Option<String>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub body_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections_per_address: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_db_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub breaker_threshold: Option<u32>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub breaker_cooldown: Option<String>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub breaker_max_cooldown: Option<String>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<String>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub ingest_token: Option<String>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub viewer_token: Option<String>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub metrics_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_actions: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_file: Option<PathBuf>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub node_id: Option<String>,
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub lease: Option<String>,
    /// The dashboard's colours: default, high-contrast or 16.
    #[serde(default, deserialize_with = "scalar_text", skip_serializing_if = "Option::is_none")]
    pub theme: Option<String>,
    /// The dashboard takes the mouse: the wheel scrolls, a click selects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mouse: Option<bool>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscriptions: Vec<SubscriptionInput>,
}

/// The dashboard's palettes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ThemeName {
    /// Soft 256-colour tones
    #[default]
    Default,
    /// Bright colours and bold states on the terminal's background
    HighContrast,
    /// The 16 basic ANSI colours, for terminals without 256
    #[value(name = "16")]
    Sixteen,
}

impl ThemeName {
    pub fn parse(text: &str) -> anyhow::Result<ThemeName> {
        use clap::ValueEnum;
        ThemeName::from_str(text.trim(), true)
            .map_err(|_| anyhow::anyhow!("theme = {text:?} is not a theme; use default, high-contrast or 16"))
    }
}

/// The keys `HOOKWATCH_<KEY>` may set (other `HOOKWATCH_` variables belong to other tools).
const ENV_KEYS: &[&str] = &[
    "listen",
    "db",
    "allow_private",
    "allow_networks",
    "retry_schedule",
    "max_body_bytes",
    "max_backlog",
    "backlog_alert",
    "retention",
    "disable_after",
    "idempotency_window",
    "dedupe_window",
    "header_timeout",
    "body_timeout",
    "max_connections",
    "max_connections_per_address",
    "max_db_bytes",
    "breaker_threshold",
    "breaker_cooldown",
    "breaker_max_cooldown",
    "admin_token",
    "ingest_token",
    "viewer_token",
    "metrics_token",
    "extra_actions",
    "log_file",
    "node_id",
    "lease",
    "theme",
    "mouse",
];

/// Text that the environment may give as another scalar: `HOOKWATCH_ADMIN_TOKEN=1234` is the
/// token "1234", not the number.
fn scalar_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Scalar {
        Text(String),
        Int(i64),
        Float(f64),
        Bool(bool),
    }
    Ok(Option::<Scalar>::deserialize(d)?.map(|v| match v {
        Scalar::Text(t) => t,
        Scalar::Int(n) => n.to_string(),
        Scalar::Float(f) => f.to_string(),
        Scalar::Bool(b) => b.to_string(),
    }))
}

impl Settings {
    /// The file, then the environment, then each of `flags` (later ones win), over the defaults.
    pub fn layered(file: Option<&Path>, flags: &[Settings]) -> anyhow::Result<Config> {
        use figment::Figment;
        use figment::providers::{Env, Format, Serialized, Toml};
        let mut figment = Figment::new();
        if let Some(path) = file {
            // figment skips a missing file; a file asked for must be there.
            std::fs::metadata(path)
                .map_err(|e| anyhow::anyhow!("cannot read the config file {}: {e}", path.display()))?;
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Env::prefixed("HOOKWATCH_").only(ENV_KEYS));
        for layer in flags {
            figment = figment.merge(Serialized::defaults(layer));
        }
        let settings: Settings = figment.extract().map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
        Config::from_settings(settings)
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
    /// An endpoint with this many deliveries waiting raises `backlog_high` (0: never).
    pub backlog_alert: usize,
    pub retention: Duration,
    pub disable_after: Duration,
    pub idempotency_window: Duration,
    /// A body ingested again without an Idempotency-Key within this time is a replay of the first
    /// (`None`: every body is a new event).
    pub dedupe_window: Option<Duration>,
    /// A client must send its request head within this time or the connection is closed.
    pub header_timeout: Duration,
    /// A client must send a request's whole body within this time of its head, or it is answered
    /// 408 and the connection closed.
    pub body_timeout: Duration,
    /// Connections served at once. Past 90% of it, a new connection closes the oldest one that
    /// is serving no request; at it, with none idle, new ones are closed at accept.
    pub max_connections: usize,
    /// Connections one client address may hold open at once (0: no limit, e.g. behind a proxy
    /// whose one address carries every client).
    pub max_connections_per_address: usize,
    /// Refuse new events (503) once the database reaches this size, before the disk fills. The
    /// search index's file beside it (`<db>-search`) grows with the events, to about a quarter of
    /// their size, and is not counted.
    pub max_db_bytes: Option<u64>,
    pub breaker: BreakerConfig,
    pub admin_token: Option<String>,
    pub ingest_token: Option<String>,
    /// Reads everything, changes nothing.
    pub viewer_token: Option<String>,
    /// When set, `/metrics` answers only to it (or the admin token); else it needs no token.
    pub metrics_token: Option<String>,
    pub extra_actions: Vec<String>,
    pub log_file: Option<PathBuf>,
    /// This node's name in a cluster; a node restarted under the same id takes its leases back at once.
    pub node_id: Option<String>,
    /// In a cluster, how long a silent node keeps its deliveries before the others take them over.
    pub lease: Duration,
    /// The dashboard's palette and whether it takes the mouse (`run`; the flags win).
    pub theme: ThemeName,
    pub mouse: bool,
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
            backlog_alert: 1000,
            retention: Duration::from_secs(7 * 86_400),
            disable_after: Duration::from_secs(5 * 86_400),
            idempotency_window: Duration::from_secs(86_400),
            dedupe_window: None,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 4096,
            max_connections_per_address: 512,
            max_db_bytes: None,
            breaker: BreakerConfig::default(),
            admin_token: None,
            ingest_token: None,
            viewer_token: None,
            metrics_token: None,
            extra_actions: Vec::new(),
            log_file: None,
            node_id: None,
            lease: Duration::from_secs(30),
            theme: ThemeName::Default,
            mouse: false,
            subscriptions: Vec::new(),
        }
    }
}

fn duration(key: &str, text: &str) -> anyhow::Result<Duration> {
    humantime::parse_duration(text.trim())
        .map_err(|e| anyhow::anyhow!("{key} = {text:?} is not a duration ({e}); write e.g. 30s, 10m, 7d"))
}

impl Config {
    /// Applies the layered settings on top of the defaults, checking each value.
    pub fn from_settings(file: Settings) -> anyhow::Result<Self> {
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
        if let Some(v) = file.backlog_alert {
            c.backlog_alert = v;
        }
        if let Some(v) = file.retention {
            c.retention = duration("retention", &v)?;
        }
        if let Some(v) = file.disable_after {
            c.disable_after = duration("disable_after", &v)?;
        }
        if let Some(v) = file.dedupe_window {
            let window = duration("dedupe_window", &v)?;
            c.dedupe_window = (!window.is_zero()).then_some(window);
        }
        if let Some(v) = file.idempotency_window {
            c.idempotency_window = duration("idempotency_window", &v)?;
        }
        if let Some(v) = file.header_timeout {
            c.header_timeout = duration("header_timeout", &v)?;
        }
        if let Some(v) = file.body_timeout {
            c.body_timeout = duration("body_timeout", &v)?;
            anyhow::ensure!(!c.body_timeout.is_zero(), "body_timeout must be longer than 0s, e.g. 10s");
        }
        if let Some(v) = file.max_connections {
            anyhow::ensure!(v >= 1, "max_connections must be at least 1 (4096 by default)");
            c.max_connections = v;
        }
        if let Some(v) = file.max_connections_per_address {
            c.max_connections_per_address = v;
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
        c.viewer_token = file.viewer_token;
        c.metrics_token = file.metrics_token.filter(|t| !t.trim().is_empty());
        c.extra_actions = file.extra_actions.unwrap_or_default();
        if let Some(reserved) =
            c.extra_actions.iter().find(|a| crate::catalog::is_operational(&a.trim().to_ascii_lowercase()))
        {
            anyhow::bail!("extra_actions: {reserved:?} is refused: hookwatch.* names are hookwatch's own alerts");
        }
        c.log_file = file.log_file;
        if let Some(v) = file.theme {
            c.theme = ThemeName::parse(&v)?;
        }
        c.mouse = file.mouse.unwrap_or(c.mouse);
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
        let file: Settings = toml::from_str(
            r#"listen = "0.0.0.0:9000"
               retry_schedule = "1s,2s"
               retention = "2d"
               allow_networks = ["10.0.0.0/8", "192.168.1.7"]
               theme = "high-contrast"
               mouse = true
               [[subscriptions]]
               name = "crm"
               url = "https://crm.example.com/hooks"
               actions = ["card.*"]"#,
        )
        .unwrap();
        let c = Config::from_settings(file).unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.retry_schedule.delays.len(), 2);
        assert_eq!(c.retention, Duration::from_secs(2 * 86_400));
        assert_eq!(c.allow_networks.len(), 2);
        assert_eq!(c.subscriptions.len(), 1);
        assert_eq!((c.theme, c.mouse), (ThemeName::HighContrast, true));
        let sixteen: Settings = toml::from_str("theme = 16").unwrap();
        assert_eq!(Config::from_settings(sixteen).unwrap().theme, ThemeName::Sixteen, "16 as a number too");
        let err = Config::from_settings(toml::from_str(r#"theme = "neon""#).unwrap()).unwrap_err().to_string();
        assert!(err.contains("default, high-contrast or 16"), "{err}");

        let bad: Settings = toml::from_str(r#"retention = "a week""#).unwrap();
        let err = Config::from_settings(bad).unwrap_err().to_string();
        assert!(err.contains("retention") && err.contains("7d"), "{err}");
        assert!(toml::from_str::<Settings>("lisen = 1").is_err(), "unknown keys are refused");
    }

    /// Defaults < file < environment < flags, and the environment's scalars read as text where
    /// text is expected.
    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail takes closures returning its own error type
    fn every_layer_overrides_the_one_below() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "hw.toml",
                "max_backlog = 10\nretry_schedule = \"1s\"\nretention = \"2d\"\nlease = \"5s\"\n",
            )?;
            jail.set_env("HOOKWATCH_MAX_BACKLOG", "20");
            jail.set_env("HOOKWATCH_RETRY_SCHEDULE", "2s,3s");
            jail.set_env("HOOKWATCH_ADMIN_TOKEN", "1234");
            jail.set_env("HOOKWATCH_TEST_PG", "another tool's variable");
            let flags = Settings { max_backlog: Some(30), ..Settings::default() };
            let c = Settings::layered(Some(Path::new("hw.toml")), &[flags]).expect("the layers resolve");
            assert_eq!(c.max_backlog, 30, "a flag beats the environment and the file");
            assert_eq!(c.retry_schedule.delays.len(), 2, "the environment beats the file");
            assert_eq!(c.retention, Duration::from_secs(2 * 86_400), "the file beats the default");
            assert_eq!(c.lease, Duration::from_secs(5));
            assert_eq!(c.admin_token.as_deref(), Some("1234"));
            assert_eq!(c.max_body_bytes, Config::default().max_body_bytes, "untouched keys keep the default");
            let missing = Settings::layered(Some(Path::new("nope.toml")), &[]).unwrap_err().to_string();
            assert!(missing.contains("cannot read the config file nope.toml"), "{missing}");
            Ok(())
        });
    }

    /// Every key the environment may set is a flag too (tokens excepted: a flag shows in `ps`).
    #[test]
    #[allow(clippy::result_large_err)] // as above
    fn every_option_has_a_flag_and_an_environment_variable() {
        use clap::Args;
        // The dashboard's own options are flags of the commands that show it.
        let command = crate::cli::CommonOptions::augment_args(clap::Command::new("hookwatch"));
        let command = crate::cli::ViewOptions::augment_args(command);
        let flags: Vec<String> =
            command.get_arguments().filter_map(|a| a.get_long()).map(|l| l.replace('-', "_")).collect();
        for key in ENV_KEYS.iter().filter(|k| !k.ends_with("_token")) {
            assert!(flags.iter().any(|f| f == key), "--{} is missing", key.replace('_', "-"));
        }
        // Every settings key is an environment key (a field added to `Settings` must be listed
        // here, no `..Default`, and then in `ENV_KEYS`), `subscriptions` excepted.
        let text = || Some(String::new());
        let every = Settings {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 1))),
            db: text(),
            allow_private: Some(true),
            allow_networks: Some(Vec::new()),
            retry_schedule: text(),
            max_body_bytes: Some(1),
            max_backlog: Some(1),
            backlog_alert: Some(1),
            retention: text(),
            disable_after: text(),
            idempotency_window: text(),
            dedupe_window: text(),
            header_timeout: text(),
            body_timeout: text(),
            max_connections: Some(1),
            max_connections_per_address: Some(1),
            max_db_bytes: Some(1),
            breaker_threshold: Some(1),
            breaker_cooldown: text(),
            breaker_max_cooldown: text(),
            admin_token: text(),
            ingest_token: text(),
            viewer_token: text(),
            metrics_token: text(),
            extra_actions: Some(Vec::new()),
            log_file: Some(PathBuf::new()),
            node_id: text(),
            lease: text(),
            theme: text(),
            mouse: Some(true),
            subscriptions: Vec::new(),
        };
        let fields = serde_json::to_value(&every).unwrap();
        let mut fields: Vec<&str> = fields.as_object().unwrap().keys().map(String::as_str).collect();
        let mut keys = ENV_KEYS.to_vec();
        fields.sort_unstable();
        keys.sort_unstable();
        assert_eq!(fields, keys, "every settings key is in ENV_KEYS");
        figment::Jail::expect_with(|jail| {
            for key in ENV_KEYS {
                jail.set_env(format!("HOOKWATCH_{}", key.to_uppercase()), "");
            }
            // Each variable reaches a key of its own (an unknown key would be refused).
            let figment = figment::Figment::new().merge(figment::providers::Env::prefixed("HOOKWATCH_").only(ENV_KEYS));
            let keys: Vec<String> =
                figment::Provider::data(&figment).unwrap().values().flat_map(|d| d.keys().cloned()).collect();
            assert_eq!(keys.len(), ENV_KEYS.len(), "{keys:?}");
            Ok(())
        });
    }
}
