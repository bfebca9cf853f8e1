//! The remote source behind `hookwatch attach`: the same operations as in-process, over the real
//! HTTP API and SSE stream, and it notices a lost server and reconnects.

use crate::common::*;
use hookwatch::dashboard::source::{RemoteSource, Source, Update};
use hookwatch::domain::query::EventQuery;
use hookwatch::wire::FeedEvent;
use hookwatch::wire::SubscriptionInput;
use std::time::Duration;
use tokio::sync::mpsc;

async fn next_matching(rx: &mut mpsc::Receiver<Update>, what: impl Fn(&Update) -> bool) -> Update {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(u)) if what(&u) => return u,
            Ok(Some(_)) => {}
            other => panic!("no matching update: {other:?}"),
        }
    }
}

/// A refusal reaches the dashboard with the server's code, from either source: an overlapping
/// subscription is a `conflict`, and that (not the message's wording) makes the form offer to
/// save replacing it.
#[tokio::test]
async fn an_overlap_is_refused_as_a_conflict_by_both_sources() {
    use hookwatch::dashboard::app::{App, Outcome, Popup};
    use hookwatch::dashboard::source::LocalSource;
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour::default()).await;
    let input = || SubscriptionInput {
        name: Some("crm".into()),
        url: Some(sink.url.clone()),
        actions: Some(vec!["card.*".into()]),
        ..Default::default()
    };
    let remote = RemoteSource::new(&hw.base, ADMIN).unwrap();
    remote.save_subscription(None, input(), None).await.unwrap();
    let local = LocalSource::new(hw.server.engine.clone(), hw.base.clone());
    let sources: [&dyn Source; 2] = [&remote, &local];
    for source in sources {
        let refused = source.save_subscription(None, input(), None).await.unwrap_err();
        assert_eq!(refused.code(), Some("conflict"), "{refused}");
        let mut app = App::new("test".into());
        app.on_key(crossterm::event::KeyEvent::from(crossterm::event::KeyCode::Char('n')));
        app.apply_outcome(Outcome::SaveFailed(refused));
        let Some(Popup::Subscription(form)) = app.popups.last() else { panic!("the form closed") };
        assert!(form.conflict, "the form offers to replace the overlap");
    }
}

