//! The endpoint page (`Enter` on a subscription): its history over a span that zooms, read again
//! while the page is open, and its recent failures, each opening in the inspector.

use crate::dashboard::columns::breaker;
use crate::dashboard::component::{Component, Reply, Request};
use crate::dashboard::data::Data;
use crate::dashboard::effect::Effect;
use crate::dashboard::keymap::{Action, Context};
use crate::dashboard::layout::{centred, moved, pane_block, popup_area};
use crate::dashboard::sanitize::clean;
use crate::dashboard::text::{clock, fit, percent, short_id, span};
use crate::dashboard::theme::Theme;
use crate::domain::ids::SubscriptionId;
use crate::domain::model::AlertKind;
use crate::domain::model::Millis;
use crate::wire::BreakerState;
use crate::wire::EndpointReport;
use crate::wire::{EndpointHistory, HistoryPoint, RecentFailure, ResponseCount, Span as Zoom};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Borders, Chart, Dataset, GraphType, Paragraph};

/// How often an open page reads its history again.
pub const HISTORY_EVERY: Millis = 2_000;
/// A read older than this is shown with its time: the page is not current.
pub const HISTORY_STALE: Millis = 5_000;

pub struct EndpointPage {
    pub id: SubscriptionId,
    pub span: Zoom,
    /// The latest read of this span and when it came back.
    pub history: Option<(EndpointHistory, Millis)>,
    /// Why the latest read failed, if it did.
    pub error: Option<String>,
    /// The selected failure.
    pub cursor: usize,
    pub asked_at: Millis,
}

impl EndpointPage {
    pub fn new(id: SubscriptionId, now: Millis) -> Self {
        EndpointPage { id, span: Zoom::default(), history: None, error: None, cursor: 0, asked_at: now }
    }

    pub fn failures(&self) -> &[RecentFailure] {
        self.history.as_ref().map_or(&[], |(h, _)| h.failures.as_slice())
    }

    pub fn load(&self) -> Effect {
        Effect::LoadHistory { id: self.id.clone(), span: self.span }
    }
}

impl Component for EndpointPage {
    fn context(&self) -> Context {
        Context::Endpoint
    }

    fn on_key(&mut self, action: Option<Action>, _: KeyEvent, data: &Data) -> Reply {
        let last = self.failures().len().saturating_sub(1);
        let rows = failure_rows(data.screen, self);
        if let Some(cursor) = action.and_then(|a| moved(self.cursor, a, last, rows)) {
            self.cursor = cursor;
            return Reply::Stay;
        }
        match action {
            Some(Action::Back) => Reply::close(),
            Some(action @ (Action::LongerSpan | Action::ShorterSpan)) => {
                let span = self.span.zoomed(action == Action::LongerSpan);
                if span == self.span {
                    return Reply::Stay;
                }
                // The old span's figures stay until the new ones come, marked by their span.
                self.span = span;
                self.cursor = 0;
                self.asked_at = data.now;
                Reply::Effects(vec![self.load()])
            }
            Some(Action::Inspect) => match self.failures().get(self.cursor) {
                Some(failure) => Reply::Ask(Request::Inspect {
                    event_id: failure.event_id.clone(),
                    subscription: self.id.clone(),
                    at: failure.at,
                }),
                None => Reply::Say("no failure to inspect in this span".into()),
            },
            Some(Action::Filter) => Reply::Ask(Request::FilterTo(self.id.clone())),
            Some(
                action @ (Action::TogglePause
                | Action::Probe
                | Action::EditSubscription
                | Action::Copy
                | Action::CopyUrl),
            ) => Reply::Ask(Request::OnEndpoint(action, self.id.clone())),
            _ => Reply::Stay,
        }
    }

    fn draw(&self, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
        draw(frame, area, data, self, theme)
    }
}

fn draw(frame: &mut Frame, area: Rect, app: &Data, page: &EndpointPage, theme: &Theme) {
    let rect = popup_area(frame, area, 96, 94, (58, 14));
    let name = app.subscription_name(&page.id);
    let mut outer = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(format!(" Endpoint {} · last {} ", clean(name), page.span.label()), theme.bold()));
    if let Some(note) = freshness(app, page, theme) {
        outer = outer.title(note.right_aligned());
    }
    let inner = outer.inner(rect);
    frame.render_widget(outer, rect);
    let [facts, charts, lists, failures] = sections(inner, page);
    let report = app.endpoints.iter().find(|e| e.id == page.id);
    frame.render_widget(Paragraph::new(now_lines(app, report, theme, facts.width)), facts);
    let Some((history, _)) = &page.history else { return };
    let [success, latency] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(charts);
    draw_success(frame, success, history, theme);
    draw_latency(frame, latency, history, theme);
    let [responses, changes] =
        Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(lists);
    draw_responses(frame, responses, app, history, theme);
    draw_breaker(frame, changes, history, theme);
    draw_failures(frame, failures, app, page, history, theme);
}

