//! The terminal dashboard. `app` holds focus, the popup stack and the data; each popup is a
//! component in `popups/` and each pane made one in `panes/` (its state, keys and drawing); keys
//! map through `keymap`; `view` lays the panes out; and the engine is reached only through a
//! `source` (in-process or remote).

pub mod app;
pub mod columns;
pub mod component;
pub mod copy;
pub mod data;
pub mod effect;
pub mod filter;
pub mod forms;
pub mod input;
pub mod json;
pub mod key;
pub mod keymap;
pub mod keys_file;
pub mod layout;
pub mod mouse;
pub mod palette;
pub mod panes;
pub mod popups;
pub mod sanitize;
pub mod screenshots;
pub mod source;
pub mod text;
pub mod theme;
pub mod view;
pub mod views_file;

use crate::config::ThemeName;
use app::App;
use crossterm::event::{Event, EventStream, KeyEventKind};
use effect::{Effect, Outcome};
use futures::StreamExt;
use source::{Source, Update};
use std::sync::Arc;
use std::time::Duration;
use theme::Theme;
use tokio::sync::mpsc;
use tokio::time::Instant;

pub struct Options {
    pub no_color: bool,
    pub theme: ThemeName,
    /// Take the mouse: wheel and clicks.
    pub mouse: bool,
    /// Frames per second at most (default 30).
    pub max_fps: u32,
    /// Offer only what changes nothing.
    pub read_only: bool,
    /// The keys: the table, with the operator's `keys.toml` applied (`keys_file::load`).
    pub keymap: Arc<keymap::Keymap>,
    /// The saved views (`:view`), read at start from `views_file::path()`.
    pub views: views_file::Views,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            no_color: false,
            theme: ThemeName::Default,
            mouse: false,
            max_fps: 30,
            read_only: false,
            keymap: Arc::default(),
            views: views_file::Views::default(),
        }
    }
}

/// A file of the operator's in hookwatch's XDG config folder: `$XDG_CONFIG_HOME/hookwatch/NAME`,
/// else `~/.config/hookwatch/NAME`; `None` without a home to find it in.
pub fn config_file(name: &str) -> Option<std::path::PathBuf> {
    use etcetera::BaseStrategy;
    etcetera::choose_base_strategy().ok().map(|dirs| dirs.config_dir().join("hookwatch").join(name))
}

/// Runs the dashboard until the operator quits or the process is told to stop
/// (SIGTERM, SIGHUP: a dropped SSH session). The terminal is restored on every path, panics included.
pub async fn run(source: Arc<dyn Source>, options: Options) -> anyhow::Result<()> {
    let theme = Theme::detect(options.no_color, options.theme);
    // ratatui::try_init: raw mode, alternate screen, and a panic hook that restores the terminal
    // before the original hook prints. Mouse capture stays off unless asked for, so text
    // selection works over SSH.
    let mut terminal = ratatui::try_init()?;
    if options.mouse {
        capture_mouse()?;
    }
    let result = event_loop(&mut terminal, source, &theme, &options).await;
    if options.mouse {
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    }
    ratatui::restore();
    result
}

