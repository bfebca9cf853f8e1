//! The Event stream: a live tail, one row per event with an outcome chip per delivery.
//! Only the rows on screen are built, so the cost does not grow with the stream.

use super::figures_block;
use crate::dashboard::app::{App, EventRow};
use crate::dashboard::sanitize::clean;
use crate::dashboard::text::{clock, fit, highlighted, short_id};
use crate::dashboard::theme::Theme;
use crate::domain::model::DeliveryStatus;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph, Row, Table, TableState};

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
fn chips(row: &EventRow, app: &App, theme: &Theme, width: usize) -> Line<'static> {
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
            format!("{glyph}{} ", fit(&clean(app.subscription_name(&d.subscription_id)), name_w))
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
fn search_note(app: &App) -> Option<(String, bool)> {
    let results = app.results.as_ref()?;
    if let Some(error) = &results.unread {
        return Some((format!("the store did not answer ({}) · / ⏎ asks again", clean(error)), true));
    }
    if !app.filter.searches() {
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

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme, focused: bool) {
    let mut title = String::from("Event stream");
    if !app.filter_text.is_empty() {
        title += &format!(" · filter: {}", clean(&app.filter_text));
    }
    title += match (app.stale_since, app.follow) {
        (Some(_), _) => "",
        (None, true) if app.filter.searches() => "",
        (None, true) => " · live",
        (None, false) => " · frozen (space follows)",
    };
    let mut block = figures_block(&title, focused, app, theme);
    if let Some((note, unsearched)) = search_note(app) {
        let style = if unsearched { theme.warn() } else { Style::new() };
        block = block.title_bottom(Line::styled(format!(" {note} "), style));
    }
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if app.visible_count() == 0 {
        let text = match &app.results {
            _ if app.filter_text.is_empty() => "Waiting for events… (s sends a test event)",
            Some(results) if !results.answered => "Searching…",
            _ => "No event matches the filter.",
        };
        frame.render_widget(Paragraph::new(text).style(theme.dim()), inner);
        return;
    }
    let needles = app.filter.search_needles();
    let height = inner.height.saturating_sub(1) as usize; // one line for the header row
    let offset = crate::dashboard::layout::first_shown(app.stream_cursor, height);
    let wide = inner.width >= 110;
    let mut widths = vec![
        Constraint::Length(8),
        Constraint::Length(if wide { 26 } else { 18 }),
        Constraint::Length(10),
        Constraint::Length(if wide { 30 } else { 12 }),
    ];
    let fixed: u16 = widths.iter().map(|c| if let Constraint::Length(n) = c { *n } else { 0 }).sum();
    let room = inner.width.saturating_sub(fixed + widths.len() as u16);
    // The card's title where the deliveries keep room enough to name theirs.
    let title_w = room.saturating_sub(CHIPS_ROOM + 1).min(TITLE_MOST);
    let titled = title_w >= TITLE_LEAST;
    if titled {
        widths.push(Constraint::Length(title_w));
    }
    widths.push(Constraint::Min(6));
    let chips_w = usize::from(if titled { room - title_w - 1 } else { room });
    let rows: Vec<Row> = app
        .visible_events()
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
            cells.push(Cell::from(chips(row, app, theme, chips_w)));
            Row::new(cells).style(row_style(row, app.now, theme))
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
    let mut state = TableState::default().with_selected(Some(app.stream_cursor - offset));
    frame.render_stateful_widget(table, inner, &mut state);
}
