//! Colours, and their absence: three palettes (`--theme`), and with `NO_COLOR` or `--no-color`
//! every style falls back to bold, dim and reverse. State is always carried by a glyph as well.

use crate::config::ThemeName;
use crate::domain::model::{DeliveryStatus, SubscriptionState};
use ratatui::style::{Color, Modifier, Style};

/// The colours a palette gives each role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Palette {
    ok: Color,
    warn: Color,
    bad: Color,
    accent: Color,
    dim: Color,
    /// The header bar: text on background.
    title: (Color, Color),
    /// The selected row: `None` reverses it.
    selected: Option<(Color, Color)>,
    /// States and borders in bold as well as colour.
    bold_states: bool,
}

impl Palette {
    fn of(name: ThemeName) -> Palette {
        match name {
            ThemeName::Default => Palette {
                ok: Color::Indexed(114),
                warn: Color::Indexed(221),
                bad: Color::Indexed(203),
                accent: Color::Indexed(75),
                dim: Color::Indexed(244),
                title: (Color::Indexed(16), Color::Indexed(75)),
                selected: None,
                bold_states: false,
            },
            ThemeName::HighContrast => Palette {
                ok: Color::LightGreen,
                warn: Color::LightYellow,
                bad: Color::LightRed,
                accent: Color::LightCyan,
                // Secondary text stays readable: grey, not dark grey.
                dim: Color::Gray,
                title: (Color::Black, Color::White),
                selected: Some((Color::Black, Color::LightYellow)),
                bold_states: true,
            },
            ThemeName::Sixteen => Palette {
                ok: Color::Green,
                warn: Color::Yellow,
                bad: Color::Red,
                accent: Color::Cyan,
                dim: Color::DarkGray,
                title: (Color::Black, Color::Cyan),
                selected: None,
                bold_states: false,
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    /// `None`: no colour at all.
    palette: Option<Palette>,
}

impl Theme {
    /// No colour: what `--no-color` and `NO_COLOR` give, and what the text snapshots are drawn in.
    pub const PLAIN: Theme = Theme { palette: None };

    pub fn named(name: ThemeName) -> Self {
        Theme { palette: Some(Palette::of(name)) }
    }

    /// `name`'s colours unless `NO_COLOR` is set (to anything non-empty) or `--no-color` was given.
    pub fn detect(no_color_flag: bool, name: ThemeName) -> Self {
        let env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        if no_color_flag || env { Theme::PLAIN } else { Theme::named(name) }
    }

    fn role(&self, pick: fn(&Palette) -> Color) -> Style {
        match &self.palette {
            Some(p) if p.bold_states => Style::new().fg(pick(p)).add_modifier(Modifier::BOLD),
            Some(p) => Style::new().fg(pick(p)),
            None => Style::new(),
        }
    }

    pub fn ok(&self) -> Style {
        self.role(|p| p.ok)
    }
    pub fn warn(&self) -> Style {
        self.role(|p| p.warn)
    }
    pub fn bad(&self) -> Style {
        match self.palette {
            Some(_) => self.role(|p| p.bad),
            None => Style::new().add_modifier(Modifier::BOLD),
        }
    }
    pub fn accent(&self) -> Style {
        self.role(|p| p.accent)
    }
    pub fn dim(&self) -> Style {
        match &self.palette {
            Some(p) => Style::new().fg(p.dim),
            None => Style::new().add_modifier(Modifier::DIM),
        }
    }
    pub fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        match self.palette.and_then(|p| p.selected) {
            Some((fg, bg)) => Style::new().fg(fg).bg(bg).add_modifier(Modifier::BOLD),
            None => Style::new().add_modifier(Modifier::REVERSED),
        }
    }
    pub fn title_bar(&self) -> Style {
        match &self.palette {
            Some(p) => Style::new().fg(p.title.0).bg(p.title.1),
            None => Style::new().add_modifier(Modifier::REVERSED),
        }
    }
    pub fn border(&self, focused: bool) -> Style {
        match (focused, &self.palette) {
            (true, Some(p)) => Style::new().fg(p.accent).add_modifier(Modifier::BOLD),
            (true, None) => Style::new().add_modifier(Modifier::BOLD),
            (false, _) => self.dim(),
        }
    }

    /// Style for a success rate (0..1): green from 99%, yellow from 90%, red below.
    pub fn rate(&self, rate: Option<f64>) -> Style {
        match rate {
            None => self.dim(),
            Some(r) if r >= 0.99 => self.ok(),
            Some(r) if r >= 0.90 => self.warn(),
            Some(_) => self.bad(),
        }
    }

    pub fn delivery(&self, status: DeliveryStatus) -> (&'static str, Style) {
        match status {
            DeliveryStatus::Succeeded => ("✓", self.ok()),
            DeliveryStatus::Pending => ("•", self.accent()),
            DeliveryStatus::Retrying => ("↻", self.warn()),
            DeliveryStatus::Dead => ("✗", self.bad()),
            DeliveryStatus::Cancelled => ("⊘", self.dim()),
        }
    }

    pub fn subscription(&self, state: SubscriptionState) -> (&'static str, Style) {
        match state {
            SubscriptionState::Active => ("●", self.ok()),
            SubscriptionState::Paused => ("‖", self.warn()),
            SubscriptionState::Disabled => ("✗", self.bad()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every palette keeps its roles apart: a failure never looks like a success or a warning.
    #[test]
    fn each_palette_tells_its_states_apart() {
        for name in [ThemeName::Default, ThemeName::HighContrast, ThemeName::Sixteen] {
            let t = Theme::named(name);
            let styles = [t.ok(), t.warn(), t.bad(), t.accent(), t.dim()];
            for (i, a) in styles.iter().enumerate() {
                for b in &styles[i + 1..] {
                    assert_ne!(a.fg, b.fg, "{name:?}");
                }
            }
        }
        let sixteen = Theme::named(ThemeName::Sixteen);
        let basic = |c: Option<Color>| !matches!(c, Some(Color::Indexed(_) | Color::Rgb(..)));
        assert!([sixteen.ok(), sixteen.bad(), sixteen.dim(), sixteen.title_bar()].iter().all(|s| basic(s.fg)));
        assert_eq!(Theme::PLAIN.ok().fg, None, "no colour at all");
    }
}
