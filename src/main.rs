use clap::{Parser, Subcommand};
use hookwatch::cli::CommonOptions;
use hookwatch::server::{self, Server};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "hookwatch", version, about = "Self-hosted webhook dispatcher with a live terminal dashboard")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    common: CommonOptions,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server headless (logs to stderr), for systemd and containers
    Serve {
        #[command(flatten)]
        common: CommonOptions,
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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hookwatch: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Some(Command::Serve { common }) => serve(merge(cli.common, common)).await,
            Some(Command::Send { action, data, url, token, idempotency_key }) => {
                send(&action, data, &url, token, idempotency_key).await
            }
            None => serve(cli.common).await,
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hookwatch: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Options may come before or after the subcommand; those after it win.
fn merge(outer: CommonOptions, inner: CommonOptions) -> CommonOptions {
    CommonOptions {
        listen: inner.listen.or(outer.listen),
        db: inner.db.or(outer.db),
        config: inner.config.or(outer.config),
        allow_private: inner.allow_private || outer.allow_private,
        retry_schedule: inner.retry_schedule.or(outer.retry_schedule),
    }
}

async fn serve(options: CommonOptions) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let config = options.resolve()?;
    let server = Server::start(config).await?;
    tracing::info!("hookwatch {} listening on http://{}", env!("CARGO_PKG_VERSION"), server.addr);
    if let Some(file) = &server.tokens.file {
        tracing::info!("admin and ingest tokens are in {}", file.display());
    }
    server::termination().await;
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
            let spec = hookwatch::catalog::find(action).ok_or_else(|| {
                anyhow::anyhow!(
                    "{action:?} has no sample payload; give one with --data (built-in actions: {})",
                    hookwatch::catalog::Catalog::default().names().join(", ")
                )
            })?;
            spec.sample().to_string()
        }
    };
    let token = match token {
        Some(t) => t,
        None => hookwatch::tokens::Tokens::resolve(None, None, &PathBuf::from("."))?.ingest,
    };
    let mut request = reqwest::Client::new()
        .post(format!("{}/v1/events", url.trim_end_matches('/')))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body);
    if let Some(key) = idempotency_key {
        request = request.header("idempotency-key", key);
    }
    let response = request.send().await.map_err(|e| anyhow::anyhow!("cannot reach {url}: {e}"))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    println!("{} {text}", status.as_u16());
    anyhow::ensure!(status.is_success(), "the server refused the event");
    Ok(())
}
