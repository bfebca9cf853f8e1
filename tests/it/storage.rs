//! The storage suite: every behaviour of the `Store` interface, run against SQLite always and
//! against PostgreSQL when `HOOKWATCH_TEST_PG` names a server (`.ci/run` starts one).

use bytes::Bytes;
use hookwatch::domain::model::{Actor, Alert, AlertKind, AuditEntry, Replay, ReplayFilter, ReplayHold, ReplayState};
use hookwatch::domain::model::{DeliveryStatus, ErrorKind, Millis, Subscription, now_ms};
use hookwatch::domain::page::Window;
use hookwatch::domain::query::{EventQuery, StatusFilter};
use hookwatch::domain::trace::TraceContext;
use hookwatch::store::{AttemptRecord, IngestOutcome, NewEvent, NodeStatus, PostgresStore, Store};
use hookwatch::store::{KeyClaim, KeyHolder, StoredAnswer};
use std::sync::Arc;
use std::time::Duration;

/// Runs `scenario` against a fresh SQLite file and, when configured, a fresh PostgreSQL database.
macro_rules! both_stores {
    ($name:ident, $scenario:ident) => {
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let store = hookwatch::store::SqliteStore::open(&dir.path().join("t.db"), None).unwrap();
                super::$scenario(std::sync::Arc::new(store)).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(store) = super::pg_store("node-a").await else { return };
                super::$scenario(std::sync::Arc::new(store)).await;
            }
        }
    };
}

both_stores!(ingest_and_read_back, ingest_and_read_back);
both_stores!(idempotency_window, idempotency_window);
both_stores!(attempts_move_deliveries, attempts_move_deliveries);
both_stores!(queries_filter_and_page, queries_filter_and_page);
both_stores!(redelivery_starts_new_series, redelivery_starts_new_series);
both_stores!(deleting_a_subscription_cancels, deleting_a_subscription_cancels);
both_stores!(retention_keeps_unfinished, retention_keeps_unfinished);
both_stores!(subscriptions_round_trip, subscriptions_round_trip);
both_stores!(alerts_are_kept_and_pruned, alerts_are_kept_and_pruned);
both_stores!(subscription_changes_fence_ingest, subscription_changes_fence_ingest);
both_stores!(unfinished_deliveries_are_pending, unfinished_deliveries_are_pending);
both_stores!(changes_are_audited_in_their_transaction, changes_are_audited_in_their_transaction);
both_stores!(finished_replays_are_pruned, finished_replays_are_pruned);
both_stores!(lists_read_by_window, lists_read_by_window);
both_stores!(payloads_are_searched_by_word_and_field, payloads_are_searched_by_word_and_field);
both_stores!(idempotency_keys_are_claimed_once, idempotency_keys_are_claimed_once);

async fn pg_store(node: &str) -> Option<PostgresStore> {
    let url = crate::common::fresh_pg_database().await?;
    Some(PostgresStore::connect(&url, node.into()).await.expect("connect to PostgreSQL"))
}

