//! Every setting, declared once as a field of [`Config`]. figment fills it from four layers, each
//! over the one before: the defaults, the config file (`--config`, TOML), the environment, the
//! command line.
//!
//! A field's name is its key in the file, its variable (`HOOKWATCH_` and the name in capitals) and
//! its flag (`--` and the name with dashes); its doc comment is the flag's help, its
//! `default_value` the default (shown in `--help` too). `#[arg(skip)]` keeps a setting off the
//! command line: the tokens (a flag shows in `ps`), `subscriptions` (tables: the file only) and the
//! dashboard's `theme` and `mouse` (flags of the commands that show it, `cli::ViewOptions`). Every
//! value is read as the field's type reads text, whichever layer gives it; [`Config::check`] holds
//! the rules between a value and its neighbours or bounds. The values are plain: the engine makes
//! its own types of them.

use crate::domain::schedule::RetrySchedule;
use clap::ArgAction;
use clap::parser::ValueSource;
use figment::value::{Dict, Value};
use serde::{Deserialize, Deserializer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

/// The settings hookwatch runs with.
#[derive(Debug, Clone, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP API listens on
    #[arg(long, default_value = "127.0.0.1:8430")]
    pub listen: SocketAddr,
    /// SQLite database file, or postgres://user@host/db for several nodes on one database
    #[arg(long, default_value = "hookwatch.db")]
    #[serde(deserialize_with = "text")]
    pub db: String,
    /// This node's id in a cluster; a node restarted under the same id takes its leases back at
    /// once [default: the host name and a random tail]
    #[arg(long)]
    #[serde(default, deserialize_with = "optional_text")]
    pub node_id: Option<String>,
    /// Allow deliveries to loopback, private and link-local addresses
    #[arg(long)]
    pub allow_private: bool,
    /// Networks deliveries may reach although not public, e.g. 10.0.0.0/8 (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub allow_networks: Vec<Network>,
    /// Delays between attempts
    #[arg(long, default_value = "5s,5m,30m,2h,5h,10h,10h")]
    #[serde(deserialize_with = "text")]
    pub retry_schedule: RetrySchedule,
    /// Largest accepted event body in bytes
    #[arg(long, default_value = "262144")]
    pub max_body_bytes: usize,
    /// Queued deliveries past which ingest answers 503
    #[arg(long, default_value = "100000")]
    pub max_backlog: usize,
    /// Deliveries waiting for one endpoint that raise a backlog_high alert; 0 turns it off
    #[arg(long, default_value = "1000")]
    pub backlog_alert: usize,
    /// How often each endpoint's queue is compared with backlog_alert
    #[arg(long, default_value = "5s")]
    pub backlog_check: Period,
    /// How long finished events are kept
    #[arg(long, default_value = "7d")]
    pub retention: Period,
    /// A subscription that has only failed this long is disabled
    #[arg(long, default_value = "5d")]
    pub disable_after: Period,
    /// How long an Idempotency-Key is remembered
    #[arg(long, default_value = "24h")]
    pub idempotency_window: Period,
    /// Answer a body seen this recently, without an Idempotency-Key, as a replay of the first
    /// (Pipefy's redeliveries carry no key); 0s turns it off [default: off]
    #[arg(long)]
    pub dedupe_window: Option<Period>,
    /// Time a client has to send its request head
    #[arg(long, default_value = "10s")]
    pub header_timeout: Period,
    /// Time a client has to send a request's whole body after its head; slower is answered 408
    #[arg(long, default_value = "10s")]
    pub body_timeout: Period,
    /// Connections served at once; past 90% of it a new one closes the oldest idle one
    #[arg(long, default_value = "4096")]
    pub max_connections: usize,
    /// Connections one client address may hold at once; 0 for no limit (behind a proxy)
    #[arg(long, default_value = "512")]
    pub max_connections_per_address: usize,
    /// Database size past which ingest answers 503 (SQLite; the search index beside it, `<db>-search`, is not counted: about a quarter of the events' size) [default: none]
    #[arg(long)]
    pub max_db_bytes: Option<u64>,
    /// Consecutive failures that open an endpoint's breaker
    #[arg(long, default_value = "10")]
    pub breaker_threshold: u32,
    /// First breaker cooldown before a probe
    #[arg(long, default_value = "30s")]
    pub breaker_cooldown: Period,
    /// Longest breaker cooldown
    #[arg(long, default_value = "10m")]
    pub breaker_max_cooldown: Period,
    /// Actions accepted beside the catalog (comma-separated)
    #[arg(long, value_delimiter = ',')]
    pub extra_actions: Vec<String>,
    /// Where the dashboard's log goes [default: hookwatch.log beside the database]
    #[arg(long)]
    pub log_file: Option<PathBuf>,
    /// In a cluster, how long a silent node keeps its deliveries
    #[arg(long, default_value = "30s")]
    pub lease: Period,
    /// Export traces (a span per ingest and per delivery attempt) to this OTLP/HTTP traces URL,
    /// e.g. http://localhost:4318/v1/traces [default: off]
    #[arg(long)]
    #[serde(default, deserialize_with = "optional_text")]
    pub otlp_endpoint: Option<String>,
    /// The `service.name` the exported spans carry
    #[arg(long, default_value = "hookwatch")]
    #[serde(deserialize_with = "text")]
    pub otlp_service_name: String,
    #[arg(skip)]
    #[serde(default, deserialize_with = "optional_text")]
    pub admin_token: Option<String>,
    #[arg(skip)]
    #[serde(default, deserialize_with = "optional_text")]
    pub ingest_token: Option<String>,
    /// Reads everything, changes nothing.
    #[arg(skip)]
    #[serde(default, deserialize_with = "optional_text")]
    pub viewer_token: Option<String>,
    /// When set, `GET /metrics` takes it (or the admin token); otherwise `/metrics` is open.
    #[arg(skip)]
    #[serde(default, deserialize_with = "optional_text")]
    pub metrics_token: Option<String>,
    /// The dashboard's palette (`run`; its flag wins).
    #[arg(skip)]
    #[serde(default)]
    pub theme: ThemeName,
    /// The dashboard takes the mouse: the wheel scrolls, a click selects (`run`; its flag wins).
    #[arg(skip)]
    #[serde(default)]
    pub mouse: bool,
    /// Subscriptions created or updated at start, matched by name: the tables the API's
    /// `POST /v1/subscriptions` takes, which the engine reads as it reads those.
    #[arg(skip)]
    #[serde(default)]
    pub subscriptions: Vec<serde_json::Value>,
}

