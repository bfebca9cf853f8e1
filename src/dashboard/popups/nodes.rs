//! The nodes overlay: this node and, in a cluster, every other node on the shared database,
//! with how recently each was heard from and the work it holds.

use crate::dashboard::component::{Component, Reply, scroll_key};
use crate::dashboard::data::Data;
use crate::dashboard::keymap::{Action, Context};
use crate::dashboard::layout::{cells, popup_area};
use crate::dashboard::sanitize::clean;
use crate::dashboard::text::span;
use crate::dashboard::theme::Theme;
use crate::domain::model::Millis;
use crate::wire::NodeInfo;
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};

#[derive(Default)]
pub struct Nodes {
    pub scroll: usize,
}

impl Component for Nodes {
    fn context(&self) -> Context {
        Context::Overlay
    }

    fn on_key(&mut self, action: Option<Action>, _: KeyEvent, data: &Data) -> Reply {
        let nodes = nodes_of(data).len();
        // As tall as the nodes need: a header row inside the border.
        let rows = usize::from(height(nodes, data.screen.height).saturating_sub(3));
        scroll_key(&mut self.scroll, action, nodes, rows)
    }

    fn draw(&self, frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
        draw(frame, area, nodes_of(data), self.scroll, theme)
    }
}

fn nodes_of<'a>(data: &Data<'a>) -> &'a [NodeInfo] {
    data.stats.map(|s| s.nodes.as_slice()).unwrap_or_default()
}

/// The overlay's height on a screen `height` rows tall: a row per node, a header and the border.
fn height(nodes: usize, height: u16) -> u16 {
    crate::dashboard::layout::cells(nodes).saturating_add(3).clamp(5, height.max(5))
}

fn draw(frame: &mut Frame, area: Rect, nodes: &[NodeInfo], scroll: usize, theme: &Theme) {
    let rect = popup_area(frame, area, 0, 0, (area.width.min(100), height(nodes.len(), area.height).min(area.height)));
    let alive = nodes.iter().filter(|n| n.alive).count();
    let title = match nodes.len() {
        0 | 1 => " Nodes · one node (SQLite, or alone on its database) · Esc closes ".to_string(),
        n => format!(" Nodes · {alive} of {n} alive · Esc closes "),
    };
    let block = Block::default().borders(Borders::ALL).border_style(theme.border(true)).title(title);
    if nodes.is_empty() {
        frame.render_widget(Paragraph::new("Waiting for the first stats…").style(theme.dim()).block(block), rect);
        return;
    }
    let header = Row::new(["", "node", "address", "heartbeat", "in flight", "backlog", "up"]).style(theme.dim());
    let rows = nodes.iter().enumerate().skip(scroll).map(|(i, n)| {
        let (glyph, style) = if n.alive { ("●", theme.ok()) } else { ("○", theme.bad()) };
        let heartbeat = if n.alive {
            format!("{} ago", span(Millis::try_from(n.heartbeat_age_ms).unwrap_or(Millis::MAX)))
        } else {
            format!("silent {}", span(Millis::try_from(n.heartbeat_age_ms).unwrap_or(Millis::MAX)))
        };
        let mut id = clean(&n.id).into_owned();
        if i == 0 {
            id.push_str(" (this)");
        }
        let up = nodes.first().map_or(0, |me| me.heartbeat_at.saturating_sub(n.started_at));
        Row::new([
            Cell::from(glyph).style(style),
            Cell::from(id).style(theme.bold()),
            Cell::from(clean(&n.address).into_owned()),
            Cell::from(heartbeat).style(if n.alive { theme.dim() } else { theme.bad() }),
            Cell::from(n.in_flight.to_string()),
            Cell::from(n.backlog.to_string()).style(if n.backlog > 0 { theme.warn() } else { theme.dim() }),
            Cell::from(span(up)).style(theme.dim()),
        ])
    });
    // Columns sized to their content, so the table reads the same at 80 columns as at 200.
    let id_width = cells(nodes.iter().map(|n| clean(&n.id).chars().count()).max().unwrap_or(4)).saturating_add(7);
    let address_width = cells(nodes.iter().map(|n| clean(&n.address).chars().count()).max().unwrap_or(7));
    let widths = [
        Constraint::Length(1),
        Constraint::Length(id_width.max(4)),
        Constraint::Length(address_width.max(7)),
        Constraint::Length(12),
        Constraint::Length(9),
        Constraint::Length(7),
        Constraint::Length(7),
    ];
    let mut block = block;
    let takeovers: Vec<String> = nodes.iter().filter_map(takeover).collect();
    if !takeovers.is_empty() {
        block = block.title_bottom(Line::styled(format!(" {} ", takeovers.join(" · ")), theme.warn()));
    } else if alive < nodes.len() {
        block = block
            .title_bottom(Line::styled(" a silent node's work goes to live nodes when its lease ends ", theme.dim()));
    }
    frame.render_widget(Table::new(rows, widths).header(header).block(block).column_spacing(1), rect);
}

/// What becomes of the deliveries a silent node still holds: when the live nodes may have taken
/// over the last of them.
fn takeover(n: &NodeInfo) -> Option<String> {
    let id = clean(&n.id);
    match n.takeover_in_ms.filter(|_| n.backlog > 0)? {
        0 => Some(format!("{id}: {} being taken over", n.backlog)),
        ms => Some(format!(
            "{id}: {} awaiting takeover in {}",
            n.backlog,
            span(Millis::try_from(ms).unwrap_or(Millis::MAX))
        )),
    }
}
