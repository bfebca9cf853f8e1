use clap::{CommandFactory, Parser, Subcommand};
use hookwatch::api::server::Server;
use hookwatch::cli::{CommonOptions, ViewOptions};
use hookwatch::config::Config;
use hookwatch::dashboard::{self, source::LocalSource, source::RemoteSource};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// mimalloc: many small allocations from several threads are the ingest path's main cost under
/// glibc's allocator (measured with perf in the bench).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc asks for transparent huge pages on its arenas, and the kernel then backs a 2 MiB
/// stretch as soon as one byte of it is touched: thousands of connections, each touching a little
/// of several blocks, held 20 KiB each instead of 12 (4,096 slow bodies: 164 MiB against 108), and
/// an idle server 32 MiB against 21. Turned off for the process, as `MIMALLOC_ALLOW_THP=0` would,
/// before the arenas fill (the kernel's `always` mode would use them without being asked).
#[cfg(target_os = "linux")]
fn disable_transparent_huge_pages() {
    // The kernel reads the arguments as unsigned longs (and refuses any but the first unless 0).
    let (disable, unused): (libc::c_ulong, libc::c_ulong) = (1, 0);
    // SAFETY: PR_SET_THP_DISABLE takes plain integers and changes only how memory is backed.
    if unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, disable, unused, unused, unused) } != 0 {
        eprintln!("hookwatch: cannot turn transparent huge pages off: {}", std::io::Error::last_os_error());
    }
}

/// mimalloc hands freed memory back to the OS from a later allocation's slow path (a second
/// after the free), and a block freed on another thread waits for its owner thread to look: a
/// server gone quiet after a burst (4,096 slow bodies) never took either path and kept its peak
/// RSS. A worker about to sleep collects its heap and the purges that are due, at most once a
/// second, so what a burst freed goes back within seconds of the server going quiet.
fn collect_when_idle() {
    use std::cell::Cell;
    use std::time::{Duration, Instant};
    thread_local! {
        static LAST: Cell<Option<Instant>> = const { Cell::new(None) };
    }
    LAST.with(|last| {
        if last.get().is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
            last.set(Some(Instant::now()));
            // SAFETY: collects this thread's own heap and the allocator's due purges; no pointer
            // handed out is touched.
            unsafe { libmimalloc_sys::mi_collect(false) };
        }
    });
}

#[derive(Parser)]
#[command(name = "hookwatch", version, about = "Self-hosted webhook dispatcher with a live terminal dashboard")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    common: CommonOptions,
    #[command(flatten)]
    view: ViewOptions,
}

