//! The subscriptions API: validation, duplicates, updates, deletion.

use crate::common::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn create_validates_and_reports_each_problem() {
    let hw = Hookwatch::start().await;
    let cases = [
        (json!({"url": "ftp://x.example.com", "actions": ["*"]}), 422, "invalid_url"),
        (json!({"url": "https://user:pw@x.example.com", "actions": ["*"]}), 422, "invalid_url"),
        (json!({"url": "http:///nohost", "actions": ["*"]}), 422, "invalid_url"),
        (json!({"url": "http:nohost/h", "actions": ["*"]}), 422, "invalid_url"),
        (json!({"url": "https://x.example.com", "actions": ["card.explode"]}), 422, "unknown_action"),
        (json!({"url": "https://x.example.com"}), 422, "missing_actions"),
        (
            json!({"url": "https://x.example.com", "actions": ["*"], "headers": {"X-A": "1\r\nX-B: 2"}}),
            422,
            "invalid_headers",
        ),
        (json!({"url": "https://x.example.com", "actions": ["*"], "timeout_ms": 0}), 422, "invalid_timeout"),
        (json!({"url": "https://x.example.com", "actions": ["*"], "secret": "plain"}), 422, "invalid_secret"),
        (json!({"url": "https://x.example.com", "actions": ["*"], "colour": "red"}), 422, "invalid_field"),
    ];
    for (body, status, code) in cases {
        let (got, resp) = hw.admin(Method::POST, "/v1/subscriptions", Some(body.clone())).await;
        assert_eq!((got.as_u16(), resp["error"]["code"].as_str()), (status, Some(code)), "{body} → {resp}");
        assert!(!resp["error"]["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(hw.get("/v1/subscriptions").await["data"].as_array().unwrap().len(), 0);
    // Where the body went wrong is said once.
    let (_, resp) = hw
        .admin(Method::POST, "/v1/subscriptions", Some(json!({"url": "https://x.example.com", "actions": [7]})))
        .await;
    let message = resp["error"]["message"].as_str().unwrap();
    assert_eq!(message.matches("line 1").count(), 1, "{message}");
}

/// `n`, a name, `http://` typed after a prefilled `https://`: the host `http` names no machine,
/// and neither does a name without a dot where only public addresses may be reached.
#[tokio::test]
async fn a_url_must_name_a_plausible_host() {
    let open = Hookwatch::start().await;
    for url in ["https://http://", "https://https://crm.example.com/h", "https://crm..example.com/h"] {
        let (status, resp) =
            open.admin(Method::POST, "/v1/subscriptions", Some(json!({"url": url, "actions": ["*"]}))).await;
        assert_eq!((status.as_u16(), resp["error"]["code"].as_str()), (422, Some("invalid_url")), "{url}: {resp}");
        assert!(resp["error"]["message"].as_str().unwrap().contains("crm.example.com/hooks"), "says how: {resp}");
    }
    let sub = open.subscribe("http://receiver:8080/hooks", &["*"], json!({})).await;
    let (status, resp) = open
        .admin(
            Method::PATCH,
            &format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap()),
            Some(json!({"url": "http://http://receiver"})),
        )
        .await;
    assert_eq!((status.as_u16(), resp["error"]["code"].as_str()), (422, Some("invalid_url")), "{resp}");

    let public_only = Hookwatch::start_with(|c| c.allow_private = false).await;
    let (status, resp) = public_only
        .admin(Method::POST, "/v1/subscriptions", Some(json!({"url": "https://crm/hooks", "actions": ["*"]})))
        .await;
    assert_eq!((status.as_u16(), resp["error"]["code"].as_str()), (422, Some("blocked_target")), "{resp}");
    assert!(resp["error"]["message"].as_str().unwrap().contains("full name"), "{resp}");
    public_only.subscribe("https://crm.example.com/hooks", &["*"], json!({})).await;
}

#[tokio::test]
async fn duplicates_are_refused_unless_overriding_the_previous_one() {
    let hw = Hookwatch::start().await;
    let first = hw.subscribe("https://crm.example.com/hooks", &["card.*"], json!({})).await;
    let (status, body) = hw
        .admin(
            Method::POST,
            "/v1/subscriptions",
            Some(json!({"url": "https://crm.example.com/hooks", "actions": ["card.move"]})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("override_previous"));
    // A different action family on the same URL is fine.
    hw.subscribe("https://crm.example.com/hooks", &["user.role_set"], json!({})).await;
    let (status, body) = hw
        .admin(
            Method::POST,
            "/v1/subscriptions",
            Some(json!({"url": "https://crm.example.com/hooks", "actions": ["card.move"], "override_previous": true})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["replaced"], json!([first["id"]]));
    let (status, _) =
        hw.admin(Method::GET, &format!("/v1/subscriptions/{}", first["id"].as_str().unwrap()), None).await;
    assert_eq!(status, 404, "the previous subscription was replaced");
}

#[tokio::test]
async fn patch_changes_only_given_fields_and_delete_removes() {
    let hw = Hookwatch::start().await;
    let sub =
        hw.subscribe("https://a.example.com/h", &["*"], json!({"headers": {"Authorization": "Bearer abc"}})).await;
    let id = sub["id"].as_str().unwrap();
    let (status, patched) = hw
        .admin(
            Method::PATCH,
            &format!("/v1/subscriptions/{id}"),
            Some(json!({"name": "billing", "max_in_flight": 4, "ordered": true})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (patched["name"].as_str(), patched["max_in_flight"].as_u64(), patched["ordered"].as_bool()),
        (Some("billing"), Some(4), Some(true))
    );
    assert_eq!(patched["url"], sub["url"]);
    assert_eq!(patched["secret"], sub["secret"]);
    assert_eq!(patched["headers"]["Authorization"], "Bearer abc");
    let (status, bad) =
        hw.admin(Method::PATCH, &format!("/v1/subscriptions/{id}"), Some(json!({"url": "gopher://x"}))).await;
    assert_eq!(status, 422, "{bad}");
    let (status, _) = hw.admin(Method::DELETE, &format!("/v1/subscriptions/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, body) = hw.admin(Method::DELETE, &format!("/v1/subscriptions/{id}"), None).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test]
async fn subscriptions_survive_a_restart_and_config_declares_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.subscriptions =
        vec![serde_json::json!({ "name": "declared", "url": "https://declared.example.com/h", "actions": ["card.*"] })];
    let server = hookwatch::api::server::Server::start(config.clone()).await.unwrap();
    let subs = server.engine.subscriptions();
    assert_eq!(subs.len(), 1);
    let (id, secret) = (subs[0].id.clone(), subs[0].secret.clone());
    server.shutdown().await.unwrap();

    config.subscriptions[0]["actions"] = serde_json::json!(["card.move"]);
    let server = hookwatch::api::server::Server::start(config).await.unwrap();
    let subs = server.engine.subscriptions();
    assert_eq!(subs.len(), 1, "updated in place, matched by name");
    assert_eq!((subs[0].id.as_str(), subs[0].secret.as_str()), (id.as_str(), secret.as_str()));
    assert_eq!(subs[0].actions, vec!["card.move"]);
}

/// Two operators in one incident: a change sent with the `ETag` it was made against is refused
/// with 412 once someone else changed the subscription, and nothing of it is applied.
#[tokio::test]
async fn a_change_made_against_an_old_version_is_refused_with_412() {
    let hw = Hookwatch::start().await;
    let sub = hw.subscribe("https://crm.example.com/hooks", &["card.move"], json!({"name": "crm"})).await;
    let url = format!("{}/v1/subscriptions/{}", hw.base, sub["id"].as_str().unwrap());
    let send = |method: Method, if_match: Option<String>, body: Option<serde_json::Value>| {
        let mut request = hw.http.request(method, &url).bearer_auth(ADMIN);
        if let Some(tag) = if_match {
            request = request.header("if-match", tag);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        request.send()
    };
    let etag_of = |r: &reqwest::Response| r.headers()["etag"].to_str().unwrap().to_string();
    let read = send(Method::GET, None, None).await.unwrap();
    let first = etag_of(&read);
    assert!(first.starts_with('"') && first.ends_with('"') && first.len() == 18, "{first}");

    // Alice renames it with the version she read; Bob's change, made against the same, is refused.
    let alice = send(Method::PATCH, Some(first.clone()), Some(json!({"name": "crm-eu"}))).await.unwrap();
    assert_eq!(alice.status(), 200);
    let second = etag_of(&alice);
    assert_ne!(second, first, "a change gives another version");
    let bob = send(Method::PATCH, Some(first.clone()), Some(json!({"max_in_flight": 2}))).await.unwrap();
    assert_eq!(bob.status(), 412);
    let refusal: serde_json::Value = serde_json::from_str(&bob.text().await.unwrap()).unwrap();
    assert_eq!(refusal["error"]["code"], "precondition_failed", "{refusal}");
    assert!(refusal["error"]["message"].as_str().unwrap().contains(&second), "says the version now: {refusal}");
    let now = hw.get(&format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap())).await;
    assert_eq!((now["name"].as_str(), now["max_in_flight"].as_u64()), (Some("crm-eu"), Some(16)), "{now}");

    // A delete made against the old version is refused too; against the current one, or `*`, it goes.
    assert_eq!(send(Method::DELETE, Some(first), None).await.unwrap().status(), 412);
    assert_eq!(send(Method::PATCH, Some("*".into()), Some(json!({"ordered": true}))).await.unwrap().status(), 200);
    let current = etag_of(&send(Method::GET, None, None).await.unwrap());
    assert_eq!(
        send(Method::DELETE, Some(format!("\"0000000000000000\", {current}")), None).await.unwrap().status(),
        204
    );
}
