//! The remote source: the HTTP API and the SSE stream of a running server, reconnecting on its own.
//! Every request has a timeout; a stream that says nothing, not even its heartbeat, for
//! `STREAM_SILENCE` is given up and opened again.

use super::AUDIT_SHOWN;
use super::{Source, SourceError, SourceResult, Update};
use crate::domain::error::root_cause;
use crate::domain::ids::{EventId, ReplayId, SubscriptionId};
use crate::domain::query::{EventQuery, StatusFilter};
use crate::wire::SigningKeys;
use crate::wire::{
    Access, Alert, AuditEntry, Catalog, EndpointHistory, ErrorBody, EventDetail, EventSummary, FeedEvent,
};
use crate::wire::{
    Ingested, ListResponse, Probing, RedeliverBody, Redelivering, Replay, ReplayBody, ReplayFilter, ReplayPreview,
};
use crate::wire::{Span, StatsReport, StreamGap, StreamResumed, Subscription, SubscriptionChange, SubscriptionInput};
use eventsource_stream::{EventStreamError, Eventsource};
use futures::StreamExt;
use serde::de::DeserializeOwned;
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a request may take, unless told otherwise, before the dashboard shows its error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the stream may be silent (the server sends a heartbeat every 2 s) before the
/// connection is taken for dead and opened again: a hung server, or a network path that died
/// without closing the socket.
const STREAM_SILENCE: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct RemoteSource {
    base: String,
    token: String,
    http: reqwest::Client,
    request_timeout: Duration,
}

impl RemoteSource {
    /// A source for the server at `base` (http or https, with a host); refuses anything else with
    /// what to write instead.
    pub fn new(base: &str, token: &str) -> Result<Self, String> {
        let hint = "write it like http://10.0.0.5:8430";
        let url = url::Url::parse(base.trim()).map_err(|e| format!("{base:?} is not a server URL ({e}); {hint}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{base:?} is not an http(s) URL with a host; {hint}"));
        }
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            // Each read, the stream's included: its heartbeat keeps a live one well inside this.
            .read_timeout(STREAM_SILENCE)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {}", root_cause(&e)))?;
        Ok(RemoteSource {
            base: url.as_str().trim_end_matches('/').to_string(),
            token: token.to_string(),
            http,
            request_timeout: REQUEST_TIMEOUT,
        })
    }

    /// How long each request (everything but the stream) may take before it fails with a timeout.
    pub fn with_request_timeout(self, request_timeout: Duration) -> Self {
        RemoteSource { request_timeout, ..self }
    }

    /// A request to the API, with the token and the timeout.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token).timeout(self.request_timeout)
    }

    /// What a request that failed to get an answer says.
    fn unreachable(&self, e: &reqwest::Error) -> SourceError {
        if e.is_timeout() && !e.is_connect() {
            let why = format!("{} did not answer within {}s", self.base, self.request_timeout.as_secs_f32());
            return SourceError::Unreachable(why);
        }
        SourceError::Unreachable(format!("cannot reach {}: {}", self.base, root_cause(e)))
    }

    /// Checks the token before the dashboard starts: an error if the server refuses it, else
    /// whether it may change things (false for a viewer token). A server that cannot be reached
    /// yet, or predates `/v1/access`, is taken at its word later.
    pub async fn check_token(&self) -> Result<bool, String> {
        match self.request(reqwest::Method::GET, "/v1/access").send().await {
            Ok(resp) if matches!(resp.status().as_u16(), 401 | 403) => Err(refusal(resp).await),
            Ok(resp) if resp.status().is_success() => {
                let access = serde_json::from_str::<Access>(&resp.text().await.unwrap_or_default());
                Ok(access.map_or(true, |a| a.can_change))
            }
            _ => Ok(true),
        }
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl serde::Serialize>,
    ) -> SourceResult<T> {
        self.call_if(method, path, body, None).await
    }

    /// A call made against `version` of what it changes (`If-Match`, an `ETag`), when given: the
    /// server refuses it (412) if that changed since.
    async fn call_if<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&impl serde::Serialize>,
        version: Option<&str>,
    ) -> SourceResult<T> {
        let mut req = self.request(method, path);
        if let Some(version) = version {
            req = req.header(reqwest::header::IF_MATCH, version);
        }
        if let Some(body) = body {
            let body = serde_json::to_string(body).map_err(|e| SourceError::Malformed(e.to_string()))?;
            req = req.header("content-type", "application/json").body(body);
        }
        let resp = req.send().await.map_err(|e| self.unreachable(&e))?;
        let status = resp.status();
        let text = resp.text().await.map_err(|e| match e.is_timeout() {
            true => self.unreachable(&e),
            false => SourceError::Malformed(format!("reading the answer failed: {e}")),
        })?;
        if !status.is_success() {
            let (code, message) = said_error(&text);
            return Err(SourceError::Refused { status: Some(status.as_u16()), code, message: message.unwrap_or(text) });
        }
        let text = if text.is_empty() { "null".into() } else { text };
        serde_json::from_str(&text)
            .map_err(|e| SourceError::Malformed(format!("unexpected answer from the server: {e}")))
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> SourceResult<T> {
        self.call(reqwest::Method::GET, path, NO_BODY).await
    }

    /// The items of one page of a list route.
    async fn list<T: DeserializeOwned>(&self, path: &str) -> SourceResult<Vec<T>> {
        Ok(self.get::<ListResponse<T>>(path).await?.data)
    }

    /// Every item of a list route, following its `iterator` page by page in the list's order.
    async fn every<T: DeserializeOwned>(&self, path: &str) -> SourceResult<Vec<T>> {
        let mut all = Vec::new();
        let mut iterator = String::new();
        for _ in 0..MAX_PAGES {
            let page: ListResponse<T> = self.get(&format!("{path}?limit=500&iterator={iterator}")).await?;
            all.extend(page.data);
            match page.iterator {
                Some(next) if !page.done => iterator = next,
                _ => return Ok(all),
            }
        }
        Err(SourceError::Malformed(format!("{path} lists more than {MAX_PAGES} pages; the dashboard reads no more")))
    }
}

