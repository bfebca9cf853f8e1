//! Bearer-token checks: ingest routes take the ingest (or admin) token, the rest the admin token.

use super::{ApiError, AppState};
use crate::tokens;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

fn bearer(req: &Request) -> Option<String> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, token) = value.trim().split_once(' ')?;
        return scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_string());
    }
    // Browsers' EventSource cannot set headers: the stream, and only the stream, takes the token in
    // its query (elsewhere it would put tokens in URLs and proxy logs for no need).
    if req.uri().path() != "/v1/stream" {
        return None;
    }
    req.uri().query()?.split('&').find_map(|kv| kv.strip_prefix("access_token=")).map(str::to_string)
}

fn unauthorized(which: &str) -> Response {
    let mut r = ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        format!("missing or wrong token: send Authorization: Bearer <{which} token> (see HOOKWATCH_{}_TOKEN or hookwatch.tokens)", which.to_uppercase()),
    )
    .into_response();
    r.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    r
}

pub async fn require_admin(State(app): State<AppState>, req: Request, next: Next) -> Response {
    match bearer(&req) {
        Some(t) if tokens::matches(&t, &app.tokens.admin) => next.run(req).await,
        _ => unauthorized("admin"),
    }
}

pub async fn require_ingest(State(app): State<AppState>, req: Request, next: Next) -> Response {
    match bearer(&req) {
        Some(t) if tokens::matches(&t, &app.tokens.ingest) || tokens::matches(&t, &app.tokens.admin) => {
            next.run(req).await
        }
        _ => unauthorized("ingest"),
    }
}