/// Settings whose value is a table, given in the file only.
const FILE_ONLY: &[&str] = &["subscriptions"];

impl Default for Config {
    /// Every setting at its declared default.
    fn default() -> Self {
        // The defaults are this file's own text; a test parses them.
        Config::extract(figment::Figment::from(defaults())).expect("the declared defaults are valid settings")
    }
}

impl Config {
    /// The defaults, the file, the environment, then each of `flags` (later ones win), checked.
    pub fn layered(file: Option<&Path>, flags: Vec<Dict>) -> anyhow::Result<Config> {
        use figment::providers::{Env, Format, Toml};
        let mut figment = figment::Figment::from(defaults());
        if let Some(path) = file {
            // figment skips a missing file; a file asked for must be there.
            std::fs::metadata(path)
                .map_err(|e| anyhow::anyhow!("cannot read the config file {}: {e}", path.display()))?;
            figment = figment.merge(Toml::file_exact(path));
        }
        // Only the settings' variables: other `HOOKWATCH_` variables belong to other tools.
        figment = figment.merge(Env::prefixed("HOOKWATCH_").only(&Config::env_keys()));
        for given in flags {
            figment = figment.merge(layer(given));
        }
        Config::extract(figment)
    }

    fn extract(figment: figment::Figment) -> anyhow::Result<Config> {
        let config: Config = figment.extract().map_err(|e| anyhow::anyhow!("invalid settings: {e}"))?;
        config.check()
    }

