//! Drawing: pure functions from `&App` to a frame. One file per screen region.

mod alerts;
mod audit;
mod confirm;
mod copy;
mod endpoint;
mod footer;
mod forms;
mod header;
mod help;
mod inspector;
mod nodes;
mod palette;
mod rates;
mod replay;
mod stream;
mod subscriptions;

use super::app::{App, Pane, Popup};
use super::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

pub const MIN_WIDTH: u16 = 60;
pub const MIN_HEIGHT: u16 = 15;
/// From this width the Delivery success pane sits beside Subscriptions; below, it folds into it.
pub const WIDE: u16 = 120;

/// Where the main panes are for a given terminal size.
pub struct MainLayout {
    pub header: Rect,
    /// Everything between the header and the hint line: what a zoomed pane fills.
    pub body: Rect,
    pub subscriptions: Rect,
    pub rates: Option<Rect>,
    pub stream: Rect,
    pub footer: Rect,
}

pub fn main_layout(area: Rect, endpoints: usize) -> MainLayout {
    let [header, body, footer] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(0), Constraint::Length(1)]).areas(area);
    // Subscriptions take what they need, up to 40% of the body, at least 4 rows.
    // A row each, the header row, the selected one's detail line and the border.
    let wanted = (endpoints.min(usize::from(u16::MAX) - 4) as u16) + 4;
    let top = wanted.clamp(4, (body.height * 2 / 5).max(4));
    let [top_area, stream] = Layout::vertical([Constraint::Length(top), Constraint::Min(0)]).areas(body);
    let (subscriptions, rates) = if area.width >= WIDE {
        let [s, r] = Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)]).areas(top_area);
        (s, Some(r))
    } else {
        (top_area, None)
    };
    MainLayout { header, body, subscriptions, rates, stream, footer }
}

/// How many rows of the focused pane's list show (inside its border, below its header row) on
/// the screen as it is: what PgUp and PgDn move by. At least one.
pub fn pane_rows(app: &App) -> usize {
    let layout = main_layout(Rect::new(0, 0, app.screen_width, app.screen_height), app.endpoints().len());
    let pane = match app.focus {
        _ if app.zoomed => layout.body,
        Pane::Stream => layout.stream,
        Pane::Subscriptions | Pane::Rates => layout.subscriptions,
    };
    usize::from(pane.height.saturating_sub(3)).max(1)
}

pub fn pane_block(title: &str, focused: bool, theme: &Theme) -> Block<'static> {
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Line::styled(format!(" {title} "), theme.border(focused)))
}

/// A pane showing figures from the source: marked stale while the source is out of reach or
/// silent, with how old its figures are.
pub fn figures_block(title: &str, focused: bool, app: &App, theme: &Theme) -> Block<'static> {
    let block = pane_block(title, focused, theme);
    match app.stale_since {
        Some(since) => block.title(Line::styled(format!(" STALE · {} ", last_update(app, since)), theme.bad())),
        None => block,
    }
}

/// "last update 12s ago": how old what the source last said is.
pub fn last_update(app: &App, since: crate::domain::model::Millis) -> String {
    format!("last update {} ago", span(app.now.saturating_sub(since)))
}

pub fn draw(frame: &mut Frame, app: &App, theme: &Theme) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let text = format!(
            "terminal too small: {}x{}\nhookwatch needs at least {MIN_WIDTH}x{MIN_HEIGHT}\n\nresize, or press q to quit",
            area.width, area.height
        );
        frame.render_widget(Paragraph::new(text).wrap(Wrap { trim: true }).style(theme.bold()), area);
        return;
    }
    let layout = main_layout(area, app.endpoints().len());
    header::draw(frame, layout.header, app, theme);
    footer::draw(frame, layout.footer, app, theme);
    if app.zoomed {
        // The focused pane alone, between the header and the hint line.
        let body = layout.body;
        match app.focus {
            Pane::Stream => stream::draw(frame, body, app, theme, true),
            Pane::Rates if layout.rates.is_some() => rates::draw(frame, body, app, theme, true),
            Pane::Subscriptions | Pane::Rates => subscriptions::draw(frame, body, app, theme, true, true),
        }
        draw_popups(frame, area, app, theme);
        return;
    }
    let rates_visible = layout.rates.is_some();
    // A folded rates pane lives inside Subscriptions, so focus on it shows there.
    let subs_focused = app.focus == Pane::Subscriptions || (app.focus == Pane::Rates && !rates_visible);
    subscriptions::draw(frame, layout.subscriptions, app, theme, subs_focused, !rates_visible);
    if let Some(r) = layout.rates {
        rates::draw(frame, r, app, theme, app.focus == Pane::Rates);
    }
    stream::draw(frame, layout.stream, app, theme, app.focus == Pane::Stream);
    draw_popups(frame, area, app, theme);
}

