//! `POST /graphql`: Pipefy's webhook management API (async-graphql), so a team moving off
//! Pipefy's webhooks keeps its requests and changes a URL and a token. A webhook is a
//! subscription with an `owner`: a pipe's or table's takes the events of cards in it, an
//! organization's every event of its actions. The mapping is in docs/pipefy.md.

use super::ApiError;
use super::AppState;
use crate::domain::error::Error;
use crate::domain::ids::{IdError, SubscriptionId};
use crate::domain::model::{Caller, Filters, Owner, OwnerKind, Subscription};
use crate::engine::Engine;
use crate::wire::SubscriptionInput;
use async_graphql::{Context, EmptySubscription, ErrorExtensions, ID, InputObject, Json, Object, SimpleObject};
use async_graphql_axum::GraphQLResponse;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;

pub type PipefySchema = async_graphql::Schema<Query, Mutation, EmptySubscription>;

pub fn schema(engine: Arc<Engine>) -> PipefySchema {
    async_graphql::Schema::build(Query, Mutation, EmptySubscription).data(engine).limit_depth(32).finish()
}

/// A GraphQL request: one JSON object (Pipefy's API takes no batches).
pub struct GraphQLBody;

impl utoipa::PartialSchema for GraphQLBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::SchemaType;
        use utoipa::openapi::{ObjectBuilder, Type};
        let nullable = |kind: Type| ObjectBuilder::new().schema_type(SchemaType::from_iter([kind, Type::Null]));
        let request = ObjectBuilder::new()
            .schema_type(Type::Object)
            .property("query", ObjectBuilder::new().schema_type(Type::String))
            .property("operationName", nullable(Type::String))
            .property("variables", nullable(Type::Object));
        utoipa::openapi::RefOr::T(request.into())
    }
}

impl utoipa::ToSchema for GraphQLBody {}

/// Pipefy's webhook API: `createWebhook`, `updateWebhook`, `deleteWebhook`, the organization's
/// three, and the queries `pipe`, `pipes`, `table`, `organization`. Errors come as GraphQL
/// errors whose `extensions.code` is the REST API's error code.
#[utoipa::path(post, path = "/graphql", operation_id = "graphql", tag = "pipefy",
    request_body(content = GraphQLBody, description = "`{\"query\": …, \"variables\": {…}, \"operationName\": …}`",
        example = json!({"query": "mutation { createWebhook(input: {pipe_id: 301234, name: \"crm\", \
            url: \"https://crm.example.com/hooks\", actions: [\"card.move\"]}) { webhook { id name url actions } } }"})),
    responses((status = 400, description = "the body is not a GraphQL request", body = super::ErrorBody),
        (status = 200, description = "`data`, and `errors` when a part failed", body = Object,
        example = json!({"data": {"createWebhook": {"webhook": {"id": "sub_01M8TQ4KCC1K1X2Z3HAVDK5Q43", "name": "crm",
            "url": "https://crm.example.com/hooks", "actions": ["card.move"]}}}}))))]
pub async fn serve(
    State(app): State<AppState>,
    Extension(actor): Extension<Caller>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let request = graphql_request(&body.map_err(super::error::body_rejection)?)?;
    let answer = app.graphql.execute(request.data(actor)).await;
    // A part that met a database fault may succeed when retried: its answer is kept for no key.
    let transient = answer
        .errors
        .iter()
        .any(|e| e.extensions.as_ref().and_then(|x| x.get("code")) == Some(&async_graphql::Value::from("unavailable")));
    let mut response = GraphQLResponse::from(answer).into_response();
    if transient {
        response.extensions_mut().insert(super::idempotency::NotFinal);
    }
    // GraphQL over HTTP: the newer media type only to a client that asks for it; the others
    // (no Accept, or application/json, as Pipefy's clients send) get the one they know.
    let accepts = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !accepts.contains("application/graphql-response+json") {
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    }
    Ok(response)
}

/// The body as one GraphQL request: a JSON object. A batch (an array) is refused, as is any other
/// value (serde would build a request from an array of its fields).
fn graphql_request(body: &[u8]) -> Result<async_graphql::Request, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|e| unreadable(e.to_string()))?;
    if !value.is_object() {
        return Err(unreadable("a batch, or any JSON value but an object, is not one request".to_string()));
    }
    serde_json::from_value(value).map_err(|e| unreadable(e.to_string()))
}