/// A request without a body.
const NO_BODY: Option<&()> = None;

/// The most pages `every` follows: 100,000 items at 500 a page.
const MAX_PAGES: usize = 200;

/// What `POST /v1/replays` takes, for a preview and for the replay itself.
fn replay_body(filter: &ReplayFilter, rate_per_s: u32) -> ReplayBody {
    ReplayBody { filter: filter.clone(), rate_per_s: Some(rate_per_s) }
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
        let source = self.clone();
        tokio::spawn(async move {
            let mut backoff = Duration::from_millis(500);
            // The id of the last update received: a reconnect resumes after it.
            let mut last_id: Option<String> = None;
            let mut seen = SeenIds::default();
            loop {
                let url = format!("{}/v1/stream", source.base);
                let mut request = source.http.get(&url).bearer_auth(&source.token);
                if let Some(id) = &last_id {
                    request = request.header("last-event-id", id);
                }
                let detail = match request.send().await {
                    Ok(resp) if resp.status().is_success() => {
                        backoff = Duration::from_millis(500);
                        if tx.send(Update::Connection { connected: true, detail: String::new() }).await.is_err() {
                            return;
                        }
                        match source.read_stream(resp, &tx, &mut last_id, &mut seen).await {
                            Ok(()) => return,
                            Err(e) => e,
                        }
                    }
                    Ok(resp) if matches!(resp.status().as_u16(), 401 | 403) => {
                        // Retrying cannot help: say so once and stop.
                        let _ = tx.send(Update::Refused(refusal(resp).await)).await;
                        return;
                    }
                    Ok(resp) => format!("the server answered {}", resp.status()),
                    Err(e) if e.is_timeout() && !e.is_connect() => format!(
                        "the server took the connection but did not answer within {}s: it may be hung",
                        STREAM_SILENCE.as_secs()
                    ),
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
        self.every("/v1/subscriptions").await
    }

    async fn signing_keys(&self, id: &SubscriptionId) -> SourceResult<SigningKeys> {
        self.get(&format!("/v1/subscriptions/{id}/secret")).await
    }

    async fn events(&self, q: EventQuery) -> SourceResult<Vec<EventSummary>> {
        let mut params = vec![format!("limit={}", q.limit)];
        param(&mut params, "action", q.action.as_deref());
        param(&mut params, "subscription", q.subscription.as_deref());
        param(&mut params, "card", q.card_id.as_deref());
        param(&mut params, "status", q.status.map(StatusFilter::as_str));
        let terms: Vec<String> =
            q.words.iter().cloned().chain(q.fields.iter().map(|(path, value)| format!("{path}:{value}"))).collect();
        param(&mut params, "q", Some(terms.join(" ")).filter(|t| !t.is_empty()).as_deref());
        self.list(&format!("/v1/events?{}", params.join("&"))).await
    }

    async fn event(&self, id: &EventId) -> SourceResult<EventDetail> {
        self.get(&format!("/v1/events/{id}")).await
    }

    async fn endpoint_history(&self, id: &SubscriptionId, span: Span) -> SourceResult<EndpointHistory> {
        self.get(&format!("/v1/subscriptions/{id}/history?span={}", span.label())).await
    }

    async fn audit(&self) -> SourceResult<Vec<AuditEntry>> {
        self.list(&format!("/v1/audit?limit={AUDIT_SHOWN}")).await
    }

    async fn alerts(&self) -> SourceResult<Vec<Alert>> {
        let mut alerts: Vec<Alert> = self.every("/v1/alerts").await?;
        alerts.reverse(); // the API is newest first; the dashboard keeps them oldest first
        Ok(alerts)
    }

    async fn catalog(&self) -> SourceResult<Vec<String>> {
        let catalog: Catalog = self.get("/v1/catalog").await?;
        Ok(catalog.data.into_iter().map(|a| a.action).collect())
    }

    async fn redeliver(
        &self,
        event_id: &EventId,
        subscription_id: Option<&SubscriptionId>,
        failed_only: bool,
    ) -> SourceResult<usize> {
        let body = RedeliverBody { subscription: subscription_id.cloned(), failed_only };
        let path = format!("/v1/events/{event_id}/redeliver");
        Ok(self.call::<Redelivering>(reqwest::Method::POST, &path, Some(&body)).await?.redelivering)
    }

    async fn set_paused(
        &self,
        subscription_id: &SubscriptionId,
        paused: bool,
        version: Option<&str>,
    ) -> SourceResult<()> {
        let verb = if paused { "pause" } else { "resume" };
        let path = format!("/v1/subscriptions/{subscription_id}/{verb}");
        self.call_if::<Subscription>(reqwest::Method::POST, &path, NO_BODY, version).await.map(|_| ())
    }

    async fn probe(&self, subscription_id: &SubscriptionId) -> SourceResult<usize> {
        let path = format!("/v1/subscriptions/{subscription_id}/probe");
        Ok(self.call::<Probing>(reqwest::Method::POST, &path, NO_BODY).await?.held)
    }

    async fn save_subscription(
        &self,
        id: Option<&SubscriptionId>,
        input: SubscriptionInput,
        version: Option<&str>,
    ) -> SourceResult<Subscription> {
        match id {
            Some(id) => {
                let path = format!("/v1/subscriptions/{id}");
                self.call_if(reqwest::Method::PATCH, &path, Some(&input), version).await
            }
            None => self.call(reqwest::Method::POST, "/v1/subscriptions", Some(&input)).await,
        }
    }

    async fn delete_subscription(&self, id: &SubscriptionId, version: Option<&str>) -> SourceResult<()> {
        let path = format!("/v1/subscriptions/{id}");
        self.call_if::<serde::de::IgnoredAny>(reqwest::Method::DELETE, &path, NO_BODY, version).await.map(|_| ())
    }

    async fn preview_replay(&self, filter: &ReplayFilter, rate_per_s: u32) -> SourceResult<ReplayPreview> {
        self.call(reqwest::Method::POST, "/v1/replays?dry_run=true", Some(&replay_body(filter, rate_per_s))).await
    }

    async fn start_replay(&self, filter: &ReplayFilter, rate_per_s: u32) -> SourceResult<Replay> {
        self.call(reqwest::Method::POST, "/v1/replays", Some(&replay_body(filter, rate_per_s))).await
    }

    async fn replays(&self) -> SourceResult<Vec<Replay>> {
        self.every("/v1/replays").await
    }

    async fn cancel_replay(&self, id: &ReplayId) -> SourceResult<Replay> {
        self.call(reqwest::Method::POST, &format!("/v1/replays/{id}/cancel"), NO_BODY).await
    }

    async fn send_event(&self, body: String, to: Option<&SubscriptionId>) -> SourceResult<EventId> {
        let path = match to {
            Some(id) => format!("/v1/subscriptions/{id}/test"),
            None => "/v1/events".to_string(),
        };
        let resp = self
            .request(reqwest::Method::POST, &path)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| self.unreachable(&e))?;
        let status = resp.status();
        let text = resp.text().await.unwrap_or_default();
        match serde_json::from_str::<Ingested>(&text) {
            Ok(ingested) if status.is_success() => Ok(ingested.id),
            _ => {
                // The form shows the server's words alone, as for the in-process source.
                let (code, message) = said_error(&text);
                let message = message.unwrap_or_else(|| format!("the server answered {status}"));
                Err(SourceError::Refused { status: None, code, message })
            }
        }
    }
}

impl RemoteSource {
    /// Reads the stream until it ends; `Ok` only when the dashboard went away. `last_id` follows
    /// the ids received, for the next reconnect to resume from; an update whose id is in `seen`
    /// came again (a resume on another node or after a restart) and is dropped.
    async fn read_stream(
        &self,
        resp: reqwest::Response,
        tx: &mpsc::Sender<Update>,
        last_id: &mut Option<String>,
        seen: &mut SeenIds,
    ) -> Result<(), String> {
        let mut frames = resp.bytes_stream().eventsource();
        let mut gaps = Vec::new();
        while let Some(frame) = frames.next().await {
            let frame = frame.map_err(|e| match e {
                EventStreamError::Transport(e) if e.is_timeout() => format!(
                    "nothing heard for {}s, not even a heartbeat: the server may be hung",
                    STREAM_SILENCE.as_secs()
                ),
                e => format!("the stream broke: {e}"),
            })?;
            if !frame.id.is_empty() {
                *last_id = Some(frame.id.clone());
            }
            if is_update(&frame.event) && !frame.id.is_empty() && !seen.first_time(&frame.id) {
                continue;
            }
            let update = match frame.event.as_str() {
                "gap" => {
                    let gap = serde_json::from_str::<StreamGap>(&frame.data);
                    gaps.push(gap.map_or_else(|_| "some updates could not be replayed".to_string(), |g| g.reason));
                    continue;
                }
                "resumed" => {
                    let replayed = serde_json::from_str::<StreamResumed>(&frame.data).map_or(0, |r| r.replayed);
                    Some(Update::Resumed { replayed: replayed as u64, gaps: std::mem::take(&mut gaps) })
                }
                "subscription.changed" => match serde_json::from_str::<FeedEvent>(&frame.data) {
                    // The stream masks credential headers: the admin's read of it comes from the API.
                    Ok(FeedEvent::SubscriptionChanged { change, subscription })
                        if change != SubscriptionChange::Deleted =>
                    {
                        let full = self.get::<Subscription>(&format!("/v1/subscriptions/{}", subscription.id)).await;
                        let subscription = Box::new(full.unwrap_or(*subscription));
                        Some(Update::Feed(FeedEvent::SubscriptionChanged { change, subscription }))
                    }
                    parsed => parsed.ok().map(Update::Feed),
                },
                name => parse_frame(name, &frame.data),
            };
            if let Some(update) = update
                && tx.send(update).await.is_err()
            {
                return Ok(());
            }
        }
        Err("the server closed the stream".into())
    }
}

/// Whether a frame is a feed update (whose id is its own), not one of the stream's own frames.
fn is_update(name: &str) -> bool {
    matches!(name, "event.received" | "delivery.attempted" | "subscription.changed" | "alert")
}

/// How many of the latest update ids `attach` remembers to drop repeats by: more than a resume
/// replays (the ten seconds before its point, at most 5,000 updates of each kind).
const SEEN_IDS: usize = 32_768;

/// The ids of the latest updates received, across reconnects.
#[derive(Default)]
struct SeenIds {
    order: std::collections::VecDeque<String>,
    ids: std::collections::HashSet<String>,
}

impl SeenIds {
    /// Whether `id` is new; it is remembered (the oldest forgotten beyond `SEEN_IDS`).
    fn first_time(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        if self.order.len() == SEEN_IDS
            && let Some(oldest) = self.order.pop_front()
        {
            self.ids.remove(&oldest);
        }
        self.order.push_back(id.to_string());
        self.ids.insert(id.to_string());
        true
    }
}

/// The server's own words for a refused token, with what to do.
async fn refusal(resp: reqwest::Response) -> String {
    let status = resp.status().as_u16();
    let (_, said) = said_error(&resp.text().await.unwrap_or_default());
    let said = said.unwrap_or_else(|| "the token was refused".to_string());
    format!(
        "the server refused this token ({status}: {said}); restart attach with the admin token (--token or HOOKWATCH_ADMIN_TOKEN)"
    )
}

/// The code and message of an API error body (`{"error":{"code":"…","message":"…"}}`).
fn said_error(body: &str) -> (Option<String>, Option<String>) {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(said) => (Some(said.error.code), Some(said.error.message)),
        Err(_) => (None, None),
    }
}

/// An update from a frame's name and data; `None` for frames the dashboard has no use for
/// (names a newer server may add).
fn parse_frame(name: &str, data: &str) -> Option<Update> {
    match name {
        "stats" => serde_json::from_str(data).ok().map(Update::Stats),
        "lagged" => Some(Update::Lagged),
        "hello" | "heartbeat" => Some(Update::Heartbeat),
        // Feed updates carry their type inside: a name this version does not know still parses
        // if its type does, and is dropped otherwise.
        _ => serde_json::from_str::<FeedEvent>(data).ok().map(Update::Feed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_id_seen_before_is_dropped_and_the_oldest_forgotten() {
        let mut seen = SeenIds::default();
        assert!(seen.first_time("1-evt_a"));
        assert!(!seen.first_time("1-evt_a"));
        for i in 0..SEEN_IDS {
            assert!(seen.first_time(&format!("2-evt_{i}")));
        }
        assert_eq!(seen.ids.len(), SEEN_IDS);
        assert!(seen.first_time("1-evt_a"), "forgotten beyond the bound");
    }

    #[test]
    fn frames_become_updates() {
        assert!(matches!(parse_frame("lagged", "3"), Some(Update::Lagged)));
        assert!(matches!(parse_frame("hello", "0.1.0"), Some(Update::Heartbeat)));
        assert!(matches!(parse_frame("heartbeat", r#"{"at":1}"#), Some(Update::Heartbeat)));
        assert!(parse_frame("message", "").is_none());
    }

    /// Every stream update, as the server sends it (its name and its watcher form), comes back as
    /// the same update in `attach`.
    #[test]
    fn every_stream_update_round_trips() {
        let app = crate::dashboard::screenshots::demo_app();
        let event = app.stream.events[0].event.clone();
        let d = &event.deliveries[0];
        let updates = [
            FeedEvent::EventReceived { event: event.clone() },
            FeedEvent::DeliveryAttempted(crate::domain::model::AttemptNotice {
                event_id: event.id.clone(),
                delivery_id: d.id.clone(),
                subscription_id: d.subscription_id.clone(),
                attempt: 2,
                started_at: 1_796_000_000_000,
                duration_ms: 31,
                status_code: Some(503),
                error_kind: Some(crate::domain::model::ErrorKind::Status),
                error: Some("HTTP 503 Service Unavailable".into()),
                status: crate::domain::model::DeliveryStatus::Retrying,
                next_attempt_at: Some(1_796_000_005_000),
            }),
            FeedEvent::SubscriptionChanged {
                change: SubscriptionChange::Updated,
                subscription: Box::new(app.subscriptions[0].clone()),
            },
            FeedEvent::Alert(app.alerts[0].clone()),
        ];
        for update in updates {
            // A new kind of update fails to compile here until it is added to the list above.
            match &update {
                FeedEvent::EventReceived { .. }
                | FeedEvent::DeliveryAttempted(_)
                | FeedEvent::SubscriptionChanged { .. }
                | FeedEvent::Alert(_) => {}
            }
            assert!(is_update(update.name()), "{} is deduplicated by id", update.name());
            let sent = update.for_watchers();
            let data = serde_json::to_string(&*sent).unwrap();
            let Some(Update::Feed(back)) = parse_frame(update.name(), &data) else {
                panic!("{} did not come back: {data}", update.name())
            };
            assert_eq!(back.name(), update.name());
            assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&*sent).unwrap());
        }
    }
}
