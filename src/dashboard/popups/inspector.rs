//! The inspector: one event's payload as coloured JSON, its deliveries with every attempt, and the
//! selected attempt's response and request headers; side by side when wide, one section at a time
//! when not. Its state, its keys and its drawing.

use crate::dashboard::component::{Component, Reply, Request};
use crate::dashboard::data::Data;
use crate::dashboard::json::{self, JsonLine, Token};
use crate::dashboard::keymap::{Action, Context};
use crate::dashboard::layout::{WIDE, centred, popup_area};
use crate::dashboard::sanitize::clean;
use crate::dashboard::text::{clock, counted, highlighted, short_id, span, wrapped};
use crate::dashboard::theme::Theme;
use crate::domain::ids::{EventId, SubscriptionId};
use crate::domain::model::{Attempt, DeliveryDetail, EventDetail};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Payload,
    Deliveries,
    Response,
}

impl Section {
    pub fn next(self) -> Self {
        match self {
            Section::Payload => Section::Deliveries,
            Section::Deliveries => Section::Response,
            Section::Response => Section::Payload,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Section::Payload => "Payload",
            Section::Deliveries => "Deliveries",
            Section::Response => "Response",
        }
    }
}

/// Payloads larger than this are shown as plain text rather than pretty-printed.
const PRETTY_LIMIT: usize = 256 * 1024;

pub struct Inspector {
    pub event_id: EventId,
    pub detail: Option<EventDetail>,
    pub payload: Vec<JsonLine>,
    pub section: Section,
    pub payload_scroll: usize,
    /// Index into `attempt_refs()`.
    pub attempt_cursor: usize,
    pub response_scroll: usize,
    pub error: Option<String>,
    /// The attempt to start on (its subscription and start), when opened from one.
    pub wanted: Option<(SubscriptionId, crate::domain::model::Millis)>,
    /// Long lines of the payload and response go on in the rows below (`w`); otherwise they are
    /// cut at the pane's edge, shifted `columns` to the left (←/→).
    pub wrap: bool,
    pub columns: usize,
}

/// How far ←/→ shift cut lines.
const SIDEWAYS: usize = 8;

impl Inspector {
    pub fn loading(event_id: EventId) -> Self {
        Inspector {
            event_id,
            detail: None,
            payload: Vec::new(),
            section: Section::Payload,
            payload_scroll: 0,
            attempt_cursor: 0,
            response_scroll: 0,
            error: None,
            wanted: None,
            wrap: true,
            columns: 0,
        }
    }

    /// Opens on one attempt: subscription `subscription_id`'s that started `at`, its response shown.
    pub fn at_attempt(event_id: EventId, subscription_id: SubscriptionId, at: crate::domain::model::Millis) -> Self {
        Inspector { section: Section::Response, wanted: Some((subscription_id, at)), ..Inspector::loading(event_id) }
    }

    pub fn load(&mut self, detail: EventDetail) {
        self.payload = match serde_json::from_str::<serde_json::Value>(&detail.body) {
            Ok(v) if detail.body.len() <= PRETTY_LIMIT => json::lines(&v),
            _ => json::plain(&detail.body),
        };
        self.detail = Some(detail);
        self.attempt_cursor = self.first_attempt();
    }

    /// Where the cursor starts: the attempt it was opened on, else the newest attempt of a
    /// delivery that failed (that is the question on a failed event), else the newest attempt.
    fn first_attempt(&self) -> usize {
        let Some(detail) = &self.detail else { return 0 };
        let refs = self.attempt_refs();
        if let Some((sub, at)) = &self.wanted {
            let is_wanted = |(di, ai): &(usize, usize)| {
                let d = &detail.deliveries[*di];
                d.summary.subscription_id == *sub && d.attempts[*ai].started_at == *at
            };
            if let Some(i) = refs.iter().position(is_wanted) {
                return i;
            }
        }
        let failed = |di: usize| detail.deliveries[di].summary.status.has_failed();
        let newest = |refs: &mut dyn Iterator<Item = (usize, (usize, usize))>| {
            refs.max_by_key(|(_, (di, ai))| detail.deliveries[*di].attempts[*ai].started_at).map(|(i, _)| i)
        };
        newest(&mut refs.iter().copied().enumerate().filter(|(_, (di, _))| failed(*di)))
            .or_else(|| newest(&mut refs.iter().copied().enumerate()))
            .unwrap_or(0)
    }

