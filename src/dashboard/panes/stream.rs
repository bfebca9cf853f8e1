//! The Event stream: a live tail, one row per event with an outcome chip per delivery. Its rows
//! (live, held while frozen, a filter's results), its cursor and keys, and its drawing: only the
//! rows on screen are built, so the cost does not grow with the stream.

use super::figures_block;
use crate::dashboard::component::{Component, Reply, Request};
use crate::dashboard::data::Data;
use crate::dashboard::effect::Effect;
use crate::dashboard::filter::Sieve;
use crate::dashboard::keymap::{Action, Context};
use crate::dashboard::layout::{Pane, first_shown, main_layout};
use crate::dashboard::sanitize::clean;
use crate::dashboard::text::{clock, fit, highlighted, short_id};
use crate::dashboard::theme::Theme;
use crate::domain::ids::EventId;
use crate::domain::model::{AttemptNotice, DeliveryStatus, EventSummary, Millis};
use crate::domain::query::EventQuery;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};
use std::collections::{HashMap, VecDeque};

/// How many events the stream keeps in memory: the view's cost never depends on the store's size.
pub const STREAM_CAPACITY: usize = 2000;

/// One stream row and when it last changed (rows are coloured by what just happened).
#[derive(Debug, Clone)]
pub struct EventRow {
    pub event: EventSummary,
    pub changed_at: Millis,
}

/// While a filter is applied: the rows it selects and how far they are current. The stream's own
/// rows (`Stream::events`) go on taking every live event meanwhile, so clearing the filter loses none.
#[derive(Debug, Clone)]
pub struct FilterResults {
    /// The store's answers to `query`, with the live events that may match since; newest first.
    pub rows: VecDeque<EventRow>,
    /// What the store was asked, and when.
    pub query: EventQuery,
    pub asked_at: Millis,
    pub answered: bool,
    /// Why the store did not answer, until it is asked again.
    pub unread: Option<String>,
    /// Events that arrived since the store was asked, that meet every condition but the payload
    /// search (only the store can tell that): the search has not looked at them.
    pub unsearched: Vec<EventId>,
}

pub struct Stream {
    /// Every event the stream has seen (read from the store unfiltered, or live), newest first.
    /// A filter never replaces it.
    pub events: VecDeque<EventRow>,
    /// Events that arrived while the stream was frozen.
    pub held: VecDeque<EventRow>,
    /// What the applied filter selects (`None`: no filter, or not read from the store).
    pub results: Option<FilterResults>,
    pub follow: bool,
    pub cursor: usize,
}

impl Default for Stream {
    fn default() -> Self {
        Stream { events: VecDeque::new(), held: VecDeque::new(), results: None, follow: true, cursor: 0 }
    }
}

impl Stream {
    /// The query that fills the stream itself, whatever the filter.
    pub fn query() -> EventQuery {
        EventQuery { limit: 500, ..EventQuery::default() }
    }

