//! Who may do what, through the real binary: the viewer token reads every admin route and is
//! refused (403 `forbidden`) on every route that changes something; the route list comes from the
//! router itself, so a route added later is checked too.

use crate::common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn the_viewer_token_reads_everything_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &[]);
    let http = reqwest::Client::new();
    let (status, sub) = call(
        &http,
        Method::POST,
        &format!("{}/v1/subscriptions", server.base),
        ADMIN,
        Some(json!({"name": "crm", "url": "http://127.0.0.1:9/h", "actions": ["*"]})),
    )
    .await;
    assert_eq!(status, 201, "the admin token still changes things: {sub}");
    let sub_id = sub["id"].as_str().unwrap();
    let (_, event) =
        call(&http, Method::POST, &format!("{}/v1/events", server.base), INGEST, Some(card_move("P", 2))).await;
    let event_id = event["id"].as_str().unwrap();

    let routes = hookwatch::api::admin_routes();
    assert!(routes.len() >= 15, "the router's table was read: {routes:?}");
    let mut refused = 0;
    for (method, template) in routes {
        let path = template.replace("{id}", if template.starts_with("/v1/events/") { event_id } else { sub_id });
        let url = format!("{}{path}", server.base);
        let resp = http
            .request(method.clone(), &url)
            .bearer_auth(VIEWER)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        if method == Method::GET {
            assert_eq!(status, 200, "{method} {path}: the viewer reads it");
            continue;
        }
        let body: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap()).unwrap_or_default();
        assert_eq!((status, body["error"]["code"].as_str()), (403, Some("forbidden")), "{method} {path}: {body}");
        refused += 1;
    }
    assert!(refused >= 8, "every mutating route was tried ({refused})");
    let (status, body) =
        call(&http, Method::POST, &format!("{}/v1/events", server.base), VIEWER, Some(card_move("P", 2))).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (403, Some("forbidden")), "ingest: {body}");
    let (_, still) =
        call(&http, Method::GET, &format!("{}/v1/subscriptions/{sub_id}", server.base), VIEWER, None).await;
    assert_eq!(still["state"], "active", "nothing the viewer tried changed it: {still}");
}
