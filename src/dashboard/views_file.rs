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
    /// Why the file could not be read at start: the dashboard starts without its views (they
    /// are a convenience, never a reason not to watch), and saving is refused until it is fixed,
    /// so the file is not written over.
    pub unreadable: Option<String>,
}

/// Where the file is: `$XDG_CONFIG_HOME/hookwatch/views.toml`, else `~/.config/hookwatch/views.toml`.
pub fn path() -> Option<PathBuf> {
    super::config_file("views.toml")
}

impl Views {
    /// The views kept at `path` (none yet when the file is missing; none, and why, when it
    /// cannot be read).
    pub fn load(path: Option<PathBuf>) -> Views {
        let Some(path) = path else { return Views::default() };
        match read(&path) {
            Ok(saved) => Views { path: Some(path), saved, unreadable: None },
            Err(e) => Views { path: Some(path), saved: BTreeMap::new(), unreadable: Some(e) },
        }
    }

    /// Keeps `view` as `name` (replacing one of that name), in memory and in the file, over what
    /// the file holds now (another dashboard may have saved since this one read it).
    pub fn save(&mut self, name: &str, view: SavedView) -> Result<(), String> {
        let name = name.trim();
        if name.is_empty() || name == "save" || name.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("{name:?} cannot name a view: use one word other than save, e.g. :view save incident"));
        }
        if let Some(why) = &self.unreadable {
            return Err(format!("{why}; fix or remove it, then restart, to save views"));
        }
        let Some(path) = self.path.clone() else {
            return Err("no config folder to keep views in (set HOME or XDG_CONFIG_HOME)".into());
        };
        let mut saved = read(&path)?;
        saved.insert(name.to_string(), view);
        write(&path, &saved)?;
        self.saved = saved;
        Ok(())
    }
}

/// The views the file at `path` holds (none when it is missing).
fn read(path: &Path) -> Result<BTreeMap<String, SavedView>, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| format!("{}: {}", path.display(), e.message())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(format!("cannot read {}: {e}", path.display())),
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
        let mut views = Views::load(Some(path.clone()));
        assert!(views.saved.is_empty() && views.unreadable.is_none(), "no file yet: no views");
        let mut other = Views::load(Some(path.clone()));
        views.save("incident", view("status:dead")).unwrap();
        other.save("moves", view("action:card.move")).unwrap();
        views.save("incident", view("status:failed")).unwrap();
        let again = Views::load(Some(path.clone()));
        assert_eq!(again.saved.len(), 2);
        assert_eq!(again.saved["incident"], view("status:failed"), "saved again under its name: replaced");
        assert_eq!(again.saved["moves"], view("action:card.move"), "what another dashboard saved meanwhile stays");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("[incident]") && text.contains("sort = \"backlog\""), "{text}");
    }

    #[test]
    fn a_name_that_is_not_one_word_or_a_broken_file_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let mut views = Views::load(Some(dir.path().join("views.toml")));
        assert!(views.save("two words", view("")).unwrap_err().contains("use one word"));
        assert!(views.save("save", view("")).unwrap_err().contains("other than save"));
        let broken = "[x]\nsort = \"nope\"\n";
        std::fs::write(dir.path().join("views.toml"), broken).unwrap();
        let mut views = Views::load(Some(dir.path().join("views.toml")));
        let why = views.unreadable.clone().unwrap();
        assert!(why.contains("views.toml") && why.contains("nope"), "{why}");
        assert!(views.save("incident", view("")).unwrap_err().contains("fix or remove it"));
        assert_eq!(std::fs::read_to_string(dir.path().join("views.toml")).unwrap(), broken, "not written over");
    }
}
