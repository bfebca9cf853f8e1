//! The one migration mechanism: each store has an ordered list of numbered steps, applies in one
//! transaction those above the version its database records, and refuses a database that a newer
//! hookwatch migrated. Where the version is recorded is the store's (SQLite's `user_version`,
//! PostgreSQL's `hookwatch_migrations` table, which several nodes lock while one migrates).

use crate::domain::error::{Error, Result};

/// One step of a store's schema. A released step is never edited: a new one follows it.
pub(super) struct Migration {
    /// Its place in the list, from 1: the schema version a database has after it.
    pub version: i64,
    pub sql: &'static str,
}

/// The schema version a store's list ends at.
pub(super) const fn latest(migrations: &[Migration]) -> i64 {
    match migrations.last() {
        Some(m) => m.version,
        None => 0,
    }
}

/// The steps a database at schema `applied` still needs, in order; `database` names it for the
/// refusal when a newer hookwatch wrote it.
pub(super) fn pending<'a>(migrations: &'a [Migration], applied: i64, database: &str) -> Result<&'a [Migration]> {
    let known = latest(migrations);
    if applied > known {
        return Err(Error::Storage(format!(
            "{database} was migrated by a newer hookwatch (schema {applied}, this one knows {known}); upgrade hookwatch"
        )));
    }
    let first = migrations.iter().position(|m| m.version > applied).unwrap_or(migrations.len());
    Ok(&migrations[first..])
}

#[cfg(test)]
mod tests {
    use super::*;

    const STEPS: &[Migration] =
        &[Migration { version: 1, sql: "a" }, Migration { version: 2, sql: "b" }, Migration { version: 3, sql: "c" }];

    #[test]
    fn a_database_gets_the_steps_after_its_version() {
        let versions = |applied| pending(STEPS, applied, "db").unwrap().iter().map(|m| m.version).collect::<Vec<_>>();
        assert_eq!(versions(0), [1, 2, 3]);
        assert_eq!(versions(2), [3]);
        assert!(versions(3).is_empty());
        assert_eq!(latest(STEPS), 3);
    }

    #[test]
    fn a_newer_database_is_refused_with_what_to_do() {
        let Err(e) = pending(STEPS, 4, "database x.db") else { panic!("a newer schema must be refused") };
        assert!(e.to_string().contains("schema 4, this one knows 3); upgrade hookwatch"), "{e}");
    }

    /// Each store's list is numbered 1, 2, 3… with no gap: `pending` relies on the order.
    #[test]
    fn every_store_numbers_its_steps_in_order() {
        for list in [super::super::sqlite::MIGRATIONS, super::super::postgres::MIGRATIONS] {
            let versions: Vec<i64> = list.iter().map(|m| m.version).collect();
            assert_eq!(versions, (1..=list.len() as i64).collect::<Vec<_>>());
        }
    }
}
