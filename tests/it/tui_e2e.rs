//! End to end: the real binary's dashboard in a real pseudo-terminal (tmux), driven by keys and
//! read back from the screen, as an operator over SSH would use it.

use std::process::Command;
use std::time::{Duration, Instant};

struct Tmux {
    session: String,
}

impl Tmux {
    /// A session running `command`; `None` (the test skipped, saying so) where tmux is missing.
    fn start(width: u16, height: u16, command: &str) -> Option<Tmux> {
        if !crate::common::can_run("tmux", &["-V"], "apt-get install tmux") {
            return None;
        }
        static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = STARTED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let session = format!("hookwatch-e2e-{}-{n}", std::process::id());
        // A start failed once in a full run; the tests start sessions in parallel, and racing to
        // start the tmux server is the likely cause. Retried, and tmux's own error is reported.
        let mut last_error = String::new();
        for _ in 0..5 {
            let out = Command::new("tmux")
                .args(["new-session", "-d", "-s", &session, "-x", &width.to_string(), "-y", &height.to_string()])
                .arg(command)
                .env("TERM", "xterm-256color")
                .output()
                .unwrap();
            if out.status.success() {
                return Some(Tmux { session });
            }
            last_error = String::from_utf8_lossy(&out.stderr).into_owned();
            std::thread::sleep(Duration::from_millis(200));
        }
        panic!("tmux could not start a session: {last_error}");
    }