fn event(id: &str, action: &str, at: Millis, subs: &[&str]) -> NewEvent {
    NewEvent {
        id: id.into(),
        action: action.into(),
        received_at: at,
        body: Bytes::from(format!(r#"{{"data":{{"action":"{action}","card":{{"id":"{id}"}}}}}}"#)),
        idempotency_key: None,
        card_id: Some(format!("card-{id}")),
        card_title: Some(format!("Card of {id}")),
        pipe_id: None,
        deliveries: subs.iter().map(|s| (format!("dlv_{id}_{s}").into(), (*s).into())).collect(),
        subscriptions_version: 0,
        trace: None,
    }
}

fn attempt(delivery: &str, sub: &str, at: Millis, status: Option<u16>, new_status: DeliveryStatus) -> AttemptRecord {
    let failed = status.is_none_or(|s| !(200..300).contains(&s));
    // Deliveries here are named `dlv_<event>_<subscription>` (see `event`).
    let event_id = delivery.strip_prefix("dlv_").and_then(|d| d.rsplit_once("_sub_")).map(|(e, _)| e).unwrap_or("");
    AttemptRecord {
        delivery_id: delivery.into(),
        event_id: event_id.into(),
        subscription_id: sub.into(),
        started_at: at,
        duration_ms: 12,
        status_code: status,
        error_kind: failed.then_some(if status.is_some() { ErrorKind::Status } else { ErrorKind::Connect }),
        error: failed.then(|| "it failed".to_string()),
        response_body: b"ok".to_vec(),
        response_truncated: false,
        request_headers: [("webhook-id".to_string(), delivery.to_string())].into(),
        next_retry_at: (new_status == DeliveryStatus::Retrying).then_some(at + 5000),
        new_status,
        attempts_in_series: 1,
        replay_id: None,
    }
}

/// The audit entry a change in these scenarios is made with.
fn change() -> AuditEntry {
    AuditEntry {
        at: now_ms(),
        actor: Actor::Admin,
        name: None,
        action: "test.change".into(),
        target: "x".into(),
        summary: "a test".into(),
        request_id: None,
    }
}

fn query(limit: u32) -> EventQuery {
    EventQuery { limit, ..EventQuery::default() }
}

async fn ingest_and_read_back(store: Arc<dyn Store>) {
    store.probe_write().await.expect("a store that commits is ready");
    let t = now_ms();
    let trace = TraceContext::read("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", &["congo=t61rcWkgMzE"]);
    assert!(trace.as_ref().is_some_and(|t| t.state.is_some()));
    assert_eq!(
        store
            .ingest(NewEvent { trace: trace.clone(), ..event("evt_1", "card.create", t, &["sub_a", "sub_b"]) }, 0)
            .await
            .unwrap(),
        IngestOutcome::Created
    );
    store.ingest(event("evt_2", "card.move", t + 1, &[]), 0).await.unwrap();
    assert_eq!(store.count_events().await.unwrap(), 2);
    let mut found = store.event_bodies(vec!["evt_missing".into(), "evt_2".into(), "evt_1".into()]).await.unwrap();
    found.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(
        found.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["evt_1", "evt_2"],
        "a missing event is left out"
    );
    let body = |i: usize| std::str::from_utf8(&found[i].body).unwrap().to_string();
    assert!(body(0).contains("card.create") && body(1).contains("card.move"), "each body with its id: {found:?}");
    assert_eq!((found[0].action.as_str(), found[1].action.as_str()), ("card.create", "card.move"));
    assert_eq!((&found[0].trace, &found[1].trace), (&trace, &None), "the trace context is kept");

    let listed = store.list_events(query(10)).await.unwrap();
    assert_eq!(listed.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["evt_2", "evt_1"], "newest first");
    let first = &listed[1];
    assert_eq!(first.card_id.as_deref(), Some("card-evt_1"));
    assert_eq!(first.card_title.as_deref(), Some("Card of evt_1"), "the title is kept beside the event");
    assert_eq!(first.deliveries.len(), 2);
    assert!(first.deliveries.iter().all(|d| d.status == DeliveryStatus::Pending && d.attempt_count == 0));

    let detail = store.event_detail(&"evt_1".into()).await.unwrap().unwrap();
    assert_eq!(detail.deliveries.len(), 2);
    assert_eq!(detail.card_title.as_deref(), Some("Card of evt_1"));
    assert!(detail.body.contains("evt_1"));
    assert!(store.event_detail(&"evt_missing".into()).await.unwrap().is_none());
}

async fn idempotency_window(store: Arc<dyn Store>) {
    let t = now_ms();
    let mut first = event("evt_1", "card.create", t, &["sub_a"]);
    first.idempotency_key = Some("key-1".into());
    store.ingest(first.clone(), t - 1000).await.unwrap();
    let mut again = event("evt_2", "card.create", t + 10, &["sub_a"]);
    again.idempotency_key = Some("key-1".into());
    let outcome = store.ingest(again.clone(), t - 1000).await.unwrap();
    let duplicate = |same_body| IngestOutcome::Duplicate {
        id: "evt_1".into(),
        action: "card.create".into(),
        deliveries: 1,
        same_body,
    };
    assert_eq!(outcome, duplicate(false), "another body under the same key");
    let mut same = again.clone();
    same.body = first.body.clone();
    assert_eq!(store.ingest(same, t - 1000).await.unwrap(), duplicate(true));
    assert_eq!(store.count_events().await.unwrap(), 1, "a duplicate writes nothing");
    // Outside the window the same key makes a new event.
    assert_eq!(store.ingest(again, t + 5).await.unwrap(), IngestOutcome::Created);
    assert_eq!(store.count_events().await.unwrap(), 2);
}

async fn attempts_move_deliveries(store: Arc<dyn Store>) {
    let t = now_ms();
    store.ingest(event("evt_1", "card.create", t, &["sub_a"]), 0).await.unwrap();
    store
        .record_attempt(attempt("dlv_evt_1_sub_a", "sub_a", t + 1, Some(500), DeliveryStatus::Retrying))
        .await
        .unwrap();
    let mut ok = attempt("dlv_evt_1_sub_a", "sub_a", t + 5001, Some(200), DeliveryStatus::Succeeded);
    ok.attempts_in_series = 2;
    ok.replay_id = Some("rpl_1".into());
    store.record_attempt(ok).await.unwrap();

    let detail = store.event_detail(&"evt_1".into()).await.unwrap().unwrap();
    let d = &detail.deliveries[0];
    assert_eq!(d.summary.status, DeliveryStatus::Succeeded);
    assert_eq!(d.summary.attempt_count, 2);
    assert_eq!(d.summary.last_status_code, Some(200));
    assert_eq!(d.attempts.len(), 2, "attempts are kept in order");
    assert_eq!(d.attempts[0].status_code, Some(500));
    assert_eq!(d.attempts[0].error_kind, Some(ErrorKind::Status));
    assert_eq!(d.attempts[0].next_retry_at, Some(t + 5001));
    assert_eq!(d.attempts[1].response_body, "ok");
    assert_eq!(d.attempts[1].request_headers.get("webhook-id").map(String::as_str), Some("dlv_evt_1_sub_a"));
    let replays: Vec<Option<&str>> = d.attempts.iter().map(|a| a.replay_id.as_deref()).collect();
    assert_eq!(replays, [None, Some("rpl_1")], "an attempt keeps the replay that sent it");

    // Counted back per second from a minute's start, per minute before it.
    let minute = |at: i64| at.div_euclid(60_000) * 60_000;
    let second = |at: i64| at.div_euclid(1000) * 1000;
    let counts = |by_second_from| {
        let store = store.clone();
        async move {
            let found = store.attempt_counts(t - 60_000, by_second_from).await.unwrap();
            found
                .into_iter()
                .map(|c| (c.subscription_id.to_string(), c.at, c.attempts, c.successes))
                .collect::<Vec<_>>()
        }
    };
    let by_second = counts(minute(t + 1)).await;
    assert_eq!(by_second, [("sub_a".to_string(), second(t + 1), 1, 0), ("sub_a".to_string(), second(t + 5001), 1, 1)]);
    let by_minute = counts(minute(t + 5001) + 60_000).await;
    assert!(by_minute.iter().all(|c| c.1 == minute(c.1)), "{by_minute:?}");
    let (attempts, successes) = by_minute.iter().fold((0, 0), |(a, s), c| (a + c.2, s + c.3));
    assert_eq!((attempts, successes), (2, 1));
}

async fn queries_filter_and_page(store: Arc<dyn Store>) {
    let t = now_ms();
    for i in 0..6 {
        let action = if i % 2 == 0 { "card.create" } else { "card.move" };
        let subs: &[&str] = if i < 3 { &["sub_a"] } else { &["sub_b"] };
        store.ingest(event(&format!("evt_{i}"), action, t + i, subs), 0).await.unwrap();
    }
    store.record_attempt(attempt("dlv_evt_4_sub_b", "sub_b", t + 10, None, DeliveryStatus::Dead)).await.unwrap();
    store
        .record_attempt(attempt("dlv_evt_1_sub_a", "sub_a", t + 10, Some(200), DeliveryStatus::Succeeded))
        .await
        .unwrap();

    let ids =
        |events: Vec<hookwatch::domain::model::EventSummary>| events.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let creates = store.list_events(EventQuery { action: Some("card.create".into()), ..query(10) }).await.unwrap();
    assert_eq!(ids(creates), ["evt_4", "evt_2", "evt_0"]);
    let of_b = store.list_events(EventQuery { subscription: Some("sub_b".into()), ..query(10) }).await.unwrap();
    assert_eq!(ids(of_b), ["evt_5", "evt_4", "evt_3"]);
    let failed = store.list_events(EventQuery { status: StatusFilter::parse("failed"), ..query(10) }).await.unwrap();
    assert_eq!(ids(failed), ["evt_4"]);
    let done = store.list_events(EventQuery { status: StatusFilter::parse("succeeded"), ..query(10) }).await.unwrap();
    assert_eq!(ids(done), ["evt_1"]);
    // Deliveries never attempted count as pending (SQLite keeps them in the event's fan-out list).
    let pending = store.list_events(EventQuery { status: StatusFilter::parse("pending"), ..query(10) }).await.unwrap();
    assert_eq!(ids(pending), ["evt_5", "evt_3", "evt_2", "evt_0"]);
    let pending_a =
        EventQuery { status: StatusFilter::parse("pending"), subscription: Some("sub_a".into()), ..query(10) };
    assert_eq!(ids(store.list_events(pending_a).await.unwrap()), ["evt_2", "evt_0"]);
    let by_card = store.list_events(EventQuery { card_id: Some("card-evt_3".into()), ..query(10) }).await.unwrap();
    assert_eq!(ids(by_card), ["evt_3"]);
    let page = store.list_events(EventQuery { before: Some("evt_3".into()), ..query(2) }).await.unwrap();
    assert_eq!(ids(page), ["evt_2", "evt_1"], "paging continues below the cursor");
}

async fn redelivery_starts_new_series(store: Arc<dyn Store>) {
    let t = now_ms();
    store.ingest(event("evt_1", "card.create", t, &["sub_a", "sub_b"]), 0).await.unwrap();
    let mut dead = attempt("dlv_evt_1_sub_a", "sub_a", t + 1, Some(500), DeliveryStatus::Dead);
    dead.attempts_in_series = 7;
    store.record_attempt(dead).await.unwrap();
    store
        .record_attempt(attempt("dlv_evt_1_sub_b", "sub_b", t + 2, Some(200), DeliveryStatus::Succeeded))
        .await
        .unwrap();

    // Only what failed, unless everything is asked for.
    let failed = store.requeue_event(&"evt_1".into(), None, true, t + 50, Some(&change())).await.unwrap();
    assert_eq!(failed.iter().map(|p| p.subscription_id.as_str()).collect::<Vec<_>>(), ["sub_a"]);
    assert!(
        store
            .requeue_event(&"evt_1".into(), Some(&"sub_c".into()), true, t + 50, Some(&change()))
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.requeue_event(&"evt_1".into(), None, false, t + 100, Some(&change())).await.unwrap();
    assert_eq!(again.len(), 2);
    assert!(again.iter().all(|p| p.attempts == 0 && p.next_attempt_at == t + 100));
    // To a subscription the event never went to: the delivery is created.
    let new =
        store.requeue_event(&"evt_1".into(), Some(&"sub_c".into()), false, t + 200, Some(&change())).await.unwrap();
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].subscription_id, "sub_c");
    let detail = store.event_detail(&"evt_1".into()).await.unwrap().unwrap();
    assert_eq!(detail.deliveries.len(), 3);
    let err = store.requeue_event(&"evt_missing".into(), None, false, t, Some(&change())).await.unwrap_err();
    assert!(err.to_string().contains("no event evt_missing"), "{err}");

    store.record_attempt(attempt("dlv_evt_1_sub_b", "sub_b", t + 300, None, DeliveryStatus::Dead)).await.unwrap();
    let recovered = store.requeue_failed(&"sub_b".into(), t - 1000, t + 400, &change()).await.unwrap();
    assert_eq!(recovered.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(), ["dlv_evt_1_sub_b"]);
    assert!(
        store.requeue_failed(&"sub_b".into(), t + 1000, t + 500, &change()).await.unwrap().is_empty(),
        "older than `since`"
    );
}

async fn deleting_a_subscription_cancels(store: Arc<dyn Store>) {
    let t = now_ms();
    store.ingest(event("evt_1", "card.create", t, &["sub_a", "sub_b"]), 0).await.unwrap();
    store.delete_subscription(&"sub_a".into(), &change()).await.unwrap();
    let detail = store.event_detail(&"evt_1".into()).await.unwrap().unwrap();
    let status =
        |sub: &str| detail.deliveries.iter().find(|d| d.summary.subscription_id == sub).unwrap().summary.status;
    assert_eq!(status("sub_a"), DeliveryStatus::Cancelled);
    assert_eq!(status("sub_b"), DeliveryStatus::Pending);
    // A late attempt record does not revive a cancelled delivery.
    store
        .record_attempt(attempt("dlv_evt_1_sub_a", "sub_a", t + 1, Some(200), DeliveryStatus::Succeeded))
        .await
        .unwrap();
    let detail = store.event_detail(&"evt_1".into()).await.unwrap().unwrap();
    assert_eq!(
        detail.deliveries.iter().find(|d| d.summary.subscription_id == "sub_a").unwrap().summary.status,
        DeliveryStatus::Cancelled
    );
}

async fn retention_keeps_unfinished(store: Arc<dyn Store>) {
    let t = now_ms();
    // Event ids begin with their time (ULIDs), as the engine makes them; retention relies on it.
    let id_at = |at: Millis, n: u128| format!("evt_{}", ulid::Ulid::from_parts(u64::try_from(at).unwrap(), n));
    let (old_done, old_open, new) = (id_at(t - 10_000, 1), id_at(t - 10_000, 2), id_at(t, 3));
    store.ingest(event(&old_done, "card.create", t - 10_000, &["sub_a"]), 0).await.unwrap();
    store.ingest(event(&old_open, "card.create", t - 10_000, &["sub_a"]), 0).await.unwrap();
    store.ingest(event(&new, "card.create", t, &["sub_a"]), 0).await.unwrap();
    store
        .record_attempt(attempt(&format!("dlv_{old_done}_sub_a"), "sub_a", t, Some(200), DeliveryStatus::Succeeded))
        .await
        .unwrap();
    assert_eq!(store.prune(t - 5000).await.unwrap(), 1);
    assert!(store.event_detail(&old_done.as_str().into()).await.unwrap().is_none());
    assert!(store.event_detail(&old_open.as_str().into()).await.unwrap().is_some(), "unfinished work is never pruned");
    assert!(store.event_detail(&new.as_str().into()).await.unwrap().is_some());
}

async fn subscriptions_round_trip(store: Arc<dyn Store>) {
    let input: hookwatch::wire::SubscriptionInput = serde_json::from_value(serde_json::json!({
        "name": "crm", "url": "https://crm.example.com/hooks", "actions": ["card.*"],
        "owner": {"kind": "pipe", "id": 301234}, "email": "ops@example.com"
    }))
    .unwrap();
    let catalog = hookwatch::domain::catalog::Catalog::new(&[]);
    let mut sub: Subscription = input.create(&catalog, now_ms()).unwrap();
    store.save_subscription(&sub, &change()).await.unwrap();
    sub.name = "crm-renamed".into();
    store.save_subscription(&sub, &change()).await.unwrap();
    assert_eq!(store.subscriptions().await.unwrap(), vec![sub.clone()]);
    store.delete_subscription(&sub.id, &change()).await.unwrap();
    assert!(store.subscriptions().await.unwrap().is_empty());
}

fn subscription(name: &str) -> Subscription {
    let input: hookwatch::wire::SubscriptionInput = serde_json::from_value(serde_json::json!({
        "name": name, "url": format!("https://{name}.example.com/hooks"), "actions": ["card.*"]
    }))
    .unwrap();
    input.create(&hookwatch::domain::catalog::Catalog::new(&[]), now_ms()).unwrap()
}

/// Every save and delete moves the subscriptions version, and an event matched against an older
/// version is refused without writing anything.
async fn subscription_changes_fence_ingest(store: Arc<dyn Store>) {
    let start = store.subscriptions_version().await.unwrap();
    let sub = subscription("fence");
    let created = store.save_subscription(&sub, &change()).await.unwrap();
    assert_eq!(created, start + 1);
    assert_eq!(store.subscriptions_version().await.unwrap(), created);
    let t = now_ms();
    let mut stale = event("evt_stale", "card.create", t, &[]);
    stale.subscriptions_version = start;
    assert_eq!(store.ingest(stale, 0).await.unwrap(), IngestOutcome::StaleSubscriptions);
    assert!(store.event_detail(&"evt_stale".into()).await.unwrap().is_none(), "a stale ingest writes nothing");
    let mut keyed = event("evt_keyed", "card.create", t, &[]);
    (keyed.subscriptions_version, keyed.idempotency_key) = (start, Some("k1".into()));
    assert_eq!(store.ingest(keyed, 0).await.unwrap(), IngestOutcome::StaleSubscriptions, "with a key too");
    let mut current = event("evt_current", "card.create", t, &[&sub.id]);
    current.subscriptions_version = created;
    assert_eq!(store.ingest(current, 0).await.unwrap(), IngestOutcome::Created);
    let deleted = store.delete_subscription(&sub.id, &change()).await.unwrap();
    assert_eq!(deleted, created + 1);
}

/// Two nodes on one database: a change answered on one fences the other's next ingest, and its
/// announcement reaches the other node.
#[tokio::test]
async fn postgres_a_change_on_one_node_fences_the_others_ingest() {
    let Some(url) = crate::common::fresh_pg_database().await else { return };
    let a = PostgresStore::connect(&url, "node-a".into()).await.unwrap();
    let b = PostgresStore::connect(&url, "node-b".into()).await.unwrap();
    let mut announced = b.shared().unwrap().subscription_changes();
    // The listener's first signal says it is listening.
    tokio::time::timeout(Duration::from_secs(5), announced.changed()).await.unwrap().unwrap();
    let seen_by_b = b.subscriptions_version().await.unwrap();
    let version = a.save_subscription(&subscription("on-a"), &change()).await.unwrap();
    assert_eq!(b.subscriptions_version().await.unwrap(), version, "one version for the cluster");
    let mut late = event("evt_b", "card.create", now_ms(), &[]);
    late.subscriptions_version = seen_by_b;
    assert_eq!(b.ingest(late, 0).await.unwrap(), IngestOutcome::StaleSubscriptions);
    tokio::time::timeout(Duration::from_secs(5), announced.changed())
        .await
        .expect("node b hears of node a's change")
        .unwrap();
}

fn alert(name: &str, at: Millis) -> Alert {
    Alert {
        kind: AlertKind::EndpointFailing,
        subscription_id: "sub_a".into(),
        subscription_name: name.into(),
        message: "3 failures in a row".into(),
        at,
    }
}

async fn alerts_are_kept_and_pruned(store: Arc<dyn Store>) {
    let t = now_ms();
    for (i, name) in ["first", "second", "third"].iter().enumerate() {
        store.save_alert(&alert(name, t - 10_000 + i64::try_from(i).unwrap() * 5000)).await.unwrap();
    }
    let newest: Vec<String> = store.recent_alerts(2).await.unwrap().into_iter().map(|a| a.subscription_name).collect();
    assert_eq!(newest, ["second", "third"], "the newest, oldest first");
    let kept = store.recent_alerts(10).await.unwrap();
    assert_eq!(kept[0].kind, AlertKind::EndpointFailing);
    assert_eq!(kept[0].at, t - 10_000);
    store.prune(t - 7_000).await.unwrap();
    assert_eq!(store.recent_alerts(10).await.unwrap().len(), 2, "retention applies to alerts too");
}

/// Every unfinished delivery, whichever state brought it there (never attempted, retrying,
/// redelivered), and nothing finished or cancelled: both stores give the same list, in the same
/// order. A single node resumes it at start; a node of a cluster claims its share instead.
async fn unfinished_deliveries_are_pending(store: Arc<dyn Store>) {
    let t = now_ms();
    store.ingest(event("evt_1", "card.create", t, &["sub_a", "sub_b", "sub_c"]), 0).await.unwrap();
    store.ingest(event("evt_2", "card.move", t + 1, &["sub_a"]), 0).await.unwrap();
    store.record_attempt(attempt("dlv_evt_1_sub_a", "sub_a", t, Some(200), DeliveryStatus::Succeeded)).await.unwrap();
    let mut retrying = attempt("dlv_evt_1_sub_b", "sub_b", t, Some(500), DeliveryStatus::Retrying);
    retrying.next_retry_at = Some(t + 60_000);
    store.record_attempt(retrying).await.unwrap();
    store.record_attempt(attempt("dlv_evt_2_sub_a", "sub_a", t, Some(410), DeliveryStatus::Dead)).await.unwrap();
    store.requeue_event(&"evt_2".into(), None, true, t + 5, Some(&change())).await.unwrap();
    store.delete_subscription(&"sub_c".into(), &change()).await.unwrap();
    let pending = store.pending_deliveries().await.unwrap();
    let listed: Vec<(&str, u32, Millis)> =
        pending.iter().map(|p| (p.id.as_str(), p.attempts, p.next_attempt_at)).collect();
    assert_eq!(listed, [("dlv_evt_1_sub_b", 1, t + 60_000), ("dlv_evt_2_sub_a", 0, t + 5)]);
}

fn status(address: &str) -> NodeStatus {
    NodeStatus { address: address.into(), started_at: now_ms(), in_flight: 0, backlog: 0 }
}

/// Leases on a shared PostgreSQL: a live node keeps what it ingested; when its heartbeat stops,
/// another node claims the work, and concurrent claims never take the same delivery twice.
#[tokio::test]
async fn postgres_leases_follow_heartbeats() {
    let Some(url) = crate::common::fresh_pg_database().await else { return };
    let a = PostgresStore::connect(&url, "node-a".into()).await.unwrap();
    let b = PostgresStore::connect(&url, "node-b".into()).await.unwrap();
    let c = PostgresStore::connect(&url, "node-c".into()).await.unwrap();
    let lease = Duration::from_millis(600);
    let (a_shared, b_shared, c_shared) = (a.shared().unwrap(), b.shared().unwrap(), c.shared().unwrap());
    a_shared.heartbeat(&status("10.0.0.1:8430")).await.unwrap();
    let t = now_ms();
    for i in 0..40 {
        a.ingest(event(&format!("evt_{i:02}"), "card.create", t, &["sub_a"]), 0).await.unwrap();
    }
    assert!(b_shared.claim(100, t, lease, false).await.unwrap().is_empty(), "node-a is alive and holds them");
    // One waits for a retry two minutes away: only then may another node take it over.
    let mut retrying = attempt("dlv_evt_00_sub_a", "sub_a", t, Some(500), DeliveryStatus::Retrying);
    retrying.next_retry_at = Some(now_ms() + 120_000);
    a.record_attempt(retrying).await.unwrap();

    let nodes = b_shared.nodes(lease, lease).await.unwrap();
    assert_eq!(nodes.len(), 1);
    assert_eq!((nodes[0].id.as_str(), nodes[0].address.as_str()), ("node-a", "10.0.0.1:8430"));
    assert_eq!((nodes[0].alive, nodes[0].backlog), (true, 0), "a live node's backlog is what it reports");

    tokio::time::sleep(lease + Duration::from_millis(300)).await;
    // Silent, node-a's backlog is what is still leased to it, not its last report.
    let nodes = b_shared.nodes(lease, lease).await.unwrap();
    assert_eq!((nodes[0].alive, nodes[0].backlog), (false, 40));
    let takeover_in = nodes[0].takeover_in_ms.unwrap();
    assert!((110_000..=120_000).contains(&takeover_in), "the last to be taken over is the retry: {takeover_in}");
    // Every claiming node heartbeats first (the cluster loop does): a lease needs a live holder.
    b_shared.heartbeat(&status("10.0.0.2:8430")).await.unwrap();
    c_shared.heartbeat(&status("10.0.0.3:8430")).await.unwrap();
    let (from_b, from_c) =
        tokio::join!(b_shared.claim(25, now_ms(), lease, false), c_shared.claim(25, now_ms(), lease, false));
    let (from_b, from_c) = (from_b.unwrap(), from_c.unwrap());
    assert_eq!(from_b.len() + from_c.len(), 39, "node-a's silence hands all its due work over");
    let mut ids: Vec<&str> = from_b.iter().chain(&from_c).map(|p| p.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 39, "no delivery is claimed twice");
    let nodes = b_shared.nodes(lease, lease).await.unwrap();
    let node_a = nodes.iter().find(|n| n.id == "node-a").unwrap();
    assert_eq!((node_a.alive, node_a.backlog), (false, 1), "node-a holds only the retry not yet due");

    // node-b is now the holder: node-c gets nothing while node-b's heartbeat is fresh.
    b_shared.heartbeat(&status("10.0.0.2:8430")).await.unwrap();
    c_shared.heartbeat(&status("10.0.0.3:8430")).await.unwrap();
    let claimed_by_b: Vec<_> = from_b.iter().map(|p| p.id.clone()).collect();
    let retaken = c_shared.claim(100, now_ms(), lease, false).await.unwrap();
    assert!(retaken.iter().all(|p| !claimed_by_b.contains(&p.id)), "a live node keeps its leases");
    // A node restarted under its own id takes its leases back at once.
    let back = b_shared.claim(100, now_ms(), lease, true).await.unwrap();
    assert_eq!(back.len(), claimed_by_b.len());

    // Finished deliveries are never claimed.
    for p in &back {
        b.record_attempt(attempt(&p.id, "sub_a", now_ms(), Some(200), DeliveryStatus::Succeeded)).await.unwrap();
    }
    tokio::time::sleep(lease + Duration::from_millis(300)).await;
    let rest = c_shared.claim(100, now_ms(), lease, false).await.unwrap();
    assert!(rest.iter().all(|p| !claimed_by_b.contains(&p.id)));
}

/// A lease held in the name of a node that is not listed (forgotten while its writes still went
/// through) is no live node's: the periodic pruning of the nodes list releases it to be claimed.
#[tokio::test]
async fn postgres_leases_of_unlisted_nodes_are_released() {
    let Some(url) = crate::common::fresh_pg_database().await else { return };
    let unlisted = PostgresStore::connect(&url, "node-x".into()).await.unwrap();
    let b = PostgresStore::connect(&url, "node-b".into()).await.unwrap();
    let lease = Duration::from_millis(600);
    let t = now_ms();
    for i in 0..3 {
        unlisted.ingest(event(&format!("evt_{i}"), "card.create", t, &["sub_a"]), 0).await.unwrap();
    }
    let b_shared = b.shared().unwrap();
    b_shared.heartbeat(&status("10.0.0.2:8430")).await.unwrap();
    assert!(b_shared.claim(100, now_ms(), lease, false).await.unwrap().is_empty(), "a claim seeks listed holders");
    b_shared.forget_nodes(Duration::from_secs(3600)).await.unwrap();
    let claimed = b_shared.claim(100, now_ms(), lease, false).await.unwrap();
    assert_eq!(claimed.len(), 3, "the unlisted node's leases were released");
}

/// Another node's events and attempts reach this node's activity cursor once settled, and the
/// cursor moves past this node's own rows too, so a tick never reads them again.
#[tokio::test]
async fn postgres_activity_shows_other_nodes_work() {
    let Some(url) = crate::common::fresh_pg_database().await else { return };
    let a = PostgresStore::connect(&url, "node-a".into()).await.unwrap();
    let b = PostgresStore::connect(&url, "node-b".into()).await.unwrap();
    let start = b.shared().unwrap().activity_start().await.unwrap();
    let t = now_ms();
    a.ingest(event("evt_1", "card.create", t, &["sub_a"]), 0).await.unwrap();
    a.record_attempt(attempt("dlv_evt_1_sub_a", "sub_a", t, Some(200), DeliveryStatus::Succeeded)).await.unwrap();
    b.ingest(event("evt_2", "card.create", t, &["sub_a"]), 0).await.unwrap();
    a.save_alert(&alert("from-a", t)).await.unwrap();
    b.save_alert(&alert("from-b", t)).await.unwrap();

    let settled = Duration::from_millis(200);
    let early = b.shared().unwrap().activity(start, Duration::from_secs(60)).await.unwrap();
    assert!(early.events.is_empty(), "rows are read only once settled");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let seen = b.shared().unwrap().activity(start, settled).await.unwrap();
    assert_eq!(seen.events.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ["evt_1"], "only other nodes' events");
    assert_eq!(seen.attempts.len(), 1);
    assert_eq!(seen.attempts[0].status, DeliveryStatus::Succeeded);
    assert_eq!(seen.alerts.iter().map(|a| a.subscription_name.as_str()).collect::<Vec<_>>(), ["from-a"]);
    let newest = b.shared().unwrap().activity_start().await.unwrap();
    assert_eq!(
        seen.cursor, newest,
        "the cursor reaches the newest settled rows, this node's own (evt_2, from-b) included"
    );
    let again = b.shared().unwrap().activity(seen.cursor, settled).await.unwrap();
    assert!(
        again.events.is_empty() && again.attempts.is_empty() && again.alerts.is_empty(),
        "the cursor moves past what was read"
    );
}

/// Every change keeps its audit entry in its own transaction: a change that fails keeps none. The
/// log reads newest first (with the name of the token that made each change) and retention
/// prunes it.
async fn changes_are_audited_in_their_transaction(store: Arc<dyn Store>) {
    let t = now_ms();
    let entry = |action: &str, at: Millis| AuditEntry {
        at,
        actor: Actor::Admin,
        name: Some("alice".into()),
        action: action.into(),
        target: "sub_x".into(),
        summary: format!("did {action}"),
        // Kept with the entry: the request a client reports is found in the audit log.
        request_id: Some(format!("req_{action}")),
    };
    store.ingest(event("evt_1", "card.create", t, &["sub_x"]), 0).await.unwrap();
    let sub = subscription("audited");
    store.save_subscription(&sub, &entry("subscription.create", t - 10_000)).await.unwrap();
    store.requeue_event(&"evt_1".into(), None, false, t, Some(&entry("event.redeliver", t - 5_000))).await.unwrap();
    let refused = store.requeue_event(&"evt_missing".into(), None, false, t, Some(&entry("event.lost", t))).await;
    assert!(refused.is_err());
    store.delete_subscription(&sub.id, &entry("subscription.delete", t)).await.unwrap();
    let log: Vec<AuditEntry> = audit_log(&store, Window::first(10)).await.into_iter().map(|(_, e)| e).collect();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["subscription.delete", "event.redeliver", "subscription.create"], "newest first");
    assert_eq!(log[0], entry("subscription.delete", t), "kept whole");
    assert_eq!(audit_log(&store, Window::first(1)).await.len(), 1);
    store.prune(t - 7_000).await.unwrap();
    let kept: Vec<String> = audit_log(&store, Window::first(10)).await.into_iter().map(|(_, e)| e.action).collect();
    assert_eq!(kept, ["subscription.delete", "event.redeliver"], "retention prunes the audit log");
}

