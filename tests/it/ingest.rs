//! Ingest: every status code docs/api.md gives `POST /v1/events`, idempotency, and bad input that must lose nothing.

use crate::common::*;
use reqwest::Method;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn each_error_is_json_with_an_actionable_message() {
    let hw = Hookwatch::start().await;
    let sample = card_move("P", 2).to_string();

    let (status, _, body) = hw.ingest_raw("{\"data\": {\n \"action\": }", "application/json", INGEST).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "malformed_json");
    assert!(body["error"]["message"].as_str().unwrap().contains("line 2"), "{body}");

    let (status, _, body) = hw.ingest_raw(sample.clone(), "text/plain", INGEST).await;
    assert_eq!(status, 415);
    assert!(body["error"]["message"].as_str().unwrap().contains("application/json"));

    let huge = format!("{{\"data\":{{\"action\":\"card.move\",\"pad\":\"{}\"}}}}", "x".repeat(300 * 1024));
    let (status, _, body) = hw.ingest_raw(huge, "application/json", INGEST).await;
    assert_eq!(status, 413);
    assert_eq!(body["error"]["code"], "payload_too_large");

    let (status, _, body) = hw.ingest_raw(r#"{"data":{"action":"card.teleport"}}"#, "application/json", INGEST).await;
    assert_eq!(status, 422);
    assert!(body["error"]["message"].as_str().unwrap().contains("card.field_update"), "lists valid actions: {body}");

    let (status, _, body) = hw.ingest_raw(r#"{"data":{"card":{}}}"#, "application/json", INGEST).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (422, Some("missing_action")));

    let (status, _, body) = hw.ingest_raw(r#"[1,2]"#, "application/json", INGEST).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (422, Some("missing_data")));

    let (status, headers, body) = hw.ingest_raw(sample.clone(), "application/json", "wrong").await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (401, Some("unauthorized")));
    assert_eq!(headers["www-authenticate"], "Bearer");

    // The admin token is not the ingest token's only substitute: no token at all is refused too.
    let resp = hw
        .http
        .post(format!("{}/v1/events", hw.base))
        .header("content-type", "application/json")
        .body(sample)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);

    // None of the refused requests stored anything.
    assert_eq!(hw.get("/v1/events").await["data"].as_array().unwrap().len(), 0);
}

#[tokio::test]
async fn extra_actions_from_the_config_are_accepted() {
    let hw = Hookwatch::start_with(|c| c.extra_actions = vec!["deploy.finished".into()]).await;
    let (status, _, body) = hw.ingest_raw(r#"{"data":{"action":"Deploy.Finished"}}"#, "application/json", INGEST).await;
    assert_eq!((status.as_u16(), body["action"].as_str()), (202, Some("deploy.finished")));
}

#[tokio::test]
async fn an_idempotency_key_returns_the_first_event_and_creates_nothing() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour::default()).await;
    hw.subscribe(&sink.url, &["*"], json!({})).await;
    let send = |key: &'static str| {
        hw.http
            .post(format!("{}/v1/events", hw.base))
            .bearer_auth(INGEST)
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(card_move("P", 2).to_string())
            .send()
    };
    let first: serde_json::Value = send("order-77").await.unwrap().json_value().await;
    let again = send("order-77").await.unwrap();
    assert_eq!(again.status(), 202);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: serde_json::Value = again.json_value().await;
    assert_eq!(first["id"], again["id"]);
    assert_eq!(again["deliveries"], 1);
    let other: serde_json::Value = send("order-78").await.unwrap().json_value().await;
    assert_ne!(first["id"], other["id"]);
    // The same key with another body is a mistake, answered as Stripe does.
    let reused = hw
        .http
        .post(format!("{}/v1/events", hw.base))
        .bearer_auth(INGEST)
        .header("content-type", "application/json")
        .header("idempotency-key", "order-77")
        .body(card_move("P", 3).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(reused.status(), 422);
    let reused: serde_json::Value = reused.json_value().await;
    assert_eq!(reused["error"]["code"], "idempotency_key_reused", "{reused}");
    assert!(reused["error"]["message"].as_str().unwrap().contains(first["id"].as_str().unwrap()), "{reused}");
    assert_eq!(hw.get("/v1/events").await["data"].as_array().unwrap().len(), 2);
    sink.wait_for(2, Duration::from_secs(5)).await;
    hw.idle(Duration::from_secs(5)).await;
    assert_eq!(sink.count(), 2, "the repeat was not delivered");
}