/// A body that is not a GraphQL request, said in the API's error shape.
fn unreadable(reason: String) -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "malformed_graphql_request",
        format!(
            "the body must be a GraphQL request in JSON, e.g. {{\"query\": \"{{ pipes(ids: [1]) {{ id }} }}\"}} with \
             Content-Type: application/json ({reason})"
        ),
    )
}

/// A Pipefy webhook, as Pipefy's API returns it.
#[derive(SimpleObject)]
struct Webhook {
    id: ID,
    name: String,
    url: String,
    actions: Vec<String>,
    headers: Json<BTreeMap<String, String>>,
    filters: Json<Filters>,
    email: Option<String>,
}

impl From<&Subscription> for Webhook {
    fn from(sub: &Subscription) -> Self {
        Webhook {
            id: ID(sub.id.to_string()),
            name: sub.name.clone(),
            url: sub.url.clone(),
            actions: sub.actions.clone(),
            headers: Json(sub.headers.clone()),
            filters: Json(sub.filters.clone()),
            email: sub.email.clone(),
        }
    }
}

/// A pipe, table or organization as far as hookwatch knows it: its id and its webhooks (hookwatch
/// does not know its name: null).
#[derive(SimpleObject)]
#[graphql(concrete(name = "Pipe", params(PipeKind)))]
#[graphql(concrete(name = "Table", params(TableKind)))]
#[graphql(concrete(name = "Organization", params(OrganizationKind)))]
struct Owned<K: Kind> {
    id: ID,
    name: Option<String>,
    webhooks: Vec<Webhook>,
    #[graphql(skip)]
    kind: std::marker::PhantomData<K>,
}

trait Kind: Send + Sync + 'static {
    const KIND: OwnerKind;
}
struct PipeKind;
struct TableKind;
struct OrganizationKind;
impl Kind for PipeKind {
    const KIND: OwnerKind = OwnerKind::Pipe;
}
impl Kind for TableKind {
    const KIND: OwnerKind = OwnerKind::Table;
}
impl Kind for OrganizationKind {
    const KIND: OwnerKind = OwnerKind::Organization;
}

/// The subscriptions as they are now, read once per query.
async fn subscriptions(ctx: &Context<'_>) -> async_graphql::Result<Vec<Arc<Subscription>>> {
    engine(ctx).current_subscriptions().await.map_err(failure)
}

fn owned<K: Kind>(subs: &[Arc<Subscription>], id: ID) -> Owned<K> {
    let owner = Owner { kind: K::KIND, id: id.0.trim().to_string() };
    let webhooks = subs.iter().filter(|s| s.owner.as_ref() == Some(&owner)).map(|s| Webhook::from(&**s)).collect();
    Owned { id: ID(owner.id), name: None, webhooks, kind: std::marker::PhantomData }
}

pub struct Query;

