//! Snapshots of every dashboard view, drawn by the real render code from fixed synthetic data,
//! at 80x24 and 200x50, plus the checks that must hold at any size.

use hookwatch::dashboard::app::Popup;
use hookwatch::dashboard::screenshots::{demo_app, render, to_text, views};
use hookwatch::dashboard::theme::Theme;
use hookwatch::wire::FeedEvent;

const PLAIN: Theme = Theme::PLAIN;

#[test]
fn every_view_at_80x24_and_200x50() {
    for (name, app) in views() {
        for (w, h) in [(80, 24), (200, 50)] {
            insta::assert_snapshot!(format!("{name}_{w}x{h}"), to_text(&render(&app, w, h, &PLAIN)));
        }
    }
}

#[test]
fn too_small_says_so_and_any_size_renders() {
    let app = demo_app();
    let text = to_text(&render(&app, 40, 10, &PLAIN));
    assert!(text.contains("terminal too small"), "{text}");
    for (name, app) in views() {
        for (w, h) in [(1, 1), (59, 14), (60, 15), (61, 40), (119, 30), (120, 30), (300, 80)] {
            render(&app, w, h, &PLAIN); // must not panic
            let _ = name;
        }
    }
}

#[test]
fn hostile_text_is_escaped_before_it_reaches_the_terminal() {
    let mut app = demo_app();
    let mut event = app.stream.events[0].event.clone();
    event.action = "card.move\x1b]0;pwned\x07\x1b[2J".into();
    event.card_id = Some("1\u{202e}evil\u{9b}31m".into());
    app.stream.events.push_front(hookwatch::dashboard::app::EventRow { event, changed_at: 0 });
    app.popups.push(Popup::Help(Box::default()));
    app.popups.clear();
    let buf = render(&app, 200, 50, &PLAIN);
    for cell in buf.content() {
        assert!(
            !cell.symbol().chars().any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c)),
            "raw control in {:?}",
            cell.symbol()
        );
    }
    let text = to_text(&buf);
    assert!(text.contains("\\x1b]0;pwned"), "escaped text is visible");
}

#[test]
fn no_color_keeps_state_visible_through_glyphs() {
    let app = demo_app();
    let buf = render(&app, 200, 50, &PLAIN);
    assert!(buf.content().iter().all(|c| c.fg == ratatui::style::Color::Reset && c.bg == ratatui::style::Color::Reset));
    let text = to_text(&buf);
    for glyph in ["●", "✓", "✗", "↻", "OPEN"] {
        assert!(text.contains(glyph), "{glyph} shows state without colour");
    }
}

#[test]
fn a_new_event_appears_at_the_top_of_a_live_stream() {
    let mut app = demo_app();
    let mut event = app.stream.events[0].event.clone();
    event.id = "evt_01KQZZZZZZZZZZZZZZZZNEWONE".into();
    event.action = "user.role_set".into();
    app.apply_update(hookwatch::dashboard::source::Update::Feed(FeedEvent::EventReceived { event }));
    let text = to_text(&render(&app, 200, 50, &PLAIN));
    let first_row = text.lines().find(|l| l.contains("evt…")).unwrap();
    assert!(first_row.contains("NEWONE") && first_row.contains("user.role_set"), "{first_row}");
}

#[test]
fn screenshots_are_written_as_svg() {
    let dir = tempfile::tempdir().unwrap();
    let files = hookwatch::dashboard::screenshots::write_all(dir.path()).unwrap();
    assert_eq!(files.len(), views().len() * 2);
    let svg = std::fs::read_to_string(&files[0]).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("hookwatch") && svg.trim_end().ends_with("</svg>"));
}

#[test]
fn the_docs_document_every_key() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/dashboard.md")).unwrap();
    for b in hookwatch::dashboard::keymap::BINDINGS {
        let row = format!("| `{}` | {} |", b.label.replace('|', "\\|"), b.help);
        assert!(readme.contains(&row), "docs/dashboard.md lacks the key row {row}");
    }
    for c in hookwatch::dashboard::palette::COMMANDS {
        let row = format!("| `:{}` | {} |", c.usage, c.help);
        assert!(readme.contains(&row), "docs/dashboard.md lacks the command row {row}");
    }
}