    /// The rules a value must keep beyond its type.
    fn check(mut self) -> anyhow::Result<Config> {
        anyhow::ensure!(self.max_body_bytes >= 1024, "max_body_bytes must be at least 1024");
        anyhow::ensure!(!self.body_timeout.is_zero(), "body_timeout must be longer than 0s, e.g. 10s");
        anyhow::ensure!(!self.backlog_check.is_zero(), "backlog_check must be longer than 0s, e.g. 5s");
        if let Some(bytes) = self.max_db_bytes {
            anyhow::ensure!(bytes >= 1 << 20, "max_db_bytes must be at least 1048576 (1 MiB)");
        }
        anyhow::ensure!(self.breaker_threshold >= 1, "breaker_threshold must be at least 1");
        anyhow::ensure!(*self.lease >= Duration::from_millis(500), "lease must be at least 500ms");
        if let Some(reserved) =
            self.extra_actions.iter().find(|a| crate::domain::catalog::is_operational(&a.trim().to_ascii_lowercase()))
        {
            anyhow::bail!("extra_actions: {reserved:?} is refused: hookwatch.* names are hookwatch's own alerts");
        }
        if let Some(id) = &self.node_id {
            check_node_id(id)?;
        }
        if let Some(endpoint) = &self.otlp_endpoint {
            check_otlp_endpoint(endpoint)?;
        }
        anyhow::ensure!(!self.otlp_service_name.trim().is_empty(), "otlp_service_name must not be empty");
        self.dedupe_window = self.dedupe_window.filter(|window| !window.is_zero());
        Ok(self)
    }

    /// Every setting's name, as serde reads the struct (the file's keys).
    pub(crate) fn keys() -> &'static [&'static str] {
        field_names::<Config>()
    }

    /// The settings the environment may give: all but the tables.
    fn env_keys() -> Vec<&'static str> {
        Config::keys().iter().copied().filter(|k| !FILE_ONLY.contains(k)).collect()
    }

    /// The flags' definitions (each setting not skipped).
    fn arguments() -> Vec<clap::Arg> {
        use clap::Args;
        // Built, as a parse builds them: a switch then has its default (false).
        let mut command = Config::augment_args(clap::Command::new("hookwatch"));
        command.build();
        command.get_arguments().cloned().collect()
    }
}

/// The defaults, as the flags declare them (a list without one is empty).
fn defaults() -> figment::providers::Serialized<Dict> {
    let mut values = Dict::new();
    for arg in Config::arguments() {
        let texts: Vec<_> = arg.get_default_values().iter().map(|v| v.to_string_lossy()).collect();
        if let Some(value) = read_values(&arg, texts) {
            values.insert(arg.get_id().to_string(), value);
        }
    }
    layer(values)
}

/// The flags given in `matches`, each as its text reads (as the environment's do).
pub(crate) fn given_flags(matches: &clap::ArgMatches) -> Dict {
    let mut values = Dict::new();
    for arg in Config::arguments() {
        let id = arg.get_id().as_str();
        if matches.value_source(id) != Some(ValueSource::CommandLine) {
            continue;
        }
        let texts: Vec<_> = matches.get_raw(id).into_iter().flatten().map(|v| v.to_string_lossy()).collect();
        if let Some(value) = read_values(&arg, texts) {
            values.insert(id.to_string(), value);
        }
    }
    values
}

/// One setting's value from its texts, each read as figment reads an environment variable (a
/// number is a number; the field reads it as its type reads text); `None` for no text.
fn read_values(arg: &clap::Arg, texts: Vec<std::borrow::Cow<'_, str>>) -> Option<Value> {
    let mut values = texts.iter().map(|t| t.parse::<Value>().unwrap_or_else(|never| match never {}));
    match arg.get_action() {
        ArgAction::Append => Some(Value::from(values.collect::<Vec<Value>>())),
        _ => values.next(),
    }
}

fn layer(values: Dict) -> figment::providers::Serialized<Dict> {
    figment::providers::Serialized::defaults(values)
}

/// The names of the fields `T` reads: serde's derive hands them to the deserializer.
fn field_names<T: Deserialize<'static>>() -> &'static [&'static str] {
    struct Names(&'static [&'static str]);
    impl<'de> Deserializer<'de> for &mut Names {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = fields;
            Err(serde::de::Error::custom("names read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option
            unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut names = Names(&[]);
    let _ = T::deserialize(&mut names);
    names.0
}

/// A scalar read as text: `HOOKWATCH_ADMIN_TOKEN=1234` is the token "1234", not the number.
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Scalar {
            Text(String),
            Int(i64),
            Float(f64),
            Bool(bool),
        }
        Ok(Text(match Scalar::deserialize(d)? {
            Scalar::Text(t) => t,
            Scalar::Int(n) => n.to_string(),
            Scalar::Float(f) => f.to_string(),
            Scalar::Bool(b) => b.to_string(),
        }))
    }
}

