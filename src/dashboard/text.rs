//! Text as the dashboard words it: counts, percentages, times, short ids, and text cut, padded,
//! wrapped or marked to fit a cell. Pure functions, shared by state and drawing.

use ratatui::text::Line;

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