#[derive(Subcommand)]
enum Command {
    /// Server and dashboard in one process (the default)
    Run {
        #[command(flatten)]
        common: CommonOptions,
        #[command(flatten)]
        view: ViewOptions,
    },
    /// The server headless (logs to stderr), for systemd and containers
    Serve {
        #[command(flatten)]
        common: CommonOptions,
    },
    /// The dashboard for a running server, over its HTTP API and SSE stream
    Attach {
        /// The server's base URL, e.g. http://10.0.0.5:8430
        url: String,
        /// Admin token (a viewer token gives a read-only dashboard)
        #[arg(long, env = "HOOKWATCH_ADMIN_TOKEN")]
        token: String,
        /// How long a request may wait for the server before the dashboard shows it failed, e.g.
        /// 30s on a slow link [default: 10s]
        #[arg(long, value_parser = humantime::parse_duration)]
        request_timeout: Option<std::time::Duration>,
        #[command(flatten)]
        view: ViewOptions,
    },
    /// A temporary server with three demo endpoints and a stream of realistic events
    Demo {
        /// Where the demo's API listens (default: a free loopback port)
        #[arg(long)]
        listen: Option<std::net::SocketAddr>,
        #[command(flatten)]
        view: ViewOptions,
    },
    /// Emit one event (the action's sample payload unless --data is given)
    Send {
        /// A catalog action, e.g. card.move
        action: String,
        /// The payload: JSON text, or @file to read it from a file
        #[arg(long)]
        data: Option<String>,
        /// The server's base URL
        #[arg(long, env = "HOOKWATCH_URL", default_value = "http://127.0.0.1:8430")]
        url: String,
        /// Ingest token (default: HOOKWATCH_INGEST_TOKEN, or hookwatch.tokens in the current folder)
        #[arg(long, env = "HOOKWATCH_INGEST_TOKEN")]
        token: Option<String>,
        /// Idempotency-Key header to send
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// The load benchmark (ingest, delivery, latency, frame time, memory; targets in docs/performance.md)
    Bench(hookwatch::tools::bench::BenchOptions),
    /// Render the dashboard's views from synthetic data as SVG files
    Screenshots {
        /// Output folder
        #[arg(default_value = "screenshots")]
        dir: PathBuf,
    },
    /// Shell completions, e.g. hookwatch completions bash > /etc/bash_completion.d/hookwatch
    Completions { shell: clap_complete::Shell },
    /// The manual page (roff) on standard output, e.g. hookwatch man | man -l -
    Man {
        /// Write hookwatch.1 and a page per command (hookwatch-serve.1, …) into this folder instead
        #[arg(long)]
        dir: Option<PathBuf>,
    },
    /// The HTTP API's OpenAPI 3.1 document (JSON), as GET /v1/openapi.json serves it
    Openapi,
    /// The dashboard's keys in force, as ~/.config/hookwatch/keys.toml writes them (copy it there
    /// and change any line)
    Keys,
}

fn main() -> std::process::ExitCode {
    #[cfg(target_os = "linux")]
    disable_transparent_huge_pages();
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().on_thread_park(collect_when_idle).build();
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hookwatch: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let view = cli.view;
    let result = runtime.block_on(async {
        match cli.command {
            None => run(CommonOptions::resolve(&[&cli.common])?, view).await,
            Some(Command::Run { common, view: after }) => {
                run(CommonOptions::resolve(&[&cli.common, &common])?, view.with(after)).await
            }
            Some(Command::Serve { common }) => serve(CommonOptions::resolve(&[&cli.common, &common])?).await,
            Some(Command::Attach { url, token, request_timeout, view: after }) => {
                let view = view.with(after);
                log_to_file(Path::new("hookwatch-attach.log"))?;
                let mut source = RemoteSource::new(&url, &token).map_err(|e| anyhow::anyhow!("{e}"))?;
                if let Some(timeout) = request_timeout {
                    source = source.with_request_timeout(timeout);
                }
                let can_change = source.check_token().await.map_err(|e| anyhow::anyhow!("{e}"))?;
                let mut options = dashboard_options(view, None)?;
                options.read_only |= !can_change;
                dashboard::run(Arc::new(source), options).await
            }
            Some(Command::Demo { listen, view: after }) => demo(listen, view.with(after)).await,
            Some(Command::Send { action, data, url, token, idempotency_key }) => {
                send(&action, data, &url, token, idempotency_key).await
            }
            Some(Command::Bench(options)) => {
                if let Some(addr) = options.serve_bare {
                    return hookwatch::tools::bench::serve_bare(addr).await;
                }
                if let Some(duration) = options.soak {
                    let every =
                        (duration / 30).clamp(std::time::Duration::from_secs(1), std::time::Duration::from_secs(10));
                    let report = hookwatch::tools::bench::soak::run(duration, options.soak_rate, every).await?;
                    println!("{}", hookwatch::tools::bench::soak::summary(&report));
                    if options.json {
                        println!("{}", serde_json::to_string(&report)?);
                    }
                    anyhow::ensure!(report.passed, "the soak found growth or errors");
                    return Ok(());
                }
                let report = hookwatch::tools::bench::run(&options).await?;
                println!("{}", hookwatch::tools::bench::table(&report));
                if options.json {
                    println!("{}", serde_json::to_string(&report)?);
                }
                Ok(())
            }
            Some(Command::Screenshots { dir }) => {
                for path in dashboard::screenshots::write_all(&dir)? {
                    println!("{}", path.display());
                }
                Ok(())
            }
            Some(Command::Completions { shell }) => {
                clap_complete::generate(shell, &mut Cli::command(), "hookwatch", &mut std::io::stdout());
                Ok(())
            }
            Some(Command::Man { dir: None }) => {
                match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
                    // `hookwatch man | head` closes the pipe early: that is not a failure.
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                    _ => Ok(()),
                }
            }
            Some(Command::Man { dir: Some(dir) }) => {
                std::fs::create_dir_all(&dir)?;
                clap_mangen::generate_to(Cli::command(), &dir)?;
                Ok(())
            }
            Some(Command::Keys) => {
                let keymap = dashboard::keys_file::load().map_err(|e| anyhow::anyhow!("{e}"))?;
                print!("{}", dashboard::keys_file::table(&keymap));
                Ok(())
            }
            Some(Command::Openapi) => {
                println!("{}", hookwatch::api::openapi_document().to_pretty_json()?);
                Ok(())
            }
        }
    });
    // Background tasks (lanes, sinks) must not keep a quitting dashboard alive.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookwatch: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// The dashboard's options from its flags, over the config file's (`run` reads one), with the
/// operator's keys: a keys.toml that cannot be used stops the start with what is wrong in it.
fn dashboard_options(view: ViewOptions, config: Option<&Config>) -> anyhow::Result<dashboard::Options> {
    let max_fps = view.max_fps.unwrap_or(dashboard::Options::default().max_fps);
    let keymap = dashboard::keys_file::load().map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(dashboard::Options {
        no_color: view.no_color,
        theme: view.theme.or(config.map(|c| c.theme)).unwrap_or_default(),
        mouse: view.mouse || config.is_some_and(|c| c.mouse),
        max_fps,
        read_only: view.read_only,
        keymap: Arc::new(keymap),
        views: dashboard::views_file::Views::load(dashboard::views_file::path()),
    })
}

/// While the dashboard owns the terminal, logs go to a file.
fn log_to_file(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    // The log names subscriptions and endpoints: its owner's alone, like the database.
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot open the log file {}: {e}", path.display()))?;
    hookwatch::logging::init_file(file);
    Ok(())
}

async fn run(config: Config, view: ViewOptions) -> anyhow::Result<()> {
    let log = config.log_file.clone().unwrap_or_else(|| {
        hookwatch::store::Database::parse(&config.db)
            .sqlite_path()
            .and_then(Path::parent)
            .map(Path::to_path_buf)
            .unwrap_or_else(|| ".".into())
            .join("hookwatch.log")
    });
    let options = dashboard_options(view, Some(&config))?;
    log_to_file(&log)?;
    let server = Server::start(config).await?;
    let location = format!("http://{}", server.addr);
    let tokens_file = server.tokens.file.clone();
    let result = dashboard::run(Arc::new(LocalSource::new(server.engine.clone(), location)), options).await;
    let _ = server.shutdown().await;
    if let Some(file) = tokens_file {
        eprintln!("hookwatch: the API tokens are in {}; logs in {}", file.display(), log.display());
    }
    result
}

async fn demo(listen: Option<std::net::SocketAddr>, view: ViewOptions) -> anyhow::Result<()> {
    let options = dashboard_options(view, None)?;
    let dir = tempfile::tempdir()?;
    log_to_file(&dir.path().join("hookwatch.log"))?;
    let server = hookwatch::tools::demo::start(dir.path(), listen).await?;
    let location = format!("http://{} (demo · admin token demo-admin)", server.addr);
    let result = dashboard::run(Arc::new(LocalSource::new(server.engine.clone(), location)), options).await;
    let _ = server.shutdown().await;
    result
}

async fn serve(config: Config) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    // Colour only for a person at a terminal who has not asked for none: a file or journald gets
    // plain text.
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    hookwatch::logging::init(std::io::stderr, colour);
    let server = Server::start(config).await?;
    tracing::info!("hookwatch {} listening on http://{}", env!("CARGO_PKG_VERSION"), server.addr);
    if let Some(file) = &server.tokens.file {
        tracing::info!("admin and ingest tokens are in {}", file.display());
    }
    hookwatch::domain::signals::termination().await;
    tracing::info!("shutting down");
    server.shutdown().await
}