async fn audit_log(store: &Arc<dyn Store>, window: Window<i64>) -> Vec<(i64, AuditEntry)> {
    store.audit_window(window).await.unwrap()
}

/// The audit log and the replays read a window at a time, by position (keyset), in either
/// direction of their order (newest first), nearest first.
async fn lists_read_by_window(store: Arc<dyn Store>) {
    let t = now_ms();
    for n in 0..5 {
        let entry = AuditEntry { action: format!("step.{n}"), at: t + n, ..change() };
        store.save_audit(&entry).await.unwrap();
        store.save_replay(&replay_at(t + n), None).await.unwrap();
    }
    let all = audit_log(&store, Window::first(10)).await;
    let actions = |page: &[(i64, AuditEntry)]| page.iter().map(|(_, e)| e.action.clone()).collect::<Vec<_>>();
    assert_eq!(actions(&all), ["step.4", "step.3", "step.2", "step.1", "step.0"]);
    let after = |at: usize, backward, take| Window { from: Some(all[at].0), backward, take };
    assert_eq!(actions(&audit_log(&store, after(1, false, 2)).await), ["step.2", "step.1"], "onwards: older");
    assert_eq!(
        actions(&audit_log(&store, after(3, true, 2)).await),
        ["step.2", "step.3"],
        "back: newer, nearest first"
    );
    assert!(audit_log(&store, after(0, true, 2)).await.is_empty(), "nothing is newer than the newest");

    let replays = store.replays_window(Window::first(10)).await.unwrap();
    let ids: Vec<String> = replays.iter().map(|r| r.id.to_string()).collect();
    assert_eq!(ids, store.replays().await.unwrap().iter().map(|r| r.id.clone()).collect::<Vec<_>>(), "newest first");
    let window = |at: usize, backward| Window { from: Some(ids[at].clone()), backward, take: 2 };
    let read = |w| {
        let store = store.clone();
        async move { store.replays_window(w).await.unwrap().into_iter().map(|r| r.id).collect::<Vec<_>>() }
    };
    assert_eq!(read(window(1, false)).await, [ids[2].clone(), ids[3].clone()]);
    assert_eq!(read(window(4, true)).await, [ids[3].clone(), ids[2].clone()]);
    assert!(read(window(4, false)).await.is_empty(), "nothing is older than the oldest");
}

