//! Snapshots of every dashboard view, drawn by the real render code from fixed synthetic data,
//! at 80x24 and 200x50, plus the checks that must hold at any size.

use hookwatch::dashboard::app::Popup;
use hookwatch::dashboard::screenshots::{demo_app, render, to_text, views};
use hookwatch::dashboard::theme::Theme;
use hookwatch::feed::FeedEvent;

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
    let mut event = app.events[0].event.clone();
    event.action = "card.move\x1b]0;pwned\x07\x1b[2J".into();
    event.card_id = Some("1\u{202e}evil\u{9b}31m".into());
    app.events.push_front(hookwatch::dashboard::app::EventRow { event, changed_at: 0 });
    app.popups.push(Popup::Help { scroll: 0 });
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
    let mut event = app.events[0].event.clone();
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

/// A held replay's header says why and until when, as the API's `held` gives it; running again,
/// it shows its rate and how many failed.
#[test]
fn a_held_replay_says_in_the_header_why_and_until_when() {
    use hookwatch::dashboard::screenshots::NOW;
    use hookwatch::model::{Replay, rfc3339};
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
    let probe = hookwatch::dashboard::view::clock(NOW + 60_000);
    assert!(
        header(&app).contains(&format!("▶ replay 1/212 held: breaker open, next probe {probe} (billing) · X cancels")),
        "{}",
        header(&app)
    );
    app.replays = vec![Replay { held: None, sent: 30, ..replay }];
    assert!(header(&app).contains("▶ replay 30/212 at 20/s · 1 failed · X cancels"), "{}", header(&app));
}
