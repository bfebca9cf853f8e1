//! PostgreSQL's schema: the numbered steps in `migrations/`, and the record of those applied with
//! their checksums (`hookwatch_migrations`), applied and checked under a lock when a node starts.

use crate::domain::error::Result;
use crate::store::migrate::{self, Migration};
use deadpool_postgres::Pool;
use std::collections::BTreeMap;

/// The schema, step by step: `migrate::numbered` gives each its version.
pub(in crate::store) const MIGRATIONS: &[Migration] = &[
    Migration { name: "0001_schema", sql: include_str!("migrations/0001_schema.sql") },
    Migration { name: "0002_alerts", sql: include_str!("migrations/0002_alerts.sql") },
    Migration { name: "0003_subscription_version", sql: include_str!("migrations/0003_subscription_version.sql") },
    Migration { name: "0004_audit", sql: include_str!("migrations/0004_audit.sql") },
    Migration { name: "0005_replays", sql: include_str!("migrations/0005_replays.sql") },
    Migration {
        name: "0006_unfinished_by_lease_holder",
        sql: include_str!("migrations/0006_unfinished_by_lease_holder.sql"),
    },
    Migration { name: "0007_card_title", sql: include_str!("migrations/0007_card_title.sql") },
    Migration { name: "0008_attempt_replay", sql: include_str!("migrations/0008_attempt_replay.sql") },
    Migration { name: "0009_idempotency_keys", sql: include_str!("migrations/0009_idempotency_keys.sql") },
    Migration { name: "0010_event_trace_context", sql: include_str!("migrations/0010_event_trace_context.sql") },
];

/// Serialises migrations between nodes starting at once (any constant shared by all nodes).
const MIGRATION_LOCK: i64 = 0x686f_6f6b_7761_7463;

/// The record of applied steps. Before hookwatch kept checksums it held the version and time
/// alone: such rows gain their step's name and checksum at the next start.
const RECORD: &str = "SET LOCAL client_min_messages = warning;
    CREATE TABLE IF NOT EXISTS hookwatch_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL);
    ALTER TABLE hookwatch_migrations ADD COLUMN IF NOT EXISTS name TEXT, ADD COLUMN IF NOT EXISTS checksum TEXT";

/// Checks the steps the database applied against this binary's and applies the rest, in one
/// transaction that holds the migration lock.
pub(super) async fn migrate(pool: &Pool, database: &str) -> Result<()> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
    tx.batch_execute(RECORD).await?;
    let applied: i32 = tx.query_one("SELECT COALESCE(MAX(version), 0) FROM hookwatch_migrations", &[]).await?.get(0);
    let applied = i64::from(applied);
    let steps = migrate::pending(MIGRATIONS, applied, database)?;
    let recorded = tx
        .query("SELECT version, checksum FROM hookwatch_migrations WHERE checksum IS NOT NULL", &[])
        .await?
        .iter()
        .map(|r| Ok((i64::from(r.try_get::<_, i32>(0)?), r.try_get(1)?)))
        .collect::<Result<BTreeMap<i64, String>>>()?;
    let unrecorded = migrate::verify(MIGRATIONS, applied, &recorded, database)?;
    for (version, step) in unrecorded.into_iter().chain(steps) {
        if version > applied {
            tx.batch_execute(step.sql).await?;
            tracing::info!("PostgreSQL schema migrated to version {version}");
        }
        tx.execute(
            "INSERT INTO hookwatch_migrations (version, applied_at, name, checksum) VALUES ($1, $2, $3, $4)
             ON CONFLICT (version) DO UPDATE SET name = excluded.name, checksum = excluded.checksum",
            &[
                &i32::try_from(version).unwrap_or(i32::MAX),
                &crate::domain::model::now_ms(),
                &step.name,
                &step.checksum(),
            ],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}
