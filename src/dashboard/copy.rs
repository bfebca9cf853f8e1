//! What `y` copies: an event's id, its payload, a selected attempt's response, or a `curl` command
//! that sends the delivery again as hookwatch does, freshly signed. The text is built here; the
//! event loop hands it to the terminal (OSC 52), which works over SSH and inside tmux.

use crate::domain::model::{SigningKeys, Subscription};
use crate::domain::signing::signature_header;

/// The inspector's copy menu, in the order it lists them; each has its letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copyable {
    Payload,
    Curl,
    Response,
    Id,
}

impl Copyable {
    pub const ALL: [Copyable; 4] = [Copyable::Payload, Copyable::Curl, Copyable::Response, Copyable::Id];

    pub fn key(self) -> char {
        match self {
            Copyable::Payload => 'p',
            Copyable::Curl => 'c',
            Copyable::Response => 'r',
            Copyable::Id => 'i',
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Copyable::Payload => "the payload, byte for byte",
            Copyable::Curl => "a curl command that sends the selected delivery again, freshly signed",
            Copyable::Response => "the selected attempt's response body",
            Copyable::Id => "the event id",
        }
    }
}

/// `text` as one shell word: single-quoted, with each `'` closed, escaped and reopened.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r#"'\''"#))
}

/// A `curl` command that POSTs `body` to the subscription as a delivery of `event_id` would go:
/// its headers, and Standard Webhooks headers signed now with `keys`, its signing secrets as the
/// source read them for this copy. Without them (a viewer may not read them), the command is
/// unsigned and the second value says so.
pub fn curl_command(
    sub: &Subscription,
    keys: Option<&SigningKeys>,
    event_id: &str,
    body: &str,
    now_s: i64,
) -> (String, Option<String>) {
    let mut lines = vec![format!("curl -sS -X POST {}", quoted(&sub.url))];
    let mut header = |name: &str, value: &str| lines.push(format!("  -H {}", quoted(&format!("{name}: {value}"))));
    header("content-type", "application/json");
    for (name, value) in &sub.headers {
        header(name, value);
    }
    header("webhook-id", event_id);
    header("webhook-timestamp", &now_s.to_string());
    let signature = keys.map(|k| signature_header(&k.signing(), event_id, now_s, body.as_bytes()));
    let unsigned = match signature {
        Some(Ok(signature)) => {
            header("webhook-signature", &signature);
            None
        }
        None => Some("without a signature: this token cannot read the signing secret".to_string()),
        Some(Err(e)) => Some(format!("without a signature: {e}")),
    };
    lines.push(format!("  --data-binary {}", quoted(body)));
    (lines.join(" \\\n"), unsigned)
}

/// The curl command's text and what the status line calls it.
pub fn curl_copy(sub: &Subscription, keys: Option<&SigningKeys>, event_id: &str, body: &str) -> (String, String) {
    let (command, unsigned) = curl_command(sub, keys, event_id, body, crate::domain::model::now_ms() / 1000);
    let mut what = format!("a curl command that sends {event_id} to {} again", sub.name);
    if let Some(note) = unsigned {
        what += &format!(", {note}");
    }
    (command, what)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::screenshots::demo_app;

    #[test]
    fn the_curl_command_is_signed_like_a_delivery_and_quoted_for_the_shell() {
        let mut sub = demo_app().subscriptions[0].clone();
        sub.secret = crate::domain::secret::generate(crate::domain::secret::Scheme::V1);
        let keys = sub.signing_keys(1_796_000_000_000);
        let mut sub = sub.with_secrets_masked();
        sub.headers.insert("X-Team".into(), "it's ours".into());
        let body = r#"{"data":{"action":"card.move","card":{"title":"O'Brien"}}}"#;
        let (command, unsigned) = curl_command(&sub, Some(&keys), "evt_1", body, 1_796_000_000);
        assert!(unsigned.is_none());
        assert!(command.contains(r#"-H 'X-Team: it'\''s ours'"#), "{command}");
        assert!(command.contains("-H 'webhook-id: evt_1'") && command.contains("-H 'webhook-timestamp: 1796000000'"));
        let expected = signature_header(&[&keys.key], "evt_1", 1_796_000_000, body.as_bytes()).unwrap();
        assert!(command.contains(&format!("-H 'webhook-signature: {expected}'")), "{command}");
        assert!(command.ends_with(&format!("--data-binary {}", quoted(body))));

        let (command, unsigned) = curl_command(&sub, None, "evt_1", body, 1_796_000_000);
        assert!(unsigned.is_some() && !command.contains("webhook-signature"), "{command}");
    }
}