/// A running replay created at `created`, with some progress.
fn replay_at(created: Millis) -> Replay {
    Replay {
        id: format!("rpl_{}", ulid::Ulid::from_parts(u64::try_from(created).unwrap(), 1)).into(),
        filter: ReplayFilter::default(),
        rate_per_s: 10,
        state: ReplayState::Running,
        total: 3,
        sent: 2,
        delivered: 1,
        failed: 1,
        skipped: 0,
        held: None,
        created_at: created,
        updated_at: created,
        cursor: None,
        node: "node-a".into(),
    }
}

/// Retention prunes replays that finished and were created before the cutoff; a running or held
/// one stays however old, since it resumes after a restart (with its counts and what it waits for).
async fn finished_replays_are_pruned(store: Arc<dyn Store>) {
    let t = now_ms();
    let replay = |created: Millis, state: ReplayState| Replay {
        state,
        held: (state == ReplayState::Held).then(|| ReplayHold {
            reason: "breaker open".into(),
            subscription_id: "sub_1".into(),
            subscription_name: "crm".into(),
            next_probe_at: Some(created + 30_000),
        }),
        ..replay_at(created)
    };
    let (old_done, old_running) = (replay(t - 60_000, ReplayState::Done), replay(t - 50_000, ReplayState::Running));
    let (old_cancelled, new_done) = (replay(t - 40_000, ReplayState::Cancelled), replay(t - 1_000, ReplayState::Done));
    let old_held = replay(t - 45_000, ReplayState::Held);
    for r in [&old_done, &old_running, &old_held, &old_cancelled, &new_done] {
        store.save_replay(r, None).await.unwrap();
    }
    store.prune(t - 10_000).await.unwrap();
    let kept = store.replays().await.unwrap();
    let ids: Vec<&str> = kept.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        [new_done.id.as_str(), old_held.id.as_str(), old_running.id.as_str()],
        "newest first; the finished old ones are gone"
    );
    assert_eq!(kept[1], old_held, "a held replay reads back whole");
}

