//! The inspector: payload as coloured JSON, deliveries with every attempt, and the selected
//! attempt's response and request headers. Side by side when wide, one section at a time when not.

use super::{WIDE, clock, counted, highlighted, popup_area, span};
use crate::dashboard::app::App;
use crate::dashboard::inspector::{Inspector, Section};
use crate::dashboard::json::Token;
use crate::dashboard::sanitize::clean;
use crate::dashboard::theme::Theme;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

fn section_block(section: Section, ins: &Inspector, theme: &Theme, extra: &str) -> Block<'static> {
    let focused = ins.section == section;
    Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Line::styled(format!(" {}{extra} ", section.title()), theme.border(focused)))
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, ins: &Inspector, theme: &Theme) {
    let rect = popup_area(frame, area, 94, 90, (58, 14));
    let outer = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(format!(" Event {} · Tab section · r redeliver · Esc back ", ins.event_id), theme.bold()));
    let inner = outer.inner(rect);
    frame.render_widget(outer, rect);
    let Some(detail) = &ins.detail else {
        let text = match &ins.error {
            Some(e) => Line::styled(format!("✗ {}", clean(e)), theme.bad()),
            None => Line::styled("loading…", theme.dim()),
        };
        frame.render_widget(Paragraph::new(text), inner);
        return;
    };
    let [summary, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    let mut facts = vec![
        Span::styled(clean(&detail.action).into_owned(), theme.bold()),
        Span::raw(format!("  received {}", super::super::super::model::rfc3339(detail.received_at))),
    ];
    if let Some(c) = &detail.card_id {
        facts.push(Span::raw(format!("  card {}", clean(c))));
    }
    if let Some(p) = &detail.pipe_id {
        facts.push(Span::raw(format!("  pipe {}", clean(p))));
    }
    frame.render_widget(Paragraph::new(Line::from(facts)), summary);

    if area.width >= WIDE {
        let [left, right] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(body);
        let [top, bottom] = Layout::vertical([Constraint::Percentage(45), Constraint::Percentage(55)]).areas(right);
        draw_payload(frame, left, app, ins, theme);
        draw_deliveries(frame, top, app, ins, theme);
        draw_response(frame, bottom, app, ins, theme);
    } else {
        let [tabs, rest] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(body);
        let tab_spans: Vec<Span> = [Section::Payload, Section::Deliveries, Section::Response]
            .iter()
            .map(|s| {
                let style = if *s == ins.section { theme.selected() } else { theme.dim() };
                Span::styled(format!(" {} ", s.title()), style)
            })
            .collect();
        frame.render_widget(Paragraph::new(Line::from(tab_spans)), tabs);
        match ins.section {
            Section::Payload => draw_payload(frame, rest, app, ins, theme),
            Section::Deliveries => draw_deliveries(frame, rest, app, ins, theme),
            Section::Response => draw_response(frame, rest, app, ins, theme),
        }
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

fn draw_payload(frame: &mut Frame, area: Rect, app: &App, ins: &Inspector, theme: &Theme) {
    let needles = app.filter.search_needles();
    let block = section_block(Section::Payload, ins, theme, &format!(" · {} lines", ins.payload.len()));
    let height = block.inner(area).height as usize;
    let scroll = ins.payload_scroll.min(ins.payload.len().saturating_sub(height));
    let lines: Vec<Line> = ins
        .payload
        .iter()
        .skip(scroll)
        .take(height)
        .map(|l| {
            Line::from(l.iter().flat_map(|(t, s)| highlighted(s, &needles, token_style(*t, theme))).collect::<Vec<_>>())
        })
        .collect();
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_deliveries(frame: &mut Frame, area: Rect, app: &App, ins: &Inspector, theme: &Theme) {
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
    let scroll = cursor_line.saturating_sub(height.saturating_sub(1)) as u16;
    frame.render_widget(Paragraph::new(lines).block(block).scroll((scroll, 0)), area);
}

fn draw_response(frame: &mut Frame, area: Rect, app: &App, ins: &Inspector, theme: &Theme) {
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
    let block = section_block(
        Section::Response,
        ins,
        theme,
        &format!(" · {whose} · attempt {number} at {} · {outcome}{truncated}", clock(attempt.started_at)),
    );
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
    frame.render_widget(
        Paragraph::new(lines).block(block).wrap(Wrap { trim: false }).scroll((ins.response_scroll as u16, 0)),
        area,
    );
}
