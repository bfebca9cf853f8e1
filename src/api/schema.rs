//! Helpers for the OpenAPI schemas the API's own types declare by hand.

use utoipa::openapi::schema::{SchemaType, Type};

/// A type that allows `null`, without it.
pub fn without_null(kind: &SchemaType) -> SchemaType {
    match kind {
        SchemaType::Array(types) => match types.iter().filter(|t| **t != Type::Null).collect::<Vec<_>>()[..] {
            [only] => SchemaType::Type(only.clone()),
            ref several => SchemaType::from_iter(several.iter().map(|t| (*t).clone())),
        },
        other => other.clone(),
    }
}