/// Turns mouse reporting on, and off again before a panic's message, as ratatui's hook does for
/// the rest of the terminal: a shell left reporting the mouse prints escape codes at every move.
fn capture_mouse() -> std::io::Result<()> {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
        previous(info);
    }));
    crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture)
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    source: Arc<dyn Source>,
    theme: &Theme,
    options: &Options,
) -> anyhow::Result<()> {
    let frame_time = Duration::from_secs(1) / options.max_fps.max(1);
    let mut app = App::new(source.location());
    app.now = crate::domain::model::now_ms();
    // Silence counts from the start: a server that never says anything is stale too.
    app.heard_at = app.now;
    app.read_only = options.read_only;
    app.keymap = options.keymap.clone();
    app.views = options.views.clone();
    if let Some(why) = &app.views.unreadable {
        app.set_status(format!("saved views not read: {why}"), true);
    }
    let (updates_tx, mut updates) = mpsc::channel::<Update>(4096);
    let (outcomes_tx, mut outcomes) = mpsc::unbounded_channel::<Outcome>();
    source.watch(updates_tx);
    initial_load(&source, &outcomes_tx);

    let mut keys = EventStream::new();
    let stop = crate::domain::signals::termination();
    tokio::pin!(stop);
    let mut clock = tokio::time::interval(Duration::from_secs(1));
    let mut dirty = true;
    let mut last_draw = Instant::now() - frame_time;
    loop {
        if dirty && last_draw.elapsed() >= frame_time {
            app.now = crate::domain::model::now_ms();
            terminal.draw(|f| view::draw(f, &app, theme))?;
            dirty = false;
            last_draw = Instant::now();
        }
        // Redraw on change only, never faster than the frame cap; idle means asleep.
        let next_frame = dirty.then(|| last_draw + frame_time);
        let effects = tokio::select! {
            key = keys.next() => match key {
                Some(Ok(input @ (Event::Key(_) | Event::Mouse(_)))) => {
                    dirty = true;
                    if let Ok(size) = terminal.size() {
                        (app.wide, app.screen_width, app.screen_height) = (size.width >= layout::WIDE, size.width, size.height);
                    }
                    match input {
                        Event::Key(k) if k.kind != KeyEventKind::Release => app.on_key(k),
                        Event::Mouse(m) if options.mouse => app.on_mouse(m),
                        _ => Vec::new(),
                    }
                }
                Some(Ok(Event::Resize(..))) => {
                    dirty = true;
                    Vec::new()
                }
                Some(Ok(_)) => Vec::new(),
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            Some(update) = updates.recv() => {
                dirty = true;
                app.now = crate::domain::model::now_ms();
                app.apply_update(update)
            }
            Some(outcome) = outcomes.recv() => {
                dirty = true;
                match outcome {
                    Outcome::Copy { text, what } => vec![Effect::Copy { text, what }],
                    outcome => {
                        app.apply_outcome(outcome);
                        Vec::new()
                    }
                }
            }
            _ = clock.tick() => {
                let now = crate::domain::model::now_ms();
                dirty |= app.tick(now);
                app.due_reads(now)
            }
            _ = sleep_until(next_frame), if next_frame.is_some() => Vec::new(),
            _ = &mut stop => break,
        };
        for effect in effects {
            match effect {
                Effect::Quit => return Ok(()),
                Effect::Copy { text, what } => {
                    dirty = true;
                    match copy_to_clipboard(&text) {
                        Ok(()) => app.set_status(format!("copied {what} to the clipboard (OSC 52)"), false),
                        Err(e) => app.set_status(format!("cannot copy: {e}"), true),
                    }
                }
                effect => perform(&source, effect, &outcomes_tx),
            }
        }
        if app.quit {
            break;
        }
    }
    Ok(())
}

/// Hands `text` to the terminal's clipboard with OSC 52: the terminal (or tmux) keeps it, so it
/// works over SSH without an X server.
fn copy_to_clipboard(text: &str) -> std::io::Result<()> {
    crossterm::execute!(std::io::stdout(), crossterm::clipboard::CopyToClipboard::to_clipboard_from(text))
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at).await;
    }
}

fn initial_load(source: &Arc<dyn Source>, tx: &mpsc::UnboundedSender<Outcome>) {
    let (s, t, query) = (source.clone(), tx.clone(), App::stream_query());
    tokio::spawn(async move {
        let outcomes = [
            s.catalog().await.map(Outcome::Catalog),
            s.subscriptions().await.map(Outcome::Subscriptions),
            s.stats().await.map(|r| Outcome::Stats(Box::new(r))),
            s.alerts().await.map(Outcome::Alerts),
            s.events(query.clone()).await.map(|list| Outcome::Events { query, list }),
            s.replays().await.map(|all| Outcome::Replays(all, crate::domain::model::now_ms())),
        ];
        for o in outcomes {
            let _ = t.send(o.unwrap_or_else(|e| Outcome::Failed(e.to_string())));
        }
    });
}

/// A change refused because the subscription changed since the operator saw it: `message` tells
/// them, and the subscriptions are read again, so what they review is current.
async fn changed_meanwhile(source: &Arc<dyn Source>, message: String) -> Outcome {
    Outcome::ChangedMeanwhile { message, subscriptions: source.subscriptions().await.ok() }
}

/// Carries out an effect in the background and reports its outcome to the loop.
fn perform(source: &Arc<dyn Source>, effect: Effect, tx: &mpsc::UnboundedSender<Outcome>) {
    let (s, t) = (source.clone(), tx.clone());
    tokio::spawn(async move {
        if let Some(outcome) = carry_out(s, effect).await {
            let _ = t.send(outcome);
        }
    });
}