/// Payload search: words anywhere in the body (whole, or their beginning; any case), and a JSON
/// field's text; with the other conditions, and pruned events are no longer found.
async fn payloads_are_searched_by_word_and_field(store: Arc<dyn Store>) {
    let t = now_ms();
    let card = |id: &str, title: &str, at: Millis| {
        let mut e = event(id, "card.move", at, &[]);
        e.body = Bytes::from(format!(
            r#"{{"data":{{"action":"card.move","card":{{"id":1,"title":"{title}"}},"moved_by":{{"name":"Ana Lima"}}}}}}"#
        ));
        e
    };
    store.ingest(card("evt_01", "Prospect: Acme Corp renewal", t - 20_000), 0).await.unwrap();
    store.ingest(card("evt_02", "Invoice for Globex", t), 0).await.unwrap();
    let mut other = event("evt_03", "user.role_set", t, &[]);
    other.body = Bytes::from_static(br#"{"data":{"action":"user.role_set","user":{"name":"Acme admin"}}}"#);
    store.ingest(other, 0).await.unwrap();
    // The index is filled off the ingest path (the engine runs this every half second).
    while store.index_payloads().await.unwrap().is_some_and(|n| n > 0) {}
    let found = |words: &[&str], fields: &[(&str, &str)], action: Option<&str>| {
        let q = EventQuery {
            words: words.iter().map(|w| w.to_string()).collect(),
            fields: fields.iter().map(|(p, v)| (p.to_string(), v.to_string())).collect(),
            action: action.map(str::to_string),
            limit: 10,
            ..EventQuery::default()
        };
        let store = store.clone();
        async move { store.list_events(q).await.unwrap().into_iter().map(|e| e.id.to_string()).collect::<Vec<_>>() }
    };
    assert_eq!(found(&["prospect"], &[], None).await, ["evt_01"], "a word of the title, any case");
    assert_eq!(found(&["Prosp"], &[], None).await, ["evt_01"], "the beginning of a word");
    assert_eq!(found(&["acme"], &[], None).await, ["evt_03", "evt_01"], "anywhere in the payload");
    assert_eq!(found(&["acme", "renewal"], &[], None).await, ["evt_01"], "every word");
    assert_eq!(found(&["acme"], &[], Some("card.move")).await, ["evt_01"], "with the other conditions");
    assert_eq!(found(&[], &[("data.card.title", "ACME")], None).await, ["evt_01"], "a field's text");
    assert!(found(&[], &[("data.moved_by.name", "acme")], None).await.is_empty(), "only in that field");
    assert!(found(&["nowhere"], &[], None).await.is_empty());
    assert_eq!(found(&["VT_02"], &[], None).await, ["evt_02"], "a piece of the event id");
    assert!(found(&[], &[("not a path", "x")], None).await.is_empty());
    for odd in ["pro\"spect", "*", "AND", "-", "NEAR(", "'", "%"] {
        assert!(found(&[odd], &[], None).await.len() <= 3, "{odd:?} is a word, not syntax");
    }
    store.prune(t - 10_000).await.unwrap();
    assert!(found(&["prospect"], &[], None).await.is_empty(), "a pruned event is no longer found");
    // A pruned event that was never indexed leaves the index intact.
    store.ingest(card("evt_004", "Initech onboarding", t - 20_000), 0).await.unwrap();
    store.prune(t - 10_000).await.unwrap();
    store.ingest(card("evt_05", "Initech renewal", t), 0).await.unwrap();
    while store.index_payloads().await.unwrap().is_some_and(|n| n > 0) {}
    assert_eq!(found(&["initech"], &[], None).await, ["evt_05"]);
    assert_eq!(found(&["acme"], &[], None).await, ["evt_03"]);
    // An event with a NUL stored before ingest refused them breaks no field search (PostgreSQL's
    // jsonb cannot hold one, so there it is left out of field matches; SQLite reads it).
    store.ingest(card("evt_06", "Initech \\u0000 legacy", t), 0).await.unwrap();
    while store.index_payloads().await.unwrap().is_some_and(|n| n > 0) {}
    let hits = found(&[], &[("data.card.title", "initech")], None).await;
    assert!(hits.contains(&"evt_05".to_string()), "{hits:?}");
}

/// A store's migrations as they are shipped, in order: `src/store/<store>/migrations/*.sql`.
fn migration_files(store: &str) -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store").join(store).join("migrations");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let name = |f: &std::path::Path| f.file_stem().unwrap().to_string_lossy().into_owned();
    files.iter().map(|f| (name(f), std::fs::read_to_string(f).unwrap())).collect()
}

