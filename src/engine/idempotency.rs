//! Idempotency keys for the admin API's changes: a request claims its key before it runs (on every
//! node at once, through the store), so a duplicate sent while it runs is refused and one sent
//! after it is answered with what it answered. The HTTP side (which requests, which answers are
//! kept) is `api/idempotency.rs`.

use super::Engine;
use crate::domain::error::Result;
use crate::domain::model::now_ms;
use crate::store::{KeyClaim, KeyHolder, StoredAnswer};

/// How long a claim holds while its request runs: longer than any admin request may take (the
/// router answers 408 after 60 s), so only a node that died running it lets it lapse.
const CLAIM_HOLDS_MS: i64 = 120_000;

/// A request with a key, and what becomes of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyedRequest {
    /// The key is this request's: run it, then keep its answer or let the key go.
    Run,
    /// The same request was answered: this is its answer.
    Answered(StoredAnswer),
    /// The same key's request is still running (here or on another node).
    InFlight,
    /// The key was used for another request (method, path or body) within the window.
    Reused,
}

impl Engine {
    /// Claims `key` for the request `fingerprint` names, in `scope` (its caller and route).
    pub async fn claim_key(&self, scope: &str, key: &str, fingerprint: &str) -> Result<KeyedRequest> {
        let now = now_ms();
        let claim = KeyClaim {
            scope: scope.to_string(),
            key: key.to_string(),
            fingerprint: fingerprint.to_string(),
            now,
            remembered_since: now.saturating_sub(crate::domain::model::millis(*self.config.idempotency_window)),
            claimed_until: now + CLAIM_HOLDS_MS,
        };
        Ok(match self.store.claim_key(&claim).await? {
            KeyHolder::Claimed => KeyedRequest::Run,
            KeyHolder::Held { fingerprint: held, .. } if held != fingerprint => KeyedRequest::Reused,
            KeyHolder::Held { answer: None, .. } => KeyedRequest::InFlight,
            KeyHolder::Held { answer: Some(answer), .. } => KeyedRequest::Answered(answer),
        })
    }

    /// Keeps the answer of a request that claimed its key, for its repeats.
    pub async fn keep_answer(&self, scope: &str, key: &str, fingerprint: &str, answer: &StoredAnswer) -> Result<()> {
        self.store.keep_answer(scope, key, fingerprint, answer).await
    }

    /// Lets a claimed key go unanswered (the answer was no final one): a repeat runs again.
    pub async fn release_key(&self, scope: &str, key: &str, fingerprint: &str) -> Result<()> {
        self.store.release_key(scope, key, fingerprint).await
    }
}