/// Carries out an effect against the source: what comes back for the app (`None` for an effect
/// the loop does itself, on the terminal).
pub async fn carry_out(s: Arc<dyn Source>, effect: Effect) -> Option<Outcome> {
    let outcome = match effect {
        Effect::LoadEvents(query) => match s.events(query.clone()).await {
            Ok(list) => Outcome::Events { query, list },
            Err(error) => Outcome::EventsUnread { query, error: error.to_string() },
        },
        Effect::LoadSubscriptions => {
            s.subscriptions().await.map_or_else(|e| Outcome::Failed(e.to_string()), Outcome::Subscriptions)
        }
        Effect::LoadEvent(id) => match s.event(&id).await {
            Ok(d) => Outcome::Event(Box::new(d)),
            Err(error) => Outcome::EventFailed { id, error: error.to_string() },
        },
        Effect::Redeliver { event_id, subscription_id, failed_only, note } => {
            match s.redeliver(&event_id, subscription_id.as_ref(), failed_only).await {
                Ok(0) => Outcome::Done(format!("nothing to redeliver in {event_id}")),
                Ok(n) => Outcome::Done(format!("{note} ({n} of {event_id}'s deliveries)")),
                Err(e) => Outcome::Failed(format!("redeliver failed: {e}")),
            }
        }
        Effect::SetPaused { subscription_id, name, paused, version } => {
            match s.set_paused(&subscription_id, paused, Some(&version)).await {
                Ok(()) => Outcome::Done(format!("{} {name}", if paused { "paused" } else { "resumed" })),
                Err(e) if e.changed_meanwhile() => {
                    let what = if paused { "paused" } else { "resumed" };
                    let message =
                        format!("{name} changed by someone else meanwhile: not {what}; review it, then p again");
                    changed_meanwhile(&s, message).await
                }
                Err(e) => Outcome::Failed(format!("cannot {} {name}: {e}", if paused { "pause" } else { "resume" })),
            }
        }
        Effect::LoadAudit => match s.audit().await {
            Ok(entries) => Outcome::Audit(entries, crate::domain::model::now_ms()),
            Err(e) => Outcome::AuditUnread(e.to_string()),
        },
        Effect::Probe { subscription_id, name } => match s.probe(&subscription_id).await {
            Ok(held) => Outcome::Done(format!(
                "probing {name}: the next of {} held goes out now",
                text::counted(held as u64, "delivery")
            )),
            Err(e) => Outcome::Failed(format!("probe failed: {e}")),
        },
        Effect::SaveSubscription { id, input, version } => {
            match s.save_subscription(id.as_ref(), *input, version.as_deref()).await {
                Ok(sub) => Outcome::SubscriptionSaved(Box::new(sub)),
                Err(e) if e.changed_meanwhile() => {
                    let what = "changed by someone else since this form opened: nothing saved. Esc, then e, to see \
                                their change";
                    changed_meanwhile(&s, what.to_string()).await
                }
                Err(e) => Outcome::SaveFailed(e),
            }
        }
        Effect::SendEvent { body, to } => {
            s.send_event(body, to.as_ref()).await.map_or_else(|e| Outcome::SendFailed(e.to_string()), Outcome::Sent)
        }
        Effect::DeleteSubscription { id, name, version } => match s.delete_subscription(&id, Some(&version)).await {
            Ok(()) => Outcome::Done(format!("deleted subscription {name}")),
            Err(e) if e.changed_meanwhile() => {
                let what = format!("{name} changed by someone else meanwhile: not deleted; review it, then D again");
                changed_meanwhile(&s, what).await
            }
            Err(e) => Outcome::Failed(format!("cannot delete {name}: {e}")),
        },
        Effect::PreviewReplay(filter) => Outcome::ReplayPreview(
            s.preview_replay(&filter, crate::wire::DEFAULT_REPLAY_RATE).await.map_err(|e| e.to_string()),
        ),
        Effect::StartReplay { filter, rate_per_s } => match s.start_replay(&filter, rate_per_s).await {
            Ok(replay) => Outcome::ReplayStarted(Box::new(replay)),
            Err(e) => Outcome::ReplayRefused(format!("the replay did not start: {e}")),
        },
        Effect::LoadHistory { id, span } => Outcome::History {
            read: s.endpoint_history(&id, span).await.map(Box::new).map_err(|e| e.to_string()),
            id,
            span,
        },
        Effect::LoadReplays => match s.replays().await {
            Ok(all) => Outcome::Replays(all, crate::domain::model::now_ms()),
            Err(e) => Outcome::ReplaysUnread(e.to_string()),
        },
        Effect::CancelReplay(id) => match s.cancel_replay(&id).await {
            Ok(replay) => Outcome::ReplayCancelled(Box::new(replay)),
            Err(e) => Outcome::Failed(format!("cannot cancel {id}: {e}")),
        },
        Effect::RevealSecret { subscription_id, name } => match s.signing_keys(&subscription_id).await {
            Ok(keys) => Outcome::SecretRead { subscription_id, key: keys.key },
            Err(e) => Outcome::Failed(format!("cannot read {name}'s signing secret: {e}")),
        },
        Effect::CopyCurl { subscription, event_id, body, signed } => {
            let keys = match signed {
                true => s.signing_keys(&subscription.id).await.ok(),
                false => None,
            };
            let (text, what) = copy::curl_copy(&subscription, keys.as_ref(), &event_id, &body);
            Outcome::Copy { text, what }
        }
        // Done by the loop itself: they touch the terminal, not the source.
        Effect::Copy { .. } | Effect::Quit => return None,
    };
    Some(outcome)
}
