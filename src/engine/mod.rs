//! The engine: the one library API behind the HTTP server and the dashboard. It owns the
//! components of the flow and wires them; each part of its API lives in the file of its stage:
//! `ingest` (validate → store → lanes), `changes` (subscriptions, over the versioned `registry`),
//! `observe` (reads, redelivery, probes), `replays` (stored, paced bulk redelivery), `alerts`,
//! `idempotency` (the admin API's idempotency keys),
//! `membership` (this node in a cluster) and `background` (its own tasks).

mod alerts;
mod background;
mod changes;
pub(crate) mod cluster;
mod idempotency;
mod ingest;
mod membership;
mod observe;
mod registry;
mod replays;
pub mod report;

pub use idempotency::KeyedRequest;
pub(crate) use membership::{heartbeat_interval, silent_after};

use crate::config::Config;
use crate::dispatch::{self, Context, Dispatcher, SsrfGuard};
use crate::domain::catalog::Catalog;
use crate::observe::feed::Feed;
use crate::observe::traces::Traces;
use crate::store::{SharedStore, Store};
use alerts::{ALERT_LOG, AlertLog};
use membership::Membership;
use registry::Registry;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

pub struct Engine {
    config: Config,
    catalog: Catalog,
    store: Arc<dyn Store>,
    registry: Registry,
    dispatcher: Dispatcher,
    stats: Arc<crate::observe::stats::Stats>,
    feed: Feed,
    alerts: AlertLog,
    membership: Membership,
    traces: Arc<Traces>,
    replay_runs: replays::ReplayRuns,
    started: Instant,
    /// The last write probe: when, and what it found (`/readyz` probes at most once a second).
    readiness: tokio::sync::Mutex<Option<(Instant, Result<(), String>)>>,
}

impl Engine {
    /// Opens the store, resumes every unfinished delivery and starts the lanes.
    pub async fn start(config: Config) -> anyhow::Result<Arc<Engine>> {
        let membership = Membership::new(config.node_id.clone());
        let store =
            crate::store::open(&crate::store::Database::parse(&config.db), &membership.node_id, config.max_db_bytes)
                .await?;
        let guard = Arc::new(SsrfGuard {
            allow_private: config.allow_private,
            allowlist: config.allow_networks.iter().map(|n| n.0).collect(),
        });
        let stats = Arc::new(crate::observe::stats::Stats::default());
        let feed = Feed::default();
        let traces = Arc::new(match &config.otlp_endpoint {
            Some(endpoint) => Traces::export_to(endpoint, &config.otlp_service_name)?,
            None => Traces::off(),
        });
        let (control_tx, control_rx) = mpsc::unbounded_channel();
        let dispatcher = Dispatcher::new(Context {
            store: store.clone(),
            client: dispatch::client::build_client(&guard)?,
            guard,
            schedule: config.retry_schedule.clone(),
            breaker: dispatch::BreakerConfig {
                failure_threshold: config.breaker_threshold,
                first_cooldown: *config.breaker_cooldown,
                max_cooldown: *config.breaker_max_cooldown,
            },
            disable_after: *config.disable_after,
            stats: stats.clone(),
            feed: feed.clone(),
            control: control_tx,
            total_backlog: Default::default(),
            body_bytes: Default::default(),
            unrecorded: Arc::new(tokio::sync::Semaphore::new(dispatch::MAX_UNRECORDED)),
            traces: traces.clone(),
        });
        let version = store.subscriptions_version().await?;
        let registry = Registry::new(version, store.subscriptions().await?);
        let alerts = AlertLog::new(store.recent_alerts(u32::try_from(ALERT_LOG).unwrap_or(u32::MAX)).await?);
        let engine = Arc::new(Engine {
            catalog: Catalog::new(&config.extra_actions),
            config,
            store,
            registry,
            dispatcher,
            stats,
            feed,
            alerts,
            membership,
            traces,
            replay_runs: Default::default(),
            started: Instant::now(),
            readiness: tokio::sync::Mutex::new(None),
        });
        // Before any lane runs: an attempt made meanwhile would be both counted and read back.
        engine.seed_stats().await?;
        engine.apply_declared_subscriptions().await?;
        for sub in engine.subscriptions() {
            engine.dispatcher.upsert(sub);
        }
        // A single node resumes all unfinished work; a node of a cluster claims its share instead.
        if engine.store.shared().is_none() {
            let pending = engine.store.pending_deliveries().await?;
            if !pending.is_empty() {
                tracing::info!("resuming {} unfinished deliveries", pending.len());
            }
            engine.resume(pending);
        }
        engine.resume_replays().await?;
        tokio::spawn(background::handle_control(Arc::downgrade(&engine), control_rx));
        tokio::spawn(background::prune_periodically(Arc::downgrade(&engine)));
        tokio::spawn(background::watch_backlogs(Arc::downgrade(&engine)));
        tokio::spawn(background::index_payloads(Arc::downgrade(&engine)));
        Ok(engine)
    }

    /// Rebuilds the success-rate windows and the endpoints' history from the stored attempts of
    /// the last 24 h: by the second as far back as the seconds ring reaches, so that every window
    /// covers its span exactly as it did before the restart, by the minute before that.
    async fn seed_stats(&self) -> crate::domain::error::Result<()> {
        let now = crate::domain::model::now_ms();
        let by_second_from = (now - crate::observe::stats::SECONDS_KEPT_MS).div_euclid(60_000) * 60_000;
        for c in self.store.attempt_counts(now - 86_400_000, by_second_from).await? {
            let seeded = crate::observe::stats::Seeded {
                at: c.at,
                per_second: c.at >= by_second_from,
                attempts: c.attempts,
                successes: c.successes,
                status_code: c.status_code,
                error_kind: c.error_kind,
            };
            self.stats.seed(&c.subscription_id, seeded);
        }
        Ok(())
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn feed(&self) -> &Feed {
        &self.feed
    }

    /// This server's spans (flushed by the server's graceful stop).
    pub fn traces(&self) -> &Traces {
        &self.traces
    }

    pub(crate) fn shared_store(&self) -> Option<&dyn SharedStore> {
        self.store.shared()
    }

    pub fn uptime(&self) -> Duration {
        self.started.elapsed()
    }
}
