//! Saved views: `:view save NAME` keeps the stream filter, the table's order, the zoom and the
//! focused pane under a name in `~/.config/hookwatch/views.toml` (XDG); `:view NAME` brings them
//! back, in this run or a later one.

use super::columns::Column;
use super::layout::Pane;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What a view brings back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedView {
    /// The stream filter as typed (`""`: none).
    #[serde(default)]
    pub filter: String,
    pub sort: Column,
    #[serde(default)]
    pub reversed: bool,
    #[serde(default)]
    pub zoomed: bool,
    pub focus: Pane,
}

/// The views by name, and where they are kept.
#[derive(Debug, Clone, Default)]
pub struct Views {
    pub path: Option<PathBuf>,
    pub saved: BTreeMap<String, SavedView>,
}

/// Where the file is: `$XDG_CONFIG_HOME/hookwatch/views.toml`, else `~/.config/hookwatch/views.toml`.
pub fn path() -> Option<PathBuf> {
    use etcetera::BaseStrategy;
    etcetera::choose_base_strategy().ok().map(|dirs| dirs.config_dir().join("hookwatch").join("views.toml"))
}

impl Views {
    /// The views kept at `path` (none yet when the file is missing).
    pub fn load(path: Option<PathBuf>) -> Result<Views, String> {
        let Some(path) = path else { return Ok(Views::default()) };
        let saved = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
        };
        Ok(Views { path: Some(path), saved })
    }

    /// Keeps `view` as `name` (replacing one of that name), in memory and in the file.
    pub fn save(&mut self, name: &str, view: SavedView) -> Result<(), String> {
        let name = name.trim();
        if name.is_empty() || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("{name:?} cannot name a view: use one word, e.g. :view save incident"));
        }
        let Some(path) = self.path.clone() else {
            return Err("no config folder to keep views in (set HOME or XDG_CONFIG_HOME)".into());
        };
        let mut saved = self.saved.clone();
        saved.insert(name.to_string(), view);
        write(&path, &saved)?;
        self.saved = saved;
        Ok(())
    }
}

/// Writes the file whole through a temporary one, so a crash leaves the old or the new, never half.
fn write(path: &Path, saved: &BTreeMap<String, SavedView>) -> Result<(), String> {
    let text = toml::to_string_pretty(saved).map_err(|e| format!("cannot write the views: {e}"))?;
    let folder = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(folder).map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
    let partial = path.with_extension("toml.partial");
    std::fs::write(&partial, text).map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
    std::fs::rename(&partial, path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(filter: &str) -> SavedView {
        SavedView { filter: filter.into(), sort: Column::Backlog, reversed: true, zoomed: false, focus: Pane::Stream }
    }

    #[test]
    fn a_saved_view_reads_back_in_a_later_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hookwatch/views.toml");
        let mut views = Views::load(Some(path.clone())).unwrap();
        assert!(views.saved.is_empty(), "no file yet: no views");
        views.save("incident", view("status:dead")).unwrap();
        views.save("moves", view("action:card.move")).unwrap();
        views.save("incident", view("status:failed")).unwrap();
        let again = Views::load(Some(path.clone())).unwrap();
        assert_eq!(again.saved.len(), 2);
        assert_eq!(again.saved["incident"], view("status:failed"), "saved again under its name: replaced");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("[incident]") && text.contains("sort = \"backlog\""), "{text}");
    }

    #[test]
    fn a_name_that_is_not_one_word_or_a_broken_file_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let mut views = Views::load(Some(dir.path().join("views.toml"))).unwrap();
        assert!(views.save("two words", view("")).unwrap_err().contains("use one word"));
        std::fs::write(dir.path().join("views.toml"), "[x]\nsort = \"nope\"\n").unwrap();
        let error = Views::load(Some(dir.path().join("views.toml"))).unwrap_err();
        assert!(error.contains("views.toml") && error.contains("nope"), "{error}");
    }
}