/// A 10,000-character card title: wrapped, the payload scrolls by screen rows and `G` shows its
/// end; cut (`w`), → shifts the lines until the end shows.
#[test]
fn a_long_title_wraps_and_scrolls_by_rows_to_its_end() {
    use crossterm::event::{KeyCode, KeyEvent};
    use hookwatch::dashboard::screenshots::long_title_inspector;
    let mut app = demo_app();
    (app.screen_width, app.screen_height) = (80, 24);
    let mut ins = long_title_inspector();
    ins.payload_scroll = 0;
    app.popups.push(Popup::Inspector(Box::new(ins)));
    let screen = |app: &hookwatch::dashboard::app::App| to_text(&render(app, 80, 24, &PLAIN));
    assert!(!screen(&app).contains("end of title"));
    app.on_key(KeyEvent::from(KeyCode::Char('G')));
    let bottom = screen(&app);
    assert!(bottom.contains("end of title") && bottom.contains('}'), "G shows the last rows:\n{bottom}");
    app.on_key(KeyEvent::from(KeyCode::Char('k')));
    assert_ne!(screen(&app), bottom, "k after G moves at once");

    app.on_key(KeyEvent::from(KeyCode::Char('w')));
    app.on_key(KeyEvent::from(KeyCode::Char('G')));
    assert!(screen(&app).contains("· cut"), "{}", screen(&app));
    let right = |app: &mut hookwatch::dashboard::app::App, n| {
        for _ in 0..n {
            app.on_key(KeyEvent::from(KeyCode::Right));
        }
    };
    right(&mut app, 1_000);
    assert!(!screen(&app).contains("end of title"), "the title is cut, not wrapped");
    right(&mut app, 300);
    assert!(screen(&app).contains("end of title"), "→ reaches the title's end:\n{}", screen(&app));
}

fn press(
    app: &mut hookwatch::dashboard::app::App,
    code: crossterm::event::KeyCode,
) -> Vec<hookwatch::dashboard::app::Effect> {
    app.on_key(crossterm::event::KeyEvent::from(code))
}

/// The demo with `n` subscriptions, on a screen of `w`x`h`.
fn with_subscriptions(n: usize, (w, h): (u16, u16)) -> hookwatch::dashboard::app::App {
    let mut app = demo_app();
    (app.screen_width, app.screen_height) = (w, h);
    let mut stats = app.stats.clone().unwrap();
    // The healthy one as the model: every row reads the same but its name.
    let model = stats.subscriptions.iter().find(|e| e.name == "crm-sync").unwrap().clone();
    stats.subscriptions = (0..n)
        .map(|i| hookwatch::wire::EndpointReport {
            id: format!("sub_{i:02}").into(),
            name: format!("endpoint-{i:02}"),
            ..model.clone()
        })
        .collect();
    app.set_stats(stats);
    app
}

/// At 80x24 the table shows five of twelve rows: its border says which, and PgDn pages by them.
#[test]
fn the_subscriptions_table_says_which_rows_show_and_pages_by_its_height() {
    use crossterm::event::KeyCode;
    let mut app = with_subscriptions(12, (80, 24));
    app.focus = hookwatch::dashboard::app::Pane::Subscriptions;
    let top = to_text(&render(&app, 80, 24, &PLAIN));
    assert!(top.contains("↓ 1–5 of 12"), "{top}");
    press(&mut app, KeyCode::PageDown);
    assert_eq!(app.table.cursor, 5, "a page is the five rows that show");
    let paged = to_text(&render(&app, 80, 24, &PLAIN));
    assert!(paged.contains("↑↓ 2–6 of 12") && paged.contains("endpoint-05"), "{paged}");
    insta::assert_snapshot!("subscriptions_scrolled_80x24", paged);
    press(&mut app, KeyCode::End);
    assert!(to_text(&render(&app, 80, 24, &PLAIN)).contains("↑ 8–12 of 12"));
    let all = with_subscriptions(3, (80, 24));
    assert!(!to_text(&render(&all, 80, 24, &PLAIN)).contains(" of 3 "), "all rows show: no note");
}

