//! OpenTelemetry traces, exported over OTLP/HTTP (protobuf) when `otlp_endpoint` is set: a span
//! per ingest (the request, read, to its commit) and one per delivery attempt (the request out
//! to its answer), tied by the trace context (`traceparent`, `tracestate`) kept with the event.
//!
//! Each server has its own tracer provider, used through the OpenTelemetry API directly rather
//! than as a `tracing` subscriber layer: a subscriber is global to the process (where the tests
//! run many servers), and these spans need parents that outlive the process (the context stored
//! with the event). With no endpoint there is no provider, no thread and no span: only a
//! received `traceparent` (and `tracestate`) is kept and passed on unchanged, as W3C asks of a
//! participant that does not trace.

use crate::domain::model::{Subscription, masked_url};
use crate::domain::trace::{TraceContext, TraceParent};
use crate::observe::metrics::AttemptFacts;
use opentelemetry::trace::{Span as _, SpanContext, SpanKind, Status, TraceContextExt, TraceState, Tracer as _};
use opentelemetry::{KeyValue, SpanId, TraceFlags, TraceId};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider, Span};
use std::sync::Arc;
use std::time::Duration;

/// Spans waiting for export at most; past it new ones are dropped, so a dead collector costs a
/// bounded amount of memory (a few MiB), never the deliveries' progress.
const QUEUE: usize = 4096;
/// How long one export may take before it is abandoned.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);
/// How much of a collector's answer is read.
const ANSWER_LIMIT: usize = 64 * 1024;

/// This server's traces: off, or a provider exporting to one collector.
pub struct Traces {
    export: Option<(SdkTracerProvider, SdkTracer)>,
}

/// What an attempt's span needs of its event: its type, and the context it continues.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventTrace {
    pub action: String,
    pub parent: Option<TraceContext>,
}

impl Traces {
    pub fn off() -> Traces {
        Traces { export: None }
    }