#[Object]
impl Query {
    async fn pipe(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Owned<PipeKind>> {
        Ok(owned(&subscriptions(ctx).await?, id))
    }

    async fn pipes(&self, ctx: &Context<'_>, ids: Vec<ID>) -> async_graphql::Result<Vec<Owned<PipeKind>>> {
        let subs = subscriptions(ctx).await?;
        Ok(ids.into_iter().map(|id| owned(&subs, id)).collect())
    }

    async fn table(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Owned<TableKind>> {
        Ok(owned(&subscriptions(ctx).await?, id))
    }

    async fn organization(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Owned<OrganizationKind>> {
        Ok(owned(&subscriptions(ctx).await?, id))
    }

    async fn organizations(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<Owned<OrganizationKind>>> {
        let subs = subscriptions(ctx).await?;
        Ok(ids.into_iter().map(|id| owned(&subs, id)).collect())
    }
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
struct CreateWebhookInput {
    #[graphql(name = "clientMutationId")]
    client_mutation_id: Option<String>,
    pipe_id: Option<ID>,
    table_id: Option<ID>,
    #[graphql(flatten)]
    webhook: NewWebhook,
}

#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
struct CreateOrganizationWebhookInput {
    #[graphql(name = "clientMutationId")]
    client_mutation_id: Option<String>,
    organization_id: ID,
    #[graphql(flatten)]
    webhook: NewWebhook,
}

/// What every create mutation gives of the new webhook.
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
struct NewWebhook {
    name: String,
    url: String,
    actions: Vec<String>,
    /// An object, or Pipefy's JSON text form (`"{\"to_phase_id\":[123]}"`).
    filters: Option<Json<Value>>,
    /// An object, or Pipefy's JSON text form.
    headers: Option<Json<Value>>,
    email: Option<String>,
    /// Replace this owner's webhooks to the same URL with an overlapping action instead of failing.
    #[graphql(name = "overridePreviousWithSameUrl")]
    override_previous_with_same_url: Option<bool>,
    /// The same, by the name Pipefy's webhook reference page uses.
    #[graphql(name = "overridePrevious")]
    override_previous: Option<bool>,
}

/// `updateWebhook` and `updateOrganizationWebhook`: the fields given change, the others stay.
#[derive(InputObject)]
struct UpdateWebhookInput {
    #[graphql(name = "clientMutationId")]
    client_mutation_id: Option<String>,
    id: ID,
    #[graphql(flatten)]
    changes: WebhookChanges,
}

#[derive(InputObject)]
struct DeleteWebhookInput {
    #[graphql(name = "clientMutationId")]
    client_mutation_id: Option<String>,
    id: ID,
}

#[derive(SimpleObject)]
struct WebhookPayload {
    #[graphql(name = "clientMutationId")]
    client_mutation_id: Option<String>,
    webhook: Webhook,
}

#[derive(SimpleObject)]
struct DeletePayload {
    #[graphql(name = "clientMutationId")]
    client_mutation_id: Option<String>,
    success: bool,
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// A webhook of a pipe (`pipe_id`) or a database table (`table_id`).
    async fn create_webhook(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookInput,
    ) -> async_graphql::Result<WebhookPayload> {
        let owner = match (input.pipe_id, input.table_id) {
            (Some(id), None) => Owner { kind: OwnerKind::Pipe, id: id.0 },
            (None, Some(id)) => Owner { kind: OwnerKind::Table, id: id.0 },
            _ => return Err(invalid("invalid_owner", "give pipe_id or table_id (one of them)")),
        };
        create(ctx, owner, input.webhook.into(), input.client_mutation_id).await
    }

    async fn update_webhook(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookInput,
    ) -> async_graphql::Result<WebhookPayload> {
        update(ctx, &[OwnerKind::Pipe, OwnerKind::Table], input).await
    }

    async fn delete_webhook(
        &self,
        ctx: &Context<'_>,
        input: DeleteWebhookInput,
    ) -> async_graphql::Result<DeletePayload> {
        delete(ctx, &[OwnerKind::Pipe, OwnerKind::Table], input).await
    }

    async fn create_organization_webhook(
        &self,
        ctx: &Context<'_>,
        input: CreateOrganizationWebhookInput,
    ) -> async_graphql::Result<WebhookPayload> {
        let owner = Owner { kind: OwnerKind::Organization, id: input.organization_id.0 };
        create(ctx, owner, input.webhook.into(), input.client_mutation_id).await
    }

    async fn update_organization_webhook(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookInput,
    ) -> async_graphql::Result<WebhookPayload> {
        update(ctx, &[OwnerKind::Organization], input).await
    }

    async fn delete_organization_webhook(
        &self,
        ctx: &Context<'_>,
        input: DeleteWebhookInput,
    ) -> async_graphql::Result<DeletePayload> {
        delete(ctx, &[OwnerKind::Organization], input).await
    }
}

/// What a create or an update may change, as Pipefy sends it (an update's fields; a create gives
/// the first three).
#[derive(InputObject)]
#[graphql(rename_fields = "snake_case")]
struct WebhookChanges {
    name: Option<String>,
    url: Option<String>,
    actions: Option<Vec<String>>,
    filters: Option<Json<Value>>,
    headers: Option<Json<Value>>,
    email: Option<String>,
    #[graphql(name = "overridePreviousWithSameUrl")]
    override_previous_with_same_url: Option<bool>,
    #[graphql(name = "overridePrevious")]
    override_previous: Option<bool>,
}

impl From<NewWebhook> for WebhookChanges {
    fn from(new: NewWebhook) -> Self {
        WebhookChanges {
            name: Some(new.name),
            url: Some(new.url),
            actions: Some(new.actions),
            filters: new.filters,
            headers: new.headers,
            email: new.email,
            override_previous_with_same_url: new.override_previous_with_same_url,
            override_previous: new.override_previous,
        }
    }
}

impl WebhookChanges {
    fn input(self) -> async_graphql::Result<SubscriptionInput> {
        Ok(SubscriptionInput {
            name: self.name,
            url: self.url,
            actions: self.actions,
            filters: self.filters.map(|j| object_or_text(j.0, "filters")).transpose()?,
            headers: self.headers.map(|j| object_or_text(j.0, "headers")).transpose()?,
            email: self.email,
            override_previous: override_flag(self.override_previous_with_same_url, self.override_previous)?,
            ..SubscriptionInput::default()
        })
    }
}

/// Pipefy's pages name the override flag both ways (`overridePreviousWithSameUrl` in its
/// changelog, `overridePrevious` in its reference): either is taken, and both given must agree.
fn override_flag(with_same_url: Option<bool>, short: Option<bool>) -> async_graphql::Result<bool> {
    match (with_same_url, short) {
        (Some(a), Some(b)) if a != b => Err(async_graphql::Error::new(
            "overridePrevious and overridePreviousWithSameUrl disagree; send one of them",
        )),
        (a, b) => Ok(a.or(b).unwrap_or(false)),
    }
}

/// Pipefy's `JSON` arguments come as an object or as its JSON text; `null` or `""` is empty.
fn object_or_text<T: serde::de::DeserializeOwned + Default>(value: Value, field: &str) -> async_graphql::Result<T> {
    let value = match value {
        Value::Null => return Ok(T::default()),
        Value::String(text) if text.trim().is_empty() => return Ok(T::default()),
        Value::String(text) => serde_json::from_str(&text)
            .map_err(|e| invalid("invalid_field", format!("{field}: the text is not JSON ({e})")))?,
        other => other,
    };
    serde_json::from_value(value).map_err(|e| invalid("invalid_field", format!("{field}: {e}")))
}

async fn create(
    ctx: &Context<'_>,
    owner: Owner,
    changes: WebhookChanges,
    client_mutation_id: Option<String>,
) -> async_graphql::Result<WebhookPayload> {
    let input = SubscriptionInput { owner: Some(owner), ..changes.input()? };
    let (sub, _) = engine(ctx).create_subscription(&input, actor(ctx)?).await.map_err(failure)?;
    Ok(WebhookPayload { client_mutation_id, webhook: Webhook::from(&*sub) })
}

/// The webhook `id` names, if it is one of `kinds` (an organization's webhook is changed through
/// the organization's mutations, as in Pipefy; a subscription made through the REST API is no
/// Pipefy webhook).
async fn webhook_of(ctx: &Context<'_>, kinds: &[OwnerKind], id: &ID) -> async_graphql::Result<Arc<Subscription>> {
    let id: SubscriptionId = id.0.parse().map_err(|e: IdError| failure(e.into()))?;
    let sub = engine(ctx).current_subscription(&id).await.map_err(failure)?;
    match &sub.owner {
        Some(owner) if kinds.contains(&owner.kind) => Ok(sub),
        _ => Err(failure(Error::NotFound(format!(
            "{id} is not a {} webhook",
            kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" or ")
        )))),
    }
}

async fn update(
    ctx: &Context<'_>,
    kinds: &[OwnerKind],
    input: UpdateWebhookInput,
) -> async_graphql::Result<WebhookPayload> {
    let sub = webhook_of(ctx, kinds, &input.id).await?;
    let changes = input.changes.input()?;
    let sub = engine(ctx).update_subscription(&sub.id, &changes, actor(ctx)?).await.map_err(failure)?;
    Ok(WebhookPayload { client_mutation_id: input.client_mutation_id, webhook: Webhook::from(&*sub) })
}

async fn delete(
    ctx: &Context<'_>,
    kinds: &[OwnerKind],
    input: DeleteWebhookInput,
) -> async_graphql::Result<DeletePayload> {
    let sub = webhook_of(ctx, kinds, &input.id).await?;
    engine(ctx).delete_subscription(&sub.id, actor(ctx)?).await.map_err(failure)?;
    Ok(DeletePayload { client_mutation_id: input.client_mutation_id, success: true })
}

fn engine<'a>(ctx: &Context<'a>) -> &'a Arc<Engine> {
    ctx.data_unchecked::<Arc<Engine>>()
}

/// Who sent the request (the router's auth put it there).
fn actor(ctx: &Context<'_>) -> async_graphql::Result<Caller> {
    ctx.data::<Caller>().cloned()
}

fn invalid(code: &'static str, message: impl Into<String>) -> async_graphql::Error {
    failure(Error::invalid(code, message))
}

/// A domain error as a GraphQL error: the message and code the REST API would answer (a
/// database fault's cause stays in the log), the code in `extensions.code`.
fn failure(e: Error) -> async_graphql::Error {
    let answer = super::error::ApiError::from(e);
    let code = answer.code;
    async_graphql::Error::new(answer.message).extend_with(|_, ext| ext.set("code", code))
}
