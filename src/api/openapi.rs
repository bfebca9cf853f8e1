//! The OpenAPI 3.1 document, built from the handlers' own annotations and body types (utoipa), so
//! it changes when they do. Served at `GET /v1/openapi.json`; `docs/openapi.json` is a copy that a
//! test keeps equal to it.

mod examples;

use super::schema::without_null;
use super::{events, graphql, ingest, observe, replays, stream, subscriptions};
use axum::Json;
use serde_json::Value;
use utoipa::OpenApi;
use utoipa::openapi::RefOr;
use utoipa::openapi::content::Content;
use utoipa::openapi::link::Link;
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::Response;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Ref, Schema};

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
        subscriptions::secret,
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
    modifiers(&Tokens, &Refusals, &Idempotent, &Links, &Completed),
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

/// The refusals that come from a layer every operation of a kind passes through, declared where
/// that layer applies rather than on each handler: the token check (401 without a token or with a
/// wrong one; 403 for the viewer token on every method but GET, on a read of secrets, and on
/// ingest), the reading of a
/// body (400 when it cannot be read or parsed, 413 past the route's size limit) and the reading of
/// path and query parameters (400, `invalid_path`/`invalid_query`). A 415 is the handlers' own
/// (`json_body`/`require_json`), so each that checks the content type declares it.
struct Refusals;

impl utoipa::Modify for Refusals {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in openapi.paths.paths.iter_mut() {
            let operations = [
                (&mut item.get, !super::ADMIN_ONLY_READS.contains(&path.as_str())),
                (&mut item.post, false),
                (&mut item.patch, false),
                (&mut item.put, false),
                (&mut item.delete, false),
            ];
            for (operation, reads) in operations {
                let Some(operation) = operation.as_mut() else { continue };
                if needs_token(operation) {
                    refuse(operation, 401, "no token, or not one of this route's (`WWW-Authenticate: Bearer`)");
                    if !reads {
                        refuse(operation, 403, "a token that may not do this: the viewer token reads only");
                    }
                }
                if let Some(body) = operation.request_body.as_mut() {
                    if let RefOr::T(body) = body {
                        for content in body.content.values_mut() {
                            if let RefOr::T(content) = content
                                && let Some(schema) = content.schema.as_mut()
                            {
                                optional_not_null(schema);
                            }
                        }
                    }
                    refuse(operation, 400, "the body could not be read, or is not JSON");
                    refuse(operation, 413, "the body is larger than this route takes");
                }
                // An optional parameter is left out, never sent as `null` (which a header or a
                // query string would carry as the text "null").
                for parameter in operation.parameters.iter_mut().flatten() {
                    if let RefOr::T(parameter) = parameter
                        && let Some(RefOr::T(Schema::Object(schema))) = parameter.schema.as_mut()
                    {
                        schema.schema_type = without_null(&schema.schema_type);
                    }
                }
                if operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                    refuse(
                        operation,
                        400,
                        "a path or query parameter could not be read (`invalid_path`, `invalid_query`)",
                    );
                }
            }
        }
    }
}

/// `Idempotency-Key` on every admin POST (`api/idempotency.rs`, one layer for all of them), declared
/// here for each: the header, `Idempotent-Replayed` on a success given again, and the refusals
/// (400 for a key that is not one, 409 while its request still runs, 422 for another request under
/// it). Ingest declares its own (its keys are its events').
struct Idempotent;

impl utoipa::Modify for Idempotent {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let key = super::idempotency::MAX_KEY_LEN;
        let parameter: utoipa::openapi::path::Parameter = serde_json::from_value(serde_json::json!({
            "name": "Idempotency-Key", "in": "header", "required": false,
            "description": format!("1 to {key} printable ASCII characters, new for each request (a UUID): \
                the same request sent again with it (same token, method, path and body, within \
                idempotency_window) is answered as the first was, with Idempotent-Replayed: true, and \
                does nothing again; another request under it is refused (422), and so is a repeat \
                while the first still runs (409)"),
            "schema": {"type": "string", "minLength": 1, "maxLength": key,
                "pattern": r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"},
        }))
        .expect("the Idempotency-Key parameter is an OpenAPI parameter");
        let replayed: utoipa::openapi::Header = serde_json::from_value(serde_json::json!({
            "schema": {"type": "string"}, "description": "`true` when this is the answer to an earlier request with the same Idempotency-Key",
        }))
        .expect("Idempotent-Replayed is an OpenAPI header");
        for item in openapi.paths.paths.values_mut() {
            let Some(operation) = item.post.as_mut() else { continue };
            if operation.operation_id.as_deref() == Some("ingestEvent") {
                continue;
            }
            operation.parameters.get_or_insert_default().push(RefOr::T(parameter.clone()));
            for (status, response) in operation.responses.responses.iter_mut() {
                if let RefOr::T(response) = response
                    && status.starts_with('2')
                {
                    response.headers.insert("Idempotent-Replayed".to_string(), RefOr::T(replayed.clone()));
                }
            }
            refuse_also(
                operation,
                400,
                "an Idempotency-Key that is not 1 to 255 printable ASCII characters (`invalid_idempotency_key`)",
            );
            refuse_also(
                operation,
                409,
                "a request with the same Idempotency-Key is still being answered (`idempotency_key_in_use`; `Retry-After` says when to retry)",
            );
            refuse_also(operation, 422, "the Idempotency-Key was used for another request (`idempotency_key_reused`)");
        }
    }
}

