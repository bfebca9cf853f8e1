//! The subscription form: create or edit one, each field validated as the operator types; a
//! refusal for an overlap offers to save replacing it.

use crate::dashboard::component::{Component, Reply};
use crate::dashboard::data::Data;
use crate::dashboard::effect::Effect;
use crate::dashboard::forms::{Field, LABEL, edit};
use crate::dashboard::keymap::{Action, Context};
use crate::dashboard::layout::popup_area;
use crate::dashboard::sanitize::clean;
use crate::dashboard::theme::Theme;
use crate::domain::catalog::Catalog;
use crate::domain::ids::SubscriptionId;
use crate::domain::model::{Filters, Subscription, SubscriptionState};
use crate::domain::secret::Scheme;
use crate::validate::subscriptions::validate_url;
use crate::wire::{MAX_RATE_PER_S, SubscriptionInput};
use crossterm::event::KeyEvent;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui_textarea::TextArea;
use std::collections::BTreeMap;

pub struct SubscriptionForm {
    /// The subscription being edited; `None` creates one.
    pub editing: Option<SubscriptionId>,
    /// The edited subscription's `etag` when the form opened: the save is refused if it changed since.
    pub version: Option<String>,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// What the server said when saving failed.
    pub server_error: Option<String>,
    /// Whether header values show (they often hold credentials: hidden until asked for).
    pub revealed: bool,
    /// The server refused the save because another subscription sends an overlapping action to
    /// this URL; saving again may replace it.
    pub conflict: bool,
}

/// The Headers field's place in the form.
pub const HEADERS: usize = 3;
/// The fields that are a choice, not text (Space goes to the next), and their choices.
const CHOICES: [(usize, [&str; 2]); 3] =
    [(ORDERED, ["no", "yes"]), (SIGNING, ["v1", "v1a"]), (START, ["active", "paused"])];
const ORDERED: usize = 8;
const SIGNING: usize = 9;
/// Whether a new subscription starts delivering at once or paused (a new form's last field).
const START: usize = 10;
/// What stands for a hidden header value.
const MASK: char = '•';

fn join_map(map: &BTreeMap<String, String>, sep: &str) -> String {
    map.iter().map(|(k, v)| format!("{k}{sep}{v}")).collect::<Vec<_>>().join("; ")
}

fn filters_text(f: &Filters) -> String {
    let lists = [
        ("pipe_id", &f.pipe_id),
        ("on_phase_id", &f.on_phase_id),
        ("from_phase_id", &f.from_phase_id),
        ("to_phase_id", &f.to_phase_id),
        ("field_id", &f.field_id),
    ];
    lists
        .iter()
        .filter(|(_, l)| !l.is_empty())
        .map(|(k, l)| format!("{k}={}", l.join(",")))
        .collect::<Vec<_>>()
        .join("; ")
}

impl SubscriptionForm {
    pub fn new(existing: Option<&Subscription>) -> Self {
        let value =
            |f: fn(&Subscription) -> String, default: &str| existing.map(f).unwrap_or_else(|| default.to_string());
        let mut fields = vec![
            Field::new("Name", "a label for people", value(|s| s.name.clone(), "")),
            Field::new("URL", "where deliveries go: http(s)://host/path, no credentials", value(|s| s.url.clone(), ""))
                .with_example("e.g. https://crm.example.com/hooks"),
            Field::new(
                "Actions",
                "required, comma separated: card.move, card.*, or * for every action",
                value(|s| s.actions.join(", "), ""),
            )
            .with_example("e.g. card.move, card.done, or *"),
            Field::new(
                "Headers",
                "Name: value; Name2: value2 · C-r shows the values",
                value(|s| join_map(&s.headers, ": "), ""),
            ),
            Field::new("Filters", "pipe_id=1,2; to_phase_id=3", value(|s| filters_text(&s.filters), "")),
            Field::new("Max in flight", "1 to 256", value(|s| s.max_in_flight.to_string(), "16")),
            Field::new(
                "Rate limit /s",
                "attempts per second at most; empty: unlimited",
                value(|s| s.rate_limit_per_s.map(|n| n.to_string()).unwrap_or_default(), ""),
            ),
            Field::new("Timeout ms", "100 to 120000", value(|s| s.timeout_ms.to_string(), "15000")),
            Field::new(
                "Ordered",
                "Space toggles; yes: one at a time, in event order",
                value(|s| if s.ordered { "yes".into() } else { "no".into() }, "no"),
            ),
            Field::new(
                "Signing",
                "Space: v1 (HMAC) or v1a (Ed25519, a public key)",
                // Its public key says it signs with v1a: the secret itself is masked here.
                value(|s| if s.public_key.is_some() { "v1a".into() } else { "v1".into() }, "v1"),
            ),
        ];
        // A change of state is `p`'s; a new subscription may start paused, to be looked over first.
        if existing.is_none() {
            fields.push(Field::new("Start", "Space toggles; paused: held until p resumes", "active".into()));
        }
        let mut form = SubscriptionForm {
            editing: existing.map(|s| s.id.clone()),
            version: existing.map(Subscription::etag),
            fields,
            focus: 0,
            server_error: None,
            revealed: true,
            conflict: false,
        };
        // An existing subscription's header values stay hidden; a new one has none yet.
        if existing.is_some_and(|s| !s.headers.is_empty()) {
            form.toggle_reveal();
        }
        form
    }

