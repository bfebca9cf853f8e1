//! Standard Webhooks signing of `"{id}.{timestamp}.{body}"`: `v1,<base64 HMAC-SHA256>` with a
//! `whsec_` secret, `v1a,<base64 Ed25519 signature>` with a `whsk_` key.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::secret::{Scheme, ed25519_sign, secret_key};

/// One signature (`v1,…` or `v1a,…`, by the secret's kind) of a message with one secret.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    if Scheme::of(secret) == Scheme::V1a {
        let mut message = format!("{msg_id}.{timestamp}.").into_bytes();
        message.extend_from_slice(body);
        return Ok(format!("v1a,{}", STANDARD.encode(ed25519_sign(secret, &message)?)));
    }
    let key = secret_key(secret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// The `webhook-signature` header value: one signature per secret, space separated.
pub fn signature_header(secrets: &[&str], msg_id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let sigs = secrets.iter().map(|s| sign(s, msg_id, timestamp, body)).collect::<Result<Vec<_>, _>>()?;
    Ok(sigs.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::secret::{Scheme, generate};

    fn generate_secret() -> String {
        generate(Scheme::V1)
    }

    #[test]
    fn matches_the_standard_webhooks_test_vector() {
        let sig = sign(
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
            1649367553,
            br#"{"email":"test@example.com","username":"test_user"}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=");
    }

    /// RFC 8032's first Ed25519 test vector, through hookwatch's key form.
    #[test]
    fn ed25519_matches_rfc_8032() {
        let hex = |s: &str| {
            (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect::<Vec<u8>>()
        };
        let seed = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
        let key = format!("whsk_{}", STANDARD.encode(&seed));
        let public = crate::domain::secret::public_key(&key).unwrap();
        assert_eq!(
            public,
            format!(
                "whpk_{}",
                STANDARD.encode(hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
            )
        );
        let signature = ed25519_sign(&key, b"").unwrap();
        assert_eq!(
            signature,
            hex(
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
            )
        );
    }

    /// A `v1a` signature over "{id}.{timestamp}.{body}" verifies with an independent Ed25519
    /// implementation (ed25519-dalek) and the published `whpk_` key.
    #[test]
    fn v1a_signatures_verify_elsewhere() {
        use ed25519_dalek::Verifier;
        let key = crate::domain::secret::generate(Scheme::V1a);
        assert!(crate::domain::secret::check(&key).is_ok());
        let header = signature_header(&[&key], "evt_1", 1_700_000_000, br#"{"data":{}}"#).unwrap();
        let signature = header.strip_prefix("v1a,").expect("a v1a signature");
        let public = crate::domain::secret::public_key(&key).unwrap();
        let public: [u8; 32] = STANDARD.decode(public.strip_prefix("whpk_").unwrap()).unwrap().try_into().unwrap();
        let verifying = ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap();
        let signature = ed25519_dalek::Signature::from_slice(&STANDARD.decode(signature).unwrap()).unwrap();
        verifying.verify(br#"evt_1.1700000000.{"data":{}}"#, &signature).expect("verifies");
        assert!(verifying.verify(br#"evt_1.1700000001.{"data":{}}"#, &signature).is_err(), "and only that message");
        let mut wrong = STANDARD.decode(key.strip_prefix("whsk_").unwrap()).unwrap();
        wrong[40] ^= 1;
        assert!(
            crate::domain::secret::check(&format!("whsk_{}", STANDARD.encode(wrong))).is_err(),
            "a key whose public half is not its own"
        );
    }

    #[test]
    fn generated_secrets_are_valid_and_distinct() {
        let (a, b) = (generate_secret(), generate_secret());
        assert_ne!(a, b);
        assert_eq!(secret_key(&a).unwrap().len(), 32);
    }

    #[test]
    fn rotation_signs_with_both_secrets() {
        let (a, b) = (generate_secret(), generate_secret());
        let header = signature_header(&[&a, &b], "evt_1", 1, b"{}").unwrap();
        assert_eq!(header.split(' ').count(), 2);
        assert!(header.split(' ').all(|s| s.starts_with("v1,")));
    }
}