#[tokio::test]
async fn a_full_backlog_answers_503_with_retry_after() {
    let hw = Hookwatch::start_with(|c| c.max_backlog = 3).await;
    let sink = Sink::start(Behaviour::default()).await;
    let sub = hw.subscribe(&sink.url, &["*"], json!({})).await;
    hw.admin(Method::POST, &format!("/v1/subscriptions/{}/pause", sub["id"].as_str().unwrap()), None).await;
    for _ in 0..3 {
        hw.send(&card_move("P", 2)).await;
    }
    hw.until("/v1/stats", Duration::from_secs(5), |s| s["backlog"] == 3).await;
    let (status, headers, body) = hw.ingest_raw(card_move("P", 2).to_string(), "application/json", INGEST).await;
    assert_eq!(status, 503, "{body}");
    assert!(headers.contains_key("retry-after"));
    assert_eq!(body["error"]["code"], "unavailable");
}

#[tokio::test]
async fn events_list_filters_and_pages() {
    let hw = Hookwatch::start().await;
    for i in 0..5 {
        hw.send(&card_move(&format!("P{i}"), 2)).await;
    }
    hw.send(&hookwatch::domain::catalog::find("card.create").unwrap().sample()).await;
    let page = hw.get("/v1/events?limit=2").await;
    let data = page["data"].as_array().unwrap();
    assert_eq!(data.len(), 2);
    assert_eq!(data[0]["action"], "card.create", "newest first");
    let next = page["iterator"].as_str().unwrap();
    let rest = hw.get(&format!("/v1/events?limit=50&iterator={next}")).await;
    assert_eq!(rest["data"].as_array().unwrap().len(), 4);
    assert_eq!(hw.get("/v1/events?action=CARD.MOVE").await["data"].as_array().unwrap().len(), 5);
    let (status, body) = hw.admin(Method::GET, "/v1/events?limit=0", None).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (400, Some("invalid_limit")));
    let (status, body) = hw.admin(Method::GET, "/v1/events?status=burnt", None).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (400, Some("invalid_status")));
    let (status, _) = hw.admin(Method::GET, "/v1/events/evt_nope", None).await;
    assert_eq!(status, 404);
}

trait JsonValue {
    async fn json_value(self) -> serde_json::Value;
}

impl JsonValue for reqwest::Response {
    async fn json_value(self) -> serde_json::Value {
        serde_json::from_str(&self.text().await.unwrap()).unwrap()
    }
}