    /// Exports to `endpoint`, the collector's OTLP/HTTP traces URL (e.g.
    /// `http://collector:4318/v1/traces`), as the service `service_name`.
    pub fn export_to(endpoint: &str, service_name: &str) -> anyhow::Result<Traces> {
        use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_http_client(ExportClient::new()?)
            .with_endpoint(endpoint)
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_timeout(EXPORT_TIMEOUT)
            .build()
            .map_err(|e| anyhow::anyhow!("otlp_endpoint {endpoint:?}: cannot export traces there: {e}"))?;
        let batches = opentelemetry_sdk::trace::BatchConfigBuilder::default().with_max_queue_size(QUEUE).build();
        let processor =
            opentelemetry_sdk::trace::BatchSpanProcessor::builder(exporter).with_batch_config(batches).build();
        let resource = opentelemetry_sdk::Resource::builder().with_service_name(service_name.to_string()).build();
        let provider = SdkTracerProvider::builder().with_span_processor(processor).with_resource(resource).build();
        let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "hookwatch");
        Ok(Traces { export: Some((provider, tracer)) })
    }

    pub fn is_on(&self) -> bool {
        self.export.is_some()
    }

    /// What a lane keeps beside an event's body to trace its attempts; `None` when there is
    /// nothing to trace or pass on.
    pub fn event(&self, action: &str, parent: Option<TraceContext>) -> Option<Arc<EventTrace>> {
        (self.is_on() || parent.is_some()).then(|| Arc::new(EventTrace { action: action.to_string(), parent }))
    }

    /// Starts an ingest's span, a child of the `traceparent` it came with.
    pub fn ingest(&self, received: Option<TraceContext>) -> IngestSpan {
        let Some((_, tracer)) = &self.export else { return IngestSpan { span: None, context: received } };
        // No HTTP attributes: the dashboard's own events are ingested without a request.
        let span = tracer
            .span_builder("ingest")
            .with_kind(SpanKind::Server)
            .start_with_context(tracer, &parent_context(received.as_ref()));
        IngestSpan { context: Some(own_context(span.span_context())), span: Some(span) }
    }

    /// Starts an attempt's span, a child of its event's context (a root for an event stored
    /// without one).
    pub fn delivery(&self, event: Option<&EventTrace>, attempt: &Attempt<'_>) -> DeliverySpan {
        let parent = event.and_then(|e| e.parent.as_ref());
        let Some((_, tracer)) = &self.export else { return DeliverySpan { span: None, context: parent.cloned() } };
        let url = masked_url(&attempt.subscription.url);
        let host = url::Url::parse(&attempt.subscription.url).ok().and_then(|u| u.host_str().map(str::to_string));
        let mut attributes = vec![
            KeyValue::new("http.request.method", "POST"),
            KeyValue::new("url.full", url),
            KeyValue::new("hookwatch.subscription.id", attempt.subscription.id.to_string()),
            KeyValue::new("hookwatch.event.id", attempt.event_id.to_string()),
            KeyValue::new("hookwatch.delivery.id", attempt.delivery_id.to_string()),
            KeyValue::new("hookwatch.attempt", i64::from(attempt.number)),
        ];
        attributes.extend(host.map(|h| KeyValue::new("server.address", h)));
        attributes.extend(event.map(|e| KeyValue::new("hookwatch.event.type", e.action.clone())));
        if attempt.number > 1 {
            attributes.push(KeyValue::new("http.request.resend_count", i64::from(attempt.number - 1)));
        }
        let span = tracer
            .span_builder("POST")
            .with_kind(SpanKind::Client)
            .with_attributes(attributes)
            .start_with_context(tracer, &parent_context(parent));
        DeliverySpan { context: Some(own_context(span.span_context())), span: Some(span) }
    }

    /// Exports what is left and stops the exporter (at most its timeout): spans ended before a
    /// graceful stop are not lost.
    pub async fn shutdown(&self) {
        let Some((provider, _)) = &self.export else { return };
        let provider = provider.clone();
        let stopped = tokio::task::spawn_blocking(move || provider.shutdown()).await;
        if let Ok(Err(e)) = stopped {
            tracing::warn!("traces: the last spans may not have reached the collector: {e}");
        }
    }
}

/// The attempt a delivery span stands for.
pub struct Attempt<'a> {
    pub subscription: &'a Subscription,
    pub delivery_id: &'a str,
    pub event_id: &'a str,
    /// 1 for the first attempt of a series.
    pub number: u32,
}

/// An ingest's span, and the context its event keeps: the span's own when tracing, else the
/// `traceparent` received, unchanged.
pub struct IngestSpan {
    span: Option<Span>,
    context: Option<TraceContext>,
}

impl IngestSpan {
    pub fn context(&self) -> Option<TraceContext> {
        self.context.clone()
    }

    /// The event is stored (or, `replayed`, was already under its idempotency key).
    pub fn committed(self, event_id: &str, action: &str, deliveries: u32, replayed: bool) {
        let Some(mut span) = self.span else { return };
        span.set_attributes([
            KeyValue::new("hookwatch.event.id", event_id.to_string()),
            KeyValue::new("hookwatch.event.type", action.to_string()),
            KeyValue::new("hookwatch.deliveries", i64::from(deliveries)),
            KeyValue::new("hookwatch.replayed", replayed),
        ]);
        span.end();
    }

    /// The ingest was refused; `code` is the error's stable code.
    pub fn refused(self, code: &'static str) {
        let Some(mut span) = self.span else { return };
        span.set_attribute(KeyValue::new("error.type", code));
        span.set_status(Status::error(code));
        span.end();
    }
}

/// An attempt's span, and the trace context its request carries.
pub struct DeliverySpan {
    span: Option<Span>,
    context: Option<TraceContext>,
}