/// Two operators in one incident: the dashboard changes a subscription as its operator saw it.
/// When someone else changed it meanwhile, the edit, the delete and the pause are refused saying
/// so, the list is read again, and the other's change stands; the version now shown saves. Both
/// sources.
#[tokio::test]
async fn a_change_made_meanwhile_is_never_overwritten_from_the_dashboard() {
    use hookwatch::dashboard::app::{App, Outcome, Popup};
    use hookwatch::dashboard::carry_out;
    use hookwatch::dashboard::popups::subscription_form::SubscriptionForm;
    use hookwatch::dashboard::screenshots::{render, to_text};
    use hookwatch::dashboard::source::LocalSource;
    use std::sync::Arc;
    let hw = Hookwatch::start().await;
    let remote: Arc<dyn Source> = Arc::new(RemoteSource::new(&hw.base, ADMIN).unwrap());
    let local: Arc<dyn Source> = Arc::new(LocalSource::new(hw.server.engine.clone(), hw.base.clone()));
    for (i, source) in [remote, local].into_iter().enumerate() {
        let name = format!("crm{i}");
        let sub =
            hw.subscribe(&format!("http://127.0.0.1:9/{i}"), &["card.move"], serde_json::json!({"name": name})).await;
        let path = format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap());
        let mut app = App::new("test".into());
        let seen = source.subscriptions().await.unwrap();
        app.apply_outcome(Outcome::Subscriptions(seen.clone()));
        app.popups.push(Popup::Subscription(Box::new(SubscriptionForm::new(seen.last()))));
        typed(&mut app, "-edited");

        // The other operator changes it while the form is open.
        let other = serde_json::json!({"timeout_ms": 2000});
        assert_eq!(hw.admin(reqwest::Method::PATCH, &path, Some(other)).await.0, 200);
        let save = keys(&mut app, "Enter");
        let outcome = carry_out(source.clone(), save.into_iter().next().expect("the form saves")).await.unwrap();
        app.apply_outcome(outcome);
        let Some(Popup::Subscription(form)) = app.popups.last() else { panic!("the form closed") };
        let said = form.server_error.clone().unwrap_or_default();
        assert!(said.contains("changed by someone else since this form opened: nothing saved"), "{said}");
        let screen = to_text(&render(&app, 200, 50, &hookwatch::dashboard::theme::Theme::PLAIN));
        assert!(screen.contains("nothing saved"), "{screen}");
        let stored = hw.get(&path).await;
        assert_eq!((stored["name"].as_str(), stored["timeout_ms"].as_u64()), (Some(name.as_str()), Some(2000)));
        let reloaded = app.subscriptions.iter().find(|s| s.name == name).unwrap();
        assert_eq!(reloaded.timeout_ms, 2000, "the list was read again");

        // Deleting what was seen before a change is refused too; the version now shown is taken.
        keys(&mut app, "Esc");
        let renamed = serde_json::json!({"name": format!("{name}-renamed")});
        assert_eq!(hw.admin(reqwest::Method::PATCH, &path, Some(renamed)).await.0, 200);
        app.apply_outcome(Outcome::Stats(Box::new(source.stats().await.unwrap())));
        keys(&mut app, "Tab");
        let delete = keys(&mut app, "D y");
        let outcome = carry_out(source.clone(), delete.into_iter().next().expect("the delete is asked")).await.unwrap();
        app.apply_outcome(outcome);
        let status = app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
        assert!(status.contains("changed by someone else meanwhile: not deleted"), "{status}");
        assert_eq!(hw.get(&path).await["name"], format!("{name}-renamed"), "still there, as the other left it");

        // And so is pausing it.
        let slower = serde_json::json!({"timeout_ms": 3000});
        assert_eq!(hw.admin(reqwest::Method::PATCH, &path, Some(slower)).await.0, 200);
        let pause = keys(&mut app, "p");
        let outcome = carry_out(source.clone(), pause.into_iter().next().expect("p pauses")).await.unwrap();
        app.apply_outcome(outcome);
        let status = app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
        assert!(status.contains("changed by someone else meanwhile: not paused"), "{status}");
        assert_eq!(hw.get(&path).await["state"], "active");

        let current = app.subscriptions.iter().find(|s| s.name.ends_with("-renamed")).unwrap().clone();
        assert_eq!(current.timeout_ms, 3000, "the list was read again");
        app.popups.push(Popup::Subscription(Box::new(SubscriptionForm::new(Some(&current)))));
        let save = keys(&mut app, "Enter");
        let outcome = carry_out(source.clone(), save.into_iter().next().unwrap()).await.unwrap();
        assert!(matches!(outcome, Outcome::SubscriptionSaved(_)), "the version shown saves: {outcome:?}");
        hw.admin(reqwest::Method::DELETE, &path, None).await;
    }
}

