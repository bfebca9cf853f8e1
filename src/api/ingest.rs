//! `POST /v1/events` (and a test event for one subscription): answers 202 only once the event and
//! its deliveries are on disk.

use super::error::{body_rejection, require_json};
use super::extract::PathId;
use super::{ApiError, AppState, ErrorBody};
use crate::domain::ids::SubscriptionId;
use crate::domain::trace::TraceContext;
use crate::wire::Ingested;
use axum::Json;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

/// An event's body as the OpenAPI document declares it: Pipefy's shape, `{"data": {"action": …}}`,
/// the action a built-in one (a server's `extra_actions` add to them); every other field is free.
pub struct EventBody;

impl utoipa::PartialSchema for EventBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::{ObjectBuilder, Type};
        let action = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(crate::domain::catalog::ingestable_names()));
        let data = ObjectBuilder::new().schema_type(Type::Object).property("action", action).required("action");
        let body = ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("`{\"data\": {\"action\": …}}`, Pipefy's webhook shape"))
            .property("data", data)
            .required("data");
        utoipa::openapi::RefOr::T(body.into())
    }
}

impl utoipa::ToSchema for EventBody {}

/// The request's W3C trace context: its `traceparent`, ignored, as W3C Trace Context says, when
/// it does not read or comes more than once (the request is not refused for it), and the
/// `tracestate` beside it.
fn trace_context(headers: &HeaderMap) -> Option<TraceContext> {
    let mut parents = headers.get_all("traceparent").iter();
    let parent = match (parents.next(), parents.next()) {
        (Some(value), None) => value.to_str().ok()?,
        _ => return None,
    };
    let states: Vec<&str> = headers.get_all("tracestate").iter().filter_map(|v| v.to_str().ok()).collect();
    TraceContext::read(parent, &states)
}

/// `POST /v1/subscriptions/{id}/test`: an event for that subscription alone (admin).
/// Sends a test event to this subscription alone, whatever its actions and filters.
#[utoipa::path(post, path = "/v1/subscriptions/{id}/test", operation_id = "sendTestEvent", tag = "subscriptions", params(("id" = String, Path, description = "sub_…")),
    request_body(content = EventBody, description = "a Pipefy-style payload, as for POST /v1/events", example = json!(crate::domain::catalog::card_move())),
    responses((status = 202, body = Ingested), (status = 404, body = ErrorBody), (status = 409, description = "the subscription is disabled", body = ErrorBody),
        (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn test(
    State(app): State<AppState>,
    PathId(id): PathId<SubscriptionId>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_rejection)?;
    require_json(&headers)?;
    let ingested = app.engine.send_test(&id, body).await?;
    Ok((StatusCode::ACCEPTED, Json(&ingested)).into_response())
}

/// Stores an event durably (answered after its commit) and delivers it to every matching subscription.
#[utoipa::path(post, path = "/v1/events", operation_id = "ingestEvent", tag = "events", security(("ingest_token" = []), ("admin_token" = [])),
    params(("Idempotency-Key" = Option<String>, Header, min_length = 1, max_length = 255, pattern = r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$",
        description = "1 to 255 printable ASCII characters: a repeat with the same key and body is answered as the first, with Idempotent-Replayed: true; the same key with another body is refused (422)"),
        ("traceparent" = Option<String>, Header,
        description = "W3C Trace Context, `00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`: the event's deliveries continue this trace (each delivery carries a child traceparent). One that does not read is ignored, as W3C Trace Context says, not refused"),
        ("tracestate" = Option<String>, Header,
        description = "W3C Trace Context: kept beside a valid traceparent and sent on with each delivery (up to 32 entries and 512 characters; a longer one is left out)")),
    request_body(content = EventBody, description = "`{\"data\": {\"action\": …}}`, Pipefy's webhook shape", example = json!(crate::domain::catalog::card_move())),
    responses((status = 202, body = Ingested, headers(("Idempotent-Replayed" = String, description = "`true` on a replay"))),
        (status = 400, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, description = "storage unavailable; Retry-After says when to try again", body = ErrorBody)))]
pub async fn ingest(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(body_rejection)?;
    require_json(&headers)?;
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(
            v.to_str()
                .map_err(|_| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        "invalid_idempotency_key",
                        "Idempotency-Key must be printable ASCII",
                    )
                })?
                .to_string(),
        ),
        None => None,
    };
    let ingested = app.engine.ingest_traced(body, key, trace_context(&headers)).await?;
    let mut response = (StatusCode::ACCEPTED, Json(&ingested)).into_response();
    if ingested.replayed {
        response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}