    pub fn toggle_reveal(&mut self) {
        self.revealed = !self.revealed;
        let input = &mut self.fields[HEADERS].input;
        if self.revealed { input.clear_mask_char() } else { input.set_mask_char(MASK) }
    }

    /// A field's text as shown when it is not being edited: header values masked unless revealed.
    pub fn shown(&self, index: usize) -> String {
        let value = self.fields[index].value();
        if index != HEADERS || self.revealed {
            return value;
        }
        value
            .split(';')
            .map(|pair| match pair.split_once(':') {
                Some((name, _)) => format!("{}: {}", name.trim(), MASK.to_string().repeat(6)),
                None => MASK.to_string().repeat(6),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Whether the focused field is a choice (Ordered, Signing) rather than text.
    pub fn on_choice(&self) -> bool {
        CHOICES.iter().any(|(i, _)| *i == self.focus)
    }

    /// Space on a choice: its next value.
    pub fn toggle(&mut self) {
        let Some((_, values)) = CHOICES.iter().find(|(i, _)| *i == self.focus) else { return };
        let now = self.fields[self.focus].value();
        let next = if values[0] == now.to_lowercase() { values[1] } else { values[0] };
        self.fields[self.focus].input = TextArea::new(vec![next.to_string()]);
    }

    /// Checks every field, records each field's problem, and returns the request when all are fine.
    pub fn validate(&mut self, catalog: &Catalog) -> Option<SubscriptionInput> {
        let v: Vec<String> = self.fields.iter().map(Field::value).collect();
        let mut input = SubscriptionInput::default();
        let mut results: Vec<Result<(), String>> = vec![
            if v[0].is_empty() || v[0].chars().count() > 100 {
                Err("1 to 100 characters".into())
            } else {
                input.name = Some(v[0].clone());
                Ok(())
            },
            validate_url(&v[1]).map(|u| input.url = Some(u)).map_err(|e| e.to_string()),
            parse_actions(&v[2], catalog).map(|a| input.actions = Some(a)),
            parse_pairs(&v[3], ':').map(|h| input.headers = Some(h)),
            parse_filters(&v[4]).map(|f| input.filters = Some(f)),
            parse_number(&v[5], 1, 256).map(|n| input.max_in_flight = u32::try_from(n).ok()),
            if v[6].is_empty() {
                input.rate_limit_per_s = Some(None);
                Ok(())
            } else {
                parse_number(&v[6], 1, u64::from(MAX_RATE_PER_S))
                    .map(|n| input.rate_limit_per_s = Some(u32::try_from(n).ok()))
            },
            parse_number(&v[7], 100, 120_000).map(|n| input.timeout_ms = Some(n)),
            parse_yes_no(&v[ORDERED]).map(|b| input.ordered = Some(b)),
            parse_scheme(&v[SIGNING]).map(|s| input.signing = Some(s)),
        ];
        if let Some(start) = v.get(START) {
            results.push(parse_start(start).map(|s| input.state = Some(s)));
        }
        let mut ok = true;
        for (field, result) in self.fields.iter_mut().zip(results) {
            field.error = result.err();
            ok &= field.error.is_none();
        }
        ok.then_some(input)
    }
}

fn parse_start(text: &str) -> Result<SubscriptionState, String> {
    match text {
        "active" => Ok(SubscriptionState::Active),
        "paused" => Ok(SubscriptionState::Paused),
        _ => Err("active or paused".into()),
    }
}

fn parse_scheme(text: &str) -> Result<Scheme, String> {
    match text.to_lowercase().as_str() {
        "v1" => Ok(Scheme::V1),
        "v1a" => Ok(Scheme::V1a),
        _ => Err("v1 or v1a".into()),
    }
}

fn parse_actions(text: &str, catalog: &Catalog) -> Result<Vec<String>, String> {
    let actions: Vec<String> = text.split(',').map(str::trim).filter(|a| !a.is_empty()).map(str::to_string).collect();
    if actions.is_empty() {
        return Err("at least one action, or *".into());
    }
    for a in &actions {
        if catalog.canonical_pattern(a).is_none() {
            return Err(unknown_action(a, catalog));
        }
    }
    Ok(actions)
}

/// What to write instead of an unknown action: the names of its family, else the families.
fn unknown_action(action: &str, catalog: &Catalog) -> String {
    let names = catalog.names();
    let family = action.split_once('.').map(|(f, _)| format!("{}.", f.to_ascii_lowercase()));
    let kin: Vec<&str> = names.iter().filter_map(|n| family.as_deref().and_then(|f| n.strip_prefix(f))).collect();
    if let Some(f) = family.filter(|_| !kin.is_empty()) {
        return format!("unknown action {action:?}; {f}* has {}", kin.join(", "));
    }
    let mut families: Vec<String> = Vec::new();
    for family in names.iter().filter_map(|n| n.split_once('.').map(|(f, _)| format!("{f}.*"))) {
        if !families.contains(&family) {
            families.push(family);
        }
    }
    format!("unknown action {action:?}; use *, {}, or one of their actions", families.join(", "))
}

fn parse_pairs(text: &str, sep: char) -> Result<BTreeMap<String, String>, String> {
    let mut map = BTreeMap::new();
    for pair in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once(sep).ok_or_else(|| format!("{pair:?} needs the form Name{sep} value"))?;
        if k.trim().is_empty() {
            return Err(format!("{pair:?} has no name"));
        }
        map.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(map)
}

fn parse_filters(text: &str) -> Result<Filters, String> {
    let mut f = Filters::default();
    for (key, values) in parse_pairs(text, '=')? {
        let list: Vec<String> =
            values.split(',').map(str::trim).filter(|v| !v.is_empty()).map(str::to_string).collect();
        match key.as_str() {
            "pipe_id" => f.pipe_id = list,
            "on_phase_id" => f.on_phase_id = list,
            "from_phase_id" => f.from_phase_id = list,
            "to_phase_id" => f.to_phase_id = list,
            "field_id" => f.field_id = list,
            other => {
                return Err(format!(
                    "unknown filter {other:?}; use pipe_id, on_phase_id, from_phase_id, to_phase_id, field_id"
                ));
            }
        }
    }
    Ok(f)
}

fn parse_yes_no(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "yes" | "y" | "true" => Ok(true),
        "no" | "n" | "false" | "" => Ok(false),
        _ => Err("yes or no".into()),
    }
}

fn parse_number(text: &str, min: u64, max: u64) -> Result<u64, String> {
    text.parse::<u64>().ok().filter(|n| (min..=max).contains(n)).ok_or_else(|| format!("a number from {min} to {max}"))
}

impl Component for SubscriptionForm {
    fn context(&self) -> Context {
        Context::Form
    }

    fn on_key(&mut self, action: Option<Action>, key: KeyEvent, data: &Data) -> Reply {
        match action {
            Some(Action::Back) => return Reply::close(),
            Some(Action::NextField) => self.focus = (self.focus + 1) % self.fields.len(),
            Some(Action::PrevField) => self.focus = (self.focus + self.fields.len() - 1) % self.fields.len(),
            Some(Action::Submit | Action::SaveReplacing) => {
                let replacing = action == Some(Action::SaveReplacing);
                if replacing && !self.conflict {
                    return Reply::Stay;
                }
                if let Some(mut input) = self.validate(data.catalog) {
                    input.override_previous = replacing;
                    self.server_error = None;
                    self.conflict = false;
                    let (id, version, input) = (self.editing.clone(), self.version.clone(), Box::new(input));
                    let save = Effect::SaveSubscription { id, input, version };
                    return Reply::Effects(vec![save]);
                }
            }
            Some(Action::RevealSecret) => self.toggle_reveal(),
            Some(Action::Toggle) if self.on_choice() => {
                self.toggle();
                self.validate(data.catalog);
            }
            _ if self.on_choice() => {}
            _ => {
                edit(&mut self.fields[self.focus].input, key);
                self.validate(data.catalog);
            }
        }
        Reply::Stay
    }

    fn draw(&self, frame: &mut Frame, area: Rect, _: &Data, theme: &Theme) {
        draw(frame, area, self, theme)
    }
}

fn draw(frame: &mut Frame, area: Rect, form: &SubscriptionForm, theme: &Theme) {
    // A field's note line (its hint, or its error) shows under the focused field and under those
    // with an error, so ten fields still leave the header and the hint line in view at 80x24.
    let noted = |i: usize, field: &Field| i == form.focus || field.error.is_some();
    let notes = crate::dashboard::layout::cells(form.fields.iter().enumerate().filter(|(i, f)| noted(*i, f)).count());
    let rows = crate::dashboard::layout::cells(form.fields.len()) + notes + 4;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_validates_each_field_inline() {
        let mut form = SubscriptionForm::new(None);
        assert!(form.validate(&Catalog::default()).is_none(), "an empty name, URL and actions are refused");
        assert_eq!((form.fields[1].value(), form.fields[2].value()), (String::new(), String::new()));
        assert_eq!(form.fields[1].example(), "e.g. https://crm.example.com/hooks", "an empty URL shows an example");
        assert!(form.fields[..3].iter().all(|f| f.error.is_some()));
        assert!(form.fields[2].error.as_deref().unwrap().contains("at least one action"));
        form.fields[0] = Field::new("Name", "", "crm".into());
        form.fields[1] = Field::new("URL", "", "http://".into());
        form.validate(&Catalog::default());
        assert!(form.fields[1].error.is_some(), "a scheme alone names no host");
        form.fields[1] = Field::new("URL", "", "https://http://".into());
        form.validate(&Catalog::default());
        assert!(form.fields[1].error.as_deref().unwrap().contains("a scheme"), "{:?}", form.fields[1].error);
        form.fields[1] = Field::new("URL", "", "https://crm.example.com/h".into());
        form.fields[2] = Field::new("Actions", "", "*".into());
        form.fields[3] = Field::new("Headers", "", "Authorization: Bearer x".into());
        form.fields[4] = Field::new("Filters", "", "pipe_id=1, 2".into());
        let input = form.validate(&Catalog::default()).expect("valid");
        assert_eq!(input.headers.unwrap()["Authorization"], "Bearer x");
        assert_eq!(input.filters.unwrap().pipe_id, vec!["1", "2"]);
        form.fields[2] = Field::new("Actions", "", "card.nope".into());
        assert!(form.validate(&Catalog::default()).is_none());
        let said = form.fields[2].error.clone().unwrap();
        assert!(said.contains("card.nope") && said.contains("card.* has create, done"), "{said}");
        form.fields[2] = Field::new("Actions", "", "deploy.done".into());
        form.validate(&Catalog::default());
        let said = form.fields[2].error.clone().unwrap();
        assert!(said.contains("card.*, user.*"), "{said}");
    }

    #[test]
    fn header_values_stay_hidden_until_asked_for_and_choices_toggle() {
        let mut sub = crate::dashboard::screenshots::demo_app().subscriptions[0].clone();
        sub.headers.insert("Authorization".into(), "Bearer s3cr3t".into());
        sub.ordered = false;
        let mut form = SubscriptionForm::new(Some(&sub));
        assert!(!form.shown(HEADERS).contains("s3cr3t") && form.shown(HEADERS).contains("Authorization: ••••"));
        form.toggle_reveal();
        assert!(form.shown(HEADERS).contains("Bearer s3cr3t"));
        assert!(SubscriptionForm::new(None).revealed, "a new form has nothing to hide");
        form.focus = ORDERED;
        assert!(form.on_choice());
        form.toggle();
        assert_eq!(form.validate(&Catalog::default()).and_then(|i| i.ordered), Some(true));
        form.toggle();
        assert_eq!(form.validate(&Catalog::default()).and_then(|i| i.ordered), Some(false));
        form.focus = SIGNING;
        assert_eq!(form.validate(&Catalog::default()).and_then(|i| i.signing), Some(Scheme::V1));
        form.toggle();
        assert_eq!(form.validate(&Catalog::default()).and_then(|i| i.signing), Some(Scheme::V1a));
        form.focus = HEADERS;
        assert!(!form.on_choice());
    }

    #[test]
    fn a_new_subscription_may_start_paused() {
        let mut form = SubscriptionForm::new(None);
        form.fields[0] = Field::new("Name", "", "crm".into());
        form.fields[1] = Field::new("URL", "", "https://crm.example.com/h".into());
        form.fields[2] = Field::new("Actions", "", "card.move".into());
        assert_eq!(form.validate(&Catalog::default()).and_then(|i| i.state), Some(SubscriptionState::Active));
        form.focus = START;
        assert!(form.on_choice());
        form.toggle();
        assert_eq!(form.validate(&Catalog::default()).and_then(|i| i.state), Some(SubscriptionState::Paused));
        let sub = crate::dashboard::screenshots::demo_app().subscriptions[0].clone();
        let editing = SubscriptionForm::new(Some(&sub));
        assert_eq!(editing.fields.len(), START, "an existing one's state is p's to change");
    }
}