/// The page's parts inside its border: the facts, the charts, the lists and the failures.
fn sections(inner: Rect, page: &EndpointPage) -> [Rect; 4] {
    let chart_h = (inner.height.saturating_sub(2) * 2 / 5).clamp(5, 14);
    let lists_h = page
        .history
        .as_ref()
        .map_or(3, |(h, _)| crate::dashboard::layout::cells(h.responses.len().max(health_count(h)).clamp(1, 6)) + 2);
    Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(chart_h),
        Constraint::Length(lists_h),
        Constraint::Min(3),
    ])
    .areas(inner)
}

/// How many failures show on a screen of `area` (inside their list's border): what PgUp and
/// PgDn move by.
fn failure_rows(area: Rect, page: &EndpointPage) -> usize {
    let inner = Block::default().borders(Borders::ALL).inner(centred(area, 96, 94, (58, 14)));
    let [.., failures] = sections(inner, page);
    usize::from(failures.height.saturating_sub(2)).max(1)
}

/// Whether the page is current: a read in progress, failed, or too old says so in the title.
fn freshness(app: &Data, page: &EndpointPage, theme: &Theme) -> Option<Line<'static>> {
    let read = page.history.as_ref();
    if let Some(e) = &page.error {
        let since = read.map_or(String::new(), |(_, at)| format!(" · as of {}", clock(*at)));
        return Some(Line::styled(format!(" ✗ {}{since} ", fit(&clean(e), 60)), theme.bad()));
    }
    match read {
        None => Some(Line::styled(" loading… ", theme.dim())),
        Some((h, _)) if h.span != page.span => {
            Some(Line::styled(format!(" loading {}… ", page.span.label()), theme.dim()))
        }
        Some((_, at)) if app.now.saturating_sub(*at) > HISTORY_STALE => {
            Some(Line::styled(format!(" as of {} ", clock(*at)), theme.warn()))
        }
        Some(_) => None,
    }
}

/// The endpoint now, from the live stats: state, breaker, work in hand, then its rates.
fn now_lines(app: &Data, report: Option<&EndpointReport>, theme: &Theme, width: u16) -> Vec<Line<'static>> {
    let Some(e) = report else { return vec![Line::styled("no figures for this subscription yet", theme.dim())] };
    let (glyph, state_style) = theme.subscription(e.state);
    let limit = app.subscriptions.iter().find(|s| s.id == e.id);
    let in_flight = limit.map_or(e.in_flight.to_string(), |s| format!("{}/{}", e.in_flight, s.max_in_flight));
    let rate_limit = e.rate_limit_per_s.map_or("none".to_string(), |r| format!("{r}/s"));
    let mut first = vec![
        Span::styled(format!("{glyph} {}", e.state.as_str()), state_style),
        Span::raw("  breaker "),
        breaker(e, app.now, theme),
        Span::raw(format!("  in flight {in_flight}  backlog {}  rate limit {rate_limit}  ", e.backlog)),
    ];
    let used: usize = first.iter().map(|s| s.width()).sum();
    first.push(Span::styled(fit(&clean(&e.url), usize::from(width).saturating_sub(used)), theme.dim()));
    let mut second = vec![Span::raw("ok")];
    for window in ["1m", "5m", "1h", "24h"] {
        let rate = e.success_rate.get(window).copied().flatten();
        second.push(Span::raw(format!(" {window} ")));
        second.push(Span::styled(percent(rate), theme.rate(rate)));
    }
    let l = &e.latency_ms;
    second.push(Span::raw(format!("  5m p50 {} p95 {} p99 {}", ms(l.p50_ms), ms(l.p95_ms), ms(l.p99_ms))));
    vec![Line::from(first), Line::from(second)]
}

fn ms(value: Option<u64>) -> String {
    match value {
        None => "—".into(),
        Some(v) if v < 1000 => format!("{v}ms"),
        Some(v) => format!("{:.1}s", v as f64 / 1000.0),
    }
}

/// The x axis: the span's start, its middle, now.
fn time_axis(zoom: Zoom, points: usize, theme: &Theme) -> Axis<'static> {
    let labels = match zoom {
        Zoom::TwoMinutes => ["-2m", "-1m", "now"],
        Zoom::Hour => ["-60m", "-30m", "now"],
        Zoom::Day => ["-24h", "-12h", "now"],
    };
    Axis::default().bounds([0.0, points.saturating_sub(1) as f64]).labels(labels).style(theme.dim())
}