    /// Every attempt as (delivery index, attempt index), in display order.
    pub fn attempt_refs(&self) -> Vec<(usize, usize)> {
        let Some(d) = &self.detail else { return Vec::new() };
        d.deliveries.iter().enumerate().flat_map(|(di, del)| (0..del.attempts.len()).map(move |ai| (di, ai))).collect()
    }

    pub fn selected(&self) -> Option<(&DeliveryDetail, &Attempt)> {
        let (di, ai) = *self.attempt_refs().get(self.attempt_cursor)?;
        let delivery = self.detail.as_ref()?.deliveries.get(di)?;
        Some((delivery, delivery.attempts.get(ai)?))
    }

    /// The delivery to redeliver: the selected attempt's, or the only one.
    pub fn selected_subscription(&self) -> Option<SubscriptionId> {
        if let Some((d, _)) = self.selected() {
            return Some(d.summary.subscription_id.clone());
        }
        let d = self.detail.as_ref()?;
        (d.deliveries.len() == 1).then(|| d.deliveries[0].summary.subscription_id.clone())
    }

    /// Moves the section's view (or, in Deliveries, the cursor) by `delta` rows, or to an end;
    /// `limit` is how far the payload or response can scroll as shown now.
    pub fn scroll(&mut self, delta: isize, to_end: Option<bool>, limit: usize) {
        let attempts = self.attempt_refs().len();
        let (value, max) = match self.section {
            Section::Payload => (&mut self.payload_scroll, limit),
            Section::Deliveries => (&mut self.attempt_cursor, attempts.saturating_sub(1)),
            Section::Response => (&mut self.response_scroll, limit),
        };
        // A view left past its end (the pane grew, lines were wrapped) comes back on first move.
        *value = (*value).min(max);
        *value = match to_end {
            Some(true) => max,
            Some(false) => 0,
            None => value.saturating_add_signed(delta).min(max),
        };
        if self.section == Section::Deliveries {
            self.response_scroll = 0;
        }
    }

    /// `w`: wrap long lines, or cut them again where they were.
    pub fn toggle_wrap(&mut self) {
        self.wrap = !self.wrap;
        self.columns = 0;
    }

    /// ←/→ on cut lines: shift them, no further than where the longest line's end shows
    /// (`limit`).
    pub fn sideways(&mut self, right: bool, limit: usize) {
        if self.wrap {
            return;
        }
        self.columns = if right { (self.columns + SIDEWAYS).min(limit) } else { self.columns.saturating_sub(SIDEWAYS) };
    }
}

impl Component for Inspector {
    fn context(&self) -> Context {
        Context::Inspector
    }

    fn on_key(&mut self, action: Option<Action>, _: KeyEvent, data: &Data) -> Reply {
        let (limit, sideways) = scroll_limits(data, self, self.section, data.screen);
        let page = isize::try_from(section_rows(self.section, data.screen)).unwrap_or(1);
        match action {
            Some(Action::Back) => return Reply::close(),
            Some(Action::NextSection) => self.section = self.section.next(),
            Some(Action::Up) => self.scroll(-1, None, limit),
            Some(Action::Down) => self.scroll(1, None, limit),
            Some(Action::PageUp) => self.scroll(-page, None, limit),
            Some(Action::PageDown) => self.scroll(page, None, limit),
            Some(Action::Top) => self.scroll(0, Some(false), limit),
            Some(Action::Bottom) => self.scroll(0, Some(true), limit),
            Some(Action::Redeliver) => {
                if let Some(event) = self.detail.as_ref().map(|d| d.summary()) {
                    return Reply::Ask(Request::Redeliver { event, subscription: self.selected_subscription() });
                }
            }
            Some(Action::RedeliverAll) => {
                if let Some(event) = self.detail.as_ref().map(|d| d.summary()) {
                    return Reply::Ask(Request::RedeliverAll(event));
                }
            }
            Some(Action::Copy) => return Reply::Ask(Request::CopyMenu),
            Some(Action::Wrap) => self.toggle_wrap(),
            Some(Action::Left) => self.sideways(false, sideways),
            Some(Action::Right) => self.sideways(true, sideways),
            _ => {}
        }
        Reply::Stay
    }

    fn draw(&self, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
        draw(frame, area, data, self, theme)
    }
}

fn section_block(section: Section, ins: &Inspector, theme: &Theme, extra: &str) -> Block<'static> {
    let focused = ins.section == section;
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Line::styled(format!(" {}{extra} ", section.title()), theme.border(focused)))
}

