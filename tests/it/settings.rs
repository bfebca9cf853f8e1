//! The settings' layers through the real binary: defaults < config file < `HOOKWATCH_<KEY>` <
//! flags, the flags after the subcommand last; a refused value stops the start with what to write.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// Starts `hookwatch <args>` in `dir` with `env`, and returns the address it listens on, or what
/// it said on stderr when it exited instead.
fn listening(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> Result<String, String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hookwatch"))
        .args(args)
        .current_dir(dir)
        .env("HOOKWATCH_ADMIN_TOKEN", "settings-admin-token")
        .env("HOOKWATCH_INGEST_TOKEN", "settings-ingest-token")
        .env("HOOKWATCH_VIEWER_TOKEN", "settings-viewer-token")
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the hookwatch binary starts");
    let mut said = Vec::new();
    for line in BufReader::new(child.stderr.take().unwrap()).lines().map_while(Result::ok) {
        if let Some(rest) = line.split("listening on http://").nth(1) {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(rest.trim().to_string());
        }
        said.push(line);
    }
    let _ = child.wait();
    Err(said.join("\n"))
}

#[test]
fn each_layer_overrides_the_one_below_and_refusals_say_what_to_write() {
    let dir = tempfile::tempdir().unwrap();
    // Each layer names another loopback address: the one listened on tells which layer won.
    std::fs::write(dir.path().join("hw.toml"), "listen = \"127.0.0.2:0\"\nmax_backlog = 500\n").unwrap();
    let file = ["serve", "--config", "hw.toml"];
    let host = |r: Result<String, String>| r.map(|addr| addr.split(':').next().unwrap_or("").to_string());
    assert_eq!(host(listening(dir.path(), &file, &[])), Ok("127.0.0.2".into()), "the file beats the default");
    let env = [("HOOKWATCH_LISTEN", "127.0.0.3:0")];
    assert_eq!(host(listening(dir.path(), &file, &env)), Ok("127.0.0.3".into()), "the environment beats the file");
    let before = ["--listen", "127.0.0.4:0", "serve", "--config", "hw.toml"];
    assert_eq!(host(listening(dir.path(), &before, &env)), Ok("127.0.0.4".into()), "a flag beats the environment");
    let both = ["--listen", "127.0.0.4:0", "serve", "--config", "hw.toml", "--listen", "127.0.0.5:0"];
    assert_eq!(host(listening(dir.path(), &both, &env)), Ok("127.0.0.5".into()), "the subcommand's flag comes last");

    let refused = listening(dir.path(), &file, &[("HOOKWATCH_RETENTION", "a week")]).unwrap_err();
    let named = refused.contains("RETENTION") && refused.contains("HOOKWATCH_");
    assert!(named && refused.contains("write e.g. 30s, 10m, 7d"), "{refused}");
    let refused = listening(dir.path(), &[&file[..], &["--max-body-bytes", "10"]].concat(), &[]).unwrap_err();
    assert!(refused.contains("max_body_bytes must be at least 1024"), "{refused}");
    std::fs::write(dir.path().join("hw.toml"), "[[subscriptions]]\nname = \"crm\"\nurll = \"https://x.example.com\"\n")
        .unwrap();
    let refused = listening(dir.path(), &file, &[]).unwrap_err();
    assert!(refused.contains("subscription 1 in the config file") && refused.contains("urll"), "{refused}");
}