#[tokio::test]
async fn the_remote_source_drives_a_real_server() {
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour::default()).await;
    let remote = RemoteSource::new(&hw.base, ADMIN).unwrap();
    let input = SubscriptionInput {
        name: Some("crm".into()),
        url: Some(sink.url.clone()),
        actions: Some(vec!["card.*".into()]),
        ..Default::default()
    };
    let sub = remote.save_subscription(None, input, None).await.unwrap();
    assert_eq!(remote.subscriptions().await.unwrap().len(), 1);
    assert!(remote.catalog().await.unwrap().contains(&"card.move".to_string()));

    let (tx, mut rx) = mpsc::channel(256);
    remote.watch(tx);
    next_matching(&mut rx, |u| matches!(u, Update::Connection { connected: true, .. })).await;

    // To the subscription alone (the test-event editor's default), through its test route.
    let id = remote.send_event(card_move("P", 2).to_string(), Some(&sub.id)).await.unwrap();
    next_matching(&mut rx, |u| matches!(u, Update::Feed(FeedEvent::EventReceived { event }) if event.id == id)).await;
    next_matching(&mut rx, |u| matches!(u, Update::Feed(FeedEvent::DeliveryAttempted(n)) if n.event_id == id)).await;
    next_matching(&mut rx, |u| matches!(u, Update::Stats(s) if s.events_ingested == 1)).await;

    let events = remote.events(EventQuery { limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(events[0].id, id);
    let detail = remote.event(&id).await.unwrap();
    assert_eq!(detail.deliveries.len(), 1);
    assert_eq!(remote.redeliver(&id, Some(&sub.id), false).await.unwrap(), 1);
    remote.set_paused(&sub.id, true, None).await.unwrap();
    assert_eq!(hw.get(&format!("/v1/subscriptions/{}", sub.id)).await["state"], "paused");
    let err = remote.send_event("{\"data\":{\"action\":\"nope\"}}".into(), None).await.unwrap_err();
    assert_eq!(err.code(), Some("unknown_action"), "{err}");
    assert!(err.to_string().contains("unknown action"), "{err}");

    // The server goes away: the source says so, then comes back when a server listens again.
    let addr = hw.server.addr;
    hw.server.shutdown().await.unwrap();
    next_matching(&mut rx, |u| matches!(u, Update::Connection { connected: false, .. })).await;
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.listen = addr;
    let _again = hookwatch::api::server::Server::start(config).await.unwrap();
    next_matching(&mut rx, |u| matches!(u, Update::Connection { connected: true, .. })).await;
}

/// The attached dashboard's stream survives reconnects: the server is killed and restarted three
/// times while events flow, and in the end the dashboard lists every acknowledged event, once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attached_stream_ends_with_every_event_across_reconnects() {
    use hookwatch::dashboard::app::App;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hw.db").to_string_lossy().into_owned();
    let listen = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let mut server = Process::spawn_at(&listen, &db, &[]);
    let base = server.base.clone();
    let remote = RemoteSource::new(&base, ADMIN).unwrap();
    let (tx, mut rx) = mpsc::channel(4096);
    remote.watch(tx);
    next_matching(&mut rx, |u| matches!(u, Update::Connection { connected: true, .. })).await;

    let acked = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let sender = {
        let (acked, base) = (acked.clone(), base.clone());
        tokio::spawn(async move {
            let http = reqwest::Client::new();
            for i in 0..400 {
                let sent = http
                    .post(format!("{base}/v1/events"))
                    .bearer_auth(INGEST)
                    .header("content-type", "application/json")
                    .body(card_move("P", i).to_string())
                    .send()
                    .await;
                if let Ok(resp) = sent
                    && resp.status() == 202
                {
                    let v: serde_json::Value = serde_json::from_str(&resp.text().await.unwrap_or_default()).unwrap();
                    acked.lock().unwrap().push(v["id"].as_str().unwrap().to_string());
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut app = App::new(base.clone());
    let resumes = std::cell::Cell::new(0);
    // How often the source handed each event over: a resume after a restart replays events the
    // dashboard had (with their ids), and the source drops them.
    let handed = std::cell::RefCell::new(std::collections::HashMap::<String, usize>::new());
    let apply = |app: &mut App, update: Update| {
        if matches!(update, Update::Resumed { .. }) {
            resumes.set(resumes.get() + 1);
        }
        if let Update::Feed(FeedEvent::EventReceived { event }) = &update {
            *handed.borrow_mut().entry(event.id.to_string()).or_default() += 1;
        }
        app.now = hookwatch::domain::model::now_ms();
        app.apply_update(update);
    };
    for restart in 0..3 {
        // Events flow for a while on this connection (after the first restart, a resumed one).
        let until = tokio::time::Instant::now() + Duration::from_millis(400);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while tokio::time::Instant::now() < until || resumes.get() < restart {
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(update)) => apply(&mut app, update),
                _ => panic!("the stream did not resume after restart {restart}"),
            }
        }
        server.kill();
        server = Process::spawn_at(&listen, &db, &[]);
    }
    sender.await.unwrap();
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() > 100, "events flowed: {}", acked.len());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    let listed = |app: &App| app.stream.events.iter().map(|r| r.event.id.to_string()).collect::<Vec<_>>();
    while resumes.get() < 3 || !acked.iter().all(|id| listed(&app).contains(id)) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(update)) => apply(&mut app, update),
            _ => break,
        }
    }
    let listed = listed(&app);
    let missing: Vec<_> = acked.iter().filter(|id| !listed.contains(id)).collect();
    assert!(missing.is_empty(), "{} of {} acknowledged events are not listed: {missing:?}", missing.len(), acked.len());
    let unique: std::collections::HashSet<_> = listed.iter().collect();
    assert_eq!(unique.len(), listed.len(), "an event is listed twice");
    let repeated: Vec<_> = handed.borrow().iter().filter(|(_, n)| **n > 1).map(|(id, _)| id.clone()).collect();
    assert!(repeated.is_empty(), "the source handed {} events over twice: {repeated:?}", repeated.len());
    assert!(resumes.get() >= 3, "the stream resumed after each restart ({})", resumes.get());
    assert!(app.status.as_ref().is_some_and(|s| s.text.contains("resumed")), "the screen says it resumed");
    drop(server);
}

