//! The path and query extractors every handler uses: axum's, with refusals in the API's error
//! shape that say what to send instead (axum's own answer `text/plain` with its parser's words).

use super::error::ApiError;
use crate::domain::error::Error;
use crate::domain::ids::IdError;
use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// The query parameters a route takes, as its refusal quotes them.
pub trait Usage {
    /// e.g. `?limit=1..1000`
    const USAGE: &'static str;
}

/// A route's query parameters.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Usage> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(Query(value)),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                format!("{}; use {}, each parameter once", reason(&e.body_text()), T::USAGE),
            )),
        }
    }
}

/// A route's path parameters (ids).
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(e) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_path",
                format!("{} in {}; ids are ASCII, as the API returned them", reason(&e.body_text()), parts.uri.path()),
            )),
        }
    }
}

/// A route's id in its path, of the kind `T` is (`sub_…`, `evt_…`, `rpl_…`). Text that is no id of
/// that kind names nothing here: it is answered `404 not_found` as an unknown id is, with what such
/// an id looks like.
pub struct PathId<T>(pub T);

impl<S: Send + Sync, T: std::str::FromStr<Err = IdError> + Send> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(text) = Path::<String>::from_request_parts(parts, state).await?;
        text.parse().map(PathId).map_err(|e: IdError| Error::from(e).into())
    }
}

/// axum's refusal without its opening words ("Failed to deserialize query string: …").
fn reason(text: &str) -> String {
    let reason = text.split_once(": ").map_or(text, |(_, rest)| rest);
    format!("the request cannot be read: {reason}")
}
