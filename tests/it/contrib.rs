//! What `contrib/` ships for the tools teams already run, checked by those tools: Prometheus
//! rules (`promtool check rules` and `promtool test rules`), the Grafana dashboard's queries
//! (each parsed by promtool, each metric seen in a real scrape), the systemd unit
//! (`systemd-analyze verify`) and the container's premise (the server runs as an unprivileged user).

use crate::common::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn contrib(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib").join(path)
}

fn promtool(args: &[&str], dir: &Path) -> String {
    let out = Command::new("promtool")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool is required for this test (apt-get install prometheus; .ci/run installs it)");
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "promtool {args:?}:\n{said}");
    said
}

/// Every `hookwatch_*` metric name in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (i, _) in text.match_indices("hookwatch_") {
        let name: String = text[i..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        // Recording rules are named hookwatch:…; a histogram is scraped as its _bucket series.
        names.insert(name);
    }
    names
}

#[tokio::test]
async fn the_rules_and_the_dashboard_read_metrics_hookwatch_exposes() {
    if !can_run("promtool", &["--version"], "apt-get install prometheus") {
        return;
    }
    let rules = std::fs::read_to_string(contrib("prometheus/hookwatch.rules.yml")).unwrap();
    promtool(&["check", "rules", "hookwatch.rules.yml"], &contrib("prometheus"));
    let tested = promtool(&["test", "rules", "hookwatch.rules.test.yml"], &contrib("prometheus"));
    assert!(tested.contains("SUCCESS"), "{tested}");

    // The dashboard's queries, with Grafana's variables filled in, as recording rules promtool parses.
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(contrib("grafana/hookwatch.json")).unwrap()).unwrap();
    let exprs: Vec<String> = dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["targets"].as_array().cloned().unwrap_or_default())
        .filter_map(|t| t["expr"].as_str().map(|e| e.replace("$__rate_interval", "5m").replace("$job", "hookwatch")))
        .collect();
    assert!(exprs.len() >= 8, "a query per panel at least: {exprs:?}");
    let mut as_rules = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, e) in exprs.iter().enumerate() {
        as_rules +=
            &format!("      - record: dashboard:panel_{i}\n        expr: {}\n", serde_json::to_string(e).unwrap());
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dashboard.rules.yml"), as_rules).unwrap();
    promtool(&["check", "rules", "dashboard.rules.yml"], dir.path());

    // Every metric they read is one a server that has delivered exposes.
    let hw = Hookwatch::start().await;
    let sink = Sink::start(Behaviour { script: [503].into(), ..Default::default() }).await;
    hw.subscribe(&sink.url, &["*"], serde_json::json!({})).await;
    hw.send(&card_move("P", 2)).await;
    sink.wait_for(2, Duration::from_secs(5)).await;
    let scraped = reqwest::get(format!("{}/metrics", hw.base)).await.unwrap().text().await.unwrap();
    let exposed = metric_names(&scraped);
    let read = metric_names(&(rules + &exprs.join("\n")));
    let missing: Vec<&String> = read.iter().filter(|n| !exposed.contains(*n)).collect();
    assert!(missing.is_empty(), "read but not exposed: {missing:?}\nexposed: {exposed:?}");
}

/// The unit verifies, and runs `serve` as a user of its own with nothing writable but its state.
#[test]
fn the_systemd_unit_verifies_and_runs_serve_unprivileged() {
    let unit = std::fs::read_to_string(contrib("systemd/hookwatch.service")).unwrap();
    for needed in ["DynamicUser=yes", "StateDirectory=hookwatch", "ProtectSystem=strict", "NoNewPrivileges=yes"] {
        assert!(unit.contains(needed), "{needed}");
    }
    // The manual the unit names is what `hookwatch man --dir` installs, as its comment says.
    assert!(
        unit.contains("Documentation=man:hookwatch(1)")
            && unit.contains("hookwatch man --dir /usr/local/share/man/man1")
    );
    let pages = tempfile::tempdir().unwrap();
    let made =
        Command::new(env!("CARGO_BIN_EXE_hookwatch")).arg("man").arg("--dir").arg(pages.path()).status().unwrap();
    assert!(made.success() && pages.path().join("hookwatch.1").is_file(), "hookwatch man --dir writes hookwatch.1");
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).expect("an ExecStart line");
    assert!(exec.contains(" serve "), "{exec}");
    // Verified against the binary just built, where the unit expects the installed one.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hookwatch.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/hookwatch", env!("CARGO_BIN_EXE_hookwatch"))).unwrap();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&path)
        .output()
        .expect("systemd-analyze is required for this test (package systemd)");
    let said = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && said.trim().is_empty(), "systemd-analyze verify:\n{said}");
}