/// A refused token and a URL without a scheme end `attach` at once with what to do.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_refuses_a_wrong_token_and_a_bad_url_clearly() {
    use std::os::unix::fs::PermissionsExt;
    let hw = Hookwatch::start().await;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hookwatch"))
            .arg("attach")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap();
        (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (ok, err) = run(&[&hw.base, "--token", "wrong"]);
    assert!(!ok && err.contains("refused this token") && err.contains("401"), "{err}");
    let (ok, err) = run(&["localhost:8430", "--token", ADMIN]);
    assert!(!ok && err.contains("http://10.0.0.5:8430"), "{err}");
    // The log it opened on the way is its owner's alone.
    let log = std::fs::metadata(dir.path().join("hookwatch-attach.log")).expect("attach opened its log");
    assert_eq!(log.permissions().mode() & 0o777, 0o600);
}

/// Feeds the source's updates to the dashboard and carries out the event loads they ask for,
/// until `done` holds for the screen as drawn at 200x50 (or 20 s pass); returns that screen.
async fn drive_until(
    app: &mut hookwatch::dashboard::app::App,
    remote: &RemoteSource,
    rx: &mut mpsc::Receiver<Update>,
    done: impl Fn(&str) -> bool,
) -> String {
    use hookwatch::dashboard::app::{Effect, Outcome};
    use hookwatch::dashboard::screenshots::{render, to_text};
    let theme = hookwatch::dashboard::theme::Theme::PLAIN;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        app.now = hookwatch::domain::model::now_ms();
        let screen = to_text(&render(app, 200, 50, &theme));
        if done(&screen) || tokio::time::Instant::now() > deadline {
            return screen;
        }
        let Ok(Some(update)) = tokio::time::timeout_at(deadline, rx.recv()).await else { continue };
        for effect in app.apply_update(update) {
            if let Effect::LoadEvent(id) = effect {
                match remote.event(&id).await {
                    Ok(detail) => app.apply_outcome(Outcome::Event(Box::new(detail))),
                    Err(error) => app.apply_outcome(Outcome::EventFailed { id, error: error.to_string() }),
                }
            }
        }
    }
}

/// An open inspector follows its event until it is final: while an open breaker holds the
/// delivery it says so and when the next probe goes, and after the probe succeeds it says
/// succeeded. Against the real binary, through the remote source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inspector_follows_a_held_delivery_until_it_is_final() {
    use hookwatch::dashboard::app::{App, Outcome, Popup};
    use hookwatch::dashboard::popups::inspector::Inspector;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("hw.toml");
    std::fs::write(&config, "breaker_threshold = 2\nbreaker_cooldown = \"3s\"\n").unwrap();
    let db = dir.path().join("hw.db").to_string_lossy().into_owned();
    let server = Process::spawn(
        &db,
        &["--config", &config.to_string_lossy(), "--retry-schedule", "200ms,200ms,200ms,200ms,200ms,200ms"],
    );
    let sink = Sink::start(Behaviour { script: [500, 500].into(), ..Default::default() }).await;
    let remote = RemoteSource::new(&server.base, ADMIN).unwrap();
    let input = SubscriptionInput {
        name: Some("billing".into()),
        url: Some(sink.url.clone()),
        actions: Some(vec!["*".into()]),
        ..Default::default()
    };
    let sub = remote.save_subscription(None, input, None).await.unwrap();
    let mut app = App::new(server.base.clone());
    app.apply_outcome(Outcome::Subscriptions(vec![sub]));
    let (tx, mut rx) = mpsc::channel(1024);
    remote.watch(tx);
    next_matching(&mut rx, |u| matches!(u, Update::Connection { connected: true, .. })).await;
    let id = remote.send_event(card_move("P", 2).to_string(), None).await.unwrap();
    app.popups.push(Popup::Inspector(Box::new(Inspector::loading(id.clone()))));
    app.apply_outcome(Outcome::Event(Box::new(remote.event(&id).await.unwrap())));

    let held = drive_until(&mut app, &remote, &mut rx, |s| s.contains("held: breaker open, next probe")).await;
    assert!(held.contains("held: breaker open, next probe"), "the held delivery says why:\n{held}");
    assert!(!held.contains("next in 0s"), "{held}");
    let done = drive_until(&mut app, &remote, &mut rx, |s| s.contains("succeeded · 3 attempts")).await;
    assert!(done.contains("succeeded · 3 attempts"), "the inspector follows the probe's success:\n{done}");
}

/// Posts `body` to the ingest endpoint at `base`; the new event's id.
async fn ingest(http: &reqwest::Client, base: &str, body: serde_json::Value) -> String {
    let (status, answer) = call(http, reqwest::Method::POST, &format!("{base}/v1/events"), INGEST, Some(body)).await;
    assert_eq!(status, 202, "{answer}");
    answer["id"].as_str().unwrap().to_string()
}