    /// The rows that pass the filter, newest first.
    pub fn visible<'a>(&'a self, sieve: Sieve<'a>) -> impl Iterator<Item = &'a EventRow> + 'a {
        let rows = self.results.as_ref().map_or(&self.events, |r| &r.rows);
        rows.iter().filter(move |r| sieve.shows(&r.event))
    }

    pub fn visible_count(&self, sieve: Sieve) -> usize {
        if sieve.filter.is_empty() { self.events.len() } else { self.visible(sieve).count() }
    }

    pub fn selected<'a>(&'a self, sieve: Sieve<'a>) -> Option<&'a EventRow> {
        self.visible(sieve).nth(self.cursor)
    }

    /// A live event: a new row (held while frozen), or a newer state of one already listed.
    pub fn receive(&mut self, event: EventSummary, now: Millis, sieve: Sieve) {
        let mut listed = false;
        for row in self.rows_of(&event.id) {
            // Already listed (replayed after a reconnect, or read from the store before it
            // came live): it keeps whichever state is newer.
            take_newer_deliveries(&mut row.event, &event);
            listed = true;
        }
        if listed {
            return;
        }
        let row = EventRow { event, changed_at: now };
        if self.follow {
            self.admit(row, sieve);
        } else {
            self.held.push_front(row);
            self.held.truncate(STREAM_CAPACITY);
        }
    }

    /// An attempt: its delivery's state in every copy of its event's row.
    pub fn attempted(&mut self, n: &AttemptNotice, now: Millis) {
        for row in self.rows_of(&n.event_id) {
            if let Some(d) = row.event.deliveries.iter_mut().find(|d| d.id == n.delivery_id) {
                d.status = n.status;
                d.attempt_count = n.attempt;
                d.last_status_code = n.status_code;
                d.last_error = n.error.clone();
                d.next_attempt_at = n.next_attempt_at;
            }
            row.changed_at = now;
        }
    }

    /// Every copy of event `id`'s row: in the stream, held while frozen, in the filter's results.
    fn rows_of<'a>(&'a mut self, id: &'a str) -> impl Iterator<Item = &'a mut EventRow> + 'a {
        let results = self.results.iter_mut().flat_map(|r| r.rows.iter_mut());
        self.events.iter_mut().chain(self.held.iter_mut()).chain(results).filter(move |r| r.event.id == id)
    }

    /// A new event joins the stream, and the filter's results if it may match: a payload search
    /// cannot tell here, so such an event is counted as not searched instead.
    fn admit(&mut self, row: EventRow, sieve: Sieve) {
        let may_match = self.results.is_some() && sieve.admits(&row.event);
        if let Some(results) = self.results.as_mut().filter(|_| may_match) {
            if sieve.filter.searches() {
                if results.unsearched.len() < STREAM_CAPACITY {
                    results.unsearched.push(row.event.id.clone());
                }
            } else if !results.rows.iter().any(|r| r.event.id == row.event.id) {
                // (A row held while frozen may have come in a store's answer meanwhile.)
                results.rows.push_front(row.clone());
                results.rows.truncate(STREAM_CAPACITY);
            }
        }
        self.events.push_front(row);
        self.events.truncate(STREAM_CAPACITY);
    }

    /// Asks the store for the filter's rows (again) with `query`: until it answers, the rows
    /// already selected stay; live events that may match join them. No filter: the stream's own
    /// rows show again, as they are (nothing to read).
    pub fn search(&mut self, query: EventQuery, now: Millis, sieve: Sieve) -> Vec<Effect> {
        if sieve.filter.is_empty() {
            self.results = None;
            return Vec::new();
        }
        let rows = match self.results.take() {
            Some(same) if same.query == query => same.rows,
            // A new filter starts from the stream's rows it selects (a payload search from none).
            _ if sieve.filter.searches() => VecDeque::new(),
            _ => self.events.iter().filter(|r| sieve.admits(&r.event)).cloned().collect(),
        };
        self.results = Some(FilterResults {
            rows,
            query: query.clone(),
            asked_at: now,
            answered: false,
            unread: None,
            unsearched: Vec::new(),
        });
        vec![Effect::LoadEvents(query)]
    }

    /// Takes the store's answer to `query` into the stream (the unfiltered query) or the filter's
    /// results (its query), keeping every row already there and the selected row selected.
    pub fn read(&mut self, query: EventQuery, list: Vec<EventSummary>, sieve: Sieve) {
        let selected = self.selected(sieve).map(|r| r.event.id.clone());
        if query == Self::query() {
            // A row held while frozen joins when the stream follows again, with the newer state.
            let (held, rest): (Vec<EventSummary>, Vec<EventSummary>) =
                list.iter().cloned().partition(|e| self.held.iter().any(|r| r.event.id == e.id));
            for event in &held {
                self.rows_of(&event.id).for_each(|row| take_newer_deliveries(&mut row.event, event));
            }
            merge_rows(&mut self.events, &rest);
        }
        if let Some(results) = self.results.as_mut().filter(|r| r.query == query) {
            results.answered = true;
            results.unsearched.retain(|id| !list.iter().any(|e| e.id == *id));
            merge_rows(&mut results.rows, &list);
        }
        let position = selected.and_then(|id| self.visible(sieve).position(|r| r.event.id == id));
        self.cursor = position.unwrap_or(self.cursor).min(self.visible_count(sieve).saturating_sub(1));
    }

    /// Why the store did not answer `query`, kept until it is asked again.
    pub fn unread(&mut self, query: &EventQuery, error: &str) {
        if let Some(results) = self.results.as_mut().filter(|r| r.query == *query) {
            results.unread = Some(error.to_string());
        }
    }

    pub fn set_follow(&mut self, follow: bool, sieve: Sieve) {
        self.follow = follow;
        if follow {
            // Held rows join the stream in arrival order (they are newest first already).
            let held: Vec<_> = self.held.drain(..).collect();
            for row in held.into_iter().rev() {
                self.admit(row, sieve);
            }
            self.cursor = 0;
        }
    }

    /// Selects row `index` (clamped): reading older rows freezes the stream so they stay put;
    /// space or g follows again.
    pub fn select(&mut self, index: usize, sieve: Sieve) {
        self.cursor = index.min(self.visible_count(sieve).saturating_sub(1));
        if self.cursor > 0 && self.follow {
            self.follow = false;
        }
    }

    /// A movement key: by a row, a page (the rows that show), or to either end (the top follows).
    fn moved(&mut self, action: Action, data: &Data) {
        let sieve = data.sieve();
        let page = isize::try_from(page_rows(data)).unwrap_or(1);
        match action {
            Action::Up => self.select(self.cursor.saturating_sub(1), sieve),
            Action::Top => self.set_follow(true, sieve),
            Action::Bottom => self.select(usize::MAX, sieve),
            _ => {
                let delta = match action {
                    Action::Down => 1,
                    Action::PageUp => -page,
                    _ => page,
                };
                self.select(self.cursor.saturating_add_signed(delta), sieve)
            }
        }
    }
}