    fn screen(&self) -> String {
        let out = Command::new("tmux").args(["capture-pane", "-p", "-t", &self.session]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The screen with its colours, as escape sequences.
    fn coloured_screen(&self) -> String {
        let out = Command::new("tmux").args(["capture-pane", "-p", "-e", "-t", &self.session]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn keys(&self, keys: &[&str]) {
        for k in keys {
            Command::new("tmux").args(["send-keys", "-t", &self.session, k]).status().unwrap();
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_for(&self, needle: &str, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if screen.contains(needle) || Instant::now() > deadline {
                assert!(screen.contains(needle), "waited for {needle:?}; the screen shows:\n{screen}");
                return screen;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// tmux's newest paste buffer: what the program copied with OSC 52 (with `set-clipboard on`).
    fn clipboard(&self) -> String {
        let out = Command::new("tmux").args(["show-buffer"]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn pane(&self, format: &str) -> String {
        let out = Command::new("tmux").args(["display-message", "-p", "-t", &self.session, format]).output().unwrap();
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Waits for the program to exit and returns its exit code (printed by the wrapping shell).
    fn wait_exit(&self, within: Duration) -> String {
        let screen = self.wait_for("EXIT=", within);
        screen.split("EXIT=").nth(1).unwrap_or("").split_whitespace().next().unwrap_or("").to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.session]).status();
    }
}

/// The first process whose parent is `parent` (read from /proc, so no extra tools are needed).
fn child_of(parent: &str) -> Option<String> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
        // The command name is in parentheses and may hold spaces; the parent pid follows it.
        let after = stat.rsplit_once(')')?.1;
        let ppid = after.split_whitespace().nth(1)?;
        (ppid == parent).then(|| entry.file_name().to_string_lossy().into_owned())
    })
}

/// `attach` to `base` with `token`, run in `dir` (its log goes there), wrapped like the demo.
fn attach_command(dir: &std::path::Path, base: &str, token: &str) -> String {
    format!(
        "cd {} && {} attach {base} --token {token}; echo EXIT=$?; sleep 30",
        dir.display(),
        env!("CARGO_BIN_EXE_hookwatch")
    )
}

/// The demo, wrapped so its exit code stays on screen after it quits.
fn demo_command() -> String {
    demo_with("")
}

/// The demo with these options.
fn demo_with(options: &str) -> String {
    format!("{} demo {options}; echo EXIT=$?; sleep 30", env!("CARGO_BIN_EXE_hookwatch"))
}

#[test]
fn the_demo_dashboard_comes_alive_and_answers_keys() {
    let Some(t) = Tmux::start(120, 36, &demo_command()) else { return };
    let screen = t.wait_for("crm-sync", Duration::from_secs(10));
    assert!(screen.contains("Subscriptions (3)") && screen.contains("Event stream"), "{screen}");
    t.wait_for("✓crm-sync", Duration::from_secs(5)); // deliveries happen

    t.keys(&["?"]);
    t.wait_for("Help", Duration::from_secs(3));
    t.keys(&["Escape", "j", "Enter"]);
    t.wait_for("Payload", Duration::from_secs(3));
    t.wait_for("\"data\"", Duration::from_secs(3));
    t.keys(&["Tab"]);
    t.wait_for(" attempt", Duration::from_secs(3));
    t.keys(&["Escape", "/"]);
    for c in "action:card.move".chars() {
        t.keys(&[&c.to_string()]);
    }
    t.keys(&["Enter"]);
    t.wait_for("filter: action:card.move", Duration::from_secs(3));
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(Duration::from_secs(5)), "0");
    // The terminal was restored: the alternate screen is gone and the cursor is visible again.
    assert_eq!(t.pane("#{alternate_on}"), "0");
    assert_eq!(t.pane("#{cursor_flag}"), "1");
}

#[test]
fn sigterm_restores_the_terminal() {
    let Some(t) = Tmux::start(80, 24, &demo_command()) else { return };
    t.wait_for("Event stream", Duration::from_secs(10));
    let shell = t.pane("#{pane_pid}");
    let pid = child_of(&shell).expect("the dashboard runs under the pane's shell");
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    t.wait_exit(Duration::from_secs(5));
    assert_eq!(t.pane("#{alternate_on}"), "0");
}

#[test]
fn a_tiny_terminal_gets_a_notice_not_a_panic() {
    let Some(t) = Tmux::start(50, 12, &demo_command()) else { return };
    t.wait_for("terminal too small", Duration::from_secs(10));
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(Duration::from_secs(5)), "0");
}

/// `attach` with the viewer token: the header says READ-ONLY, the hint line offers no change,
/// and a change key does nothing (the server's subscription and audit log are untouched).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attach_with_the_viewer_token_is_read_only() {
    use crate::common::*;
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &[]);
    let http = reqwest::Client::new();
    let (_, sub) = call(
        &http,
        reqwest::Method::POST,
        &format!("{}/v1/subscriptions", server.base),
        ADMIN,
        Some(serde_json::json!({"name": "crm", "url": "http://127.0.0.1:9/h", "actions": ["*"]})),
    )
    .await;
    let path = format!("{}/v1/subscriptions/{}", server.base, sub["id"].as_str().unwrap());
    let command = attach_command(dir.path(), &server.base, VIEWER);
    let Some(t) = Tmux::start(100, 30, &command) else { return };
    let screen = t.wait_for("READ-ONLY", Duration::from_secs(10));
    t.wait_for("crm", Duration::from_secs(10));
    assert!(!screen.contains(" r redeliver"), "no change is offered:\n{screen}");
    t.keys(&["Tab"]);
    let screen = t.wait_for("open the endpoint's page", Duration::from_secs(5));
    assert!(!screen.contains("p pause") && !screen.contains("e edit"), "no change is offered:\n{screen}");
    t.keys(&["p", "n"]);
    let screen = t.screen();
    assert!(!screen.contains("New subscription"), "the form did not open:\n{screen}");
    let (_, still) = call(&http, reqwest::Method::GET, &path, ADMIN, None).await;
    assert_eq!(still["state"], "active", "p changed nothing: {still}");
    let (_, log) = call(&http, reqwest::Method::GET, &format!("{}/v1/audit", server.base), ADMIN, None).await;
    assert_eq!(log["data"].as_array().map(|a| a.len()), Some(1), "only the admin's create: {log}");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(Duration::from_secs(5)), "0");
}

/// Types `text` a character at a time (tmux reads a word as a key name).
fn type_text(t: &Tmux, text: &str) {
    for c in text.chars() {
        let key = if c == ' ' { "Space".to_string() } else { c.to_string() };
        t.keys(&[&key]);
    }
}

/// `attach` as the admin: a server with one subscription and six delivered events; `None` (the
/// test skipped, saying so) where tmux is missing.
async fn attached_admin(
    width: u16,
    height: u16,
) -> Option<(tempfile::TempDir, crate::common::Process, crate::common::Sink, Tmux, serde_json::Value)> {
    use crate::common::*;
    if !can_run("tmux", &["-V"], "apt-get install tmux") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &[]);
    let sink = Sink::start(Behaviour::default()).await;
    let http = reqwest::Client::new();
    let body = serde_json::json!({"name": "billing", "url": sink.url, "actions": ["*"]});
    let (_, sub) =
        call(&http, reqwest::Method::POST, &format!("{}/v1/subscriptions", server.base), ADMIN, Some(body)).await;
    for _ in 0..6 {
        call(&http, reqwest::Method::POST, &format!("{}/v1/events", server.base), INGEST, Some(card_move("P", 2)))
            .await;
    }
    assert_eq!(sink.wait_for(6, Duration::from_secs(10)).await, 6);
    let command = attach_command(dir.path(), &server.base, ADMIN);
    let t = Tmux::start(width, height, &command)?;
    t.wait_for("billing", Duration::from_secs(10));
    Some((dir, server, sink, t, sub))
}