fn per_slot(history: &EndpointHistory) -> String {
    match history.slot_s {
        s if s < 60 => format!("per {s}s"),
        s if s < 3600 => format!("per {}m", s / 60),
        s => format!("per {}h", s / 3600),
    }
}

fn draw_success(frame: &mut Frame, area: Rect, history: &EndpointHistory, theme: &Theme) {
    let points: Vec<(f64, f64)> = history
        .points
        .iter()
        .enumerate()
        .filter(|(_, p)| p.attempts > 0)
        .map(|(i, p)| (i as f64, f64::from(p.successes) * 100.0 / f64::from(p.attempts)))
        .collect();
    let lowest = points.iter().map(|(_, r)| *r).fold(100.0, f64::min);
    let title = format!("Success {} · lowest {}", per_slot(history), percent(Some(lowest / 100.0)));
    let block = pane_block(&title, false, theme);
    if points.is_empty() {
        frame.render_widget(Paragraph::new(Line::styled("no attempts", theme.dim())).block(block), area);
        return;
    }
    let data = Dataset::default()
        .marker(Marker::Braille)
        .graph_type(GraphType::Line)
        .style(theme.rate(Some(lowest / 100.0)))
        .data(&points);
    let chart = Chart::new(vec![data])
        .block(block)
        .x_axis(time_axis(history.span, history.points.len(), theme))
        .y_axis(Axis::default().bounds([0.0, 100.0]).labels(["0%", "50%", "100%"]).style(theme.dim()));
    frame.render_widget(chart, area);
}

/// Latency on a log scale, so a 40 ms median and a 5 s tail are both read off the same chart.
fn draw_latency(frame: &mut Frame, area: Rect, history: &EndpointHistory, theme: &Theme) {
    let series = |pick: fn(&HistoryPoint) -> Option<u64>| -> Vec<(f64, f64)> {
        let log = |ms: u64| (ms.max(1) as f64).log10();
        history.points.iter().enumerate().filter_map(|(i, p)| pick(p).map(|v| (i as f64, log(v)))).collect()
    };
    let (p50, p95, p99) = (series(|p| p.p50_ms), series(|p| p.p95_ms), series(|p| p.p99_ms));
    let top = p99.iter().map(|(_, v)| *v).fold(1.0, f64::max);
    #[expect(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "a tick of the log axis: 10^log of a latency, a positive whole number of ms"
    )]
    let at = |log: f64| ms(Some(10f64.powf(log).round() as u64));
    let block = pane_block(&format!("Latency {} · p50 p95 p99 · log", per_slot(history)), false, theme);
    if p99.is_empty() {
        frame.render_widget(Paragraph::new(Line::styled("no timed attempts", theme.dim())).block(block), area);
        return;
    }
    // Three markers as well as three colours, so the lines stay apart without colour.
    let line = |name: &'static str, marker: Marker, style: Style, data| {
        Dataset::default().name(name).marker(marker).graph_type(GraphType::Line).style(style).data(data)
    };
    let chart = Chart::new(vec![
        line("p50", Marker::Dot, theme.ok(), &p50),
        line("p95", Marker::Bar, theme.warn(), &p95),
        line("p99", Marker::Braille, theme.bad(), &p99),
    ])
    .block(block)
    .hidden_legend_constraints((Constraint::Ratio(1, 3), Constraint::Ratio(1, 2)))
    .x_axis(time_axis(history.span, history.points.len(), theme))
    .y_axis(Axis::default().bounds([0.0, top]).labels([at(0.0), at(top / 2.0), at(top)]).style(theme.dim()));
    frame.render_widget(chart, area);
}

fn response_label(r: &ResponseCount, theme: &Theme) -> (String, Style) {
    match (r.status_code, r.error_kind) {
        (Some(code), _) if (200..300).contains(&code) => (code.to_string(), theme.ok()),
        (Some(code), _) if (400..500).contains(&code) => (code.to_string(), theme.warn()),
        (Some(code), _) => (code.to_string(), theme.bad()),
        (None, Some(kind)) => (kind.as_str().to_string(), theme.bad()),
        (None, None) => ("other".to_string(), theme.dim()),
    }
}

