//! The remote source: the HTTP API and the SSE stream of a running server, reconnecting on its own.

use super::{Source, SourceResult, Update};
use crate::error::root_cause;
use crate::feed::{Alert, FeedEvent};
use crate::model::{EventDetail, EventSummary, Subscription};
use crate::report::StatsReport;
use crate::store::{EventQuery, StatusFilter};
use crate::subscriptions::SubscriptionInput;
use futures::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::time::Duration;
use tokio::sync::mpsc;

pub struct RemoteSource {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl RemoteSource {
    pub fn new(base: &str, token: &str) -> Self {
        let http = reqwest::Client::builder().connect_timeout(Duration::from_secs(5)).build().unwrap_or_default();
        RemoteSource { base: base.trim_end_matches('/').to_string(), token: token.to_string(), http }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> SourceResult<T> {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .timeout(Duration::from_secs(10));
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body.to_string());
        }
        let resp = req.send().await.map_err(|e| format!("cannot reach {}: {}", self.base, root_cause(&e)))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| format!("reading the answer failed: {e}"))?;
        if !status.is_success() {
            let message = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
                .unwrap_or(text);
            return Err(format!("{}: {message}", status.as_u16()));
        }
        let text = if text.is_empty() { "null".into() } else { text };
        serde_json::from_str(&text).map_err(|e| format!("unexpected answer from the server: {e}"))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> SourceResult<T> {
        self.call(reqwest::Method::GET, path, None).await
    }
}

#[derive(serde::Deserialize)]
struct Data<T> {
    data: T,
}

/// Appends `key=value` to a query string, percent-encoding the value.
fn param(out: &mut Vec<String>, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        out.push(format!("{key}={}", url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()));
    }
}

#[async_trait::async_trait]
impl Source for RemoteSource {
    fn location(&self) -> String {
        self.base.clone()
    }

    fn watch(&self, tx: mpsc::Sender<Update>) {
        let (http, url, token) = (self.http.clone(), format!("{}/v1/stream", self.base), self.token.clone());
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(500);
            loop {
                let detail = match http.get(&url).bearer_auth(&token).send().await {
                    Ok(resp) if resp.status().is_success() => {
                        backoff = Duration::from_millis(500);
                        if tx.send(Update::Connection { connected: true, detail: String::new() }).await.is_err() {
                            return;
                        }
                        match read_stream(resp, &tx).await {
                            Ok(()) => return,
                            Err(e) => e,
                        }
                    }
                    Ok(resp) => format!("the server answered {}", resp.status()),
                    Err(e) => format!("cannot connect: {}", root_cause(&e)),
                };
                if tx.send(Update::Connection { connected: false, detail }).await.is_err() {
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        });
    }

    async fn stats(&self) -> SourceResult<StatsReport> {
        self.get("/v1/stats").await
    }

    async fn subscriptions(&self) -> SourceResult<Vec<Subscription>> {
        Ok(self.get::<Data<_>>("/v1/subscriptions").await?.data)
    }

    async fn events(&self, q: EventQuery) -> SourceResult<Vec<EventSummary>> {
        let mut params = vec![format!("limit={}", q.limit)];
        param(&mut params, "action", q.action.as_deref());
        param(&mut params, "subscription", q.subscription.as_deref());
        param(&mut params, "card", q.card_id.as_deref());
        param(&mut params, "before", q.before.as_deref());
        let status = q.status.map(|s| match s {
            StatusFilter::Failed => "failed".to_string(),
            StatusFilter::Is(s) => s.as_str().to_string(),
        });
        param(&mut params, "status", status.as_deref());
        Ok(self.get::<Data<_>>(&format!("/v1/events?{}", params.join("&"))).await?.data)
    }

    async fn event(&self, id: &str) -> SourceResult<EventDetail> {
        self.get(&format!("/v1/events/{id}")).await
    }