/// The palette: `:` then a shortened command, Tab to complete it and the name, Enter to run it;
/// ↑ brings the line back. The change reaches the server, and a bad line says what is wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_palette_completes_runs_and_remembers_commands() {
    use crate::common::*;
    let Some((_dir, server, _sink, t, sub)) = attached_admin(110, 32).await else { return };
    let path = format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap());
    t.keys(&[":"]);
    t.wait_for("Command · Tab completes", Duration::from_secs(3));
    type_text(&t, "pa");
    t.keys(&["Tab"]);
    type_text(&t, "bi");
    t.keys(&["Tab"]);
    t.wait_for(":pause billing", Duration::from_secs(3));
    t.keys(&["Enter"]);
    until(&server.base, &path, Duration::from_secs(5), |s| s["state"] == "paused").await;
    t.wait_for("‖1", Duration::from_secs(5));

    t.keys(&[":", "Up"]);
    t.wait_for(":pause billing", Duration::from_secs(3));
    for _ in 0.."pause billing".len() {
        t.keys(&["BSpace"]);
    }
    type_text(&t, "resume billing");
    t.keys(&["Enter"]);
    until(&server.base, &path, Duration::from_secs(5), |s| s["state"] == "active").await;

    t.keys(&[":"]);
    type_text(&t, "probe nowhere");
    t.keys(&["Enter"]);
    t.wait_for("no subscription is named", Duration::from_secs(3));
    t.keys(&[":"]);
    type_text(&t, "re");
    t.keys(&["Enter"]);
    t.wait_for("could be replay, resume", Duration::from_secs(3));
    t.keys(&["Escape"]);
    let (_, log) =
        call(&reqwest::Client::new(), reqwest::Method::GET, &format!("{}/v1/audit", server.base), ADMIN, None).await;
    let actions: Vec<&str> = log["data"].as_array().unwrap().iter().filter_map(|e| e["action"].as_str()).collect();
    assert_eq!(actions, ["subscription.resume", "subscription.pause", "subscription.create"], "{log}");
    t.keys(&[":"]);
    type_text(&t, "quit");
    t.keys(&["Enter"]);
    assert_eq!(t.wait_exit(Duration::from_secs(5)), "0");
}

/// The keystrokes that once made a live catch-all to `https://http://`: `n`, a name, Tab, `http://`,
/// Enter. The URL starts empty, so that is `http://`, refused with the actions left empty; no
/// request is made. Filled in, with Start on paused, the subscription is created paused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_form_refuses_a_hostless_url_and_empty_actions_and_can_create_paused() {
    use crate::common::*;
    let Some((_dir, server, _sink, t, _)) = attached_admin(80, 24).await else { return };
    t.keys(&["n"]);
    t.wait_for("e.g. https://crm.example.com/hooks", Duration::from_secs(3));
    type_text(&t, "probe");
    t.keys(&["Tab"]);
    type_text(&t, "http://");
    t.keys(&["Enter"]);
    let screen = t.wait_for("at least one action", Duration::from_secs(3));
    assert!(screen.contains("URL http://") && !screen.contains("https://http://"), "{screen}");
    assert!(screen.contains("is not a URL (empty host)"), "{screen}");
    let listed = |server: &Process| {
        let url = format!("{}/v1/subscriptions", server.base);
        async move { call(&reqwest::Client::new(), reqwest::Method::GET, &url, ADMIN, None).await.1 }
    };
    assert_eq!(listed(&server).await["data"].as_array().map(Vec::len), Some(1), "nothing was created");
    type_text(&t, "crm.example.com/hooks");
    t.keys(&["Tab"]);
    type_text(&t, "card.move");
    t.keys(&["BTab", "BTab", "BTab"]);
    t.wait_for("paused: held until p resumes", Duration::from_secs(3));
    t.keys(&["Space", "Enter"]);
    t.wait_for("saved subscription probe, paused: p resumes it", Duration::from_secs(5));
    let all = listed(&server).await;
    let created = all["data"].as_array().unwrap().iter().find(|s| s["name"] == "probe").cloned().unwrap_or_default();
    assert_eq!(
        (created["url"].as_str(), created["state"].as_str(), created["actions"].clone()),
        (Some("http://crm.example.com/hooks"), Some("paused"), serde_json::json!(["card.move"])),
        "{all}"
    );
}

