//! The subscription validator: whatever JSON arrives, a created subscription is one hookwatch can
//! deliver to safely (http(s) URL with a host and no credentials, known actions, sane limits).
#![no_main]
use hookwatch::domain::catalog::Catalog;
use hookwatch::wire::SubscriptionInput;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<SubscriptionInput>(data) else { return };
    let catalog = Catalog::default();
    if let Ok(sub) = input.create(&catalog, 0) {
        let url = url_ok(&sub.url);
        assert!(url, "accepted a bad url: {:?}", sub.url);
        assert!(!sub.actions.is_empty());
        assert!(sub.actions.iter().all(|a| catalog.canonical_pattern(a).is_some()));
        assert!((1..=256).contains(&sub.max_in_flight));
        assert!((100..=120_000).contains(&sub.timeout_ms));
        assert!(sub.headers.iter().all(|(k, v)| !k.contains(['\r', '\n']) && !v.contains(['\r', '\n'])));
        // A made or given secret is one of the two signing schemes' forms (its bytes are checked when it is given).
        assert!(sub.secret.starts_with("whsec_") || sub.secret.starts_with("whsk_"), "{:?}", sub.secret);
    }
});

fn url_ok(text: &str) -> bool {
    let Ok(url) = url_parse(text) else { return false };
    matches!(url.0.as_str(), "http" | "https") && url.1 && !url.2
}

/// (scheme, has host, has credentials) via the same crate the server uses, re-exported through a
/// round trip of the validator itself.
fn url_parse(text: &str) -> Result<(String, bool, bool), ()> {
    hookwatch::validate::subscriptions::url_facts(text).ok_or(())
}
