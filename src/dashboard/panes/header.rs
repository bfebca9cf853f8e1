//! The header: how healthy, how busy, alerts, then where and how long — most urgent first, so a
//! narrow terminal cuts the least important part. It has no state and takes no keys: a pure
//! function of the app's `Data`.

use crate::dashboard::data::Data;
use crate::dashboard::sanitize::clean;
use crate::dashboard::text::{counted, percent, span};
use crate::dashboard::theme::Theme;
use crate::domain::model::{ReplayHold, SubscriptionState};
use crate::wire::BreakerState;
use crate::wire::StatsReport;
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

/// The replays' progress (held ones say what they wait for), with the key that cancels; marked
/// with its time when not current.
fn replay_progress(data: &Data) -> Option<String> {
    let newest = data.replays.first()?;
    let mut text = match data.replays {
        [one] => {
            // Held, what it waits for says enough (a failed probe held it); running, its pace and failures.
            let pace = match &one.held {
                Some(hold) => held(hold),
                None if one.failed > 0 => format!("at {}/s · {} failed", one.rate_per_s, one.failed),
                None => format!("at {}/s", one.rate_per_s),
            };
            format!(" ▶ replay {}/{} {pace} · X cancels", one.sent, one.total)
        }
        many => {
            let (sent, total) =
                many.iter().fold((0u64, 0u64), |(d, t), r| (d.saturating_add(r.sent), t.saturating_add(r.total)));
            let held = many.iter().filter(|r| r.held.is_some()).count();
            let held = if held > 0 { format!(" · {held} held") } else { String::new() };
            format!(
                " ▶ {} replays {sent}/{total}{held} · X cancels {}",
                many.len(),
                crate::dashboard::text::short_id(&newest.id)
            )
        }
    };
    if let Some((at, error)) = data.replays_read
        && (error.is_some() || data.now.saturating_sub(*at) > REPLAYS_FRESH_MS)
    {
        text += &format!(" · as of {}", crate::dashboard::text::clock(*at));
    }
    Some(text + " ")
}

/// "last update 12s ago (10:31:02)": how old the figures are, and the time to look up in logs.
fn stale_age(data: &Data, since: crate::domain::model::Millis) -> String {
    format!("{} ({})", super::last_update(data.now, since), crate::dashboard::text::clock(since))
}

/// What a held replay waits for: `held: breaker open, next probe 14:03:10 (crm)`.
fn held(hold: &ReplayHold) -> String {
    let probe =
        hold.next_probe_at.map(|at| format!(", next probe {}", crate::dashboard::text::clock(at))).unwrap_or_default();
    format!("held: {}{probe} ({})", hold.reason, clean(&hold.subscription_name))
}