/// C-r on a filtered stream: the preview counts what the server would send and nothing goes out
/// until `y`; `n` sends nothing. Started, it arrives at the sink and its progress shows in the header.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_is_previewed_confirmed_and_followed_from_the_keyboard() {
    use crate::common::*;
    let Some((_dir, server, sink, t, _)) = attached_admin(110, 32).await else { return };
    t.keys(&["/"]);
    type_text(&t, "sub:billing");
    t.keys(&["Enter"]);
    t.wait_for("filter: sub:billing", Duration::from_secs(3));
    t.keys(&["C-r"]);
    t.wait_for("Selects   6 deliveries of 6 events", Duration::from_secs(5));
    t.keys(&["n"]);
    t.wait_for("replay cancelled: nothing was sent", Duration::from_secs(3));
    let (_, none) =
        call(&reqwest::Client::new(), reqwest::Method::GET, &format!("{}/v1/replays", server.base), ADMIN, None).await;
    assert_eq!(none["data"].as_array().map(Vec::len), Some(0), "n created nothing: {none}");
    assert_eq!(sink.count(), 6);

    t.keys(&["C-r"]);
    t.wait_for("Selects   6 deliveries", Duration::from_secs(5));
    t.keys(&["BSpace", "BSpace", "2"]);
    t.wait_for("Takes     about 3s", Duration::from_secs(3));
    t.keys(&["y"]);
    t.wait_for("▶ replay", Duration::from_secs(5));
    assert_eq!(sink.wait_for(12, Duration::from_secs(15)).await, 12, "the replay sent each delivery again");
    t.wait_for("done: 6 deliveries sent, 6 delivered, 0 failed", Duration::from_secs(10));
    let (_, log) =
        call(&reqwest::Client::new(), reqwest::Method::GET, &format!("{}/v1/audit", server.base), ADMIN, None).await;
    assert_eq!(log["data"][0]["action"], "replay.start", "{log}");
    assert_eq!(log["data"][0]["actor"], "admin", "{log}");
}