/// A value read from its text, as its flag reads it.
fn text<'de, D: Deserializer<'de>, T: FromStr<Err: std::fmt::Display>>(d: D) -> Result<T, D::Error> {
    T::from_str(&Text::deserialize(d)?.0).map_err(serde::de::Error::custom)
}

fn optional_text<'de, D: Deserializer<'de>, T: FromStr<Err: std::fmt::Display>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<Text>::deserialize(d)?.map(|t| T::from_str(&t.0).map_err(serde::de::Error::custom)).transpose()
}

/// A length of time, written as humantime reads it (30s, 10m, 7d; `ms` too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period(pub Duration);

impl FromStr for Period {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        humantime::parse_duration(text.trim())
            .map(Period)
            .map_err(|e| format!("{text:?} is not a duration ({e}); write e.g. 30s, 10m, 7d"))
    }
}

impl<'de> Deserialize<'de> for Period {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        text(d)
    }
}

impl std::ops::Deref for Period {
    type Target = Duration;
    fn deref(&self) -> &Duration {
        &self.0
    }
}

impl From<Duration> for Period {
    fn from(duration: Duration) -> Self {
        Period(duration)
    }
}

/// A network deliveries may reach although it is not public: a CIDR network or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network(pub ipnet::IpNet);

impl FromStr for Network {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        text.parse::<ipnet::IpNet>()
            .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
            .map(Network)
            .map_err(|_| format!("allow_networks entry {text:?} is not an address or CIDR network like 10.0.0.0/8"))
    }
}

impl<'de> Deserialize<'de> for Network {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        text(d)
    }
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

impl FromStr for ThemeName {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        <ThemeName as clap::ValueEnum>::from_str(text.trim(), true)
            .map_err(|_| format!("theme = {text:?} is not a theme; use default, high-contrast or 16"))
    }
}

impl<'de> Deserialize<'de> for ThemeName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        text(d)
    }
}

fn check_node_id(id: &str) -> anyhow::Result<()> {
    let ok = !id.is_empty() && id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || "-_.:".contains(c));
    anyhow::ensure!(ok, "node id {id:?} must be 1 to 64 letters, digits or - _ . :");
    Ok(())
}