    async fn alerts(&self) -> SourceResult<Vec<Alert>> {
        let mut alerts = self.get::<Data<Vec<Alert>>>("/v1/alerts").await?.data;
        alerts.reverse(); // the API is newest first; the dashboard keeps them oldest first
        Ok(alerts)
    }

    async fn catalog(&self) -> SourceResult<Vec<String>> {
        let list = self.get::<Data<Vec<Value>>>("/v1/catalog").await?.data;
        Ok(list.iter().filter_map(|a| a["action"].as_str().map(str::to_string)).collect())
    }

    async fn redeliver(&self, event_id: &str, subscription_id: Option<&str>) -> SourceResult<usize> {
        let body = subscription_id.map(|s| serde_json::json!({"subscription": s}));
        let v: Value = self.call(reqwest::Method::POST, &format!("/v1/events/{event_id}/redeliver"), body).await?;
        Ok(v["redelivering"].as_u64().unwrap_or(0) as usize)
    }

    async fn set_paused(&self, subscription_id: &str, paused: bool) -> SourceResult<()> {
        let verb = if paused { "pause" } else { "resume" };
        self.call::<Value>(reqwest::Method::POST, &format!("/v1/subscriptions/{subscription_id}/{verb}"), None)
            .await
            .map(|_| ())
    }

    async fn save_subscription(&self, id: Option<&str>, input: SubscriptionInput) -> SourceResult<Subscription> {
        let body = serde_json::to_value(&input).map_err(|e| e.to_string())?;
        match id {
            Some(id) => self.call(reqwest::Method::PATCH, &format!("/v1/subscriptions/{id}"), Some(body)).await,
            None => self.call(reqwest::Method::POST, "/v1/subscriptions", Some(body)).await,
        }
    }

    async fn send_event(&self, body: String) -> SourceResult<String> {
        let resp = self
            .http
            .post(format!("{}/v1/events", self.base))
            .bearer_auth(&self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| format!("cannot reach {}: {}", self.base, root_cause(&e)))?;
        let status = resp.status();
        let v: Value = serde_json::from_str(&resp.text().await.unwrap_or_default()).unwrap_or_default();
        match v["id"].as_str() {
            Some(id) if status.is_success() => Ok(id.to_string()),
            _ => Err(v["error"]["message"]
                .as_str()
                .map(str::to_string)
                .unwrap_or_else(|| format!("the server answered {status}"))),
        }
    }
}

/// Reads SSE frames until the stream ends; `Ok` only when the dashboard went away.
async fn read_stream(resp: reqwest::Response, tx: &mpsc::Sender<Update>) -> Result<(), String> {
    let mut body = resp.bytes_stream();
    let mut buf = String::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| format!("the stream broke: {e}"))?;
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            if let Some(update) = parse_frame(&frame)
                && tx.send(update).await.is_err()
            {
                return Ok(());
            }
        }
    }
    Err("the server closed the stream".into())
}

fn parse_frame(frame: &str) -> Option<Update> {
    let mut name = "message";
    let mut data = String::new();
    for line in frame.lines() {
        if let Some(v) = line.strip_prefix("event:") {
            name = v.trim();
        } else if let Some(v) = line.strip_prefix("data:") {
            data.push_str(v.strip_prefix(' ').unwrap_or(v));
        }
    }
    match name {
        "stats" => serde_json::from_str(&data).ok().map(Update::Stats),
        "lagged" => Some(Update::Lagged),
        "event.received" | "delivery.attempted" | "subscription.changed" | "alert" => {
            serde_json::from_str::<FeedEvent>(&data).ok().map(Update::Feed)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_become_updates() {
        assert!(matches!(parse_frame("event: lagged\ndata: 3\n\n"), Some(Update::Lagged)));
        assert!(parse_frame("event: hello\ndata: 0.1.0\n\n").is_none());
        assert!(parse_frame(": keep-alive\n\n").is_none());
    }
}