/// A SQLite database migrated to the current schema before hookwatch recorded checksums (its
/// version in `user_version` alone) opens with its data, gains its steps' checksums, and opens again.
#[tokio::test]
async fn a_sqlite_database_migrated_before_checksums_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    let steps = migration_files("sqlite");
    let old = rusqlite::Connection::open(&path).unwrap();
    for (_, sql) in &steps {
        old.execute_batch(sql).unwrap();
    }
    old.execute_batch(&format!("PRAGMA user_version = {};", steps.len())).unwrap();
    old.execute("INSERT INTO events (id, action, received_at, body) VALUES ('evt_01JB0000000000000000000000', 'card.create', 1000, x'7b7d')", [])
        .unwrap();
    for _ in 0..2 {
        let store = hookwatch::store::SqliteStore::open(&path, None).expect("a database of the last layout opens");
        assert_eq!(store.count_events().await.unwrap(), 1);
    }
    let recorded: i64 = old
        .query_row("SELECT count(*) FROM hookwatch_migrations WHERE length(checksum) = 64", [], |r| r.get(0))
        .unwrap();
    assert_eq!(usize::try_from(recorded).unwrap(), steps.len(), "every applied step's checksum is recorded");
}

/// A SQLite database one of whose applied migrations is not this binary's is refused, saying which
/// and what to do.
#[tokio::test]
async fn a_sqlite_database_whose_migration_differs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    drop(hookwatch::store::SqliteStore::open(&path, None).unwrap());
    let db = rusqlite::Connection::open(&path).unwrap();
    db.execute("UPDATE hookwatch_migrations SET checksum = 'f00d' WHERE version = 3", []).unwrap();
    let Err(e) = hookwatch::store::SqliteStore::open(&path, None) else {
        panic!("a changed migration must be refused")
    };
    let message = e.to_string();
    assert!(
        message.contains("its migration 0003_events_open_by_flag was applied from other SQL than this hookwatch's"),
        "{message}"
    );
    assert!(message.contains("recorded checksum f00d"), "{message}");
    assert!(message.contains("Start the hookwatch that migrated it, or restore a backup"), "{message}");
}