/// How many rows show below the table's header on the screen as it is: what PgUp and PgDn move
/// by. At least one.
fn page_rows(data: &Data) -> usize {
    let layout = main_layout(data.screen, data.endpoints.len());
    let pane = if data.zoomed { layout.body } else { layout.stream };
    usize::from(pane.height.saturating_sub(3)).max(1)
}

impl Component for Stream {
    fn context(&self) -> Context {
        Context::Stream
    }

    fn draw(&self, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
        draw(self, frame, area, data, theme);
    }

    fn on_key(&mut self, action: Option<Action>, _key: KeyEvent, data: &Data) -> Reply {
        let Some(action) = action else { return Reply::Stay };
        if let Action::Up | Action::Down | Action::PageUp | Action::PageDown | Action::Top | Action::Bottom = action {
            self.moved(action, data);
            return Reply::Stay;
        }
        let Some(row) = self.selected(data.sieve()) else { return Reply::Stay };
        let event = row.event.clone();
        match action {
            Action::Copy => Reply::Effects(vec![Effect::Copy {
                what: format!("the event id {}", event.id),
                text: event.id.to_string(),
            }]),
            Action::Inspect => Reply::Ask(Request::InspectEvent(event.id)),
            Action::Redeliver => Reply::Ask(Request::Redeliver { event, subscription: None }),
            Action::RedeliverAll => Reply::Ask(Request::RedeliverAll(event)),
            _ => Reply::Stay,
        }
    }
}