/// PgDn moves the stream by the rows its pane shows, whatever the screen.
#[test]
fn page_down_moves_the_stream_by_the_rows_that_show() {
    use crossterm::event::KeyCode;
    for ((w, h), rows) in [((80, 24), 12), ((200, 50), 38), ((60, 15), 5)] {
        let mut app = demo_app();
        (app.screen_width, app.screen_height) = (w, h);
        app.focus = hookwatch::dashboard::app::Pane::Stream;
        press(&mut app, KeyCode::PageDown);
        assert_eq!(app.stream.cursor, rows, "{w}x{h}");
        let screen = to_text(&render(&app, w, h, &PLAIN));
        let last_row = screen.lines().rfind(|l| l.contains("evt…")).unwrap();
        let selected = &app.stream.events[rows].event.id;
        assert!(last_row.contains(&selected[selected.len() - 6..]), "{w}x{h}: the selection is the last row shown");
        press(&mut app, KeyCode::PageUp);
        assert_eq!(app.stream.cursor, 0);
    }
}

/// The help's text at `w`x`h`, scrolled through a row at a time: its rows inside the border, in
/// order, as one line of words.
fn help_read_through(w: u16, h: u16) -> String {
    use crossterm::event::KeyCode;
    let mut app = demo_app();
    (app.screen_width, app.screen_height) = (w, h);
    press(&mut app, KeyCode::Char('?'));
    let (pw, ph) = (usize::from((w * 70 / 100).clamp(58, w)), usize::from((h * 85 / 100).clamp(14, h)));
    let (x, y) = ((usize::from(w) - pw) / 2, (usize::from(h) - ph) / 2);
    let inner = |app: &hookwatch::dashboard::app::App| -> Vec<String> {
        let text = to_text(&render(app, w, h, &PLAIN));
        text.lines().skip(y + 1).take(ph - 2).map(|l| l.chars().skip(x + 1).take(pw - 2).collect()).collect()
    };
    let mut rows = Vec::new();
    let mut screen = inner(&app);
    loop {
        press(&mut app, KeyCode::Char('j'));
        let next = inner(&app);
        if next == screen {
            rows.extend(screen);
            break;
        }
        rows.push(screen[0].clone());
        screen = next;
    }
    rows.join(" ").split_whitespace().collect::<Vec<_>>().join(" ")
}

/// At 80x24 and 60x15 every word of the help shows: a long line wraps under its text.
#[test]
fn the_help_wraps_rather_than_cutting() {
    for (w, h) in [(80, 24), (60, 15)] {
        let text = help_read_through(w, h);
        for b in hookwatch::dashboard::keymap::BINDINGS.iter().filter(|b| b.help.len() > 40) {
            let line = format!("{} {}", b.label, b.help);
            assert!(text.contains(&line), "{w}x{h}: {line:?} is cut");
        }
    }
    let mut app = demo_app();
    (app.screen_width, app.screen_height) = (60, 15);
    press(&mut app, crossterm::event::KeyCode::Char('?'));
    insta::assert_snapshot!("help_60x15", to_text(&render(&app, 60, 15, &PLAIN)));
}

/// A viewer cannot reveal the secret, so the line does not offer it; the keys that change
/// something say so instead of doing nothing.
#[test]
fn a_viewer_is_told_what_it_cannot_do() {
    use crossterm::event::KeyCode;
    let mut app = demo_app();
    app.read_only = true;
    (app.focus, app.table.cursor, app.zoomed) = (hookwatch::dashboard::app::Pane::Subscriptions, 2, true);
    let screen = to_text(&render(&app, 200, 50, &PLAIN));
    assert!(screen.contains("(hidden: read-only)") && !screen.contains("S reveals"), "{screen}");
    assert!(press(&mut app, KeyCode::Char('p')).is_empty());
    let said = app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(said.contains("read-only"), "{said}");
}

