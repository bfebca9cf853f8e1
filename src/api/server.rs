//! Starting the engine and its HTTP API together, as `serve` (and later the dashboard) need.

use crate::api;
use crate::api::tokens::Tokens;
use crate::config::Config;
use crate::engine::Engine;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub struct Server {
    pub engine: Arc<Engine>,
    pub tokens: Tokens,
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
    stop: tokio::sync::watch::Sender<bool>,
    /// Where the stream's journal is kept across a restart (SQLite: beside the database).
    journal: Option<PathBuf>,
}

/// The file that keeps the stream's journal of the SQLite database at `db`.
fn stream_journal_path(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}-stream", db.display()))
}

impl Server {
    /// Binds the listener, starts the engine and serves the API in the background.
    pub async fn start(config: Config) -> anyhow::Result<Server> {
        let database = crate::store::Database::parse(&config.db);
        let dir = database
            .sqlite_path()
            .and_then(Path::parent)
            .filter(|p| !p.as_os_str().is_empty())
            .map(Path::to_path_buf)
            .unwrap_or_else(|| ".".into());
        // The database's folder is asked for first: the tokens are kept beside it, and a missing
        // folder is the database's problem, not the token file's.
        if let Some(path) = database.sqlite_path()
            && !dir.is_dir()
        {
            anyhow::bail!(
                "cannot open the database {}: the directory {} does not exist; create it or give another --db",
                path.display(),
                dir.display()
            );
        }
        let tokens = Tokens::resolve(
            [config.admin_token.clone(), config.ingest_token.clone(), config.viewer_token.clone()],
            &dir,
        )?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e} (choose another with --listen)", config.listen))?;
        let addr = listener.local_addr()?;
        // The bound address (port 0 resolved) is what a cluster's nodes view shows.
        let mut config = config;
        config.listen = addr;
        let limits = api::Limits {
            header_timeout: *config.header_timeout,
            max_connections: config.max_connections,
            per_address: config.max_connections_per_address,
        };
        let journal = database.sqlite_path().map(stream_journal_path);
        let engine = Engine::start(config).await?;
        if let Some(path) = &journal {
            match engine.feed().load_journal(path) {
                Ok(n) if n > 0 => tracing::info!("stream: {n} updates sent before the restart are known"),
                Ok(_) => {}
                Err(e) => tracing::warn!("stream: cannot read {}: {e}; resumes may repeat updates", path.display()),
            }
        }
        crate::engine::cluster::join(&engine).await?;
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let app = api::router(engine.clone(), tokens.clone(), stopping.clone());
        let mut stopped = stopping;
        let task = tokio::spawn(api::serve(listener, app, limits, async move {
            let _ = stopped.wait_for(|s| *s).await;
        }));
        Ok(Server { engine, tokens, addr, task, stop, journal })
    }

    /// Stops accepting requests, ends SSE streams and waits (3 s at most) for requests in progress,
    /// then exports the spans not yet exported (5 s at most).
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        let served = self.task.await;
        self.engine.leave().await;
        self.engine.traces().shutdown().await;
        if let Some(path) = &self.journal
            && let Err(e) = self.engine.feed().save_journal(path)
        {
            tracing::warn!("stream: cannot keep {}: {e}; resumes after the restart may repeat updates", path.display());
        }
        served??;
        Ok(())
    }
}
