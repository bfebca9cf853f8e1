//! PostgreSQL's retention: finished events received before a time go in bounded slices (their
//! deliveries and attempts with them), then the old alerts, audit entries and finished replays.

use crate::domain::error::Result;
use crate::domain::model::Millis;
use crate::store::{first_replay_id_at, query};
use deadpool_postgres::Pool;

pub(super) async fn prune(pool: &Pool, before: Millis) -> Result<u64> {
    let client = pool.get().await?;
    let sql = format!(
        "DELETE FROM events WHERE id IN (
            SELECT e.id FROM events e WHERE e.received_at < $1 AND NOT EXISTS (
                SELECT 1 FROM deliveries d WHERE d.event_id = e.id AND d.status IN ('pending', 'retrying'))
            LIMIT {})",
        query::PRUNE_SLICE
    );
    let pruned = query::in_slices(|| async { Ok(client.execute(&sql, &[&before]).await?) }).await?;
    client.execute(query::PRUNE_ALERTS, &[&before]).await?;
    client.execute(query::PRUNE_AUDIT, &[&before]).await?;
    client
        .execute(
            "DELETE FROM replays WHERE id < $1 AND (body::json ->> 'state') NOT IN ('running', 'held')",
            &[&first_replay_id_at(before)],
        )
        .await?;
    Ok(pruned)
}