/// `r`, `C-r` and `y` outside the stream say where they work; `y` and `Y` on a subscription copy
/// its id and its URL.
#[test]
fn a_key_of_another_pane_says_where_it_works() {
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use hookwatch::dashboard::app::{Effect, Pane};
    let mut app = demo_app();
    app.focus = Pane::Subscriptions;
    let said = |app: &hookwatch::dashboard::app::App| app.status.as_ref().map(|s| s.text.clone()).unwrap_or_default();
    assert!(press(&mut app, KeyCode::Char('r')).is_empty());
    assert!(
        said(&app).starts_with("r (redeliver what failed) works in the Event stream, the inspector"),
        "{}",
        said(&app)
    );
    app.on_key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL));
    assert!(
        said(&app).contains("C-r (replay what the filter selects, paced) works in the Event stream"),
        "{}",
        said(&app)
    );
    let sub = app.selected_endpoint().unwrap().clone();
    let url = app.subscriptions.iter().find(|s| s.id == sub.id).unwrap().url.clone();
    match &press(&mut app, KeyCode::Char('y'))[..] {
        [Effect::Copy { text, .. }] => assert_eq!(*text, sub.id),
        other => panic!("y copies the id: {other:?}"),
    }
    match &app.on_key(KeyEvent::new(KeyCode::Char('Y'), KeyModifiers::SHIFT))[..] {
        [Effect::Copy { text, .. }] => assert_eq!(*text, url),
        other => panic!("Y copies the URL: {other:?}"),
    }
    press(&mut app, KeyCode::Enter);
    assert!(matches!(app.popups.last(), Some(Popup::Endpoint(_))));
    match &press(&mut app, KeyCode::Char('y'))[..] {
        [Effect::Copy { text, .. }] => assert_eq!(*text, sub.id, "y on the endpoint's page"),
        other => panic!("y copies the id: {other:?}"),
    }
    press(&mut app, KeyCode::Esc);
    app.focus = Pane::Stream;
    app.status = None;
    assert!(press(&mut app, KeyCode::Char('p')).is_empty());
    assert!(said(&app).contains("works in Subscriptions"), "{}", said(&app));
}

/// `sub:nosuch` is refused where it is typed, as a replay of it would be.
#[test]
fn a_filter_naming_no_subscription_is_refused_as_it_is_typed() {
    use crossterm::event::KeyCode;
    let mut app = demo_app();
    press(&mut app, KeyCode::Char('/'));
    for c in "sub:nosuch".chars() {
        press(&mut app, KeyCode::Char(c));
    }
    let error = app.filter_input.as_ref().and_then(|l| l.error.clone()).unwrap_or_default();
    assert!(error.contains("no subscription is named \"nosuch\""), "{error}");
    press(&mut app, KeyCode::Enter);
    assert!(app.filter_text.is_empty(), "not applied");
    assert!(app.filter_input.is_some(), "still being typed");
}

/// A held replay's header says why and until when, as the API's `held` gives it; running again,
/// it shows its rate and how many failed.
#[test]
fn a_held_replay_says_in_the_header_why_and_until_when() {
    use hookwatch::dashboard::screenshots::NOW;
    use hookwatch::domain::model::{Replay, rfc3339};
    let mut app = demo_app();
    let replay: Replay = serde_json::from_value(serde_json::json!({
        "id": "rpl_01KQRPL0000000000000000001", "filter": {"status": "failed"}, "rate_per_s": 20,
        "state": "held", "total": 212, "sent": 1, "delivered": 0, "failed": 1, "skipped": 0,
        "held": {"reason": "breaker open", "subscription_id": "sub_1", "subscription_name": "billing",
            "next_probe_at": rfc3339(NOW + 60_000)},
        "created_at": rfc3339(NOW - 1_000), "updated_at": rfc3339(NOW), "node": "node-1"}))
    .unwrap();
    app.replays = vec![replay.clone()];
    app.replays_read = Some((app.now, None));
    let header = |app: &hookwatch::dashboard::app::App| {
        to_text(&render(app, 200, 50, &PLAIN)).lines().next().unwrap().to_string()
    };
    let probe = hookwatch::dashboard::text::clock(NOW + 60_000);
    assert!(
        header(&app).contains(&format!("▶ replay 1/212 held: breaker open, next probe {probe} (billing) · X cancels")),
        "{}",
        header(&app)
    );
    app.replays = vec![Replay { held: None, sent: 30, ..replay }];
    assert!(header(&app).contains("▶ replay 30/212 at 20/s · 1 failed · X cancels"), "{}", header(&app));
}
