//! Pipefy's webhook API (`POST /graphql`) driven by a third-party GraphQL client with the
//! requests of Pipefy's documentation (`tests/clients/pipefy_graphql.py`): the webhooks it makes
//! are subscriptions that deliver, scoped to their pipe.

use crate::common::*;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test]
async fn pipefy_webhook_requests_from_its_documentation_manage_webhooks_that_deliver() {
    let Some(python) = python_with(&["gql", "requests"]) else { return };
    let sink = Sink::start(Behaviour::default()).await;
    let hw = Hookwatch::start().await;
    let base = hw.base.clone();
    let sink_url = sink.url.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/clients/pipefy_graphql.py"))
            .args([format!("{base}/graphql"), ADMIN.to_string(), sink_url])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "the client failed: {}", String::from_utf8_lossy(&out.stderr));
    let said: Value = serde_json::from_slice(&out.stdout).unwrap();

    let created = &said["create"]["createWebhook"]["webhook"];
    assert_eq!(created["actions"], json!(["card.create", "card.move"]), "{said}");
    assert_eq!(created["url"], json!(sink.url));
    let error = &said["duplicate"]["errors"][0];
    assert!(error["message"].as_str().unwrap().contains("overridePreviousWithSameUrl"), "{error}");
    assert_eq!(error["extensions"]["code"], "conflict", "{error}");
    let webhook = &said["override"]["createWebhook"]["webhook"];
    assert_ne!(webhook["id"], created["id"], "the override replaced the first: {said}");
    assert_eq!(webhook["headers"], json!({"Authorization": "Bearer consumer-token"}), "JSON text read as an object");
    assert_eq!(webhook["filters"], json!({"to_phase_id": ["311214434"]}));
    assert_eq!(webhook["email"], "ops@example.com");
    assert!(said["other_pipe"]["createWebhook"]["webhook"]["id"].is_string(), "another pipe may use the URL: {said}");
    assert!(said["table"]["createWebhook"]["webhook"]["id"].is_string(), "{said}");
    let pipe_hooks = said["pipe"]["pipe"]["webhooks"].as_array().unwrap();
    assert_eq!(pipe_hooks.len(), 1, "the replaced webhook is gone: {said}");
    assert_eq!(pipe_hooks[0]["id"], webhook["id"]);
    let pipes = said["pipes"]["pipes"].as_array().unwrap();
    assert_eq!(
        (pipes.len(), pipes[1]["id"].as_str(), pipes[1]["webhooks"][0]["filters"]["to_phase_id"][0].as_str()),
        (2, Some("999"), Some("1")),
        "{said}"
    );
    let table_hooks = said["table_query"]["table"]["webhooks"].as_array().unwrap();
    assert_eq!((table_hooks.len(), table_hooks[0]["name"].as_str()), (1, Some("records")), "{said}");
    let replacing = &said["table_override"]["createWebhook"]["webhook"]["id"];
    assert_eq!(&table_hooks[0]["id"], replacing, "overridePrevious replaced the first: {said}");
    assert_ne!(replacing, &said["table"]["createWebhook"]["webhook"]["id"], "{said}");
    let disagree = said["flags_disagree"]["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(disagree.contains("disagree; send one of them"), "{said}");
    assert_eq!(
        said["org_query"]["organization"]["webhooks"][0]["actions"],
        json!(["user.invitation_sent", "user.invitation_acceptance", "user.removal_from_org", "user.role_set"]),
        "the changelog's user.invitation_accepted is an alias: {said}"
    );
    let orgs = said["orgs_query"]["organizations"].as_array().unwrap();
    let hooks_of = |i: usize| orgs[i]["webhooks"].as_array().map(Vec::len);
    assert_eq!((orgs.len(), hooks_of(0), hooks_of(1)), (2, Some(1), Some(0)), "organizations(ids:): {said}");
    assert_eq!(said["update"]["updateWebhook"]["webhook"]["actions"], json!(["card.move"]), "{said}");
    assert_eq!(said["update"]["updateWebhook"]["webhook"]["email"], "noc@example.com");
    assert_eq!(said["update_org_as_pipe"]["errors"][0]["extensions"]["code"], "not_found", "{said}");
    assert_eq!(said["bad_filters"]["errors"][0]["extensions"]["code"], "invalid_field", "{said}");
    assert!(said["bad_filters"]["errors"][0]["message"].as_str().unwrap().contains("filters"), "{said}");
    assert_eq!(said["delete_org"]["deleteOrganizationWebhook"]["success"], true, "{said}");
    assert_eq!(said["org_after"]["organization"]["webhooks"], json!([]), "{said}");

    // The pipe's webhook is a subscription: it delivers the pipe's card moves to the right phase,
    // and nothing of another pipe.
    let sub = hw.get(&format!("/v1/subscriptions/{}", webhook["id"].as_str().unwrap())).await;
    assert_eq!(sub["owner"], json!({"kind": "pipe", "id": "123456"}), "{sub}");
    let ours = hw.send(&card_move("123456", 311214434)).await;
    hw.send(&card_move("654321", 311214434)).await;
    hw.send(&card_move("123456", 5)).await;
    assert_eq!(sink.wait_for(1, Duration::from_secs(10)).await, 1);
    hw.idle(Duration::from_secs(10)).await;
    let delivered = sink.requests();
    assert_eq!(delivered.len(), 1, "only the pipe's card, in the phase filtered on");
    assert_eq!(delivered[0].headers["webhook-id"], ours["id"].as_str().unwrap());
    assert_eq!(delivered[0].headers["authorization"], "Bearer consumer-token");
}