fn draw_popups(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    for popup in &app.popups {
        match popup {
            Popup::Inspector(ins) => inspector::draw(frame, area, app, ins, theme),
            Popup::Endpoint(page) => endpoint::draw(frame, area, app, page, theme),
            Popup::Help { scroll } => help::draw(frame, area, *scroll, app, theme),
            Popup::Alerts { scroll } => alerts::draw(frame, area, app, *scroll, theme),
            Popup::Audit { scroll } => audit::draw(frame, area, app, *scroll, theme),
            Popup::Nodes { scroll } => nodes::draw(frame, area, app, *scroll, theme),
            Popup::Subscription(form) => forms::draw_subscription(frame, area, form, theme),
            Popup::Send(form) => forms::draw_send(frame, area, form, theme),
            Popup::Confirm { question, .. } => confirm::draw(frame, area, question, theme),
            Popup::Replay(draft) => replay::draw(frame, area, app, draft, theme),
            Popup::CopyMenu { cursor } => copy::draw(frame, area, *cursor, theme),
        }
    }
    if let Some(p) = &app.palette {
        palette::draw(frame, area, app, p, theme);
    }
}

/// An overlay's share of the screen: width and height in percent, and the least it takes.
pub struct Share {
    pub width: u16,
    pub height: u16,
    pub min: (u16, u16),
}

/// The help overlay's share.
pub const HELP_BOX: Share = Share { width: 70, height: 85, min: (58, 14) };
/// The alert and audit logs' share.
pub const LOG_BOX: Share = Share { width: 80, height: 70, min: (58, 12) };

/// How many lines of a list fit in an overlay open over a screen `height` rows tall (inside its
/// border): the overlay's drawing and its scrolling both use it, so `G` lands on the last page.
pub fn overlay_rows(popup: &Popup, app: &App, height: u16) -> usize {
    let boxed = |share: &Share| usize::from(share_of(height, share.height, share.min.1).saturating_sub(2));
    match popup {
        Popup::Help { .. } => boxed(&HELP_BOX),
        Popup::Alerts { .. } | Popup::Audit { .. } => boxed(&LOG_BOX),
        // As tall as the nodes need (a header row inside the border).
        Popup::Nodes { .. } => usize::from(nodes::height(app, height).saturating_sub(3)),
        _ => 0,
    }
}

pub use endpoint::failure_rows;
pub use inspector::{scroll_limits, section_rows};

/// How many rows the help has as narrowed and wrapped on the app's screen (what `G` scrolls to).
pub fn help_len(app: &App) -> usize {
    help::rows(&Theme::PLAIN, app.read_only, &app.help_query(), help::text_width(app.screen_width)).len()
}

/// `percent` of `length` cells, at least `least`, at most all of them: a popup's width or height.
pub fn share_of(length: u16, percent: u16, least: u16) -> u16 {
    (length * percent / 100).max(least).min(length)
}

