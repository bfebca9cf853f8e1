//! The subscription form and the test-event editor.

use crate::dashboard::forms::{SendForm, SubscriptionForm};
use crate::dashboard::layout::popup_area;
use crate::dashboard::sanitize::clean;
use crate::dashboard::theme::Theme;
use crate::domain::catalog::ACTIONS;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};

const LABEL: u16 = 15;

pub fn draw_subscription(frame: &mut Frame, area: Rect, form: &SubscriptionForm, theme: &Theme) {
    // A field's note line (its hint, or its error) shows under the focused field and under those
    // with an error, so ten fields still leave the header and the hint line in view at 80x24.
    let noted = |i: usize, field: &crate::dashboard::forms::Field| i == form.focus || field.error.is_some();
    let notes = form.fields.iter().enumerate().filter(|(i, f)| noted(*i, f)).count() as u16;
    let rows = form.fields.len() as u16 + notes + 4;
    let rect = popup_area(frame, area, 80, 0, (58, rows.min(area.height)));
    let title = if form.editing.is_some() { " Edit subscription " } else { " New subscription " };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(true))
        .title(Line::styled(format!("{title}· Tab next · Enter saves · Esc cancels "), theme.bold()));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let mut constraints: Vec<Constraint> = form
        .fields
        .iter()
        .enumerate()
        .flat_map(|(i, f)| [Constraint::Length(1), Constraint::Length(u16::from(noted(i, f)))])
        .collect();
    constraints.push(Constraint::Min(0));
    let areas = Layout::vertical(constraints).split(inner);
    for (i, field) in form.fields.iter().enumerate() {
        let [label, input] = Layout::horizontal([Constraint::Length(LABEL), Constraint::Min(0)]).areas(areas[i * 2]);
        let focused = i == form.focus;
        let label_style =
            if focused { theme.accent().add_modifier(ratatui::style::Modifier::BOLD) } else { theme.bold() };
        frame.render_widget(
            Paragraph::new(format!("{:>w$} ", field.label, w = LABEL as usize - 1)).style(label_style),
            label,
        );
        if focused {
            let mut shown = field.input.clone();
            shown.set_placeholder_style(theme.dim());
            frame.render_widget(&shown, input);
        } else if field.value().is_empty() {
            frame.render_widget(Paragraph::new(field.example()).style(theme.dim()), input);
        } else {
            frame.render_widget(Paragraph::new(clean(&form.shown(i)).into_owned()), input);
        }
        let [_, note] = Layout::horizontal([Constraint::Length(LABEL), Constraint::Min(0)]).areas(areas[i * 2 + 1]);
        let line = match &field.error {
            Some(e) => Line::styled(format!("✗ {}", clean(e)), theme.bad()),
            None if focused => Line::styled(field.hint, theme.dim()),
            None => Line::raw(""),
        };
        frame.render_widget(Paragraph::new(line), note);
    }
    if let Some(err) = &form.server_error {
        let last = areas[areas.len() - 1];
        frame.render_widget(
            Paragraph::new(format!(
                "✗ the server refused: {}{}",
                clean(err),
                if form.conflict { " · C-o saves anyway, replacing it" } else { "" }
            ))
            .style(theme.bad())
            .wrap(Wrap { trim: true }),
            last,
        );
    }
}

pub fn draw_send(frame: &mut Frame, area: Rect, form: &SendForm, theme: &Theme) {
    let rect = popup_area(frame, area, 80, 85, (58, 14));
    let action = ACTIONS[form.action].name;
    let block = Block::default().borders(Borders::ALL).border_style(theme.border(true)).title(Line::styled(
        format!(" Send a test event · sample: {action} · C-n next sample · C-s sends · Esc cancels "),
        theme.bold(),
    ));
    let inner = block.inner(rect);
    frame.render_widget(block, rect);
    let [target, editor, verdict] =
        Layout::vertical([Constraint::Length(1), Constraint::Min(3), Constraint::Length(2)]).areas(inner);
    let to = match &form.target {
        Some((_, name)) => Line::from(vec![
            Span::styled("To ", theme.bold()),
            Span::raw(format!("{} only", clean(name))),
            Span::styled("  (C-t: another, or every matching subscription)", theme.dim()),
        ]),
        None => Line::from(vec![
            Span::styled("To ", theme.bold()),
            Span::styled("⚠ every subscription it matches, production endpoints included", theme.warn()),
            Span::styled("  (C-t: one alone)", theme.dim()),
        ]),
    };
    frame.render_widget(Paragraph::new(to), target);
    frame.render_widget(&form.editor, editor);
    let line = match (&form.server_error, &form.verdict) {
        (Some(e), _) => Line::styled(format!("✗ the server refused: {}", clean(e)), theme.bad()),
        (None, Ok(action)) => {
            Line::from(vec![Span::styled("✓ valid ", theme.ok()), Span::raw(format!("{action} event · C-s sends it"))])
        }
        (None, Err(e)) => Line::styled(format!("✗ {}", clean(e)), theme.bad()),
    };
    frame.render_widget(Paragraph::new(line).wrap(Wrap { trim: true }), verdict);
}