#[tokio::test]
async fn the_send_command_emits_samples_and_reports_refusals() {
    let hw = Hookwatch::start().await;
    let run = |args: Vec<String>| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hookwatch")).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let base = hw.base.clone();
    let common = move |extra: &[&str]| {
        let mut args: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
        args.extend(["--url".into(), base.clone(), "--token".into(), INGEST.into()]);
        args
    };
    let (ok, out, _) = tokio::task::spawn_blocking({
        let args = common(&["send", "user.role_set"]);
        move || run(args)
    })
    .await
    .unwrap();
    assert!(ok && out.starts_with("202 ") && out.contains("user.role_set"), "{out}");
    let (ok, out, err) = tokio::task::spawn_blocking({
        let args = common(&["send", "card.move", "--data", r#"{"data":{"action":"card.teleport"}}"#]);
        move || run(args)
    })
    .await
    .unwrap();
    assert!(!ok && out.starts_with("422 ") && err.contains("refused"), "{out} {err}");
    let events = hw.get("/v1/events").await;
    assert_eq!(events["data"].as_array().unwrap().len(), 1);
    assert_eq!(events["data"][0]["action"], "user.role_set");
}

/// The binary's messages give the root cause, and each command's help lists only what applies to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_errors_name_the_root_cause_and_help_fits_the_command() {
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hookwatch")).args(args).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        )
    };
    let (ok, said) = run(&["send", "card.move", "--url", "http://127.0.0.1:1", "--token", "t"]);
    assert!(!ok && said.to_lowercase().contains("connection refused"), "{said}");
    let (ok, said) = run(&["send", "card.move", "--url", "htp:/x", "--token", "t"]);
    assert!(!ok && said.contains("not an http(s) URL"), "{said}");
    let other = Sink::start(Behaviour::default()).await;
    let (ok, said) = run(&["send", "card.move", "--url", &format!("http://{}", other.addr), "--token", "t"]);
    assert!(!ok && said.contains("is it a hookwatch server"), "a 200 from something else is not success: {said}");
    let (ok, said) = run(&["serve", "--db", "/nonexistent/dir/hw.db"]);
    assert!(!ok && said.contains("the directory /nonexistent/dir does not exist"), "{said}");
    assert!(!said.contains("token"), "the database's problem, not the token file's: {said}");
    for (command, absent, present) in [
        ("send", "--max-fps", "--idempotency-key"),
        ("serve", "--read-only", "--retention"),
        ("attach", "--db", "--read-only"),
    ] {
        let (_, help) = run(&[command, "--help"]);
        assert!(!help.contains(absent) && help.contains(present), "{command} --help:\n{help}");
    }
}

/// A test event for one subscription reaches it alone, whatever its actions and filters; the
/// others that the action matches get nothing.
#[tokio::test]
async fn a_test_event_goes_to_its_subscription_alone() {
    let hw = Hookwatch::start().await;
    let (chosen, other) = (Sink::start(Behaviour::default()).await, Sink::start(Behaviour::default()).await);
    let sub = hw.subscribe(&chosen.url, &["user.*"], serde_json::json!({})).await;
    hw.subscribe(&other.url, &["*"], serde_json::json!({})).await;
    let id = sub["id"].as_str().unwrap();
    let path = format!("/v1/subscriptions/{id}/test");
    let (status, sent) = hw.admin(reqwest::Method::POST, &path, Some(card_move("P", 2))).await;
    assert_eq!(status, 202, "{sent}");
    assert_eq!(sent["deliveries"], 1, "{sent}");
    assert_eq!(
        chosen.wait_for(1, Duration::from_secs(5)).await,
        1,
        "card.move reaches a user.* subscription when sent to it"
    );
    hw.idle(Duration::from_secs(5)).await;
    assert_eq!(other.count(), 0, "the * subscription was not the target");
    let (status, missing) =
        hw.admin(reqwest::Method::POST, "/v1/subscriptions/sub_nope/test", Some(card_move("P", 2))).await;
    assert_eq!(status, 404, "{missing}");
}