impl DeliverySpan {
    /// What the request's `traceparent` and `tracestate` say: this span, or the event's context
    /// passed on unchanged when not tracing.
    pub fn context(&self) -> Option<&TraceContext> {
        self.context.as_ref()
    }

    pub fn ended(self, facts: &AttemptFacts) {
        let Some(mut span) = self.span else { return };
        if let Some(code) = facts.status_code {
            span.set_attribute(KeyValue::new("http.response.status_code", i64::from(code)));
        }
        span.set_attribute(KeyValue::new("hookwatch.delivery.status", facts.status.as_str()));
        if let Some(kind) = facts.error_kind {
            // The kind, not the error's text: that can quote the endpoint's URL and its secrets.
            span.set_attribute(KeyValue::new("error.type", kind.as_str()));
            span.set_status(Status::error(kind.as_str()));
        }
        span.end();
    }
}

/// The context a span continues: `parent`, received from elsewhere, or none (a new trace).
fn parent_context(parent: Option<&TraceContext>) -> opentelemetry::Context {
    let Some(TraceContext { parent, state }) = parent else { return opentelemetry::Context::new() };
    let remote = SpanContext::new(
        TraceId::from_bytes(parent.trace_id),
        SpanId::from_bytes(parent.span_id),
        TraceFlags::new(parent.flags),
        true,
        state.as_deref().and_then(|s| s.parse::<TraceState>().ok()).unwrap_or_default(),
    );
    opentelemetry::Context::new().with_remote_span_context(remote)
}

/// A span's own context as the parent of what it leads to (its `tracestate` the parent's).
fn own_context(span: &SpanContext) -> TraceContext {
    let parent = TraceParent {
        trace_id: span.trace_id().to_bytes(),
        span_id: span.span_id().to_bytes(),
        flags: span.trace_flags().to_u8(),
    };
    TraceContext { parent, state: Some(span.trace_state().header()).filter(|s| !s.is_empty()) }
}

/// The exporter's HTTP client: hookwatch's reqwest, on a runtime of its own. The SDK exports from
/// a thread of its own, outside any runtime; a runtime owned here serves it whichever runtime the
/// server runs on, and is still there when the server's has stopped.
#[derive(Debug)]
struct ExportClient {
    client: reqwest::Client,
    runtime: Option<tokio::runtime::Runtime>,
}

impl ExportClient {
    fn new() -> anyhow::Result<ExportClient> {
        let client = reqwest::Client::builder()
            .timeout(EXPORT_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hookwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| anyhow::anyhow!("cannot build the traces' HTTP client: {e}"))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("hookwatch-otlp")
            .enable_all()
            .build()
            .map_err(|e| anyhow::anyhow!("cannot start the traces' exporter thread: {e}"))?;
        Ok(ExportClient { client, runtime: Some(runtime) })
    }
}

impl Drop for ExportClient {
    fn drop(&mut self) {
        // Dropped wherever the SDK lets go of it, perhaps on an async thread, where a plain drop
        // of a runtime panics.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for ExportClient {
    async fn send_bytes(
        &self,
        request: opentelemetry_http::Request<bytes::Bytes>,
    ) -> Result<opentelemetry_http::Response<bytes::Bytes>, opentelemetry_http::HttpError> {
        let request = reqwest::Request::try_from(request)?;
        let runtime = self.runtime.as_ref().ok_or("the exporter has stopped")?;
        let client = self.client.clone();
        let (status, answer) = runtime
            .spawn(async move {
                let mut response = client.execute(request).await?;
                let mut answer = Vec::new();
                while let Some(chunk) = response.chunk().await? {
                    answer.extend_from_slice(&chunk[..chunk.len().min(ANSWER_LIMIT - answer.len())]);
                    if answer.len() == ANSWER_LIMIT {
                        break;
                    }
                }
                Ok::<_, reqwest::Error>((response.status(), answer))
            })
            .await??;
        Ok(opentelemetry_http::Response::builder().status(status).body(answer.into())?)
    }
}