/// Declares an error answer on `operation`, or adds `description` to the one it declares.
fn refuse_also(operation: &mut Operation, status: u16, description: &str) {
    match operation.responses.responses.get_mut(&status.to_string()) {
        Some(RefOr::T(response)) => {
            let reason = axum::http::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason());
            let declared = if response.description.is_empty() { reason.unwrap_or("") } else { &response.description };
            response.description = format!("{declared}; or {description}");
        }
        _ => refuse(operation, status, description),
    }
}

/// An optional body is annotated `Option<T>`, which utoipa renders "T or null": the body may be
/// left out (the request body is not `required`), but `null` is no body the handlers take.
fn optional_not_null(schema: &mut RefOr<Schema>) {
    let Ok(Value::Object(mut value)) = serde_json::to_value(&*schema) else { return };
    let Some(Value::Array(choices)) = value.remove("oneOf") else { return };
    let mut choices: Vec<Value> = choices.into_iter().filter(|c| c != &serde_json::json!({"type": "null"})).collect();
    if choices.len() == 1
        && let Ok(only) = serde_json::from_value(choices.remove(0))
    {
        *schema = only;
    }
}

/// Whether an operation needs a token: every one but those declared `security(())`.
fn needs_token(operation: &Operation) -> bool {
    let declared = serde_json::to_value(&operation.security).unwrap_or(Value::Null);
    declared != serde_json::json!([{}])
}

/// Declares an error answer on `operation`, unless its annotation already says more about it.
fn refuse(operation: &mut Operation, status: u16, description: &str) {
    let body = Content::new(Some(Ref::from_schema_name("ErrorBody")));
    let response = Response::builder().description(description).content("application/json", body).build();
    operation.responses.responses.entry(status.to_string()).or_insert(RefOr::T(response));
}

/// OpenAPI links from the answers that name a new resource to the operations on it (and from a
/// page of a list to the pages next to it), so that a client generator (and schemathesis'
/// stateful phase) can follow them: (operation, status, the
/// value that is the id, the operations taking it as `id`).
const LINKS: &[(&str, &str, &str, &[&str])] = &[
    (
        "createSubscription",
        "201",
        "$response.body#/id",
        &[
            "getSubscription",
            "updateSubscription",
            "deleteSubscription",
            "pauseSubscription",
            "resumeSubscription",
            "rotateSecret",
            "recoverSubscription",
            "probeSubscription",
            "sendTestEvent",
            "getEndpointHistory",
            "getSubscriptionSecret",
        ],
    ),
    // Not to `redeliverEvent`: its 404 also answers a subscription its body names that does not
    // exist, which a generated body does not, and a link says the event must be found.
    ("ingestEvent", "202", "$response.body#/id", &["getEvent"]),
    ("sendTestEvent", "202", "$response.body#/id", &["getEvent"]),
    ("listEvents", "200", "$response.body#/data/0/id", &["getEvent"]),
    ("createReplay", "202", "$response.body#/id", &["getReplay", "cancelReplay"]),
];

/// The list routes: each page links to the pages next to it, through its cursors.
const PAGED: &[&str] = &["listSubscriptions", "listEvents", "listReplays", "listAlerts", "listAudit"];

struct Links;

impl utoipa::Modify for Links {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.post, &mut item.patch, &mut item.put, &mut item.delete];
            for operation in operations.into_iter().flatten() {
                let from = operation.operation_id.clone().unwrap_or_default();
                if PAGED.contains(&from.as_str())
                    && let Some(RefOr::T(response)) = operation.responses.responses.get_mut("200")
                {
                    for (name, cursor) in [("nextPage", "iterator"), ("previousPage", "prev_iterator")] {
                        let value = format!("$response.body#/{cursor}");
                        let link = Link::builder().operation_id(&from).parameter("iterator", value).build();
                        response.links.insert(name.to_string(), RefOr::T(link));
                    }
                }
                for (_, status, id, targets) in LINKS.iter().filter(|(op, ..)| *op == from) {
                    let Some(RefOr::T(response)) = operation.responses.responses.get_mut(*status) else {
                        panic!("the link table names {from} {status}, which the document does not have");
                    };
                    for target in *targets {
                        let link = Link::builder().operation_id(*target).parameter("id", *id).build();
                        response.links.insert(target.to_string(), RefOr::T(link));
                    }
                }
            }
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