/// Where the inspector's parts are on a screen of `area`: the summary line, the tab line (narrow
/// only) and each section's pane (narrow: the one pane all sections share).
struct Parts {
    outer: Rect,
    summary: Rect,
    tabs: Option<Rect>,
    payload: Rect,
    deliveries: Rect,
    response: Rect,
}

fn parts(area: Rect) -> Parts {
    let outer = centred(area, 94, 90, (58, 14));
    let inner = Block::default().borders(Borders::ALL).inner(outer);
    let [summary, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    if area.width >= WIDE {
        let [left, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
        let [top, bottom] = Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(right);
        Parts { outer, summary, tabs: None, payload: left, deliveries: top, response: bottom }
    } else {
        let [tabs, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
        Parts { outer, summary, tabs: Some(tabs), payload: rest, deliveries: rest, response: rest }
    }
}

/// How far a section can scroll on a screen of `area`, down and sideways: its rows (wrapped or
/// not) less those that show, so `G` lands where the last row is at the bottom; its longest line
/// less the pane's width, so → stops where that line's end shows.
fn scroll_limits(app: &Data, ins: &Inspector, section: Section, area: Rect) -> (usize, usize) {
    let parts = parts(area);
    let (pane, lines) = match section {
        Section::Payload => (parts.payload, payload_lines(app, ins, &Theme::PLAIN)),
        Section::Response => (parts.response, response_lines(ins, &Theme::PLAIN)),
        Section::Deliveries => return (0, 0),
    };
    let inner = Block::default().borders(Borders::ALL).inner(pane);
    let longest = lines.iter().map(Line::width).max().unwrap_or(0);
    let down = rows(lines, inner.width, ins.wrap).len().saturating_sub(usize::from(inner.height));
    (down, longest.saturating_sub(usize::from(inner.width)))
}

/// How many rows of `section` show on a screen of `area`: what PgUp and PgDn move by.
fn section_rows(section: Section, area: Rect) -> usize {
    let parts = parts(area);
    let pane = match section {
        Section::Payload => parts.payload,
        Section::Deliveries => parts.deliveries,
        Section::Response => parts.response,
    };
    usize::from(Block::default().borders(Borders::ALL).inner(pane).height).max(1)
}

fn draw(frame: &mut Frame, area: Rect, app: &Data, ins: &Inspector, theme: &Theme) {
    let parts = parts(area);
    let rect = popup_area(frame, area, 94, 90, (58, 14));
    let outer = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(format!(" Event {} · Tab section · r redeliver · Esc back ", ins.event_id), theme.bold()));
    frame.render_widget(outer, rect);
    debug_assert_eq!(rect, parts.outer);
    let Some(detail) = &ins.detail else {
        let text = match &ins.error {
            Some(e) => Line::styled(format!("✗ {}", clean(e)), theme.bad()),
            None => Line::styled("loading…", theme.dim()),
        };
        frame.render_widget(Paragraph::new(text), parts.summary);
        return;
    };
    let mut facts = vec![
        Span::styled(clean(&detail.action).into_owned(), theme.bold()),
        Span::raw(format!("  received {}", crate::domain::model::rfc3339(detail.received_at))),
    ];
    if let Some(c) = &detail.card_id {
        facts.push(Span::raw(format!("  card {}", clean(c))));
    }
    if let Some(p) = &detail.pipe_id {
        facts.push(Span::raw(format!("  pipe {}", clean(p))));
    }
    frame.render_widget(Paragraph::new(Line::from(facts)), parts.summary);
    let Some(tabs) = parts.tabs else {
        draw_payload(frame, parts.payload, app, ins, theme);
        draw_deliveries(frame, parts.deliveries, app, ins, theme);
        draw_response(frame, parts.response, app, ins, theme);
        return;
    };
    let tab_spans: Vec<Span> = [Section::Payload, Section::Deliveries, Section::Response]
        .iter()
        .map(|s| {
            let style = if *s == ins.section { theme.selected() } else { theme.dim() };
            Span::styled(format!(" {} ", s.title()), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(Line::from(tab_spans)), tabs);
    match ins.section {
        Section::Payload => draw_payload(frame, parts.payload, app, ins, theme),
        Section::Deliveries => draw_deliveries(frame, parts.deliveries, app, ins, theme),
        Section::Response => draw_response(frame, parts.response, app, ins, theme),
    }
}

/// The lines as shown in a pane `width` columns wide: wrapped onto as many rows as they need,
/// or whole (cut at the pane's edge, scrolled sideways).
fn rows(lines: Vec<Line<'static>>, width: u16, wrap: bool) -> Vec<Line<'static>> {
    if !wrap {
        return lines;
    }
    lines.into_iter().flat_map(|l| wrapped(l, usize::from(width))).collect()
}

/// What the pane's title says of long lines.
fn wrap_note(ins: &Inspector) -> String {
    match (ins.wrap, ins.columns) {
        (true, _) => " · wrapped".into(),
        (false, 0) => " · cut (w wraps, → shifts)".into(),
        (false, n) => format!(" · from column {} (←/→)", n + 1),
    }
}

fn token_style(t: Token, theme: &Theme) -> Style {
    match t {
        Token::Punct => theme.dim(),
        Token::Key => theme.accent(),
        Token::Str => theme.ok(),
        Token::Num => theme.warn(),
        Token::Bool | Token::Null => theme.bold(),
    }
}

/// The payload's lines, coloured, with what the search found highlighted.
fn payload_lines(app: &Data, ins: &Inspector, theme: &Theme) -> Vec<Line<'static>> {
    let needles = app.filter.search_needles();
    ins.payload
        .iter()
        .map(|l| {
            Line::from(l.iter().flat_map(|(t, s)| highlighted(s, &needles, token_style(*t, theme))).collect::<Vec<_>>())
        })
        .collect()
}

fn draw_payload(frame: &mut Frame, area: Rect, app: &Data, ins: &Inspector, theme: &Theme) {
    let extra = format!(" · {} lines{}", ins.payload.len(), wrap_note(ins));
    let block = section_block(Section::Payload, ins, theme, &extra);
    let inner = block.inner(area);
    draw_rows(frame, area, block, rows(payload_lines(app, ins, theme), inner.width, ins.wrap), ins.payload_scroll, ins);
}

/// `rows` from `scroll` (as far as the last shows at the bottom), shifted sideways when cut.
fn draw_rows(
    frame: &mut Frame,
    area: Rect,
    block: Block<'static>,
    rows: Vec<Line<'static>>,
    scroll: usize,
    ins: &Inspector,
) {
    let height = usize::from(block.inner(area).height);
    let scroll = scroll.min(rows.len().saturating_sub(height));
    let shown: Vec<Line> = rows.into_iter().skip(scroll).take(height).collect();
    let sideways = if ins.wrap { 0 } else { crate::dashboard::layout::cells(ins.columns) };
    frame.render_widget(Paragraph::new(shown).block(block).scroll((0, sideways)), area);
}

fn draw_deliveries(frame: &mut Frame, area: Rect, app: &Data, ins: &Inspector, theme: &Theme) {
    let block = section_block(Section::Deliveries, ins, theme, "");
    let height = block.inner(area).height as usize;
    let Some(detail) = &ins.detail else { return };
    let mut lines = Vec::new();
    let mut cursor_line = 0;
    let mut index = 0;
    if detail.deliveries.is_empty() {
        lines.push(Line::styled("no subscription matched this event", theme.dim()));
    }
    for d in &detail.deliveries {
        let (glyph, style) = theme.delivery(d.summary.status);
        let mut head = vec![
            Span::styled(
                format!("{glyph} {} ", clean(app.subscription_name(&d.summary.subscription_id))),
                style.add_modifier(ratatui::style::Modifier::BOLD),
            ),
            Span::styled(
                format!("{} · {}", d.summary.status.as_str(), counted(d.attempts.len() as u64, "attempt")),
                style,
            ),
        ];
        if !d.summary.status.is_final() {
            // Something other than the schedule may hold it: say what, not a countdown at zero.
            let wait = match (app.held_reason(&d.summary.subscription_id), d.summary.next_attempt_at) {
                (Some(held), _) => Some(held),
                (None, Some(next)) if next > app.now => Some(format!("next in {}", span(next.saturating_sub(app.now)))),
                (None, Some(_)) => Some("due now".to_string()),
                (None, None) => None,
            };
            if let Some(wait) = wait {
                head.push(Span::styled(format!(" · {wait}"), theme.warn()));
            }
        }
        lines.push(Line::from(head));
        for a in &d.attempts {
            let outcome = match (a.status_code, a.error_kind) {
                (Some(code), None) => Span::styled(format!("{code}"), theme.ok()),
                (Some(code), Some(_)) => Span::styled(format!("{code}"), theme.bad()),
                (None, Some(kind)) => Span::styled(kind.as_str().to_string(), theme.bad()),
                (None, None) => Span::raw("?"),
            };
            let mut spans = vec![
                Span::raw(format!("  {} ", clock(a.started_at))),
                outcome,
                Span::raw(format!(" {:>5}ms", a.duration_ms)),
            ];
            // An attempt a replay sent says which, before the error that may run off the edge.
            if let Some(replay) = &a.replay_id {
                spans.push(Span::styled(format!(" ↻ {}", clean(&short_id(replay))), theme.accent()));
            }
            if let Some(err) = &a.error {
                spans.push(Span::styled(format!(" {}", clean(err)), theme.dim()));
            }
            if let Some(next) = a.next_retry_at {
                spans.push(Span::styled(format!(" → retry {}", clock(next)), theme.warn()));
            }
            let mut line = Line::from(spans);
            if index == ins.attempt_cursor {
                line = line.style(theme.selected());
                cursor_line = lines.len();
            }
            lines.push(line);
            index += 1;
        }
    }
    let scroll = crate::dashboard::layout::cells(crate::dashboard::layout::first_shown(cursor_line, height));
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), area);
}

/// The selected attempt's response body, then the request headers it was sent with.
fn response_lines(ins: &Inspector, theme: &Theme) -> Vec<Line<'static>> {
    let Some((_, attempt)) = ins.selected() else { return Vec::new() };
    let mut lines = vec![Line::styled("Response body", theme.bold())];
    if attempt.response_body.is_empty() {
        lines.push(Line::styled("(empty)", theme.dim()));
    }
    lines.extend(attempt.response_body.lines().map(|l| Line::raw(clean(l).into_owned())));
    lines.push(Line::raw(""));
    lines.push(Line::styled("Request headers sent", theme.bold()));
    for (k, v) in &attempt.request_headers {
        lines.push(Line::from(vec![
            Span::styled(format!("{}: ", clean(k)), theme.accent()),
            Span::raw(clean(v).into_owned()),
        ]));
    }
    lines
}

fn draw_response(frame: &mut Frame, area: Rect, app: &Data, ins: &Inspector, theme: &Theme) {
    let Some((delivery, attempt)) = ins.selected() else {
        frame.render_widget(
            Paragraph::new("no attempt yet").style(theme.dim()).block(section_block(Section::Response, ins, theme, "")),
            area,
        );
        return;
    };
    let truncated = if attempt.response_truncated { " · first 16 KiB" } else { "" };
    // Which answer this is: whose, which attempt, and what it was.
    let number = delivery.attempts.iter().position(|a| std::ptr::eq(a, attempt)).map_or(0, |i| i + 1);
    let outcome = match (attempt.status_code, attempt.error_kind) {
        (Some(code), _) => format!("HTTP {code}"),
        (None, Some(kind)) => kind.as_str().to_string(),
        (None, None) => "no answer".to_string(),
    };
    let whose = clean(app.subscription_name(&delivery.summary.subscription_id)).into_owned();
    let replay = attempt.replay_id.as_deref().map_or(String::new(), |id| format!(" · ↻ {}", clean(&short_id(id))));
    let block = section_block(
        Section::Response,
        ins,
        theme,
        &format!(
            " · {whose} · attempt {number} at {}{replay} · {outcome}{truncated}{}",
            clock(attempt.started_at),
            wrap_note(ins)
        ),
    );
    let inner = block.inner(area);
    draw_rows(frame, area, block, rows(response_lines(ins, theme), inner.width, ins.wrap), ins.response_scroll, ins);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dashboard::screenshots::demo_inspector;
    use crate::domain::model::DeliveryStatus;

    #[test]
    fn the_cursor_starts_on_the_newest_attempt_of_a_failed_delivery() {
        let mut detail = demo_inspector().detail.unwrap();
        // The failed delivery first, a newer successful one after it: the failure is the question.
        detail.deliveries.sort_by_key(|d| d.summary.status == DeliveryStatus::Succeeded);
        let failed = detail.deliveries.iter().position(|d| d.summary.status != DeliveryStatus::Succeeded);
        assert!(failed.is_some(), "the demo event has a failed delivery");
        let newest_ok = detail.deliveries.iter().flat_map(|d| &d.attempts).map(|a| a.started_at).max().unwrap();
        if let Some(ok) = detail.deliveries.iter_mut().find(|d| d.summary.status == DeliveryStatus::Succeeded) {
            ok.attempts.last_mut().unwrap().started_at = newest_ok + 1000;
        }
        let mut ins = Inspector::loading(detail.id.clone());
        ins.load(detail);
        let (delivery, attempt) = ins.selected().unwrap();
        assert_ne!(delivery.summary.status, DeliveryStatus::Succeeded);
        assert_eq!(Some(attempt.started_at), delivery.attempts.iter().map(|a| a.started_at).max());
    }
}