async fn send(
    action: &str,
    data: Option<String>,
    url: &str,
    token: Option<String>,
    idempotency_key: Option<String>,
) -> anyhow::Result<()> {
    let body = match data {
        Some(d) => match d.strip_prefix('@') {
            Some(path) => std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {path}: {e}"))?,
            None => d,
        },
        None => {
            let actions = hookwatch::domain::catalog::ACTIONS;
            let spec = actions.iter().find(|a| a.name.eq_ignore_ascii_case(action)).ok_or_else(|| {
                let names: Vec<&str> = actions.iter().map(|a| a.name).collect();
                anyhow::anyhow!(
                    "{action:?} has no sample payload; give one with --data (actions: {})",
                    names.join(", ")
                )
            })?;
            spec.sample().to_string()
        }
    };
    let token = match token {
        Some(t) => t,
        None => hookwatch::api::tokens::stored(Path::new(".")).map(|(_, ingest)| ingest).ok_or_else(|| {
            anyhow::anyhow!(
                "no ingest token: pass --token, set HOOKWATCH_INGEST_TOKEN, or run where hookwatch.tokens is"
            )
        })?,
    };
    let base = url::Url::parse(url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty()))
        .ok_or_else(|| {
            anyhow::anyhow!("--url {url:?} is not an http(s) URL with a host; write it like http://127.0.0.1:8430")
        })?;
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/events", base.as_str().trim_end_matches('/')))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body);
    if let Some(key) = idempotency_key {
        request = request.header("idempotency-key", key);
    }
    let response = request
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach {url}: {}", hookwatch::domain::error::root_cause(&e)))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("{} {text}", status.as_u16());
    anyhow::ensure!(status.is_success(), "the server refused the event");
    // A 2xx from something else (a proxy's page, another service) is not an accepted event.
    let accepted: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    anyhow::ensure!(
        accepted["id"].as_str().is_some_and(|id| id.starts_with("evt_")),
        "{url} answered {status} but not as hookwatch does (no event id): is it a hookwatch server?"
    );
    Ok(())
}