/// `y` copies through OSC 52 into tmux's buffer: the event id from the stream; from the inspector,
/// the payload byte for byte and a curl command that, run, delivers again with a valid signature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn y_copies_the_id_the_payload_and_a_signed_curl_command() {
    use crate::common::*;
    let Some((_dir, server, sink, t, sub)) = attached_admin(120, 36).await else { return };
    assert!(Command::new("tmux").args(["set-option", "-s", "set-clipboard", "on"]).status().unwrap().success());
    let http = reqwest::Client::new();
    let (_, events) =
        call(&http, reqwest::Method::GET, &format!("{}/v1/events?limit=1", server.base), ADMIN, None).await;
    let newest = events["data"][0]["id"].as_str().unwrap().to_string();
    t.keys(&["y"]);
    t.wait_for("copied the event id", Duration::from_secs(3));
    assert_eq!(t.clipboard(), newest, "the selected (newest) event's id");

    t.keys(&["Enter"]);
    t.wait_for("Payload", Duration::from_secs(5));
    t.wait_for("\"data\"", Duration::from_secs(5));
    t.keys(&["y", "p"]);
    t.wait_for("copied the payload", Duration::from_secs(3));
    let (_, event) =
        call(&http, reqwest::Method::GET, &format!("{}/v1/events/{newest}", server.base), ADMIN, None).await;
    assert_eq!(t.clipboard(), event["body"].as_str().unwrap(), "byte for byte");

    t.keys(&["y", "c"]);
    t.wait_for("copied a curl command", Duration::from_secs(3));
    let command = t.clipboard();
    assert!(command.starts_with("curl "), "{command}");
    let before = sink.count();
    let run = std::process::Command::new("bash").args(["-c", &command]).output().unwrap();
    assert!(run.status.success(), "the copied command runs: {}", String::from_utf8_lossy(&run.stderr));
    assert_eq!(sink.wait_for(before + 1, Duration::from_secs(5)).await, before + 1);
    let got = sink.requests().pop().unwrap();
    assert_eq!(got.body, event["body"].as_str().unwrap().as_bytes());
    let wh = standardwebhooks::Webhook::new(&secret_of(&http, &server.base, &sub).await).unwrap();
    wh.verify(&got.body, &got.headers).expect("the copied command is signed like a delivery");
    assert_eq!(got.headers["webhook-id"], newest.as_str());

    // On a subscription: y its id, Y its URL; r there says where it works.
    t.keys(&["Escape", "Tab", "Tab", "y"]);
    t.wait_for("billing's id", Duration::from_secs(3));
    assert_eq!(t.clipboard(), sub["id"].as_str().unwrap());
    t.keys(&["Y"]);
    t.wait_for("billing's URL", Duration::from_secs(3));
    assert_eq!(t.clipboard(), sub["url"].as_str().unwrap());
    t.keys(&["r"]);
    t.wait_for("works in the Event stream", Duration::from_secs(3));
}

/// `/` with free text searches payloads in the store: an event far older than what the dashboard
/// loaded (500 newer ones came after it) is found by a word of its card title, and by the field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_finds_payload_text_beyond_what_is_loaded() {
    use crate::common::*;
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &[]);
    let http = reqwest::Client::new();
    let events = format!("{}/v1/events", server.base);
    let special = serde_json::json!({"data": {"action": "card.done", "card": {"id": 7, "title": "Globex renewal", "pipe_id": "P"}}});
    let (status, _) = call(&http, reqwest::Method::POST, &events, INGEST, Some(special)).await;
    assert_eq!(status, 202);
    for _ in 0..12 {
        let batch = (0..50).map(|_| call(&http, reqwest::Method::POST, &events, INGEST, Some(card_move("P", 2))));
        futures::future::join_all(batch).await;
    }
    let command = attach_command(dir.path(), &server.base, ADMIN);
    let Some(t) = Tmux::start(120, 36, &command) else { return };
    let screen = t.wait_for("card.move", Duration::from_secs(10));
    assert!(!screen.contains("card.done"), "the old event is not among those loaded:\n{screen}");
    t.keys(&["/"]);
    type_text(&t, "globex");
    t.keys(&["Enter"]);
    let screen = t.wait_for("card.done", Duration::from_secs(5));
    assert!(screen.contains("filter: globex") && !screen.contains("card.move"), "{screen}");
    t.keys(&["/", "C-u"]);
    type_text(&t, "data.card.title:RENEWAL");
    t.keys(&["Enter"]);
    let screen = t.wait_for("filter: data.card.title:RENEWAL", Duration::from_secs(5));
    assert!(screen.contains("card.done") && !screen.contains("card.move"), "{screen}");
    t.keys(&["Enter"]);
    t.wait_for("Globex renewal", Duration::from_secs(5));
    t.keys(&["Escape", "Escape"]);
    t.wait_for("cleared the filter", Duration::from_secs(3));
    t.wait_for("card.move", Duration::from_secs(5));
}

/// `o` orders the subscriptions table (the header marks the column), `O` reverses it, and `z`
/// gives the focused pane the whole screen and back.
#[test]
fn o_sorts_the_table_and_z_zooms_the_pane() {
    let Some(t) = Tmux::start(120, 36, &demo_command()) else { return };
    t.wait_for("crm-sync", Duration::from_secs(10));
    t.keys(&["Tab", "o", "o", "o", "o"]);
    t.wait_for("backlog▲", Duration::from_secs(3));
    t.keys(&["O"]);
    t.wait_for("backlog▼", Duration::from_secs(3));
    t.keys(&["z"]);
    let screen = t.wait_for("ZOOM", Duration::from_secs(3));
    assert!(!screen.contains("Event stream"), "the subscriptions pane alone:\n{screen}");
    t.keys(&["z"]);
    let screen = t.wait_for("Event stream", Duration::from_secs(3));
    assert!(!screen.contains("ZOOM"), "{screen}");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(Duration::from_secs(5)), "0");
}