/// An OTLP/HTTP endpoint: an http(s) URL to the collector's traces path.
fn check_otlp_endpoint(endpoint: &str) -> anyhow::Result<()> {
    let usable = url::Url::parse(endpoint).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host());
    anyhow::ensure!(
        usable,
        "otlp_endpoint {endpoint:?} is not an http(s) URL; give the collector's OTLP/HTTP traces URL, e.g. http://localhost:4318/v1/traces"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use figment::providers::{Format, Toml};

    fn from_file(text: &str) -> anyhow::Result<Config> {
        Config::extract(figment::Figment::from(defaults()).merge(Toml::string(text)))
    }

    #[test]
    fn the_declared_defaults_are_the_settings_without_a_layer() {
        let c = Config::default();
        assert_eq!(c.listen, SocketAddr::from(([127, 0, 0, 1], 8430)));
        assert_eq!((c.db.as_str(), c.max_body_bytes, c.max_backlog), ("hookwatch.db", 262_144, 100_000));
        assert_eq!(c.retry_schedule.delays.len(), 7);
        assert_eq!((*c.retention, *c.lease), (Duration::from_secs(7 * 86_400), Duration::from_secs(30)));
        assert_eq!((c.breaker_threshold, *c.breaker_max_cooldown), (10, Duration::from_secs(600)));
        assert_eq!((c.dedupe_window, c.max_db_bytes, c.node_id.as_deref()), (None, None, None));
        assert_eq!((c.otlp_endpoint.as_deref(), c.otlp_service_name.as_str()), (None, "hookwatch"), "traces off");
        assert!(!c.allow_private && c.allow_networks.is_empty() && c.extra_actions.is_empty() && !c.mouse);
        assert_eq!((c.theme, c.admin_token.as_deref(), c.subscriptions.len()), (ThemeName::Default, None, 0));
    }

    #[test]
    fn file_keys_override_defaults_and_bad_values_explain_themselves() {
        let c = from_file(
            r#"listen = "0.0.0.0:9000"
               retry_schedule = "1s,2s"
               retention = "2d"
               allow_networks = ["10.0.0.0/8", "192.168.1.7"]
               dedupe_window = "0s"
               theme = "high-contrast"
               mouse = true
               [[subscriptions]]
               name = "crm"
               url = "https://crm.example.com/hooks"
               actions = ["card.*"]"#,
        )
        .unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.retry_schedule.delays.len(), 2);
        assert_eq!(*c.retention, Duration::from_secs(2 * 86_400));
        assert_eq!(c.allow_networks[1].0.to_string(), "192.168.1.7/32", "one address is a network of one");
        assert_eq!(c.dedupe_window, None, "0s turns it off");
        assert_eq!(c.subscriptions[0]["actions"][0], "card.*");
        assert_eq!((c.theme, c.mouse), (ThemeName::HighContrast, true));
        assert_eq!(from_file("theme = 16").unwrap().theme, ThemeName::Sixteen, "16 as a number too");

        let refused = |text: &str| from_file(text).unwrap_err().to_string();
        for (text, says) in [
            (r#"theme = "neon""#, "default, high-contrast or 16"),
            (r#"retention = "a week""#, "\"a week\" is not a duration"),
            (r#"retry_schedule = "5s,soon""#, "write steps like 5s,5m,30m,2h"),
            (r#"allow_networks = ["intranet"]"#, "not an address or CIDR network"),
            ("max_body_bytes = 10", "max_body_bytes must be at least 1024"),
            (r#"body_timeout = "0s""#, "body_timeout must be longer than 0s"),
            ("max_db_bytes = 1000", "max_db_bytes must be at least 1048576"),
            ("breaker_threshold = 0", "breaker_threshold must be at least 1"),
            (r#"lease = "100ms""#, "lease must be at least 500ms"),
            (r#"extra_actions = ["hookwatch.breaker_opened"]"#, "hookwatch.* names are hookwatch's own"),
            (r#"node_id = "a b""#, "must be 1 to 64 letters"),
            (r#"otlp_endpoint = "localhost:4318""#, "is not an http(s) URL"),
            ("lisen = 1", "unknown field"),
        ] {
            let err = refused(text);
            assert!(err.contains(says), "{text}: {err}");
        }
        assert!(refused(r#"retention = "a week""#).contains("retention"), "the key is named");
    }

    /// Each setting is a file key and a variable `HOOKWATCH_<KEY>` (the tables excepted), read
    /// as text where text is expected; other tools' `HOOKWATCH_` variables are left alone.
    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail takes closures returning its own error type
    fn every_setting_is_a_variable_and_variables_read_as_text() {
        assert!(Config::keys().len() > 25 && Config::keys().contains(&"subscriptions"), "{:?}", Config::keys());
        assert!(!Config::env_keys().contains(&"subscriptions"));
        figment::Jail::expect_with(|jail| {
            for key in Config::env_keys() {
                jail.set_env(format!("HOOKWATCH_{}", key.to_uppercase()), "");
            }
            let env = figment::providers::Env::prefixed("HOOKWATCH_").only(&Config::env_keys());
            let read: Vec<String> =
                figment::Provider::data(&env).unwrap().values().flat_map(|d| d.keys().cloned()).collect();
            assert_eq!(read.len(), Config::env_keys().len(), "each variable reaches a key of its own: {read:?}");
            Ok(())
        });
        figment::Jail::expect_with(|jail| {
            jail.set_env("HOOKWATCH_ADMIN_TOKEN", "1234");
            jail.set_env("HOOKWATCH_DB", "5678");
            jail.set_env("HOOKWATCH_TEST_PG", "another tool's variable");
            let c = Config::layered(None, Vec::new()).expect("the environment resolves");
            assert_eq!((c.admin_token.as_deref(), c.db.as_str()), (Some("1234"), "5678"));
            let missing = Config::layered(Some(Path::new("nope.toml")), Vec::new()).unwrap_err().to_string();
            assert!(missing.contains("cannot read the config file nope.toml"), "{missing}");
            Ok(())
        });
    }

    /// docs/configuration.md shows every key.
    #[test]
    fn the_configuration_page_shows_every_setting() {
        let page = include_str!("../docs/configuration.md");
        for key in Config::keys() {
            let shown =
                page.lines().any(|l| l.starts_with(&format!("{key} = ")) || l.starts_with(&format!("[[{key}]]")));
            assert!(shown, "docs/configuration.md's example file lacks `{key} = …`");
        }
    }
}
