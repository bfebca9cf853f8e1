//! SQLite's connections: how each is opened, the database's files kept private, and the pool of
//! reader connections (WAL lets reads run beside the writer), each with the search index attached.

use super::search;
use crate::domain::error::{Error, Result};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A connection to the database at `path`, set up as every one of the store's is.
pub(super) fn open(path: &Path) -> Result<Connection> {
    let conn =
        Connection::open(path).map_err(|e| Error::Storage(format!("cannot open database {}: {e}", path.display())))?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.execute_batch("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")?;
    // The query planner's stability guarantee: a statement keeps the plan it was prepared with.
    // Without it, the bundled SQLite (built with STAT4) marks statements whose plan a bound value
    // might change (a partial index, a LIMIT) as expired whenever the statement cache clears their
    // bindings, and parses them again at every use: 13% of the live path's CPU (perf, 2026-12-02).
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    Ok(conn)
}

/// The database holds signing secrets and consumers' header tokens: its file is its owner's alone.
/// SQLite gives the `-wal` and `-shm` files the database file's mode, so they follow.
pub(super) fn keep_private(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let refused = |e: std::io::Error| Error::Storage(format!("cannot create database {}: {e}", path.display()));
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(_) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(refused(e)),
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        let Ok(meta) = std::fs::metadata(&file) else { continue };
        if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| Error::Storage(format!("cannot make {} private (chmod 600 it): {e}", file.display())))?;
            tracing::info!("made {} readable by its owner only: it holds signing secrets", file.display());
        }
    }
    Ok(())
}

/// Connections for reads, opened as needed and kept for the next read.
#[derive(Clone)]
pub(super) struct Readers {
    pool: Arc<Mutex<Vec<Connection>>>,
    path: PathBuf,
}

impl Readers {
    pub(super) fn new(path: &Path) -> Self {
        Readers { pool: Arc::new(Mutex::new(Vec::new())), path: path.to_path_buf() }
    }

    /// Runs a read on a pooled connection off the async threads.
    pub(super) async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let readers = self.clone();
        tokio::task::spawn_blocking(move || {
            let pooled = readers.pool.lock().map_err(|_| Error::Storage("reader pool poisoned".into()))?.pop();
            let conn = match pooled {
                Some(c) => c,
                None => {
                    let conn = open(&readers.path)?;
                    search::attach(&conn, &readers.path)?;
                    conn
                }
            };
            let result = work(&conn);
            if let Ok(mut pool) = readers.pool.lock() {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(|e| Error::Storage(format!("read task failed: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::super::SqliteStore;
    use super::super::schema::tests::old_database;
    use crate::store::Store;
    use std::path::{Path, PathBuf};

    /// The files hold signing secrets: a new database and its WAL files are the owner's alone, and
    /// an old world-readable one is made private when opened.
    #[tokio::test]
    async fn database_files_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let store = SqliteStore::open(&path, None).unwrap();
        store
            .save_alert(&crate::domain::model::Alert {
                kind: crate::domain::model::AlertKind::Disabled,
                subscription_id: "sub_1".into(),
                subscription_name: "crm".into(),
                message: "a write, so the WAL files exist".into(),
                at: 1,
            })
            .await
            .unwrap();
        for suffix in ["", "-wal", "-shm", "-search", "-search-wal", "-search-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
        let (_old_dir, old) = old_database(3, "");
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o644)).unwrap();
        SqliteStore::open(&old, None).unwrap();
        assert_eq!(mode(&old), 0o600);
    }
}
