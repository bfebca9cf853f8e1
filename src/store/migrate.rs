//! The one migration mechanism. Each store's schema is a list of numbered `.sql` files
//! (`<store>/migrations/0001_<name>.sql` …) built into the binary; a database applies, in one
//! transaction, those above the version it records, and refuses to start when a newer hookwatch
//! migrated it. Each applied step's checksum (SHA-256 of its text) is kept beside its version and
//! checked at every start: a database whose steps differ from this binary's is refused, so a
//! released step edited in place is found rather than half-applied. Where the version and the
//! checksums live is the store's (SQLite's `user_version` and `hookwatch_migrations` table,
//! PostgreSQL's `hookwatch_migrations`, which several nodes lock while one migrates).

use crate::domain::error::{Error, Result};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// One step of a store's schema, read from `migrations/<name>.sql`. A released step is never
/// edited: a change to the schema is a new file after the last.
pub(super) struct Migration {
    /// The file's name without `.sql`: its number (the schema version a database has after it,
    /// the step's place in the list from 1) and what it does.
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    /// What a database records of this step's text: SHA-256, in hex.
    pub(super) fn checksum(&self) -> String {
        Sha256::digest(self.sql.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// A step with its schema version: its place in `migrations`, from 1.
pub(super) fn numbered(migrations: &[Migration]) -> impl Iterator<Item = (i64, &Migration)> {
    (1..).zip(migrations)
}

/// The steps a database at schema `applied` still needs, with their versions, in order;
/// `database` names it for the refusal when a newer hookwatch wrote it.
pub(super) fn pending<'a>(
    migrations: &'a [Migration],
    applied: i64,
    database: &str,
) -> Result<Vec<(i64, &'a Migration)>> {
    let known = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    if applied > known {
        return Err(Error::Storage(format!(
            "{database} was migrated by a newer hookwatch (schema {applied}, this one knows {known}); upgrade hookwatch"
        )));
    }
    Ok(numbered(migrations).filter(|(version, _)| *version > applied).collect())
}

/// Checks every step a database at schema `applied` has applied against this binary's, by the
/// checksums it recorded (`recorded`: version → checksum). Returns the applied steps it recorded
/// no checksum for (applied before hookwatch kept them, or the record is new): their checksums are
/// to be recorded now, as this binary's.
pub(super) fn verify<'a>(
    migrations: &'a [Migration],
    applied: i64,
    recorded: &BTreeMap<i64, String>,
    database: &str,
) -> Result<Vec<(i64, &'a Migration)>> {
    let mut unrecorded = Vec::new();
    for (version, step) in numbered(migrations).take_while(|(version, _)| *version <= applied) {
        match recorded.get(&version) {
            None => unrecorded.push((version, step)),
            Some(checksum) if *checksum == step.checksum() => {}
            Some(checksum) => return Err(differs(database, step, checksum)),
        }
    }
    Ok(unrecorded)
}

fn differs(database: &str, step: &Migration, recorded: &str) -> Error {
    let short = |c: &str| c.chars().take(12).collect::<String>();
    Error::Storage(format!(
        "{database}: its migration {} was applied from other SQL than this hookwatch's \
         (recorded checksum {}, this build's {}): another build of hookwatch migrated it, or its \
         record was edited. Start the hookwatch that migrated it, or restore a backup; a released \
         migration is never changed (a schema change is a new numbered file)",
        step.name,
        short(recorded),
        short(&step.checksum())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: &[Migration] = &[
        Migration { name: "0001_a", sql: "a" },
        Migration { name: "0002_b", sql: "b" },
        Migration { name: "0003_c", sql: "c" },
    ];

    #[test]
    fn a_database_gets_the_steps_after_its_version() {
        let versions = |applied| pending(STEPS, applied, "db").unwrap().iter().map(|(v, _)| *v).collect::<Vec<_>>();
        assert_eq!(versions(0), [1, 2, 3]);
        assert_eq!(versions(2), [3]);
        assert!(versions(3).is_empty());
    }

    #[test]
    fn a_newer_database_is_refused_with_what_to_do() {
        let Err(e) = pending(STEPS, 4, "database x.db") else { panic!("a newer schema must be refused") };
        assert!(e.to_string().contains("schema 4, this one knows 3); upgrade hookwatch"), "{e}");
    }

    /// Steps recorded without a checksum are handed back to record; one whose checksum differs is
    /// refused with its name and what to do.
    #[test]
    fn recorded_checksums_are_checked() {
        let recorded: BTreeMap<i64, String> = [(1, STEPS[0].checksum())].into();
        let unrecorded = verify(STEPS, 2, &recorded, "db").unwrap();
        assert_eq!(unrecorded.iter().map(|(v, _)| *v).collect::<Vec<_>>(), [2]);
        let tampered: BTreeMap<i64, String> = [(1, STEPS[0].checksum()), (2, "0".repeat(64))].into();
        let Err(e) = verify(STEPS, 3, &tampered, "database x.db") else { panic!("a changed step must be refused") };
        assert!(e.to_string().contains("database x.db: its migration 0002_b was applied from other SQL"), "{e}");
        assert!(e.to_string().contains("restore a backup"), "{e}");
    }

    #[test]
    fn a_checksum_is_the_sha256_of_the_text() {
        assert_eq!(STEPS[0].checksum(), "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb");
    }

    /// Each store's list holds every file of its `migrations/`, numbered 0001, 0002… in the
    /// list's order with no gap: the version is the place in the list.
    #[test]
    fn every_store_lists_its_files_in_order() {
        for (store, list) in
            [("sqlite", super::super::sqlite::MIGRATIONS), ("postgres", super::super::postgres::MIGRATIONS)]
        {
            for (version, step) in numbered(list) {
                assert!(step.name.starts_with(&format!("{version:04}_")), "{} is step {version}", step.name);
            }
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/store").join(store).join("migrations");
            let mut files: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".sql").to_string())
                .collect();
            files.sort();
            assert_eq!(files, list.iter().map(|m| m.name).collect::<Vec<_>>(), "{store}: every file is listed");
        }
    }
}
