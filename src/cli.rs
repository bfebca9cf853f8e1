//! Command-line options shared by the commands: the top layer of the settings (see `config`).

use crate::config::{Config, Settings, ThemeName};
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Every option is also a config-file key and an environment variable `HOOKWATCH_<KEY>`.
#[derive(Debug, Clone, Args, Default)]
pub struct CommonOptions {
    /// Config file (TOML); every option has a key there, and a variable HOOKWATCH_<KEY>
    #[arg(long, env = "HOOKWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address the HTTP API listens on [default: 127.0.0.1:8430]
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// SQLite database file, or postgres://user@host/db for several nodes on one database
    /// [default: hookwatch.db]
    #[arg(long)]
    pub db: Option<String>,
    /// This node's id in a cluster [default: the host name and a random tail]
    #[arg(long)]
    pub node_id: Option<String>,
    /// Allow deliveries to loopback, private and link-local addresses
    #[arg(long)]
    pub allow_private: bool,
    /// Networks deliveries may reach although not public, e.g. 10.0.0.0/8 (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub allow_networks: Vec<String>,
    /// Delays between attempts [default: 5s,5m,30m,2h,5h,10h,10h]
    #[arg(long)]
    pub retry_schedule: Option<String>,
    /// Largest accepted event body in bytes [default: 262144]
    #[arg(long)]
    pub max_body_bytes: Option<usize>,
    /// Queued deliveries past which ingest answers 503 [default: 100000]
    #[arg(long)]
    pub max_backlog: Option<usize>,
    /// Deliveries waiting for one endpoint that raise a backlog_high alert; 0 turns it off [default: 1000]
    #[arg(long)]
    pub backlog_alert: Option<usize>,
    /// How long finished events are kept [default: 7d]
    #[arg(long)]
    pub retention: Option<String>,
    /// A subscription that has only failed this long is disabled [default: 5d]
    #[arg(long)]
    pub disable_after: Option<String>,
    /// How long an Idempotency-Key is remembered [default: 24h]
    #[arg(long)]
    pub idempotency_window: Option<String>,
    /// Answer a body seen this recently, without an Idempotency-Key, as a replay of the first
    /// (Pipefy's redeliveries carry no key) [default: off]
    #[arg(long)]
    pub dedupe_window: Option<String>,
    /// Time a client has to send its request head [default: 10s]
    #[arg(long)]
    pub header_timeout: Option<String>,
    /// Time a client has to send a request's whole body after its head; slower is answered 408 [default: 10s]
    #[arg(long)]
    pub body_timeout: Option<String>,
    /// Connections served at once; past 90% of it a new one closes the oldest idle one [default: 4096]
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Connections one client address may hold at once; 0 for no limit (behind a proxy) [default: 512]
    #[arg(long)]
    pub max_connections_per_address: Option<usize>,
    /// Database size past which ingest answers 503 (SQLite; the search index beside it, `<db>-search`, is not counted: about a quarter of the events' size) [default: none]
    #[arg(long)]
    pub max_db_bytes: Option<u64>,
    /// Consecutive failures that open an endpoint's breaker [default: 10]
    #[arg(long)]
    pub breaker_threshold: Option<u32>,
    /// First breaker cooldown before a probe [default: 30s]
    #[arg(long)]
    pub breaker_cooldown: Option<String>,
    /// Longest breaker cooldown [default: 10m]
    #[arg(long)]
    pub breaker_max_cooldown: Option<String>,
    /// Actions accepted beside the catalog (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub extra_actions: Vec<String>,
    /// Where the dashboard's log goes [default: hookwatch.log beside the database]
    #[arg(long)]
    pub log_file: Option<PathBuf>,
    /// In a cluster, how long a silent node keeps its deliveries [default: 30s]
    #[arg(long)]
    pub lease: Option<String>,
}

impl CommonOptions {
    /// The settings the flags give (only those given).
    fn settings(&self) -> Settings {
        let list = |v: &Vec<String>| (!v.is_empty()).then(|| v.clone());
        Settings {
            listen: self.listen,
            db: self.db.clone(),
            node_id: self.node_id.clone(),
            allow_private: self.allow_private.then_some(true),
            allow_networks: list(&self.allow_networks),
            retry_schedule: self.retry_schedule.clone(),
            max_body_bytes: self.max_body_bytes,
            max_backlog: self.max_backlog,
            backlog_alert: self.backlog_alert,
            retention: self.retention.clone(),
            disable_after: self.disable_after.clone(),
            idempotency_window: self.idempotency_window.clone(),
            dedupe_window: self.dedupe_window.clone(),
            header_timeout: self.header_timeout.clone(),
            body_timeout: self.body_timeout.clone(),
            max_connections: self.max_connections,
            max_connections_per_address: self.max_connections_per_address,
            max_db_bytes: self.max_db_bytes,
            breaker_threshold: self.breaker_threshold,
            breaker_cooldown: self.breaker_cooldown.clone(),
            breaker_max_cooldown: self.breaker_max_cooldown.clone(),
            extra_actions: list(&self.extra_actions),
            log_file: self.log_file.clone(),
            lease: self.lease.clone(),
            ..Settings::default()
        }
    }

    /// Defaults, the config file, the environment, then each layer of flags (options given after
    /// the subcommand come last and win).
    pub fn resolve(layers: &[&CommonOptions]) -> anyhow::Result<Config> {
        let file = layers.iter().rev().find_map(|l| l.config.as_deref());
        let flags: Vec<Settings> = layers.iter().map(|l| l.settings()).collect();
        Settings::layered(file, &flags)
    }
}

/// The dashboard's options: on the commands that show it (and before any command), not on the
/// others' help.
#[derive(clap::Args, Clone, Copy, Default)]
pub struct ViewOptions {
    /// No colours (also when NO_COLOR is set); state stays visible through glyphs and bold
    #[arg(long)]
    pub no_color: bool,
    /// The palette (also HOOKWATCH_THEME, or `theme` in the config file of `run`) [default: default]
    #[arg(long, value_enum, env = "HOOKWATCH_THEME")]
    pub theme: Option<ThemeName>,
    /// Take the mouse: the wheel scrolls, a click selects, a click on the selected row opens it
    /// (text selection then needs Shift in most terminals)
    #[arg(long, env = "HOOKWATCH_MOUSE")]
    pub mouse: bool,
    /// Frames per second at most [default: 30]
    #[arg(long)]
    pub max_fps: Option<u32>,
    /// Offer only what changes nothing (attach with a viewer token is read-only anyway)
    #[arg(long)]
    pub read_only: bool,
}

impl ViewOptions {
    /// Given before the command (`self`) and after it (`after`, which wins).
    pub fn with(self, after: ViewOptions) -> ViewOptions {
        ViewOptions {
            no_color: self.no_color || after.no_color,
            theme: after.theme.or(self.theme),
            mouse: self.mouse || after.mouse,
            max_fps: after.max_fps.or(self.max_fps),
            read_only: self.read_only || after.read_only,
        }
    }
}