/// A centred rectangle of the given share of `area`, at least `min` cells.
pub fn centred(area: Rect, percent_x: u16, percent_y: u16, min: (u16, u16)) -> Rect {
    let (w, h) = (share_of(area.width, percent_x, min.0), share_of(area.height, percent_y, min.1));
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

/// `centred`, cleared for a popup.
pub fn popup_area(frame: &mut Frame, area: Rect, percent_x: u16, percent_y: u16, min: (u16, u16)) -> Rect {
    let rect = centred(area, percent_x, percent_y, min);
    frame.render_widget(Clear, rect);
    rect
}

/// `line` cut into rows of at most `width` display columns, each piece keeping its style: a
/// long value goes on in the rows below. A character wider than the row still gets a row.
pub fn wrapped(line: Line<'static>, width: usize) -> Vec<Line<'static>> {
    use unicode_width::UnicodeWidthChar;
    let mut rows = vec![Vec::new()];
    let mut used = 0;
    for span in line.spans {
        let mut piece = String::new();
        for c in span.content.chars() {
            let w = c.width().unwrap_or(0);
            if used + w > width && used > 0 {
                if !piece.is_empty() {
                    rows.last_mut()
                        .expect("a row is open")
                        .push(ratatui::text::Span::styled(std::mem::take(&mut piece), span.style));
                }
                rows.push(Vec::new());
                used = 0;
            }
            piece.push(c);
            used += w;
        }
        if !piece.is_empty() {
            rows.last_mut().expect("a row is open").push(ratatui::text::Span::styled(piece, span.style));
        }
    }
    rows.into_iter().map(|spans| Line::from(spans).style(line.style)).collect()
}

/// The first row a list `rows` high shows so that row `cursor` is in view: the list scrolls just
/// far enough (as ratatui's tables do with a selection).
pub fn first_shown(cursor: usize, rows: usize) -> usize {
    cursor.saturating_sub(rows.saturating_sub(1))
}

/// Which rows of a list of `total` show, from `first`, `shown` at a time: " ↑↓ 4–8 of 12 ", the
/// arrows saying where more are; `None` when all of them show.
pub fn scroll_note(first: usize, shown: usize, total: usize) -> Option<String> {
    if total <= shown {
        return None;
    }
    let last = (first + shown).min(total);
    let up = if first > 0 { "↑" } else { "" };
    let down = if last < total { "↓" } else { "" };
    Some(format!(" {up}{down} {}–{last} of {total} ", first + 1))
}

/// Cuts text to `width` display columns, marking the cut with `…`.
pub fn fit(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthChar;
    let mut out = String::new();
    let mut used = 0;
    let total: usize = text.chars().map(|c| c.width().unwrap_or(0)).sum();
    if total <= width {
        return text.to_string();
    }
    for c in text.chars() {
        let w = c.width().unwrap_or(0);
        if used + w + 1 > width {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

/// `text` cut or padded to exactly `width` display columns: wide characters (CJK, emoji) count
/// as two, so what follows stays aligned.
pub fn pad(text: &str, width: usize) -> String {
    use unicode_width::UnicodeWidthStr;
    let mut out = fit(text, width);
    let used = out.width();
    // A wide character that did not fit may leave one column short.
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(used)));
    out
}

/// `text` in pieces, each saying whether it is one of `needles` (lowercase; matched in any
/// case): what a search found, to be highlighted.
pub fn marked(text: &str, needles: &[String]) -> Vec<(bool, String)> {
    let lower = text.to_lowercase();
    // Lowercasing that changes lengths (rare outside ASCII) would misplace the marks: none then.
    if needles.is_empty() || lower.len() != text.len() {
        return vec![(false, text.to_string())];
    }
    let mut out = Vec::new();
    let mut at = 0;
    while at < text.len() {
        let next = needles
            .iter()
            .filter(|n| !n.is_empty())
            .filter_map(|n| lower[at..].find(n.as_str()).map(|i| (at + i, at + i + n.len())))
            .filter(|(start, end)| text.is_char_boundary(*start) && text.is_char_boundary(*end))
            .min();
        let Some((start, end)) = next else { break };
        if start > at {
            out.push((false, text[at..start].to_string()));
        }
        out.push((true, text[start..end].to_string()));
        at = end;
    }
    if at < text.len() {
        out.push((false, text[at..].to_string()));
    }
    out
}

/// The spans of `text` in `style`, what the search found reversed.
pub fn highlighted(text: &str, needles: &[String], style: ratatui::style::Style) -> Vec<ratatui::text::Span<'static>> {
    use ratatui::style::Modifier;
    marked(text, needles)
        .into_iter()
        .map(|(hit, piece)| {
            ratatui::text::Span::styled(piece, if hit { style.add_modifier(Modifier::REVERSED) } else { style })
        })
        .collect()
}

/// "1 attempt", "2 attempts", "1 delivery", "3 deliveries".
pub fn counted(n: impl Into<u64>, singular: &str) -> String {
    let n = n.into();
    match (n, singular.strip_suffix('y')) {
        (1, _) => format!("1 {singular}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        (_, None) => format!("{n} {singular}s"),
    }
}

pub fn percent(rate: Option<f64>) -> String {
    match rate {
        None => "—".into(),
        Some(r) if r >= 0.9995 => "100%".into(),
        Some(r) => format!("{:.1}%", r * 100.0),
    }
}

pub fn clock(ms: crate::domain::model::Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.format("%H:%M:%S").to_string()).unwrap_or_default()
}

/// "3s", "4m", "2h05m": compact durations for the header and retry times.
pub fn span(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        3600..86_400 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d{:02}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// Short form of an id: the prefix and the last six characters (the ULID's random tail).
pub fn short_id(id: &str) -> String {
    use unicode_width::UnicodeWidthChar;
    // Ids can come from a remote server: cut by display width, never by bytes.
    let Some((prefix, rest)) = id.split_once('_') else { return id.to_string() };
    let mut tail = Vec::new();
    let mut width = 0;
    for c in rest.chars().rev() {
        width += c.width().unwrap_or(0);
        if width > 6 {
            return format!("{prefix}…{}", tail.iter().rev().collect::<String>());
        }
        tail.push(c);
    }
    id.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_counts_display_width() {
        use unicode_width::UnicodeWidthStr;
        for name in ["billing", "請求システム", "🚀 launch", "e\u{301}te", "a-very-long-subscription-name"] {
            assert_eq!(pad(name, 12).width(), 12, "{name:?} → {:?}", pad(name, 12));
        }
        assert_eq!(pad("請求システム", 5).width(), 5, "a wide character cut in half leaves a space");
        assert_eq!(fit("請求システム", 12), "請求システム", "exactly full: not cut");
    }

    #[test]
    fn wrapping_keeps_styles_and_counts_display_width() {
        use ratatui::style::Style;
        use unicode_width::UnicodeWidthStr;
        let key = Style::new().bold();
        let line = Line::from(vec![
            ratatui::text::Span::styled("\"title\": ", key),
            ratatui::text::Span::raw(format!("\"{}請求\"", "x".repeat(10_000))),
        ]);
        let rows = wrapped(line, 80);
        assert!(rows.iter().all(|r| r.width() <= 80), "no row is wider than the pane");
        let text: String = rows.iter().flat_map(|r| r.spans.iter().map(|s| s.content.to_string())).collect();
        assert_eq!(text.width(), 9 + 10_000 + 6, "nothing is lost");
        assert_eq!(rows.len(), (9 + 10_000 + 6usize).div_ceil(80));
        assert_eq!(rows[0].spans[0].style, key, "the key keeps its style");
        assert_eq!(wrapped(Line::raw(""), 10).len(), 1, "an empty line is one row");
    }

    #[test]
    fn search_hits_are_marked_in_any_case() {
        let needles = vec!["acme".to_string(), "corp".to_string()];
        let pieces = marked("Prospect: ACME Corp", &needles);
        let hits: Vec<&str> = pieces.iter().filter(|(hit, _)| *hit).map(|(_, p)| p.as_str()).collect();
        assert_eq!(hits, ["ACME", "Corp"]);
        assert_eq!(pieces.iter().map(|(_, p)| p.as_str()).collect::<String>(), "Prospect: ACME Corp");
        assert_eq!(
            marked("İstanbul acme", &needles),
            vec![(false, "İstanbul acme".to_string())],
            "lengths change: unmarked"
        );
        assert_eq!(marked("none here", &[]), vec![(false, "none here".to_string())]);
    }

    #[test]
    fn counts_agree_with_their_noun() {
        assert_eq!(counted(1u64, "attempt"), "1 attempt");
        assert_eq!(counted(0u64, "attempt"), "0 attempts");
        assert_eq!(counted(3u64, "delivery"), "3 deliveries");
        assert_eq!(counted(1u64, "delivery"), "1 delivery");
    }
}