/// The container runs `hookwatch serve` as uid 10001: the server needs no privilege beyond its own
/// state directory. Run here under an unprivileged uid, as the image's USER line does (no
/// container engine runs on this machine kind, so the image itself is not built here).
#[tokio::test]
async fn the_container_runs_serve_as_an_unprivileged_user() {
    let file = std::fs::read_to_string(contrib("Containerfile")).unwrap();
    let user = file.lines().find_map(|l| l.strip_prefix("USER ")).expect("a USER line");
    let uid: u32 = user.split(':').next().unwrap().parse().unwrap();
    assert!(uid >= 1000, "not root, not a system account: {user}");
    assert_eq!(user, format!("{uid}:{uid}"), "the image's group is the one its user is made with");
    assert!(file.contains(&format!("groupadd --system --gid {uid} hookwatch")), "the group exists with that gid");
    assert!(file.contains(&format!("useradd --system --uid {uid} --gid {uid} ")), "the user is in it");
    // The build context is the project root: its target/ and .git would be sent with every build.
    let ignored = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(".dockerignore")).unwrap();
    for heavy in ["target/", ".git/"] {
        assert!(ignored.lines().any(|l| l.trim() == heavy), ".dockerignore leaves out {heavy}");
    }
    assert!(file.contains(r#"ENTRYPOINT ["/usr/local/bin/hookwatch", "serve"]"#));
    assert!(file.contains("HOOKWATCH_DB=/var/lib/hookwatch/hookwatch.db"));
    let state = tempfile::tempdir().unwrap();
    // As root (CI), switch to the image's uid; anyone else is unprivileged already.
    let mut command = if running_as_root() {
        std::os::unix::fs::chown(state.path(), Some(uid), Some(uid)).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid", &uid.to_string(), "--regid", &uid.to_string(), "--clear-groups", "--"]);
        c.arg(env!("CARGO_BIN_EXE_hookwatch"));
        c
    } else {
        Command::new(env!("CARGO_BIN_EXE_hookwatch"))
    };
    let uid = if running_as_root() {
        uid
    } else {
        std::fs::metadata(state.path()).map(|m| std::os::unix::fs::MetadataExt::uid(&m)).unwrap()
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = command
        .arg("serve")
        .env("HOOKWATCH_LISTEN", format!("127.0.0.1:{port}"))
        .env("HOOKWATCH_DB", state.path().join("hookwatch.db"))
        .current_dir(state.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Stopped however the test ends: a server left running would hold the test's output open.
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let server = Stop(child);
    // Refused connections until it listens: asked again, not a failure.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let health = loop {
        let answer = match reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await {
            Ok(resp) => serde_json::from_str(&resp.text().await.unwrap_or_default()).unwrap_or_default(),
            Err(_) => serde_json::Value::Null,
        };
        if answer["status"] == "ok" || std::time::Instant::now() > deadline {
            break answer;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    drop(server);
    assert_eq!(health["status"], "ok", "serve answers as uid {uid}: {health}");
    let tokens = state.path().join("hookwatch.tokens");
    use std::os::unix::fs::MetadataExt;
    assert_eq!(std::fs::metadata(&tokens).unwrap().uid(), uid, "its generated tokens are its own");
}

fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find_map(|l| l.strip_prefix("Uid:").map(|u| u.split_whitespace().next() == Some("0"))))
        .unwrap_or(false)
}