/// A client of its own on a test database.
async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client
}

/// A PostgreSQL database migrated to the current schema before hookwatch recorded checksums (its
/// `hookwatch_migrations` holding versions and times alone) opens, gains the checksums, and opens again.
#[tokio::test]
async fn a_postgres_database_migrated_before_checksums_opens() {
    let Some(url) = crate::common::fresh_pg_database().await else { return };
    let client = pg_client(&url).await;
    let steps = migration_files("postgres");
    client
        .batch_execute("CREATE TABLE hookwatch_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)")
        .await
        .unwrap();
    for (version, (_, sql)) in (1i32..).zip(&steps) {
        client.batch_execute(sql).await.unwrap();
        client.execute("INSERT INTO hookwatch_migrations VALUES ($1, $2)", &[&version, &now_ms()]).await.unwrap();
    }
    for node in ["node-a", "node-b"] {
        PostgresStore::connect(&url, node.into()).await.expect("a database of the last layout opens");
    }
    let row = client
        .query_one("SELECT count(*), count(*) FILTER (WHERE length(checksum) = 64) FROM hookwatch_migrations", &[])
        .await
        .unwrap();
    assert_eq!(
        (usize::try_from(row.get::<_, i64>(0)).unwrap(), usize::try_from(row.get::<_, i64>(1)).unwrap()),
        (steps.len(), steps.len())
    );
}

