//! `/v1/subscriptions`: create, list, read, change, delete, pause, resume, rotate, recover.

use super::error::json_body;
use super::extract::{PathId, Query};
use super::page::{ListResponse, Listing, PageParams};
use super::schema::without_null;
use super::{ApiError, AppState, ErrorBody};
use crate::domain::ids::SubscriptionId;
use crate::domain::model::{Actor, Caller, SigningKeys, Subscription, SubscriptionState};
use crate::wire::SubscriptionInput;
use crate::wire::{Created, Probing, RecoverBody, Redelivering, RotateBody};
use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::Schema;

type Body = Result<Bytes, BytesRejection>;

/// The body of `PATCH /v1/subscriptions/{id}`: `SubscriptionInput`'s fields, all optional but
/// `owner` (set when it is created, and then fixed), and the one rule between two of them JSON
/// Schema can say: a `secret` given (a `whsec_` one) signs with `v1`, so `signing` may then be only that.
pub struct SubscriptionChanges;

impl utoipa::PartialSchema for SubscriptionChanges {
    fn schema() -> RefOr<Schema> {
        let mut schema = fields_with_rule();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.properties.shift_remove("owner");
        }
        schema
    }
}

/// `SubscriptionInput`'s schema with the rule between `secret` and `signing`.
fn fields_with_rule() -> RefOr<Schema> {
    let mut schema = <SubscriptionInput as utoipa::PartialSchema>::schema();
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        let rule = serde_json::json!({"secret": {"properties": {"signing": {"enum": ["v1", null]}}}});
        object.extensions.get_or_insert_default().insert("dependentSchemas".to_string(), rule);
    }
    schema
}

impl utoipa::ToSchema for SubscriptionChanges {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <SubscriptionInput as utoipa::ToSchema>::schemas(schemas);
    }
}

/// The body of `POST /v1/subscriptions`: the fields `PATCH` takes, `url` and `actions` required
/// (and not null). The handler reads a `SubscriptionInput` still, so that each missing field is
/// said by name.
pub struct NewSubscription;

impl utoipa::PartialSchema for NewSubscription {
    fn schema() -> RefOr<Schema> {
        let mut schema = fields_with_rule();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object.required = vec!["url".to_string(), "actions".to_string()];
            object.description = Some("A new subscription: `url` and `actions` are required.".to_string());
            for field in ["url", "actions"] {
                if let Some(RefOr::T(Schema::Object(property))) = object.properties.get_mut(field) {
                    property.schema_type = without_null(&property.schema_type);
                } else if let Some(RefOr::T(Schema::Array(property))) = object.properties.get_mut(field) {
                    property.schema_type = without_null(&property.schema_type);
                }
            }
        }
        schema
    }
}

impl utoipa::ToSchema for NewSubscription {
    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        <SubscriptionInput as utoipa::ToSchema>::schemas(schemas);
    }
}

/// Creates a subscription; without a `secret`, one of the `signing` scheme asked for is made. The
/// answer shows it masked, as every answer does: `GET /v1/subscriptions/{id}/secret` reads it.
#[utoipa::path(post, path = "/v1/subscriptions", operation_id = "createSubscription", tag = "subscriptions",
    request_body = NewSubscription,
    responses((status = 201, body = Created), (status = 409, description = "same URL and an overlapping action", body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(app): State<AppState>,
    Extension(actor): Extension<Caller>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let input: SubscriptionInput = json_body(&headers, body, false)?.unwrap_or_default();
    let (subscription, replaced) = app.engine.create_subscription(&input, actor).await?;
    Ok((StatusCode::CREATED, Json(Created { subscription: as_read_by(&subscription, Actor::Admin), replaced })))
}

/// A subscription as `actor` may read it: its signing secrets masked for everyone (they are
/// read through `GET /v1/subscriptions/{id}/secret`, audited); a viewer sees header values and
/// the URL's path secrets and query values masked too (reading must not hand out what
/// authenticates deliveries).
fn as_read_by(sub: &Subscription, actor: Actor) -> Subscription {
    if actor == Actor::Admin { sub.with_secrets_masked() } else { sub.for_viewer() }
}

/// One subscription as `actor` reads it, with its version in `ETag` (what `If-Match` takes back).
fn tagged(sub: &Subscription, actor: Actor) -> Response {
    ([(header::ETAG, sub.etag())], Json(as_read_by(sub, actor))).into_response()
}

/// The versions a conditional change was made against (`If-Match`), if it is conditional.
fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::IF_MATCH).map(|v| v.to_str().unwrap_or("\"unreadable\""))
}