/// Enter on a subscription opens its page over the API: its responses by status, its failed
/// attempts (Enter opens one in the inspector), `+` looks further back, `/` shows its events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_endpoint_page_shows_responses_and_failures_and_opens_them() {
    use crate::common::*;
    let Some((_dir, server, sink, t, _)) = attached_admin(120, 40).await else { return };
    sink.behaviour.lock().unwrap().script = [503].into();
    let http = reqwest::Client::new();
    let (_, failed) =
        call(&http, reqwest::Method::POST, &format!("{}/v1/events", server.base), INGEST, Some(card_move("P", 3)))
            .await;
    assert_eq!(sink.wait_for(8, Duration::from_secs(10)).await, 8, "the failure and its retry");
    t.keys(&["Tab", "Enter"]);
    t.wait_for("Endpoint billing · last 1h", Duration::from_secs(5));
    let screen = t.wait_for("Recent failures (1)", Duration::from_secs(5));
    assert!(screen.contains("503") && screen.contains("HTTP 503"), "{screen}");
    assert!(screen.contains("200") && screen.contains("Success per 1m"), "{screen}");
    t.keys(&["Enter"]);
    let id = failed["id"].as_str().unwrap();
    let screen = t.wait_for(&format!("Event {id}"), Duration::from_secs(5));
    assert!(screen.contains("Service Unavailable") || screen.contains("503"), "on the failed attempt:\n{screen}");
    t.keys(&["Escape", "+"]);
    t.wait_for("Responses · last 24h", Duration::from_secs(5));
    t.keys(&["/"]);
    t.wait_for("filter: sub:billing", Duration::from_secs(5));
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(Duration::from_secs(5)), "0");
}

/// An endpoint that stops answering is never read as healthy: once its breaker holds its
/// deliveries, its row says so where the rate was and the header counts it down.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_reads_down_where_its_rate_was() {
    use crate::common::*;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hw.db").to_string_lossy().into_owned();
    let server = Process::spawn(&db, &["--breaker-threshold", "3", "--breaker-cooldown", "5m"]);
    let (crm_sink, billing_sink) = (
        Sink::start(Behaviour::default()).await,
        Sink::start(Behaviour { default_status: 500, ..Default::default() }).await,
    );
    let http = reqwest::Client::new();
    for (name, sink) in [("crm", &crm_sink), ("billing", &billing_sink)] {
        let body = serde_json::json!({"name": name, "url": sink.url, "actions": ["*"]});
        let (status, _) =
            call(&http, reqwest::Method::POST, &format!("{}/v1/subscriptions", server.base), ADMIN, Some(body)).await;
        assert_eq!(status, 201);
    }
    for _ in 0..4 {
        call(&http, reqwest::Method::POST, &format!("{}/v1/events", server.base), INGEST, Some(card_move("P", 2)))
            .await;
    }
    // Attempts in flight together may take the count past three before the breaker opens.
    assert!(billing_sink.wait_for(3, Duration::from_secs(10)).await >= 3, "three failures open the breaker");
    let Some(t) = Tmux::start(80, 24, &attach_command(dir.path(), &server.base, ADMIN)) else { return };
    let screen = t.wait_for("1/2 down", Duration::from_secs(10));
    let row = screen.lines().find(|l| l.contains("billing")).unwrap_or_default();
    assert!(row.contains("OPEN") && row.contains(" held"), "the hold is where the rate was:\n{screen}");
    assert!(!row.contains('%'), "no rate is shown as the present:\n{screen}");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(Duration::from_secs(5)), "0");
}

