//! The body of `POST /v1/subscriptions` and `PATCH /v1/subscriptions/{id}`, with the schema the
//! OpenAPI document gives each field; `validate::subscriptions` checks a body against the rules.

use super::limits::{MAX_HEADERS, RESERVED_HEADERS};
use crate::domain::model::{Filters, SubscriptionState};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The body of `POST /v1/subscriptions` (every field) and `PATCH` (the fields to change).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionInput {
    /// 1 to 100 characters, no control characters (surrounding spaces are trimmed).
    #[schema(schema_with = name_schema)]
    pub name: Option<String>,
    /// http or https, with a host name and no credentials (send those in `headers`).
    #[schema(
        max_length = 2048,
        pattern = r"^https?://([A-Za-z][A-Za-z0-9]{0,62}\.)*[A-Za-z][A-Za-z0-9]{0,62}(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?$"
    )]
    pub url: Option<String>,
    /// Actions (or aliases), `prefix.*` wildcards or `*`; the built-in ones are listed (a server's
    /// `extra_actions` add to them).
    #[schema(schema_with = action_patterns_schema)]
    pub actions: Option<Vec<String>>,
    /// Sent with every delivery: up to 32, each a valid header name (not one hookwatch sets
    /// itself) with printable text up to 4096 bytes.
    #[schema(schema_with = headers_schema)]
    pub headers: Option<BTreeMap<String, String>>,
    #[serde(default, deserialize_with = "crate::domain::model::from_optional_object")]
    pub filters: Option<Filters>,
    /// `whsec_` and base64 of 24 to 64 bytes (or a `whsk_` Ed25519 key); absent: one is made.
    #[schema(pattern = r"^whsec_([A-Za-z0-9+/]{4}){8,21}$")]
    pub secret: Option<String>,
    /// `v1` (HMAC, the default) or `v1a` (Ed25519): a new key of that kind is made when no
    /// `secret` is given; changing it rotates to one, the old secret signing for 24 h beside it.
    pub signing: Option<crate::domain::secret::Scheme>,
    #[schema(minimum = 1, maximum = 256)]
    pub max_in_flight: Option<u32>,
    /// A number sets the limit; `null` removes it; absent leaves it as it is.
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 10000)]
    pub rate_limit_per_s: Option<Option<u32>>,
    pub ordered: Option<bool>,
    /// 100 to 120000 (2 minutes).
    #[schema(minimum = 100, maximum = 120000)]
    pub timeout_ms: Option<u64>,
    /// Only `active` or `paused` can be asked for; `disabled` is the dispatcher's verdict.
    #[schema(schema_with = requested_state_schema)]
    pub state: Option<SubscriptionState>,
    /// Replace existing subscriptions with the same URL and an overlapping action instead of a 409.
    #[serde(default)]
    pub override_previous: bool,
    /// The Pipefy pipe, table or organization it is a webhook of; set when it is created.
    #[serde(default, deserialize_with = "crate::domain::model::from_optional_object")]
    pub owner: Option<crate::domain::model::Owner>,
    /// Kept and shown, for Pipefy parity; `""` removes it.
    #[schema(
        max_length = 254,
        pattern = r"^\s*([^\s\u0000-\u001f\u007f-\u009f@]+@[^\s\u0000-\u001f\u007f-\u009f]*\.[^\s\u0000-\u001f\u007f-\u009f]*)?\s*$"
    )]
    pub email: Option<String>,
}

/// The OpenAPI schema of `name`.
fn name_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type, schema::SchemaType};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .max_length(Some(100))
        .pattern(Some(crate::domain::model::SHORT_TEXT_PATTERN))
        .build()
}

/// The OpenAPI schema of `actions`: at least one, each a pattern `canonical_pattern` takes.
fn action_patterns_schema() -> utoipa::openapi::Array {
    use utoipa::openapi::{ArrayBuilder, ObjectBuilder, Type, schema::SchemaType};
    let pattern = ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(crate::domain::catalog::subscribable_patterns()));
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(pattern)
        .min_items(Some(1))
        .build()
}

/// The OpenAPI schema of `headers`, as `validate_headers` checks them (names in any case).
fn headers_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type, schema::SchemaType};
    let any_case = |name: &str| -> String {
        name.chars()
            .map(|c| if c.is_ascii_alphabetic() { format!("[{}{}]", c, c.to_ascii_uppercase()) } else { c.to_string() })
            .collect()
    };
    let reserved = RESERVED_HEADERS.iter().map(|h| any_case(h)).collect::<Vec<_>>().join("|");
    let name = ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(format!("^(?!({reserved})$)[!#$%&'*+.^_`|~0-9A-Za-z-]+$")));
    let value = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(4096))
        .pattern(Some("^[^\\u0000-\\u001f\\u007f-\\u009f]*$"));
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Object, Type::Null]))
        .property_names(Some(name))
        .additional_properties(Some(value))
        .max_properties(Some(MAX_HEADERS))
        .build()
}

/// The OpenAPI schema of `state`: what may be asked for.
fn requested_state_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::{ObjectBuilder, Type, schema::SchemaType};
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(["active", "paused"]))
        .build()
}

/// A field given as `null` is `Some(None)`: told apart from one left out (`None`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}
