//! A subscription's signing secret in its Standard Webhooks form: `whsec_` + base64 of an HMAC key
//! (scheme `v1`), or `whsk_` + base64 of an Ed25519 key (scheme `v1a`, whose public key `whpk_…`
//! consumers verify with). Made and checked when a subscription is validated, used when a
//! delivery is signed.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use rand::Rng;
use serde::{Deserialize, Serialize};

pub const SECRET_PREFIX: &str = "whsec_";
pub const SIGNING_KEY_PREFIX: &str = "whsk_";
pub const PUBLIC_KEY_PREFIX: &str = "whpk_";

/// How deliveries are signed: `v1` (HMAC-SHA256 with a shared secret) or `v1a` (Ed25519: the
/// consumer holds only the public key, and a signature proves hookwatch sent it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    #[default]
    V1,
    V1a,
}

impl Scheme {
    pub fn of(secret: &str) -> Scheme {
        if secret.starts_with(SIGNING_KEY_PREFIX) { Scheme::V1a } else { Scheme::V1 }
    }
}

/// A new secret of `scheme`: 32 random bytes, as `whsec_…`, or as the Ed25519 key `whsk_…`
/// (its seed followed by its public key, the 64-byte form libsodium and most libraries take).
pub fn generate(scheme: Scheme) -> String {
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    match scheme {
        Scheme::V1 => format!("{SECRET_PREFIX}{}", STANDARD.encode(key)),
        Scheme::V1a => {
            let public = keypair(&key).map(|k| ring::signature::KeyPair::public_key(&k).as_ref().to_vec());
            let mut both = key.to_vec();
            both.extend(public.unwrap_or_default());
            format!("{SIGNING_KEY_PREFIX}{}", STANDARD.encode(both))
        }
    }
}

/// Checks a secret of either scheme, saying what is wrong with it.
pub fn check(secret: &str) -> Result<(), String> {
    match Scheme::of(secret) {
        Scheme::V1 => secret_key(secret).map(drop),
        Scheme::V1a => ed25519_pair(secret).map(drop),
    }
}

/// The key bytes of a `whsec_…` secret, or why it is not one.
pub fn secret_key(secret: &str) -> Result<Vec<u8>, String> {
    let encoded = secret.strip_prefix(SECRET_PREFIX).ok_or_else(|| {
        format!(
            "a secret must start with {SECRET_PREFIX:?} (or {SIGNING_KEY_PREFIX:?} for Ed25519) followed by base64 (leave it out to have one generated)"
        )
    })?;
    let key =
        STANDARD.decode(encoded).map_err(|e| format!("the secret after {SECRET_PREFIX:?} is not valid base64: {e}"))?;
    if !(24..=64).contains(&key.len()) {
        return Err(format!("the secret must decode to 24 to 64 bytes, not {}", key.len()));
    }
    Ok(key)
}

/// The key pair of a `whsk_…` key: its seed given alone, or followed by its public key (which must
/// then be the seed's). Derived once per use: a signature needs the pair, not the seed.
fn ed25519_pair(secret: &str) -> Result<ring::signature::Ed25519KeyPair, String> {
    use ring::signature::KeyPair;
    let encoded = secret
        .strip_prefix(SIGNING_KEY_PREFIX)
        .ok_or_else(|| format!("an Ed25519 signing key starts with {SIGNING_KEY_PREFIX:?}"))?;
    let bytes = STANDARD
        .decode(encoded)
        .map_err(|e| format!("the key after {SIGNING_KEY_PREFIX:?} is not valid base64: {e}"))?;
    if !matches!(bytes.len(), 32 | 64) {
        return Err(format!(
            "an Ed25519 key decodes to 32 bytes (the seed) or 64 (seed and public key), not {}",
            bytes.len()
        ));
    }
    let pair = keypair(&bytes[..32])?;
    if bytes.len() == 64 && bytes[32..] != *pair.public_key().as_ref() {
        return Err("the key's last 32 bytes are not the public key of its first 32".into());
    }
    Ok(pair)
}

fn keypair(seed: &[u8]) -> Result<ring::signature::Ed25519KeyPair, String> {
    ring::signature::Ed25519KeyPair::from_seed_unchecked(seed).map_err(|e| format!("not an Ed25519 seed: {e}"))
}

/// The `whpk_…` public key consumers verify `v1a` signatures with; `None` for a `v1` secret.
pub fn public_key(secret: &str) -> Option<String> {
    let pair = ed25519_pair(secret).ok()?;
    Some(format!("{PUBLIC_KEY_PREFIX}{}", STANDARD.encode(ring::signature::KeyPair::public_key(&pair).as_ref())))
}

/// The Ed25519 signature of `message` with a `whsk_…` key.
pub fn ed25519_sign(secret: &str, message: &[u8]) -> Result<Vec<u8>, String> {
    Ok(ed25519_pair(secret)?.sign(message).as_ref().to_vec())
}
