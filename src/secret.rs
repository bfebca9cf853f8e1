//! A subscription's signing secret in its Standard Webhooks form, `whsec_` + base64 of the key:
//! made and checked when a subscription is validated, used when a delivery is signed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;

pub const SECRET_PREFIX: &str = "whsec_";

/// A new secret: `whsec_` + base64 of 32 random bytes.
pub fn generate_secret() -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

/// The key bytes of a `whsec_…` secret, or why it is not one.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or_else(|| {
        format!("a secret must start with {SECRET_PREFIX:?} followed by base64 (leave it out to have one generated)")
    })?;
    let key =
        STANDARD.decode(encoded).map_err(|e| format!("the secret after {SECRET_PREFIX:?} is not valid base64: {e}"))?;
    if !(24..=64).contains(&key.len()) {
        return Err(format!("the secret must decode to 24 to 64 bytes, not {}", key.len()));
    }
    Ok(key)
}