/// The subscriptions in id order (oldest first), a page at a time (docs/api.md, Lists); secrets
/// masked (a viewer sees header values and URL secrets masked too).
#[utoipa::path(get, path = "/v1/subscriptions", operation_id = "listSubscriptions", tag = "subscriptions",
    params(PageParams), responses((status = 200, body = ListResponse<Subscription>), (status = 400, body = ErrorBody)))]
pub async fn list(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    Query(params): Query<PageParams>,
) -> Result<Json<ListResponse<Subscription>>, ApiError> {
    let page = params.request(Listing::Subscriptions)?;
    let found = app.engine.subscriptions_window(&page.window()).await?;
    let shown = found.iter().map(|s| as_read_by(s, actor)).collect();
    Ok(Json(page.answer(shown, |s| s.id.to_string())))
}

/// Its signing secrets in full: the one that signs from now and those a rotation replaced that
/// still sign beside it, with their end. Admin token only; each read is kept in the audit log
/// (`subscription.read_secret`). Lists, reads and every change's answer show them masked.
#[utoipa::path(get, path = "/v1/subscriptions/{id}/secret", operation_id = "getSubscriptionSecret", tag = "subscriptions",
    params(("id" = String, Path, description = "sub_…")),
    responses((status = 200, body = SigningKeys), (status = 403, description = "the viewer token does not read secrets", body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn secret(
    State(app): State<AppState>,
    Extension(caller): Extension<Caller>,
    PathId(id): PathId<SubscriptionId>,
) -> Result<Json<SigningKeys>, ApiError> {
    Ok(Json(app.engine.signing_keys(&id, caller).await?))
}

#[utoipa::path(get, path = "/v1/subscriptions/{id}", operation_id = "getSubscription", tag = "subscriptions",
    params(("id" = String, Path, description = "sub_…")),
    responses((status = 200, body = Subscription, headers(("ETag" = String, description = "its version, for If-Match"))),
        (status = 404, body = ErrorBody)))]
pub async fn get(
    State(app): State<AppState>,
    Extension(actor): Extension<Actor>,
    PathId(id): PathId<SubscriptionId>,
) -> Result<Response, ApiError> {
    let sub = app.engine.current_subscription(&id).await?;
    Ok(tagged(&sub, actor))
}

/// Changes the fields given; the others stay as they are.
#[utoipa::path(patch, path = "/v1/subscriptions/{id}", operation_id = "updateSubscription", tag = "subscriptions",
    params(("id" = String, Path, description = "sub_…")), request_body = SubscriptionChanges,
    responses((status = 200, body = Subscription, headers(("ETag" = String, description = "its version now"))),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 412, description = "changed since the version `If-Match` named", body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(app): State<AppState>,
    Extension(actor): Extension<Caller>,
    PathId(id): PathId<SubscriptionId>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let input: SubscriptionInput = json_body(&headers, body, false)?.unwrap_or_default();
    let changed = app.engine.update_subscription_matching(&id, if_match(&headers), &input, actor).await?;
    Ok(tagged(&changed, Actor::Admin))
}

/// Deletes it; its unfinished deliveries are cancelled.
#[utoipa::path(delete, path = "/v1/subscriptions/{id}", operation_id = "deleteSubscription", tag = "subscriptions",
    params(("id" = String, Path, description = "sub_…")),
    responses((status = 204, description = "deleted"), (status = 404, body = ErrorBody),
        (status = 412, description = "changed since the version `If-Match` named", body = ErrorBody)))]
pub async fn delete(
    State(app): State<AppState>,
    Extension(actor): Extension<Caller>,
    PathId(id): PathId<SubscriptionId>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    app.engine.delete_subscription_matching(&id, if_match(&headers), actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deliveries queue up; none are attempted until it is resumed.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/pause", operation_id = "pauseSubscription", tag = "subscriptions",
    params(("id" = String, Path, description = "sub_…")),
    responses((status = 200, body = Subscription, headers(("ETag" = String, description = "its version now"))),
        (status = 404, body = ErrorBody),
        (status = 412, description = "changed since the version `If-Match` named", body = ErrorBody)))]
