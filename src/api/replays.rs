//! `/v1/replays`: create (or preview with `?dry_run=true`), list, read, cancel.

use super::error::json_body;
use super::extract::{PathId, Query};
use super::page::{ListResponse, Listing, PageParams};
use super::{ApiError, AppState, ErrorBody};
use crate::domain::ids::ReplayId;
use crate::domain::model::{Caller, Replay, ReplayPreview};
use crate::wire::{DEFAULT_REPLAY_RATE, ReplayBody};
use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Deserialize;

#[derive(Deserialize, Default, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CreateQuery {
    /// Answer what the replay would do (200, a preview) instead of starting it.
    #[serde(default)]
    dry_run: bool,
}

impl super::extract::Usage for CreateQuery {
    const USAGE: &'static str = "?dry_run=true";
}

/// Starts a paced replay of the deliveries the filter selects, or previews it with `?dry_run=true`.
#[utoipa::path(post, path = "/v1/replays", operation_id = "createReplay", tag = "replays", params(CreateQuery),
    request_body(content = Option<ReplayBody>),
    responses((status = 202, description = "started", body = Replay), (status = 200, description = "the preview", body = ReplayPreview),
        (status = 400, body = ErrorBody), (status = 404, description = "the filter's subscription does not exist", body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(app): State<AppState>,
    Extension(actor): Extension<Caller>,
    Query(query): Query<CreateQuery>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let input: ReplayBody = json_body(&headers, body, true)?.unwrap_or_default();
    let rate = input.rate_per_s.unwrap_or(DEFAULT_REPLAY_RATE);
    if query.dry_run {
        let preview = app.engine.preview_replay(&input.filter, rate).await?;
        return Ok((StatusCode::OK, Json(preview)).into_response());
    }
    let replay = app.engine.start_replay(input.filter, rate, actor).await?;
    Ok((StatusCode::ACCEPTED, Json(replay)).into_response())
}

/// The replay jobs, newest first, a page at a time (docs/api.md, Lists).
#[utoipa::path(get, path = "/v1/replays", operation_id = "listReplays", tag = "replays", params(PageParams),
    responses((status = 200, body = ListResponse<Replay>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(app): State<AppState>,
    Query(params): Query<PageParams>,
) -> Result<Json<ListResponse<Replay>>, ApiError> {
    let page = params.request(Listing::Replays)?;
    let found = app.engine.replays_window(page.window()).await?;
    Ok(Json(page.answer(found, |r| r.id.to_string())))
}

#[utoipa::path(get, path = "/v1/replays/{id}", operation_id = "getReplay", tag = "replays",
    params(("id" = String, Path, description = "rpl_…")), responses((status = 200, body = Replay), (status = 404, body = ErrorBody)))]
pub async fn get(State(app): State<AppState>, PathId(id): PathId<ReplayId>) -> Result<Json<Replay>, ApiError> {
    Ok(Json(app.engine.replay(&id).await?))
}

/// Stops a running replay where it is.
#[utoipa::path(post, path = "/v1/replays/{id}/cancel", operation_id = "cancelReplay", tag = "replays",
    params(("id" = String, Path, description = "rpl_…")), responses((status = 200, body = Replay), (status = 404, body = ErrorBody),
        (status = 409, description = "the replay has already finished or been cancelled", body = ErrorBody)))]
pub async fn cancel(
    State(app): State<AppState>,
    Extension(actor): Extension<Caller>,
    PathId(id): PathId<ReplayId>,
) -> Result<Json<Replay>, ApiError> {
    Ok(Json(app.engine.cancel_replay(&id, actor).await?))
}