/// `hookwatch completions` writes scripts the shells take (bash checks the syntax of its own);
/// `hookwatch man` a page groff renders without a warning, and a page per command into a folder.
#[test]
fn completions_and_the_manual_page_fit_the_shells_and_man() {
    use std::process::{Command, Stdio};
    if !can_run("groff", &["--version"], "apt-get install groff-base") {
        return;
    }
    let bin = env!("CARGO_BIN_EXE_hookwatch");
    let output = |args: &[&str]| {
        let out = Command::new(bin).args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let bash = output(&["completions", "bash"]);
    assert!(bash.contains("complete -F") && bash.contains("attach") && bash.contains("--theme"), "{bash}");
    let mut check = Command::new("bash").arg("-n").stdin(Stdio::piped()).spawn().unwrap();
    std::io::Write::write_all(check.stdin.as_mut().unwrap(), bash.as_bytes()).unwrap();
    assert!(check.wait().unwrap().success(), "bash -n accepts the completion script");
    assert!(output(&["completions", "zsh"]).starts_with("#compdef hookwatch"));
    assert!(output(&["completions", "fish"]).contains("complete -c hookwatch"));

    let page = output(&["man"]);
    assert!(page.contains(".TH hookwatch 1") && page.contains("attach"), "{page}");
    let mut groff = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-z"])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("groff is required for this test (apt-get install groff-base; .ci/run installs it)");
    std::io::Write::write_all(groff.stdin.as_mut().unwrap(), page.as_bytes()).unwrap();
    let rendered = groff.wait_with_output().unwrap();
    assert!(rendered.status.success() && rendered.stderr.is_empty(), "{}", String::from_utf8_lossy(&rendered.stderr));
    let dir = tempfile::tempdir().unwrap();
    output(&["man", "--dir", &dir.path().to_string_lossy()]);
    for page in ["hookwatch.1", "hookwatch-serve.1", "hookwatch-attach.1"] {
        assert!(dir.path().join(page).exists(), "{page}");
    }
}

/// With `dedupe_window`, a body sent again without an Idempotency-Key (Pipefy's redeliveries carry
/// none) is answered as a replay of the first and delivered once; without it, each is an event.
#[tokio::test]
async fn a_dedupe_window_answers_a_repeated_body_as_a_replay() {
    let post = |hw: &Hookwatch, body: String| {
        hw.http
            .post(format!("{}/v1/events", hw.base))
            .bearer_auth(INGEST)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let hw = Hookwatch::start_with(|c| c.dedupe_window = Some(Duration::from_secs(600).into())).await;
    let sink = Sink::start(Behaviour::default()).await;
    hw.subscribe(&sink.url, &["*"], json!({})).await;
    let body = card_move("P", 2).to_string();
    let first: serde_json::Value = post(&hw, body.clone()).await.unwrap().json_value().await;
    let again = post(&hw, body.clone()).await.unwrap();
    assert_eq!((again.status().as_u16(), again.headers().get("idempotent-replayed").is_some()), (202, true));
    let again: serde_json::Value = again.json_value().await;
    assert_eq!(first["id"], again["id"]);
    let other: serde_json::Value = post(&hw, card_move("P", 3).to_string()).await.unwrap().json_value().await;
    assert_ne!(first["id"], other["id"], "another body is another event");
    sink.wait_for(2, Duration::from_secs(5)).await;
    hw.idle(Duration::from_secs(5)).await;
    assert_eq!(sink.count(), 2, "the repeat was not delivered");

    let plain = Hookwatch::start().await;
    let a: serde_json::Value = post(&plain, body.clone()).await.unwrap().json_value().await;
    let b: serde_json::Value = post(&plain, body).await.unwrap().json_value().await;
    assert_ne!(a["id"], b["id"], "off by default: each post is an event");
}

/// The card's title is kept beside the event: listed with it and in its detail, as the stream
/// shows it; a title longer than 200 characters is cut, the payload kept whole.
#[tokio::test]
async fn the_card_title_is_listed_with_the_event() {
    let hw = Hookwatch::start().await;
    let moved = hw.send(&card_move("P", 2)).await;
    let mut long = card_move("P", 3);
    long["data"]["card"]["title"] = json!(format!("Renewal {}", "x".repeat(300)));
    let renewal = hw.send(&long).await;
    let listed = hw.get("/v1/events").await;
    let title_of = |id: &serde_json::Value| {
        let events = listed["data"].as_array().unwrap();
        events.iter().find(|e| e["id"] == *id).map(|e| e["card_title"].clone()).unwrap_or_default()
    };
    assert_eq!(title_of(&moved["id"]), "Prospect", "{listed}");
    assert_eq!(title_of(&renewal["id"]).as_str().map(|t| t.chars().count()), Some(200));
    let detail = hw.get(&format!("/v1/events/{}", renewal["id"].as_str().unwrap())).await;
    assert!(detail["card_title"].as_str().unwrap().starts_with("Renewal x"), "{detail}");
    assert!(detail["body"].as_str().unwrap().contains(&"x".repeat(300)), "the payload is whole");
}
