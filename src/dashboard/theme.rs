//! Colours, and their absence: with `NO_COLOR` or `--no-color` every style falls back to bold,
//! dim and reverse, and state is always carried by a glyph as well.

use crate::model::{DeliveryStatus, SubscriptionState};
use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set (to anything non-empty) or `--no-color` was given.
    pub fn detect(no_color_flag: bool) -> Self {
        let env = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Theme { color: !(no_color_flag || env) }
    }

    fn fg(&self, c: Color) -> Style {
        if self.color { Style::new().fg(c) } else { Style::new() }
    }

    pub fn ok(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn warn(&self) -> Style {
        self.fg(Color::Yellow)
    }
    pub fn bad(&self) -> Style {
        if self.color { Style::new().fg(Color::Red) } else { Style::new().add_modifier(Modifier::BOLD) }
    }
    pub fn accent(&self) -> Style {
        self.fg(Color::Cyan)
    }
    pub fn dim(&self) -> Style {
        if self.color { Style::new().fg(Color::DarkGray) } else { Style::new().add_modifier(Modifier::DIM) }
    }
    pub fn bold(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn title_bar(&self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Cyan)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }
    pub fn border(&self, focused: bool) -> Style {
        match (focused, self.color) {
            (true, true) => Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            (true, false) => Style::new().add_modifier(Modifier::BOLD),
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