/// Takes a store's answer into `rows` (newest first) without losing any row already there: the
/// events it lacks join in id order (ids sort by time), up to `STREAM_CAPACITY`.
fn merge_rows(rows: &mut VecDeque<EventRow>, answer: &[EventSummary]) {
    let place: HashMap<&str, usize> = rows.iter().enumerate().map(|(i, r)| (r.event.id.as_str(), i)).collect();
    let (mut listed, mut new) = (Vec::new(), Vec::new());
    for event in answer {
        match place.get(event.id.as_str()) {
            Some(&i) => listed.push((i, event)),
            None => new.push(EventRow { event: event.clone(), changed_at: 0 }),
        }
    }
    for (i, event) in listed {
        take_newer_deliveries(&mut rows[i].event, event);
    }
    if !new.is_empty() {
        rows.extend(new);
        rows.make_contiguous().sort_by(|a, b| b.event.id.cmp(&a.event.id));
        rows.truncate(STREAM_CAPACITY);
    }
}

/// Takes each delivery's state from `other` unless the row's has seen more attempts: a state read
/// from the store before a live attempt came in is older than the row's.
fn take_newer_deliveries(row: &mut EventSummary, other: &EventSummary) {
    for delivery in &other.deliveries {
        match row.deliveries.iter_mut().find(|d| d.id == delivery.id) {
            Some(d) if d.attempt_count > delivery.attempt_count => {}
            Some(d) => *d = delivery.clone(),
            None => row.deliveries.push(delivery.clone()),
        }
    }
}

/// Rows that changed this recently are drawn bold: what just happened stands out.
const FRESH_MS: i64 = 2000;

/// The row's colour says what last happened to it: failed, retrying, delivered, or new.
fn row_style(row: &EventRow, now: i64, theme: &Theme) -> Style {
    let statuses: Vec<DeliveryStatus> = row.event.deliveries.iter().map(|d| d.status).collect();
    let base = if statuses.contains(&DeliveryStatus::Dead) {
        theme.bad()
    } else if statuses.contains(&DeliveryStatus::Retrying) {
        theme.warn()
    } else if statuses.contains(&DeliveryStatus::Pending) {
        theme.accent()
    } else if statuses.is_empty() {
        theme.dim()
    } else {
        theme.ok()
    };
    if now.saturating_sub(row.changed_at) < FRESH_MS { base.add_modifier(Modifier::BOLD) } else { base }
}

/// Names shorter than this say too little: the chips are glyphs alone.
const LEAST_NAME: usize = 3;
/// What the deliveries keep before a card's title gets a column: three chips named in full.
const CHIPS_ROOM: u16 = 42;
/// A title column narrower than this says too little; wider, it takes from the deliveries.
const TITLE_LEAST: u16 = 12;
const TITLE_MOST: u16 = 32;

/// A chip per delivery, each named as far as `width` allows, so a narrow screen still says which
/// endpoint failed ("✗bil ✓crm").
fn chips(row: &EventRow, data: &Data, theme: &Theme, width: usize) -> Line<'static> {
    let deliveries = &row.event.deliveries;
    if deliveries.is_empty() {
        return Line::styled("no subscriber", theme.dim());
    }
    // A glyph and a space around each name.
    let name_w = (width / deliveries.len()).saturating_sub(2).min(12);
    let mut spans = Vec::new();
    for d in deliveries {
        let (glyph, style) = theme.delivery(d.status);
        let label = if name_w >= LEAST_NAME {
            format!("{glyph}{} ", fit(&clean(data.subscription_name(&d.subscription_id)), name_w))
        } else {
            glyph.to_string()
        };
        spans.push(Span::styled(label, style));
    }
    Line::from(spans)
}

/// What a filter's rows are when they are not simply live, and whether that needs the operator's
/// eye: a payload search's rows are the store's answer as of when it was asked (only the store can
/// match a payload), with the newer events not searched counted; a read that failed says so.
fn search_note(stream: &Stream, data: &Data) -> Option<(String, bool)> {
    let results = stream.results.as_ref()?;
    if let Some(error) = &results.unread {
        return Some((format!("the store did not answer ({}) · / ⏎ asks again", clean(error)), true));
    }
    if !data.filter.searches() {
        return None;
    }
    if !results.answered {
        return Some(("searching…".into(), false));
    }
    let mut note = format!("results as of {}", clock(results.asked_at));
    if !results.unsearched.is_empty() {
        note += &format!(" · {} newer not searched", results.unsearched.len());
    }
    Some((note + " · / ⏎ refreshes", !results.unsearched.is_empty()))
}

