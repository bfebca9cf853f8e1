//! One pagination convention on every list route (docs/api.md, Lists): a bounded `limit`, opaque
//! cursors both ways (`iterator`, `prev_iterator`) and `done`, read from the store by position;
//! on SQLite and, when `HOOKWATCH_TEST_PG` names a server, on PostgreSQL. And secrets on request
//! only: masked in every list and read, the admin's too, whole from the audited secret route.

use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

/// The list routes and how many items each holds after `fill`.
const LISTS: [(&str, usize); 5] =
    [("/v1/subscriptions", 7), ("/v1/events", 7), ("/v1/replays", 7), ("/v1/alerts", 3), ("/v1/audit", 10)];

#[tokio::test]
async fn every_list_pages_both_ways_on_sqlite() {
    every_list_pages_both_ways(Hookwatch::start().await).await;
}

#[tokio::test]
async fn every_list_pages_both_ways_on_postgres() {
    let Some(db) = fresh_pg_database().await else { return };
    every_list_pages_both_ways(Hookwatch::start_with(|c| c.db = db).await).await;
}

/// Seven subscriptions (three of them to an endpoint that answers 410: each is disabled and
/// raises an alert; the others take no event), seven events, seven replays; the
/// audit log has an entry for each change. Returns once nothing more is coming.
async fn fill(hw: &Hookwatch, gone: &Sink) {
    for n in 0..7 {
        let action = if n < 3 { "card.move" } else { "card.done" };
        hw.subscribe(&format!("{}/{n}", gone.url), &[action], json!({"name": format!("s{n}")})).await;
    }
    for n in 0..7 {
        hw.send(&card_move(&format!("P{n}"), 2)).await;
        let (status, replay) =
            hw.admin(Method::POST, "/v1/replays", Some(json!({"filter": {"action": "card.create"}}))).await;
        assert_eq!(status, 202, "{replay}");
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let alerts = hw.get("/v1/alerts?limit=500").await["data"].as_array().unwrap().len();
        let events = hw.get("/v1/events?limit=500").await["data"].as_array().unwrap().len();
        let disabled = hw.get("/v1/subscriptions").await["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["state"] == "disabled")
            .count();
        // No subscription takes hookwatch's own events: an alert is stored as none.
        if disabled == 3 && alerts >= 3 && events == 7 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{disabled} disabled, {alerts} alerts, {events} events");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// An item's identity in its list (audit entries and alerts have no id of their own).
fn identity(item: &Value) -> String {
    match item["id"].as_str() {
        Some(id) => id.to_string(),
        None => item.to_string(),
    }
}

async fn page(hw: &Hookwatch, path: &str, limit: usize, iterator: Option<&str>) -> Value {
    let iterator = iterator.map(|i| format!("&iterator={i}")).unwrap_or_default();
    hw.get(&format!("{path}?limit={limit}{iterator}")).await
}

fn items(page: &Value) -> Vec<String> {
    page["data"].as_array().unwrap().iter().map(identity).collect()
}

async fn every_list_pages_both_ways(hw: Hookwatch) {
    let gone = Sink::start(Behaviour { default_status: 410, ..Default::default() }).await;
    fill(&hw, &gone).await;
    for (path, count) in LISTS {
        let whole = page(&hw, path, 500, None).await;
        let all = items(&whole);
        assert!(all.len() >= count, "{path} holds {count} or more: {whole}");
        assert_eq!(whole["done"], true, "{path}: one page holds them all");

        // Onwards two at a time: each page the next two, `done` on the last.
        let (mut seen, mut pages, mut at) = (Vec::new(), Vec::new(), None::<String>);
        loop {
            let p = page(&hw, path, 2, at.as_deref()).await;
            seen.extend(items(&p));
            pages.push(p.clone());
            assert!(items(&p).len() <= 2, "{path}: bounded by limit: {p}");
            if p["done"] == true {
                break;
            }
            assert_eq!(items(&p).len(), 2, "{path}: a page short of its limit is the last: {p}");
            at = Some(p["iterator"].as_str().unwrap().to_string());
        }
        assert_eq!(seen, all, "{path}: the pages hold every item once, in the list's order");
        assert_eq!(pages.len(), all.len().div_ceil(2), "{path}: no empty page before done");

        // Back from the last page: each `prev_iterator` gives the page before, `done` at the first.
        let mut back = pages.last().unwrap().clone();
        for expected in pages.iter().rev().skip(1) {
            back = page(&hw, path, 2, back["prev_iterator"].as_str()).await;
            assert_eq!(items(&back), items(expected), "{path}: back one page");
        }
        assert_eq!(back["done"], true, "{path}: nothing before the first page: {back}");
        let before_first = page(&hw, path, 2, back["prev_iterator"].as_str()).await;
        assert_eq!((items(&before_first).len(), &before_first["done"]), (0, &json!(true)), "{path}: {before_first}");

        // A cursor of another list, or a garbled one, is refused in the error shape.
        let other = if path == "/v1/audit" { "/v1/events" } else { "/v1/audit" };
        let foreign = page(&hw, other, 1, None).await["iterator"].as_str().unwrap().to_string();
        for wrong in [foreign.as_str(), "not-a-cursor", &format!("{}x", &pages[0]["iterator"].as_str().unwrap()[..5])] {
            let (status, body) = hw.admin(Method::GET, &format!("{path}?iterator={wrong}"), None).await;
            assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (400, Some("invalid_iterator")), "{body}");
            assert!(body["error"]["message"].as_str().unwrap().contains("leave it out"), "says what to do: {body}");
        }
        for limit in ["0", "501", "many"] {
            let (status, body) = hw.admin(Method::GET, &format!("{path}?limit={limit}"), None).await;
            assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (400, Some("invalid_limit")), "{body}");
        }
        let default = page(&hw, path, 50, None).await;
        assert_eq!(hw.get(path).await["data"], default["data"], "{path}: limit defaults to 50");
    }
}

/// Filters keep working across pages: the cursor is a position, the filter narrows each page.
#[tokio::test]
async fn event_filters_hold_on_every_page() {
    let hw = Hookwatch::start().await;
    for n in 0..5 {
        hw.send(&card_move(&format!("P{n}"), 2)).await;
        hw.send(&hookwatch::domain::catalog::find("card.create").unwrap().sample()).await;
    }
    let first = hw.get("/v1/events?action=card.move&limit=2").await;
    let second =
        hw.get(&format!("/v1/events?action=card.move&limit=2&iterator={}", first["iterator"].as_str().unwrap())).await;
    let third =
        hw.get(&format!("/v1/events?action=card.move&limit=2&iterator={}", second["iterator"].as_str().unwrap())).await;
    let moves: Vec<Value> =
        [&first, &second, &third].iter().flat_map(|p| p["data"].as_array().unwrap().clone()).collect();
    assert_eq!(moves.len(), 5, "{moves:?}");
    assert!(moves.iter().all(|e| e["action"] == "card.move"));
    assert_eq!((first["done"].clone(), third["done"].clone()), (json!(false), json!(true)));
    // A new event arrives: going back from the first page finds it.
    let newest = hw.send(&card_move("P9", 2)).await;
    let newer =
        hw.get(&format!("/v1/events?action=card.move&iterator={}", first["prev_iterator"].as_str().unwrap())).await;
    assert_eq!(newer["data"][0]["id"], newest["id"], "{newer}");
}

/// Secrets on request only: lists, reads and every change's answer show them masked, the admin's
/// too; the secret route answers them whole to the admin token, audited, and refuses the viewer.
#[tokio::test]
async fn secrets_are_read_only_through_the_audited_secret_route() {
    let hw = Hookwatch::start().await;
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let sub = hw.subscribe("https://x.example.com/h", &["*"], json!({"secret": secret})).await;
    let id = sub["id"].as_str().unwrap();
    assert_eq!(sub["secret"], "whse…(masked)", "the create answer masks it: {sub}");
    let (_, rotated) = hw.admin(Method::POST, &format!("/v1/subscriptions/{id}/rotate-secret"), None).await;
    let listed = hw.get("/v1/subscriptions").await;
    let read = hw.get(&format!("/v1/subscriptions/{id}")).await;
    for answer in [&rotated, &listed["data"][0], &read] {
        assert_eq!(answer["secret"], "whse…(masked)", "{answer}");
        assert_eq!(answer["previous_secret"], "whse…(masked)", "{answer}");
        assert!(!answer.to_string().contains("C2FVsBQ"), "{answer}");
    }

    let (status, keys) =
        call(&hw.http, Method::GET, &format!("{}/v1/subscriptions/{id}/secret", hw.base), ADMIN, None).await;
    assert_eq!(status, 200, "{keys}");
    let key = keys["key"].as_str().unwrap();
    assert!(key.starts_with("whsec_") && key != secret, "the rotated secret, whole: {keys}");
    assert_eq!(keys["previous"][0]["secret"], secret, "the replaced one still signs: {keys}");
    assert!(keys["previous"][0]["until"].is_string());

    let audit = hw.get("/v1/audit").await;
    let entry = &audit["data"][0];
    assert_eq!((entry["action"].as_str(), entry["target"].as_str()), (Some("subscription.read_secret"), Some(id)));
    assert_eq!(entry["actor"], "admin");
    assert!(entry["request_id"].is_string(), "the request that read it: {entry}");
    assert!(!audit.to_string().contains("C2FVsBQ") && !audit.to_string().contains(key), "no secret in the log");

    let url = format!("{}/v1/subscriptions/{id}/secret", hw.base);
    let (status, body) = call(&hw.http, Method::GET, &url, VIEWER, None).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (403, Some("forbidden")), "{body}");
    let after = hw.get("/v1/audit").await;
    assert_eq!(after["data"][0], audit["data"][0], "a refused read reads nothing and audits nothing");
    let (status, _) =
        call(&hw.http, Method::GET, &format!("{}/v1/subscriptions/sub_nope/secret", hw.base), ADMIN, None).await;
    assert_eq!(status, 404);
}