/// A PostgreSQL database one of whose applied migrations is not this binary's is refused, saying
/// which and what to do.
#[tokio::test]
async fn a_postgres_database_whose_migration_differs_is_refused() {
    let Some(url) = crate::common::fresh_pg_database().await else { return };
    PostgresStore::connect(&url, "node-a".into()).await.unwrap();
    let client = pg_client(&url).await;
    client.execute("UPDATE hookwatch_migrations SET checksum = 'f00d' WHERE version = 6", &[]).await.unwrap();
    let Err(e) = PostgresStore::connect(&url, "node-a".into()).await else {
        panic!("a changed migration must be refused")
    };
    let message = e.to_string();
    assert!(
        message
            .contains("its migration 0006_unfinished_by_lease_holder was applied from other SQL than this hookwatch's"),
        "{message}"
    );
    assert!(message.contains("Start the hookwatch that migrated it, or restore a backup"), "{message}");
}

/// An idempotency key is claimed by one request of many at once; its answer is kept for its
/// repeats until the window ends; a key let go, or whose claim lapsed, is claimed anew; pruning
/// forgets the old ones.
async fn idempotency_keys_are_claimed_once(store: Arc<dyn Store>) {
    let now = now_ms();
    let claim = |key: &str, fingerprint: &str, at: Millis| KeyClaim {
        scope: "admin. POST /v1/subscriptions".into(),
        key: key.into(),
        fingerprint: fingerprint.into(),
        now: at,
        remembered_since: at - 60_000,
        claimed_until: at + 10_000,
    };
    let at_once = (0..8).map(|_| {
        let (store, claim) = (store.clone(), claim("k", "f1", now));
        tokio::spawn(async move { store.claim_key(&claim).await.unwrap() })
    });
    let holders: Vec<KeyHolder> = futures::future::join_all(at_once).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(holders.iter().filter(|h| **h == KeyHolder::Claimed).count(), 1, "{holders:?}");
    let in_flight = KeyHolder::Held { fingerprint: "f1".into(), answer: None };
    assert!(holders.iter().all(|h| *h == KeyHolder::Claimed || *h == in_flight), "{holders:?}");

    let answer = StoredAnswer {
        status: 201,
        headers: vec![("content-type".into(), "application/json".into())],
        body: br#"{"id":"sub_1"}"#.to_vec(),
    };
    store.keep_answer("admin. POST /v1/subscriptions", "k", "f1", &answer).await.unwrap();
    let kept = KeyHolder::Held { fingerprint: "f1".into(), answer: Some(answer.clone()) };
    assert_eq!(store.claim_key(&claim("k", "f1", now + 1)).await.unwrap(), kept, "a repeat finds the answer");
    assert_eq!(store.claim_key(&claim("k", "f2", now + 1)).await.unwrap(), kept, "another request finds it too");
    assert_eq!(store.claim_key(&claim("k", "f2", now + 60_001)).await.unwrap(), KeyHolder::Claimed, "past the window");

    assert_eq!(store.claim_key(&claim("r", "f1", now)).await.unwrap(), KeyHolder::Claimed);
    store.release_key("admin. POST /v1/subscriptions", "r", "f1").await.unwrap();
    assert_eq!(store.claim_key(&claim("r", "f1", now)).await.unwrap(), KeyHolder::Claimed, "let go: runs again");
    assert_eq!(store.claim_key(&claim("r", "f1", now + 10_001)).await.unwrap(), KeyHolder::Claimed, "claim lapsed");

    assert_eq!(store.prune_keys(now + 60_001).await.unwrap(), 1, "r, claimed last at now + 10 s");
    assert_eq!(store.prune_keys(now + 60_002).await.unwrap(), 1, "k, claimed anew at now + 60 s");
}