/// The ids of the stream rows the dashboard shows.
fn shown(app: &hookwatch::dashboard::app::App) -> Vec<String> {
    app.visible_events().map(|r| r.event.id.to_string()).collect()
}

/// Applies the source's updates to the dashboard until `done` holds (or 15 s pass).
async fn apply_until(
    app: &mut hookwatch::dashboard::app::App,
    rx: &mut mpsc::Receiver<Update>,
    done: impl Fn(&hookwatch::dashboard::app::App) -> bool,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while !done(app) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(update)) => {
                app.now = hookwatch::domain::model::now_ms();
                app.apply_update(update);
            }
            _ => panic!("the dashboard did not get there; it shows {} rows", app.visible_count()),
        }
    }
}

/// The store's answers to the event loads among `effects`, read now: what the dashboard would
/// apply when they come back.
async fn answers(
    remote: &RemoteSource,
    effects: Vec<hookwatch::dashboard::app::Effect>,
) -> Vec<hookwatch::dashboard::app::Outcome> {
    use hookwatch::dashboard::app::{Effect, Outcome};
    let mut outcomes = Vec::new();
    for effect in effects {
        if let Effect::LoadEvents(query) = effect {
            outcomes.push(Outcome::Events { list: remote.events(query.clone()).await.unwrap(), query });
        }
    }
    outcomes
}

fn keys(app: &mut hookwatch::dashboard::app::App, text: &str) -> Vec<hookwatch::dashboard::app::Effect> {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    let mut effects = Vec::new();
    for key in text.split(' ') {
        let code = match key {
            "Enter" => KeyCode::Enter,
            "Esc" => KeyCode::Esc,
            "Tab" => KeyCode::Tab,
            "Space" => KeyCode::Char(' '),
            one => KeyCode::Char(one.chars().next().unwrap()),
        };
        effects.extend(app.on_key(KeyEvent::new(code, KeyModifiers::NONE)));
    }
    effects
}

fn typed(app: &mut hookwatch::dashboard::app::App, text: &str) -> Vec<hookwatch::dashboard::app::Effect> {
    let spaced: Vec<String> = text.chars().map(|c| if c == ' ' { "Space".into() } else { c.to_string() }).collect();
    keys(app, &spaced.join(" "))
}

/// The real binary on a fresh database, and a remote source watching it, connected.
async fn watched_server() -> (tempfile::TempDir, Process, RemoteSource, mpsc::Receiver<Update>) {
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &[]);
    let remote = RemoteSource::new(&server.base, ADMIN).unwrap();
    let (tx, mut rx) = mpsc::channel(4096);
    remote.watch(tx);
    next_matching(&mut rx, |u| matches!(u, Update::Connection { connected: true, .. })).await;
    (dir, server, remote, rx)
}

/// Applying and clearing a filter, each time with an event arriving between the store's read and
/// its answer, loses nothing: every event the stream held (more than the store's page of 500)
/// and every one that came meanwhile is listed after `Esc`, once. Against the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clearing_a_filter_keeps_the_history_and_every_live_event() {
    use hookwatch::dashboard::app::App;
    let (_dir, server, remote, mut rx) = watched_server().await;
    let http = reqwest::Client::new();
    let mut app = App::new(server.base.clone());
    let mut sent = Vec::new();
    for i in 0..600 {
        sent.push(ingest(&http, &server.base, card_move("P", i)).await);
    }
    apply_until(&mut app, &mut rx, |app| app.stream.events.len() == 600).await;

    let apply_filter = |app: &mut App| {
        let mut effects = keys(app, "/");
        effects.extend(typed(app, "status:failed"));
        effects.extend(keys(app, "Enter"));
        effects
    };
    let clear_filter = |app: &mut App| keys(app, "Esc");
    for step in [&apply_filter as &dyn Fn(&mut App) -> Vec<_>, &clear_filter] {
        let effects = step(&mut app);
        // The answer is read before this event comes in, and applied after it did.
        let late = answers(&remote, effects).await;
        let now = ingest(&http, &server.base, card_move("P", 1)).await;
        sent.push(now.clone());
        apply_until(&mut app, &mut rx, |app| app.stream.events.iter().any(|r| r.event.id == now)).await;
        for outcome in late {
            app.apply_outcome(outcome);
        }
    }
    assert!(app.filter.is_empty());
    let listed = shown(&app);
    let missing: Vec<&String> = sent.iter().filter(|id| !listed.contains(id)).collect();
    assert!(missing.is_empty(), "{} of {} events are gone after Esc: {missing:?}", missing.len(), sent.len());
    assert_eq!(listed.len(), sent.len(), "each event once");
    assert_eq!(listed[0], sent[sent.len() - 1], "the newest first");
}