fn draw(stream: &Stream, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
    let focused = data.focus == Pane::Stream;
    let mut title = String::from("Event stream");
    if !data.filter_text.is_empty() {
        title += &format!(" · filter: {}", clean(data.filter_text));
    }
    title += match (data.stale_since, stream.follow) {
        (Some(_), _) => "",
        (None, true) if data.filter.searches() => "",
        (None, true) => " · live",
        (None, false) => " · frozen (space follows)",
    };
    let mut block = figures_block(&title, focused, data, theme);
    if let Some((note, unsearched)) = search_note(stream, data) {
        let style = if unsearched { theme.warn() } else { Style::new() };
        block = block.title_bottom(Line::styled(format!(" {note} "), style));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if stream.visible_count(data.sieve()) == 0 {
        let text = match &stream.results {
            _ if data.filter_text.is_empty() => "Waiting for events… (s sends a test event)",
            Some(results) if !results.answered => "Searching…",
            _ => "No event matches the filter.",
        };
        frame.render_widget(Paragraph::new(text).style(theme.dim()), inner);
        return;
    }
    let needles = data.filter.search_needles();
    let height = inner.height.saturating_sub(1) as usize; // one line for the header row
    let offset = first_shown(stream.cursor, height);
    let wide = inner.width >= 110;
    let mut widths = vec![
        Constraint::Length(8),
        Constraint::Length(if wide { 26 } else { 18 }),
        Constraint::Length(10),
        Constraint::Length(if wide { 30 } else { 12 }),
    ];
    let fixed: u16 = widths.iter().map(|c| if let Constraint::Length(n) = c { *n } else { 0 }).sum();
    let room = inner.width.saturating_sub(fixed + crate::dashboard::layout::cells(widths.len()));
    // The card's title where the deliveries keep room enough to name theirs.
    let title_w = room.saturating_sub(CHIPS_ROOM + 1).min(TITLE_MOST);
    let titled = title_w >= TITLE_LEAST;
    if titled {
        widths.push(Constraint::Length(title_w));
    }
    widths.push(Constraint::Min(6));
    let chips_w = usize::from(if titled { room - title_w - 1 } else { room });
    let rows: Vec<Row> = stream
        .visible(data.sieve())
        .skip(offset)
        .take(height)
        .map(|row| {
            let e = &row.event;
            let mut ids = Vec::new();
            if let Some(c) = &e.card_id {
                ids.push(format!("card {}", clean(c)));
            }
            if let Some(p) = &e.pipe_id
                && wide
            {
                ids.push(format!("pipe {}", clean(p)));
            }
            let mut cells = vec![
                Cell::from(clock(e.received_at)),
                Cell::from(Line::from(highlighted(&clean(&e.action), &needles, Style::new()))),
                Cell::from(short_id(&e.id)),
                Cell::from(Line::from(highlighted(&ids.join(" · "), &needles, Style::new()))),
            ];
            if titled {
                let title = fit(&clean(e.card_title.as_deref().unwrap_or_default()), usize::from(title_w));
                cells.push(Cell::from(Line::from(highlighted(&title, &needles, Style::new()))));
            }
            cells.push(Cell::from(chips(row, data, theme, chips_w)));
            Row::new(cells).style(row_style(row, data.now, theme))
        })
        .collect();
    let header: &[&str] = if titled {
        &["time", "action", "id", "card / pipe", "title", "deliveries"]
    } else {
        &["time", "action", "id", "card / pipe", "deliveries"]
    };
    let table = Table::new(rows, widths)
        .header(Row::new(header.iter().copied()).style(theme.bold()))
        .row_highlight_style(if focused { theme.selected() } else { Style::new() });
    let mut state = TableState::default().with_selected(Some(stream.cursor - offset));
    frame.render_stateful_widget(table, inner, &mut state);
}
