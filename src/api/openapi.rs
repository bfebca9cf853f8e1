//! The OpenAPI 3.1 document, built from the handlers' own annotations and body types (utoipa), so
//! it changes when they do. Served at `GET /v1/openapi.json`; `docs/openapi.json` is a copy that a
//! test keeps equal to it.

mod examples;

use super::{events, graphql, ingest, observe, replays, stream, subscriptions};
use axum::Json;
use serde_json::Value;
use utoipa::OpenApi;
use utoipa::openapi::RefOr;
use utoipa::openapi::content::Content;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "hookwatch",
        description = "A self-hosted webhook dispatcher: events in (Pipefy's shape), stored durably, delivered \
            with Standard Webhooks signatures, retries and circuit breaking. Every error answer is \
            `{\"error\": {\"code\", \"message\"}}`. Changes need the admin token; the viewer token reads."
    ),
    paths(
        ingest::ingest,
        events::list,
        events::detail,
        events::redeliver,
        subscriptions::create,
        subscriptions::list,
        subscriptions::get,
        subscriptions::update,
        subscriptions::delete,
        subscriptions::pause,
        subscriptions::resume,
        subscriptions::rotate_secret,
        subscriptions::recover,
        subscriptions::probe,
        ingest::test,
        observe::history,
        replays::create,
        replays::list,
        replays::get,
        replays::cancel,
        observe::stats,
        observe::access,
        observe::alerts,
        observe::audit,
        stream::stream,
        graphql::serve,
        observe::healthz,
        observe::readyz,
        observe::metrics,
        observe::catalog,
        serve,
    ),
    modifiers(&Tokens, &Completed),
    security(("admin_token" = []), ("viewer_token" = [])),
    tags(
        (name = "events", description = "ingest, list, inspect and redeliver events"),
        (name = "subscriptions", description = "where events are delivered, and how"),
        (name = "replays", description = "paced redelivery of many events"),
        (name = "observe", description = "stats, history, alerts, the audit log and the live stream"),
        (name = "pipefy", description = "Pipefy's GraphQL webhook API (docs/pipefy.md)"),
        (name = "public", description = "no token needed"),
    )
)]
struct Document;

/// The bearer tokens: admin (everything), viewer (reads), ingest (`POST /v1/events`), metrics
/// (`GET /metrics`, when set).
struct Tokens;

impl utoipa::Modify for Tokens {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, what) in [
            ("admin_token", "HOOKWATCH_ADMIN_TOKEN: every route"),
            ("viewer_token", "HOOKWATCH_VIEWER_TOKEN: GET routes only"),
            ("ingest_token", "HOOKWATCH_INGEST_TOKEN: POST /v1/events only"),
            ("metrics_token", "HOOKWATCH_METRICS_TOKEN: GET /metrics only, when it is set (else /metrics is open)"),
        ] {
            let scheme = HttpBuilder::new().scheme(HttpAuthScheme::Bearer).description(Some(what)).build();
            components.add_security_scheme(name, SecurityScheme::Http(scheme));
        }
    }
}

/// What the annotations leave to one place: a description on every response (OpenAPI requires
/// one; where an annotation gives none, the body type says what it is and the status's reason
/// phrase names it), and an example on every JSON body, by the schema it carries.
struct Completed;

impl utoipa::Modify for Completed {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let examples = examples::all();
        let fill = |content: &mut RefOr<Content>| {
            if let RefOr::T(content) = content
                && content.example.is_none()
                && let Some(name) = content.schema.as_ref().and_then(schema_name)
                && let Some((_, example)) = examples.iter().find(|(n, _)| *n == name)
            {
                content.example = Some(example.clone());
            }
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.patch, &mut item.put, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                if let Some(RefOr::T(body)) = operation.request_body.as_mut() {
                    body.content.values_mut().for_each(fill);
                }
                for (status, response) in operation.responses.responses.iter_mut() {
                    let RefOr::T(response) = response else { continue };
                    if response.description.is_empty() {
                        let reason = status.parse().ok().and_then(|s: axum::http::StatusCode| s.canonical_reason());
                        response.description = reason.unwrap_or("the answer").to_string();
                    }
                    response.content.values_mut().for_each(fill);
                }
            }
        }
    }
}

/// The component a body's schema refers to (directly, or as the one choice besides null).
fn schema_name(schema: &RefOr<utoipa::openapi::Schema>) -> Option<String> {
    fn find(value: &Value) -> Option<&str> {
        match value {
            Value::Object(map) => map.get("$ref").and_then(Value::as_str).or_else(|| map.values().find_map(find)),
            Value::Array(items) => items.iter().find_map(find),
            _ => None,
        }
    }
    let value = serde_json::to_value(schema).ok()?;
    find(&value).and_then(|r| r.rsplit('/').next()).map(str::to_string)
}

pub fn document() -> utoipa::openapi::OpenApi {
    Document::openapi()
}

/// This document (no token).
#[utoipa::path(get, path = "/v1/openapi.json", operation_id = "getOpenapi", tag = "public", security(()),
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = Object,
        example = json!({"openapi": "3.1.0", "info": {"title": "hookwatch", "version": "0.1.0"}, "paths": {}}))))]
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(document())
}