fn draw_responses(frame: &mut Frame, area: Rect, app: &Data, history: &EndpointHistory, theme: &Theme) {
    let total: u64 = history.responses.iter().map(|r| r.count).sum();
    let block = pane_block(&format!("Responses · last {}", history.span.label()), false, theme);
    let lines: Vec<Line> = history
        .responses
        .iter()
        .map(|r| {
            let (label, style) = response_label(r, theme);
            let share = percent(Some(r.count as f64 / total.max(1) as f64));
            Line::from(vec![
                Span::styled(format!("{label:<8}"), style),
                Span::raw(format!("{:>7} {share:>6}", r.count)),
                Span::styled(format!("  {} ago", span(app.now.saturating_sub(r.last_seen_at))), theme.dim()),
            ])
        })
        .collect();
    let empty = Line::styled("no attempts", theme.dim());
    frame.render_widget(Paragraph::new(if lines.is_empty() { vec![empty] } else { lines }).block(block), area);
}

fn draw_breaker(frame: &mut Frame, area: Rect, history: &EndpointHistory, theme: &Theme) {
    let block = pane_block("Breaker and health", false, theme);
    let lines = health_lines(history, theme);
    let empty = Line::styled("none: the breaker stayed closed", theme.dim());
    frame.render_widget(Paragraph::new(if lines.is_empty() { vec![empty] } else { lines }).block(block), area);
}

/// Every change of the breaker (each probe, with the cooldown it ends) and the other health
/// alerts (failure streaks, recovery, disabling), newest first.
/// How many lines `health_lines` gives: every breaker change, and the alerts that are not one.
fn health_count(history: &EndpointHistory) -> usize {
    history.breaker_changes.len() + history.breaker.iter().filter(|a| a.kind != AlertKind::BreakerOpen).count()
}

fn health_lines(history: &EndpointHistory, theme: &Theme) -> Vec<Line<'static>> {
    let changes = history.breaker_changes.iter().map(|c| {
        let (glyph, style) = match c.to {
            BreakerState::Open => ("◆", theme.bad()),
            BreakerState::HalfOpen => ("◇", theme.warn()),
            BreakerState::Closed => ("✓", theme.ok()),
        };
        let next = c.next_probe_at.map_or(String::new(), |at| {
            // To the nearest second: the cooldown is whole seconds, its clock readings a few ms apart.
            let cooldown = (at.saturating_sub(c.at) + 500) / 1000 * 1000;
            format!(" · next probe {} (cooldown {})", clock(at), span(cooldown))
        });
        let line = Line::from(vec![
            Span::styled(format!("{} ", clock(c.at)), theme.dim()),
            Span::styled(format!("{glyph} breaker {}", c.describe()), style),
            Span::raw(next),
        ]);
        (c.at, line)
    });
    // The breaker's openings are among its changes; the alert would say one of them again.
    let alerts = history.breaker.iter().filter(|a| a.kind != AlertKind::BreakerOpen).map(|a| {
        let (glyph, style, label) = crate::dashboard::popups::alerts::mark(a.kind, theme);
        let line = Line::from(vec![
            Span::styled(format!("{} ", clock(a.at)), theme.dim()),
            Span::styled(format!("{glyph} {label} "), style),
            Span::raw(clean(&a.message).into_owned()),
        ]);
        (a.at, line)
    });
    let mut lines: Vec<(crate::domain::model::Millis, Line<'static>)> = changes.chain(alerts).collect();
    lines.sort_by_key(|(at, _)| std::cmp::Reverse(*at));
    lines.into_iter().map(|(_, line)| line).collect()
}

