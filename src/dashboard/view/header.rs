//! The header: how healthy, how busy, alerts, then where and how long — most urgent first, so a
//! narrow terminal cuts the least important part.

use super::{percent, span};
use crate::dashboard::app::App;
use crate::dashboard::sanitize::clean;
use crate::dashboard::theme::Theme;
use crate::model::SubscriptionState;
use crate::report::StatsReport;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

/// Attempt success over the last 5 minutes across every endpoint.
pub fn overall_success(stats: &StatsReport) -> Option<f64> {
    let (mut attempts, mut successes) = (0.0, 0.0);
    for e in &stats.subscriptions {
        let n = e.attempts.get("5m").copied().unwrap_or(0) as f64;
        attempts += n;
        successes += n * e.success_rate.get("5m").copied().flatten().unwrap_or(0.0);
    }
    (attempts > 0.0).then(|| successes / attempts)
}

/// Replays older than this read are shown with the time they were read.
const REPLAYS_FRESH_MS: i64 = 3000;

/// The running replays' progress, with the key that cancels; marked with its time when not current.
fn replay_progress(app: &App) -> Option<String> {
    let newest = app.replays.first()?;
    let mut text = match &app.replays[..] {
        [one] => format!(" ▶ replay {}/{} at {}/s · X cancels", one.done, one.total, one.rate_per_s),
        many => {
            let (done, total) =
                many.iter().fold((0u64, 0u64), |(d, t), r| (d.saturating_add(r.done), t.saturating_add(r.total)));
            format!(" ▶ {} replays {done}/{total} · X cancels {}", many.len(), super::short_id(&newest.id))
        }
    };
    if let Some((at, error)) = &app.replays_read
        && (error.is_some() || app.now.saturating_sub(*at) > REPLAYS_FRESH_MS)
    {
        text += &format!(" · as of {}", super::clock(*at));
    }
    Some(text + " ")
}

pub fn draw(frame: &mut Frame, area: Rect, app: &App, theme: &Theme) {
    let sep = || Span::raw("  ");
    let mut spans = vec![Span::styled(" hookwatch ", theme.title_bar().add_modifier(Modifier::BOLD))];
    if app.read_only {
        spans.extend([sep(), Span::styled(" READ-ONLY ", theme.warn().add_modifier(Modifier::REVERSED))]);
    }
    if let Some(reason) = &app.refused {
        spans.extend([
            sep(),
            Span::styled(format!(" REFUSED · {} ", clean(reason)), theme.bad().add_modifier(Modifier::REVERSED)),
        ]);
    } else if !app.connected {
        let since = app.stale_since.map(|t| format!(" since {}", super::clock(t))).unwrap_or_default();
        spans.extend([
            sep(),
            Span::styled(
                format!(" DISCONNECTED{since} · figures are stale · reconnecting… {} ", clean(&app.connection_detail)),
                theme.bad().add_modifier(Modifier::REVERSED),
            ),
        ]);
    }
    if !app.follow {
        spans.extend([
            sep(),
            Span::styled(format!(" FROZEN +{} ", app.held.len()), theme.warn().add_modifier(Modifier::REVERSED)),
        ]);
    }
    if let Some(progress) = replay_progress(app) {
        spans.extend([sep(), Span::styled(progress, theme.accent().add_modifier(Modifier::REVERSED))]);
    }
    if let Some(stats) = &app.stats {
        let overall = overall_success(stats);
        spans.extend([
            sep(),
            Span::raw("ok "),
            Span::styled(percent(overall), theme.rate(overall).add_modifier(Modifier::BOLD)),
            sep(),
            Span::styled(format!("{:.1} ev/s", stats.ingest_per_second), theme.bold()),
            sep(),
        ]);
        for state in [SubscriptionState::Active, SubscriptionState::Paused, SubscriptionState::Disabled] {
            let (glyph, style) = theme.subscription(state);
            let n = stats.subscriptions.iter().filter(|e| e.state == state).count();
            spans.push(Span::styled(format!("{glyph}{n} "), style));
        }
        if stats.backlog > 0 {
            spans.extend([sep(), Span::styled(format!("backlog {}", stats.backlog), theme.warn())]);
        }
        if stats.nodes.len() > 1 {
            let alive = stats.nodes.iter().filter(|n| n.alive).count();
            let style = if alive < stats.nodes.len() { theme.warn() } else { theme.dim() };
            spans.extend([sep(), Span::styled(format!("nodes {alive}/{} (N)", stats.nodes.len()), style)]);
        }
    }
    if !app.alerts.is_empty() {
        let (style, text) = match app.unseen_alerts {
            0 => (theme.dim(), format!("⚠ {}", app.alerts.len())),
            n => (theme.bad().add_modifier(Modifier::BOLD), format!("⚠ {} alerts, {n} new (a)", app.alerts.len())),
        };
        spans.extend([sep(), Span::styled(text, style)]);
    }
    if let Some(stats) = &app.stats {
        spans.extend([
            sep(),
            Span::styled(format!("up {}", span((stats.uptime_s as i64).saturating_mul(1000))), theme.dim()),
        ]);
    }
    spans.extend([sep(), Span::styled(clean(&app.location).into_owned(), theme.dim())]);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
