//! Domain errors. They carry a machine code and a message a person can act on; the API layer
//! maps each kind to an HTTP status, the dashboard shows the message.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request could not be read (malformed JSON, wrong content type, too large).
    #[error("{message}")]
    BadInput { code: &'static str, message: String },
    /// The request was read but its content is not acceptable (unknown action, bad URL…).
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// Several fields of one request are not acceptable, each said once: a client fixes them all
    /// in one go instead of meeting them one request at a time.
    #[error("{}", .0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join("; "))]
    Fields(Vec<FieldProblem>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The request was conditional (`If-Match`) and what it was made against has changed since.
    #[error("{0}")]
    PreconditionFailed(String),
    /// Temporarily unable to accept work; the caller should retry after the given delay.
    #[error("{message}")]
    Unavailable { message: String, retry_after: Duration },
    #[error("storage error: {0}")]
    Storage(String),
}

/// What is wrong with one field of a request, and what to send instead.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldProblem {
    /// Where in the body, e.g. `url`, `headers`, `actions[2]`.
    pub field: String,
    /// Stable, for programs: e.g. `invalid_url`, `missing_actions`.
    pub code: &'static str,
    pub message: String,
}

impl Error {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Error::Invalid { code, message: message.into() }
    }

    pub fn bad_input(code: &'static str, message: impl Into<String>) -> Self {
        Error::BadInput { code, message: message.into() }
    }

    /// The message without the "storage error: " prefix, for wrapping in a storage error again.
    pub fn into_reason(self) -> String {
        match self {
            Error::Storage(reason) => reason,
            other => other.to_string(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Error::BadInput { code, .. } | Error::Invalid { code, .. } => code,
            Error::Fields(problems) => problems.first().map_or("invalid_field", |p| p.code),
            Error::NotFound(_) => "not_found",
            Error::Conflict(_) => "conflict",
            Error::PreconditionFailed(_) => "precondition_failed",
            Error::Unavailable { .. } => "unavailable",
            Error::Storage(_) => "unavailable",
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        let hint = match e.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => {
                "the database is full (no disk space left, or max_db_bytes reached): free space or raise the limit"
            }
            Some(ErrorCode::ReadOnly) => "the database is read-only: check the file's permissions and its filesystem",
            Some(ErrorCode::CannotOpen) => "the database file cannot be opened: check the path and permissions",
            Some(ErrorCode::SystemIoFailure) => "the disk reported an I/O error: check the disk and free space",
            _ => return Error::Storage(e.to_string()),
        };
        Error::Storage(format!("{hint} ({e})"))
    }
}

/// The innermost cause of an error ("Connection refused"), which says more than a library's summary.
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner.to_string()
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