fn draw_failures(
    frame: &mut Frame,
    area: Rect,
    app: &Data,
    page: &EndpointPage,
    history: &EndpointHistory,
    theme: &Theme,
) {
    let block = pane_block(&format!("Recent failures ({}) · Enter inspects", history.failures.len()), true, theme);
    let rows = usize::from(block.inner(area).height);
    if history.failures.is_empty() {
        let text = format!("no failed attempts in the last {}", history.span.label());
        frame.render_widget(Paragraph::new(Line::styled(text, theme.ok())).block(block), area);
        return;
    }
    let first = crate::dashboard::layout::first_shown(page.cursor, rows);
    let lines: Vec<Line> = history
        .failures
        .iter()
        .enumerate()
        .skip(first)
        .take(rows)
        .map(|(i, f)| {
            let answer = f.status_code.map_or("—".to_string(), |c| c.to_string());
            let text = format!(
                "{}  {:<12} attempt {:<3} {answer:<4} {}",
                clock(f.at),
                short_id(&f.event_id),
                f.attempt,
                clean(&f.error)
            );
            let style = if i == page.cursor { theme.selected() } else { Style::default() };
            let ago = Span::styled(format!("  {} ago", span(app.now.saturating_sub(f.at))), theme.dim());
            Line::from(vec![Span::styled(text, style), ago])
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::app::{App, Outcome, Pane, Popup};
    use crate::dashboard::keymap::Context;
    use crate::dashboard::screenshots::{demo_app, demo_history};
    use crossterm::event::{KeyCode, KeyEvent};

    const BILLING: &str = "sub_01KQBIL0000000000000000003";

    fn press(app: &mut App, code: KeyCode) -> Vec<Effect> {
        app.on_key(KeyEvent::from(code))
    }

    /// The demo with billing's page open and its history read.
    fn on_billing_page() -> App {
        let mut app = demo_app();
        press(&mut app, KeyCode::Tab);
        press(&mut app, KeyCode::Char('j'));
        assert_eq!(app.selected_endpoint().map(|e| e.id.as_str()), Some(BILLING));
        let load = Effect::LoadHistory { id: BILLING.into(), span: Zoom::Hour };
        assert_eq!(press(&mut app, KeyCode::Enter), vec![load]);
        assert_eq!(app.context(), Context::Endpoint);
        app.apply_outcome(Outcome::History {
            id: BILLING.into(),
            span: Zoom::Hour,
            read: Ok(Box::new(demo_history())),
        });
        app
    }

    fn page(app: &App) -> &EndpointPage {
        match app.popups.last() {
            Some(Popup::Endpoint(page)) => page,
            _ => panic!("the endpoint page is not on top"),
        }
    }

    #[test]
    fn enter_on_a_failure_opens_the_inspector_on_that_attempt() {
        let mut app = on_billing_page();
        press(&mut app, KeyCode::Char('j'));
        let failure = demo_history().failures[1].clone();
        assert_eq!(press(&mut app, KeyCode::Enter), vec![Effect::LoadEvent(failure.event_id.clone())]);
        let Some(Popup::Inspector(ins)) = app.popups.last() else { panic!("no inspector") };
        assert_eq!(ins.wanted, Some((BILLING.into(), failure.at)));
        press(&mut app, KeyCode::Esc);
        assert_eq!(app.context(), Context::Endpoint, "Esc goes back to the page");
    }

    #[test]
    fn plus_and_minus_zoom_and_read_the_new_span() {
        let mut app = on_billing_page();
        assert_eq!(
            press(&mut app, KeyCode::Char('+')),
            vec![Effect::LoadHistory { id: BILLING.into(), span: Zoom::Day }]
        );
        assert!(press(&mut app, KeyCode::Char('+')).is_empty(), "24 h is the longest");
        // A late read of the span left behind is not taken as the new one's.
        let mut late = demo_history();
        late.failures.clear();
        app.apply_outcome(Outcome::History { id: BILLING.into(), span: Zoom::Hour, read: Ok(Box::new(late)) });
        assert_eq!(page(&app).history.as_ref().map(|(h, _)| h.failures.len()), Some(4));
        press(&mut app, KeyCode::Char('-'));
        let effects = press(&mut app, KeyCode::Char('-'));
        assert_eq!(effects, vec![Effect::LoadHistory { id: BILLING.into(), span: Zoom::TwoMinutes }]);
    }

    #[test]
    fn an_open_page_reads_again_every_two_seconds_and_keeps_what_it_had_when_a_read_fails() {
        let mut app = on_billing_page();
        let asked = page(&app).asked_at;
        assert!(!app.due_reads(asked + HISTORY_EVERY - 1).iter().any(|e| matches!(e, Effect::LoadHistory { .. })));
        assert!(
            app.due_reads(asked + HISTORY_EVERY)
                .contains(&Effect::LoadHistory { id: BILLING.into(), span: Zoom::Hour })
        );
        let failed = Outcome::History { id: BILLING.into(), span: Zoom::Hour, read: Err("connection refused".into()) };
        app.apply_outcome(failed);
        assert_eq!(page(&app).error.as_deref(), Some("connection refused"));
        assert!(page(&app).history.is_some(), "the last read stays, marked by the error");
    }

    #[test]
    fn slash_leaves_the_page_for_the_stream_filtered_to_the_endpoint() {
        let mut app = on_billing_page();
        let effects = press(&mut app, KeyCode::Char('/'));
        assert!(matches!(effects.as_slice(), [Effect::LoadEvents(q)] if q.subscription.as_deref() == Some(BILLING)));
        assert!(app.popups.is_empty());
        assert_eq!((app.focus, app.filter_text.as_str()), (Pane::Stream, "sub:billing"));
    }
}