/// `--theme 16` paints with the basic colours only, the default theme with the 256-colour
/// palette; `--mouse` asks the terminal for mouse reports (tmux says so) and gives them back at
/// the end, and without it the terminal's own selection stays.
#[test]
fn the_theme_picks_the_palette_and_mouse_is_taken_only_when_asked() {
    let Some(sixteen) = Tmux::start(100, 30, &demo_with("--theme 16")) else { return };
    sixteen.wait_for("crm-sync", Duration::from_secs(10));
    // tmux writes every foreground as 38;5;N: the basic colours are N below 16.
    let foregrounds = |screen: String| -> Vec<u8> {
        screen.split("38;5;").skip(1).filter_map(|rest| rest.split(['m', ';']).next()?.parse().ok()).collect()
    };
    let basic = foregrounds(sixteen.coloured_screen());
    assert!(!basic.is_empty() && basic.iter().all(|n| *n < 16), "basic colours only: {basic:?}");
    assert_eq!(sixteen.pane("#{mouse_any_flag}"), "0", "no mouse unless asked");

    let Some(t) = Tmux::start(100, 30, &demo_with("--mouse --theme default")) else { return };
    t.wait_for("crm-sync", Duration::from_secs(10));
    let tones = foregrounds(t.coloured_screen());
    assert!(tones.iter().any(|n| *n >= 16), "the default palette is the 256-colour one: {tones:?}");
    assert_eq!(t.pane("#{mouse_any_flag}#{mouse_sgr_flag}"), "11", "--mouse asked for mouse reports");
    // A click as the terminal reports it (SGR: button 0 at column;row, 1-based), twice on
    // billing's row: selected, then opened.
    let row = t.screen().lines().position(|l| l.contains(" billing ")).expect("billing is listed") + 1;
    for _ in 0..2 {
        for event in [format!("\x1b[<0;20;{row}M"), format!("\x1b[<0;20;{row}m")] {
            Command::new("tmux").args(["send-keys", "-l", "-t", &t.session, &event]).status().unwrap();
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    t.wait_for("Endpoint billing", Duration::from_secs(5));
    t.keys(&["Escape"]);
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(Duration::from_secs(5)), "0");
    assert_eq!(t.pane("#{mouse_any_flag}"), "0", "given back at the end");
}

/// A hung server does not look healthy. With the server stopped (SIGSTOP) and the socket left
/// open, the attached dashboard marks the header and every pane STALE with the age of its figures
/// within 10 s, and the audit log says why it cannot be read instead of loading forever; after
/// SIGCONT it is live again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_server_is_shown_stale_then_live_again() {
    use crate::common::*;
    let dir = tempfile::tempdir().unwrap();
    let server = Process::spawn(&dir.path().join("hw.db").to_string_lossy(), &[]);
    let sink = Sink::start(Behaviour::default()).await;
    let http = reqwest::Client::new();
    let body = serde_json::json!({"name": "billing", "url": sink.url, "actions": ["*"]});
    call(&http, reqwest::Method::POST, &format!("{}/v1/subscriptions", server.base), ADMIN, Some(body)).await;
    call(&http, reqwest::Method::POST, &format!("{}/v1/events", server.base), INGEST, Some(card_move("P", 2))).await;
    let command = format!(
        "cd {} && {} attach {} --token {ADMIN} --request-timeout 2s; echo EXIT=$?; sleep 30",
        dir.path().display(),
        env!("CARGO_BIN_EXE_hookwatch"),
        server.base
    );
    let Some(t) = Tmux::start(200, 50, &command) else { return };
    t.wait_for("✓billing", Duration::from_secs(10));
    assert!(!t.screen().contains("STALE"), "live to begin with:\n{}", t.screen());

    server.signal("STOP");
    let screen = t.wait_for("server silent", Duration::from_secs(10));
    let header = screen.lines().next().unwrap_or_default();
    assert!(header.contains("STALE · last update"), "the header says so:\n{screen}");
    // Subscriptions, Delivery success and Event stream, each with the age of its figures.
    assert_eq!(screen.matches("STALE · last update").count(), 4, "every pane says so:\n{screen}");
    assert!(!screen.contains(" · live"), "{screen}");
    t.keys(&["A"]);
    let screen = t.wait_for("cannot read the audit log", Duration::from_secs(5));
    assert!(screen.contains("did not answer within 2s"), "the request's error, not Loading…:\n{screen}");
    t.keys(&["Escape"]);

    server.signal("CONT");
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.screen().contains("STALE") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let screen = t.wait_for(" · live", Duration::from_secs(1));
    assert!(!screen.contains("STALE"), "live again after SIGCONT:\n{screen}");
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(Duration::from_secs(5)), "0");
}