/// What the header says, each part with how soon it gives way on a narrow screen (higher first).
fn segments(data: &Data, theme: &Theme) -> Vec<(u8, Vec<Span<'static>>)> {
    let reversed =
        |text: String, style: ratatui::style::Style| vec![Span::styled(text, style.add_modifier(Modifier::REVERSED))];
    let mut out = vec![(0, vec![Span::styled(" hookwatch ", theme.title_bar().add_modifier(Modifier::BOLD))])];
    if data.read_only {
        out.push((0, reversed(" READ-ONLY ".into(), theme.warn())));
    }
    if let Some(reason) = data.refused {
        out.push((0, reversed(format!(" REFUSED · {} ", clean(reason)), theme.bad())));
    } else if !data.connected {
        let since = data.stale_since.map(|t| format!(" · {}", stale_age(data, t))).unwrap_or_default();
        let detail = clean(data.connection_detail);
        out.push((
            0,
            reversed(format!(" DISCONNECTED{since} · figures are stale · reconnecting… {detail} "), theme.bad()),
        ));
    } else if let Some(since) = data.stale_since {
        // Connected, yet not even a heartbeat: the server (or the path to it) has stalled.
        out.push((0, reversed(format!(" STALE · {} · server silent ", stale_age(data, since)), theme.bad())));
    }
    if let Some(held) = data.frozen {
        out.push((1, reversed(format!(" FROZEN +{held} "), theme.warn())));
    }
    if data.zoomed {
        out.push((1, reversed(" ZOOM · z returns ".into(), theme.accent())));
    }
    if let Some(progress) = replay_progress(data) {
        out.push((1, reversed(progress, theme.accent())));
    }
    if let Some(stats) = data.stats {
        let overall = overall_success(stats);
        // Attempts alone would read healthy while an endpoint gets none: the endpoints whose
        // deliveries are held (breaker open or probing, or disabled) are said beside the figure.
        let down = stats.subscriptions.iter().filter(|e| crate::dashboard::columns::held_by(e).is_some()).count();
        let style = if down > 0 { theme.bad() } else { theme.rate(overall) };
        let mut ok = vec![Span::raw("ok "), Span::styled(percent(overall), style.add_modifier(Modifier::BOLD))];
        if down > 0 {
            let text = format!(" · {down}/{} down", stats.subscriptions.len());
            ok.push(Span::styled(text, theme.bad().add_modifier(Modifier::BOLD)));
        }
        out.push((2, ok));
        out.push((4, vec![Span::styled(format!("{:.1} ev/s", stats.ingest_per_second), theme.bold())]));
        let states = [SubscriptionState::Active, SubscriptionState::Paused, SubscriptionState::Disabled].map(|state| {
            let (glyph, style) = theme.subscription(state);
            let n = stats.subscriptions.iter().filter(|e| e.state == state).count();
            Span::styled(format!("{glyph}{n} "), style)
        });
        let mut states = states.to_vec();
        let open = stats.subscriptions.iter().filter(|e| e.breaker != BreakerState::Closed).count();
        if open > 0 {
            states.insert(1, Span::styled(format!("⚡{open} "), theme.bad()));
        }
        out.push((5, states));
        if stats.backlog > 0 {
            out.push((3, vec![Span::styled(format!("backlog {}", stats.backlog), theme.warn())]));
        }
        if stats.nodes.len() > 1 {
            let alive = stats.nodes.iter().filter(|n| n.alive).count();
            let style = if alive < stats.nodes.len() { theme.warn() } else { theme.dim() };
            out.push((6, vec![Span::styled(format!("nodes {alive}/{} (N)", stats.nodes.len()), style)]));
        }
    }
    if !data.alerts.is_empty() {
        let (style, text) = match data.unseen_alerts {
            0 => (theme.dim(), format!("⚠ {}", data.alerts.len())),
            n => (
                theme.bad().add_modifier(Modifier::BOLD),
                format!("⚠ {}, {n} new (a)", counted(data.alerts.len() as u64, "alert")),
            ),
        };
        out.push((1, vec![Span::styled(text, style)]));
    }
    if let Some(stats) = data.stats {
        out.push((
            7,
            vec![Span::styled(
                format!("up {}", span(i64::try_from(stats.uptime_s).unwrap_or(i64::MAX).saturating_mul(1000))),
                theme.dim(),
            )],
        ));
    }
    out.push((8, vec![Span::styled(clean(data.location).into_owned(), theme.dim())]));
    out
}

/// The header: whole parts give way, least important first, so nothing shown is cut mid-word.
pub fn draw(frame: &mut Frame, area: Rect, data: &Data, theme: &Theme) {
    const GAP: usize = 2;
    let mut parts = segments(data, theme);
    let width = |parts: &[(u8, Vec<Span>)]| -> usize {
        parts.iter().map(|(_, spans)| spans.iter().map(Span::width).sum::<usize>() + GAP).sum::<usize>() - GAP
    };
    while width(&parts) > usize::from(area.width) && parts.iter().any(|(rank, _)| *rank > 0) {
        let least = parts.iter().map(|(rank, _)| *rank).max().unwrap_or(0);
        let Some(i) = parts.iter().rposition(|(rank, _)| *rank == least) else { break };
        parts.remove(i);
    }
    let mut spans = Vec::new();
    for (i, (_, part)) in parts.into_iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw(" ".repeat(GAP)));
        }
        spans.extend(part);
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