/// A payload search says what its rows are: the store's answer as of a time, with the newer events
/// that may match counted, until `/` Enter searches again; a filter the dashboard can check itself
/// is live. Against the real binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_says_when_it_was_read_and_a_filter_is_live() {
    use hookwatch::dashboard::app::App;
    use hookwatch::dashboard::screenshots::{render, to_text};
    let (_dir, server, remote, mut rx) = watched_server().await;
    let http = reqwest::Client::new();
    let mut app = App::new(server.base.clone());
    let screen = |app: &mut App| {
        app.now = hookwatch::domain::model::now_ms();
        to_text(&render(app, 200, 50, &hookwatch::dashboard::theme::Theme::PLAIN))
    };
    let globex = |phase| {
        let mut body = card_move("P", phase);
        body["data"]["card"]["title"] = "Globex renewal".into();
        body
    };
    // Found once the store's search index has it.
    let searchable = |count: usize| {
        let remote = remote.clone();
        async move {
            let query = EventQuery { words: vec!["globex".into()], limit: 10, ..Default::default() };
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while remote.events(query.clone()).await.unwrap().len() < count {
                assert!(tokio::time::Instant::now() < deadline, "the search never found {count}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    };
    let first = ingest(&http, &server.base, globex(2)).await;
    let other = ingest(&http, &server.base, card_move("P", 3)).await;
    apply_until(&mut app, &mut rx, |app| app.stream.events.len() == 2).await;
    searchable(1).await;

    let mut effects = keys(&mut app, "/");
    effects.extend(typed(&mut app, "globex"));
    effects.extend(keys(&mut app, "Enter"));
    for outcome in answers(&remote, effects).await {
        app.apply_outcome(outcome);
    }
    let text = screen(&mut app);
    let title = text.lines().find(|l| l.contains("Event stream")).unwrap().to_string();
    assert!(!title.contains("live"), "a search is not live: {title}");
    let note = text.lines().find(|l| l.contains("results as of")).unwrap_or_default();
    assert!(note.contains("/ ⏎ refreshes"), "the pane says what its rows are:\n{text}");
    assert_eq!(shown(&app), std::slice::from_ref(&first));

    let second = ingest(&http, &server.base, globex(4)).await;
    ingest(&http, &server.base, json_action("card.done")).await;
    apply_until(&mut app, &mut rx, |app| app.stream.events.len() == 4).await;
    let text = screen(&mut app);
    assert!(text.contains("· 2 newer not searched ·"), "{text}");
    assert_eq!(shown(&app), std::slice::from_ref(&first), "not shown before the store says it matches");

    searchable(2).await;
    for outcome in answers(&remote, keys(&mut app, "/ Enter")).await {
        app.apply_outcome(outcome);
    }
    let text = screen(&mut app);
    assert!(!text.contains("newer not searched"), "{text}");
    assert_eq!(shown(&app), [second, first]);

    // Conditions the dashboard checks itself: new events that meet them show as they come.
    let mut effects = keys(&mut app, "/");
    for _ in 0.."globex".len() {
        effects.extend(app.on_key(crossterm::event::KeyEvent::new(
            crossterm::event::KeyCode::Backspace,
            crossterm::event::KeyModifiers::NONE,
        )));
    }
    effects.extend(typed(&mut app, "action:card.move"));
    effects.extend(keys(&mut app, "Enter"));
    for outcome in answers(&remote, effects).await {
        app.apply_outcome(outcome);
    }
    assert_eq!(shown(&app).len(), 3, "{:?}", shown(&app));
    let live = ingest(&http, &server.base, card_move("P", 5)).await;
    apply_until(&mut app, &mut rx, |app| app.stream.events.len() == 5).await;
    let text = screen(&mut app);
    let title = text.lines().find(|l| l.contains("Event stream")).unwrap().to_string();
    assert!(title.contains("· live"), "{title}");
    assert_eq!(shown(&app)[0], live);
    assert!(shown(&app).contains(&other));
}

/// A minimal valid event of `action`.
fn json_action(action: &str) -> serde_json::Value {
    serde_json::json!({"data": {"action": action}})
}
