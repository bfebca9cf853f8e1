//! OpenTelemetry: with `otlp_endpoint` set, an ingest and each delivery attempt export spans to a
//! real OTLP/HTTP receiver here (protobuf, decoded with opentelemetry-proto), linked producer →
//! ingest → attempt, and each delivery carries its attempt's `traceparent`, also after a restart.
//! Without it nothing is traced: a received `traceparent` is passed on unchanged.

use crate::common::{Behaviour, Hookwatch, INGEST, Sink, card_move, test_config};
use bytes::Bytes;
use hookwatch::api::server::Server;
use hookwatch::domain::trace::TraceParent;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PRODUCER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
/// The producer's vendors' entries, passed on as they came.
const STATE: &str = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";

/// A local OTLP/HTTP traces receiver: keeps each export request it is sent, answers as a
/// collector does (200, an empty protobuf response).
struct Collector {
    endpoint: String,
    exports: Arc<Mutex<Vec<(String, Bytes)>>>,
}

impl Collector {
    async fn start() -> Collector {
        let exports = Arc::new(Mutex::new(Vec::new()));
        let kept = exports.clone();
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: Bytes| {
                let kept = kept.clone();
                async move {
                    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
                    kept.lock().unwrap().push((content_type.to_string(), body));
                    ([("content-type", "application/x-protobuf")], Vec::<u8>::new())
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Collector { endpoint: format!("http://{addr}/v1/traces"), exports }
    }

    /// Every span received so far, decoded.
    fn spans(&self) -> Vec<Span> {
        let exports = self.exports.lock().unwrap();
        exports
            .iter()
            .flat_map(|(content_type, body)| {
                assert_eq!(content_type, "application/x-protobuf", "OTLP/HTTP with protobuf, the standard default");
                ExportTraceServiceRequest::decode(body.clone()).expect("an OTLP export request").resource_spans
            })
            .flat_map(|resource| resource.scope_spans)
            .flat_map(|scope| scope.spans)
            .collect()
    }

    fn service_names(&self) -> Vec<String> {
        let exports = self.exports.lock().unwrap();
        let requests = exports.iter().map(|(_, body)| ExportTraceServiceRequest::decode(body.clone()).unwrap());
        let resources = requests.flat_map(|r| r.resource_spans).filter_map(|r| r.resource);
        resources
            .flat_map(|r| r.attributes)
            .filter(|a| a.key == "service.name")
            .filter_map(|a| text(&a.value))
            .collect()
    }
}

fn text(value: &Option<opentelemetry_proto::tonic::common::v1::AnyValue>) -> Option<String> {
    match value.as_ref()?.value.as_ref()? {
        AnyValue::StringValue(s) => Some(s.clone()),
        AnyValue::IntValue(n) => Some(n.to_string()),
        AnyValue::BoolValue(b) => Some(b.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// A span's attribute, as text.
fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| text(&a.value))
}

fn named<'a>(spans: &'a [Span], name: &str) -> Vec<&'a Span> {
    spans.iter().filter(|s| s.name == name).collect()
}

/// The `traceparent` (or another trace header, `name`) each request the sink received carried.
fn sent_headers(sink: &Sink, name: &str) -> Vec<Option<String>> {
    let requests = sink.requests();
    requests.iter().map(|r| r.headers.get(name).map(|v| v.to_str().unwrap().to_string())).collect()
}

fn sent_traceparents(sink: &Sink) -> Vec<Option<String>> {
    sent_headers(sink, "traceparent")
}

async fn ingest_with(hw: &Hookwatch, traceparent: Option<&str>) -> Value {
    let mut request = hw
        .http
        .post(format!("{}/v1/events", hw.base))
        .bearer_auth(INGEST)
        .header("content-type", "application/json")
        .body(card_move("p1", 2).to_string());
    if let Some(traceparent) = traceparent {
        request = request.header("traceparent", traceparent).header("tracestate", STATE);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 202, "an invalid traceparent is ignored, never refused");
    serde_json::from_str(&response.text().await.unwrap()).unwrap()
}

#[tokio::test]
async fn each_attempt_is_a_span_under_the_ingest_under_the_producers_and_its_request_carries_it() {
    let collector = Collector::start().await;
    let sink = Sink::start(Behaviour { script: [500].into(), ..Behaviour::default() }).await;
    let hw = Hookwatch::start_with(|c| {
        c.otlp_endpoint = Some(collector.endpoint.clone());
        c.otlp_service_name = "hookwatch-test".into();
    })
    .await;
    // A secret in the URL's query stays out of the spans.
    hw.subscribe(&format!("{}?token=s3cr3t", sink.url), &["card.move"], json!({})).await;
    let event = ingest_with(&hw, Some(PRODUCER)).await;
    let event_id = event["id"].as_str().unwrap();
    let settled = hw.settled(event_id, Duration::from_secs(10)).await;
    assert_eq!(settled["deliveries"][0]["status"], "succeeded", "{settled}");
    hw.server.shutdown().await.unwrap(); // the graceful stop exports what is left

    let spans = collector.spans();
    let producer = TraceParent::parse(PRODUCER).unwrap();
    let ingest = named(&spans, "ingest");
    assert_eq!(ingest.len(), 1, "{spans:#?}");
    let ingest = ingest[0];
    assert_eq!(ingest.trace_id, producer.trace_id, "the ingest continues the producer's trace");
    assert_eq!(ingest.parent_span_id, producer.span_id, "as a child of the producer's span");
    assert_eq!(attribute(ingest, "hookwatch.event.id").as_deref(), Some(event_id));
    assert_eq!(attribute(ingest, "hookwatch.deliveries").as_deref(), Some("1"));

    let attempts = named(&spans, "POST");
    assert_eq!(attempts.len(), 2, "a span per attempt (500, then 200): {spans:#?}");
    let mut attempts = attempts;
    attempts.sort_by_key(|s| attribute(s, "hookwatch.attempt"));
    for (attempt, status) in attempts.iter().zip(["500", "200"]) {
        assert_eq!(attempt.trace_id, producer.trace_id);
        assert_eq!(attempt.parent_span_id, ingest.span_id, "each attempt is a child of the ingest");
        assert_eq!(attribute(attempt, "http.response.status_code").as_deref(), Some(status));
        assert_eq!(attribute(attempt, "hookwatch.event.id").as_deref(), Some(event_id));
        assert_eq!(attribute(attempt, "hookwatch.event.type").as_deref(), Some("card.move"));
        let url = attribute(attempt, "url.full").unwrap();
        assert!(url.ends_with("/hook?token=•••") && !url.contains("s3cr3t"), "masked: {url}");
        assert!(attempt.end_time_unix_nano > attempt.start_time_unix_nano, "its duration is the latency");
    }
    assert_eq!(attribute(attempts[0], "error.type").as_deref(), Some("status"));
    assert_eq!(attribute(attempts[1], "http.request.resend_count").as_deref(), Some("1"));
    assert_eq!(collector.service_names().first().map(String::as_str), Some("hookwatch-test"));

    // Each request carried its own attempt's span as the parent of what the consumer does.
    let sent = sent_traceparents(&sink);
    assert_eq!(sent.len(), 2);
    for (header, attempt) in sent.iter().zip(&attempts) {
        let sent = TraceParent::parse(header.as_deref().expect("a traceparent on each delivery")).unwrap();
        assert_eq!(
            (sent.trace_id.to_vec(), sent.span_id.to_vec()),
            (attempt.trace_id.clone(), attempt.span_id.clone())
        );
        assert!(sent.sampled());
    }
    assert_eq!(
        sent_headers(&sink, "tracestate"),
        [Some(STATE.to_string()), Some(STATE.to_string())],
        "tracestate passed on"
    );
}

/// The ingest's context is stored with the event: a delivery first attempted by the next process
/// (the subscription was paused) is still the ingest's child.
#[tokio::test]
async fn an_attempt_after_a_restart_is_still_a_child_of_the_ingest() {
    let collector = Collector::start().await;
    let sink = Sink::start(Behaviour::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let config = || {
        let mut config = test_config(dir.path());
        config.otlp_endpoint = Some(collector.endpoint.clone());
        config
    };
    let hw = Hookwatch::of(Server::start(config()).await.unwrap());
    let sub = hw.subscribe(&sink.url, &["card.move"], json!({})).await;
    let sub_path = format!("/v1/subscriptions/{}", sub["id"].as_str().unwrap());
    hw.admin(reqwest::Method::POST, &format!("{sub_path}/pause"), None).await;
    let event_id = ingest_with(&hw, Some(PRODUCER)).await["id"].as_str().unwrap().to_string();
    hw.server.shutdown().await.unwrap();
    let ingest = named(&collector.spans(), "ingest")[0].clone();

    let hw = Hookwatch::of(Server::start(config()).await.unwrap());
    hw.admin(reqwest::Method::POST, &format!("{sub_path}/resume"), None).await;
    let settled = hw.settled(&event_id, Duration::from_secs(10)).await;
    assert_eq!(settled["deliveries"][0]["status"], "succeeded", "{settled}");
    hw.server.shutdown().await.unwrap();

    let spans = collector.spans();
    let attempt = named(&spans, "POST");
    assert_eq!(attempt.len(), 1, "{spans:#?}");
    assert_eq!((&attempt[0].trace_id, &attempt[0].parent_span_id), (&ingest.trace_id, &ingest.span_id));
    let sent = TraceParent::parse(sent_traceparents(&sink)[0].as_deref().unwrap()).unwrap();
    assert_eq!(sent.span_id.to_vec(), attempt[0].span_id);
}

/// Off (the default): no span, no exporter; a received `traceparent` is passed on unchanged, as
/// W3C Trace Context asks of a participant that does not trace, and none is made up.
#[tokio::test]
async fn without_an_endpoint_a_traceparent_is_passed_on_unchanged_and_none_is_invented() {
    let sink = Sink::start(Behaviour::default()).await;
    let hw = Hookwatch::start().await;
    assert!(!hw.server.engine.traces().is_on());
    hw.subscribe(&sink.url, &["card.move"], json!({})).await;
    ingest_with(&hw, Some(PRODUCER)).await;
    ingest_with(&hw, None).await;
    ingest_with(&hw, Some("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")).await;
    assert_eq!(sink.wait_for(3, Duration::from_secs(10)).await, 3);
    let mut parents = sent_traceparents(&sink);
    parents.sort();
    assert_eq!(parents, [None, None, Some(PRODUCER.to_string())], "only the valid one, as it came");
    let mut states = sent_headers(&sink, "tracestate");
    states.sort();
    assert_eq!(states, [None, None, Some(STATE.to_string())], "its tracestate with it; none beside an invalid one");
}
