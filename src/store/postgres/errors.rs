//! PostgreSQL's errors as the store reports them: the server's own message with its code, or the
//! root cause of a connection's failure ("Connection refused").

use crate::domain::error::Error;

/// The error with its root cause: the server's own message, or e.g. "Connection refused".
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        return format!("{} ({})", db.message(), db.code().code());
    }
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text = format!("{text}: {cause}");
        source = cause.source();
    }
    text
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        Error::Storage(format!("PostgreSQL: {}", describe(&e)))
    }
}

impl From<deadpool_postgres::PoolError> for Error {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        let cause = match &e {
            deadpool_postgres::PoolError::Backend(e) => describe(e),
            other => other.to_string(),
        };
        Error::Storage(format!("cannot reach PostgreSQL: {cause}"))
    }
}