pub async fn pause(
    State(app): State<AppState>,
    Extension(actor): Extension<Caller>,
    PathId(id): PathId<SubscriptionId>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let paused = app.engine.set_state_matching(&id, if_match(&headers), SubscriptionState::Paused, actor).await?;
    Ok(tagged(&paused, Actor::Admin))
}

/// Makes a paused or disabled subscription active again.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/resume", operation_id = "resumeSubscription", tag = "subscriptions",
    params(("id" = String, Path, description = "sub_…")),
    responses((status = 200, body = Subscription, headers(("ETag" = String, description = "its version now"))),
        (status = 404, body = ErrorBody),
        (status = 412, description = "changed since the version `If-Match` named", body = ErrorBody)))]
pub async fn resume(
    State(app): State<AppState>,
    Extension(actor): Extension<Caller>,
    PathId(id): PathId<SubscriptionId>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let resumed = app.engine.set_state_matching(&id, if_match(&headers), SubscriptionState::Active, actor).await?;
    Ok(tagged(&resumed, Actor::Admin))
}

/// A new secret signs from now; the replaced ones keep signing beside it for 24 hours each. The
/// answer shows them masked: `GET /v1/subscriptions/{id}/secret` reads the new one.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/rotate-secret", operation_id = "rotateSecret", tag = "subscriptions",
    params(("id" = String, Path, description = "sub_…")), request_body(content = Option<RotateBody>),
    responses((status = 200, body = Subscription), (status = 404, body = ErrorBody),
        (status = 409, description = "ten secrets already sign for it: rotations within 24 hours keep the replaced ones", body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn rotate_secret(
    State(app): State<AppState>,
    Extension(actor): Extension<Caller>,
    PathId(id): PathId<SubscriptionId>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Subscription>, ApiError> {
    let input: RotateBody = json_body(&headers, body, true)?.unwrap_or_default();
    let rotated = app.engine.rotate_secret(&id, input.secret, actor).await?;
    Ok(Json(as_read_by(&rotated, Actor::Admin)))
}

/// Sends again every failed delivery to it of events received since a time (after an outage).
#[utoipa::path(post, path = "/v1/subscriptions/{id}/recover", operation_id = "recoverSubscription", tag = "subscriptions",
    params(("id" = String, Path, description = "sub_…")), request_body = RecoverBody,
    responses((status = 202, body = Redelivering), (status = 404, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn recover(
    State(app): State<AppState>,
    Extension(actor): Extension<Caller>,
    PathId(id): PathId<SubscriptionId>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Redelivering>), ApiError> {
    let Some(input): Option<RecoverBody> = json_body(&headers, body, true)? else {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing_since",
            "send {\"since\": \"2026-01-31T00:00:00Z\"} (RFC 3339)",
        ));
    };
    let since = chrono::DateTime::parse_from_rfc3339(&input.since).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_since",
            format!("\"since\" {:?} is not an RFC 3339 time ({e}), e.g. 2026-01-31T00:00:00Z", input.since),
        )
    })?;
    let redelivering = app.engine.recover(&id, since.timestamp_millis(), actor).await?;
    Ok((StatusCode::ACCEPTED, Json(Redelivering { redelivering })))
}

/// Probes an open breaker now instead of at the end of its cooldown.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/probe", operation_id = "probeSubscription", tag = "subscriptions",
    params(("id" = String, Path, description = "sub_…")),
    responses((status = 202, body = Probing), (status = 404, body = ErrorBody),
        (status = 409, description = "the breaker is not open", body = ErrorBody)))]
pub async fn probe(
    State(app): State<AppState>,
    Extension(actor): Extension<Caller>,
    PathId(id): PathId<SubscriptionId>,
) -> Result<(StatusCode, Json<Probing>), ApiError> {
    let held = app.engine.probe(&id, actor).await?;
    Ok((StatusCode::ACCEPTED, Json(Probing { probing: true, held })))
}