/// A config folder (`XDG_CONFIG_HOME`) whose `hookwatch/keys.toml` holds `keys`.
fn config_with_keys(keys: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("hookwatch")).unwrap();
    std::fs::write(dir.path().join("hookwatch/keys.toml"), keys).unwrap();
    dir
}

/// The operator's keys.toml rebinds quit and help: the new keys act, the old ones are free, and
/// the hint line and the help show the keys in force.
#[test]
fn the_operators_keys_file_rebinds_keys_and_the_screen_says_so() {
    let config = config_with_keys("quit = \"x\"\nhelp = [\"F1\", \"ctrl-g\"]\n");
    let command = format!("XDG_CONFIG_HOME={} {}", config.path().display(), demo_command());
    let Some(t) = Tmux::start(120, 36, &command) else { return };
    let screen = t.wait_for("crm-sync", Duration::from_secs(10));
    assert!(screen.contains("F1/^g help") && screen.contains("x quit"), "the hint line:\n{screen}");
    t.keys(&["?", "q"]);
    std::thread::sleep(Duration::from_millis(500));
    let screen = t.screen();
    assert!(!screen.contains("EXIT=") && !screen.contains("Help"), "? and q are free now:\n{screen}");
    t.keys(&["F1"]);
    let help = t.wait_for("Help", Duration::from_secs(3));
    assert!(help.contains("F1/^g") && help.lines().any(|l| l.contains("  x ") && l.contains("quit")), "{help}");
    t.keys(&["Escape", "x"]);
    assert_eq!(t.wait_exit(Duration::from_secs(5)), "0");
}

/// A keys.toml that gives one key two meanings in one place stops the start, naming both
/// bindings and the file, before anything is started.
#[test]
fn a_keys_file_with_a_conflict_stops_the_start_naming_both_bindings() {
    let config = config_with_keys("quit = \"j\"\n");
    let out = Command::new(env!("CARGO_BIN_EXE_hookwatch"))
        .arg("demo")
        .env("XDG_CONFIG_HOME", config.path())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(said.contains("keys.toml: \"j\" is bound to both quit and down"), "{said}");
    let printed = Command::new(env!("CARGO_BIN_EXE_hookwatch"))
        .arg("keys")
        .env("XDG_CONFIG_HOME", config_with_keys("quit = \"x\"\n").path())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&printed.stdout).contains("\nquit = [\"x\"]\n"), "keys prints the keys in force");
}

/// `:view save NAME` keeps the filter, the order and the zoom in views.toml; a later run brings
/// them back with `:view NAME`, completed from the saved names.
#[test]
fn a_view_saved_in_one_run_comes_back_in_the_next() {
    let config = tempfile::tempdir().unwrap();
    let command = format!("XDG_CONFIG_HOME={} {}", config.path().display(), demo_command());
    let Some(t) = Tmux::start(120, 36, &command) else { return };
    t.wait_for("crm-sync", Duration::from_secs(10));
    t.keys(&[":"]);
    type_text(&t, "filter action:card.move");
    t.keys(&["Enter", "Tab", "o", "o", "o", "o", "z", ":"]);
    type_text(&t, "view save moves");
    t.keys(&["Enter"]);
    t.wait_for("view moves saved", Duration::from_secs(3));
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(Duration::from_secs(5)), "0");
    let saved = std::fs::read_to_string(config.path().join("hookwatch/views.toml")).unwrap();
    assert!(saved.contains("[moves]") && saved.contains("filter = \"action:card.move\""), "{saved}");

    let Some(t) = Tmux::start(120, 36, &command) else { return };
    t.wait_for("crm-sync", Duration::from_secs(10));
    t.keys(&[":"]);
    type_text(&t, "view m");
    t.keys(&["Tab", "Enter"]);
    let screen = t.wait_for("backlog▲", Duration::from_secs(3));
    assert!(screen.contains("ZOOM") && !screen.contains("Event stream"), "zoomed on the table:\n{screen}");
    t.keys(&["z"]);
    t.wait_for("filter: action:card.move", Duration::from_secs(3));
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(Duration::from_secs(5)), "0");
}
