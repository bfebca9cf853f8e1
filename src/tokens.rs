//! Admin, ingest and viewer tokens: from the environment or config, else generated once and kept
//! in a 0600 file next to the database.

use crate::model::Actor;
use rand::Rng;
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;

#[derive(Debug, Clone)]
pub struct Tokens {
    pub admin: String,
    pub ingest: String,
    /// Reads everything the admin token reads, and changes nothing.
    pub viewer: String,
    /// Where generated tokens are kept, when any were generated.
    pub file: Option<PathBuf>,
}

/// The token kinds, in the order `Tokens::resolve` takes them, with their key in the token file.
const KEYS: [&str; 3] = ["admin_token", "ingest_token", "viewer_token"];

pub fn generate() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    format!("hw_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// Compares in constant time so response timing does not leak how much of a token matched.
pub fn matches(given: &str, expected: &str) -> bool {
    given.as_bytes().ct_eq(expected.as_bytes()).into()
}

impl Tokens {
    /// `given` are the admin, ingest and viewer tokens the environment or config gave; missing
    /// ones come from (or go to) `hookwatch.tokens` beside the database (or in `dir` when there is
    /// no database file). A token the file lacks is generated and appended to it: what the file
    /// already holds is never replaced, since clients hold those tokens.
    pub fn resolve(given: [Option<String>; 3], dir: &Path) -> anyhow::Result<Tokens> {
        let given = given.map(|t| t.filter(|t| !t.trim().is_empty()));
        if let [Some(admin), Some(ingest), Some(viewer)] = &given {
            return Ok(Tokens { admin: admin.clone(), ingest: ingest.clone(), viewer: viewer.clone(), file: None });
        }
        let file = dir.join("hookwatch.tokens");
        let stored = match std::fs::read_to_string(&file) {
            Ok(text) => Some(parse(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => anyhow::bail!(
                "cannot read the token file {}: {e}; fix its permissions, or set HOOKWATCH_ADMIN_TOKEN, \
                 HOOKWATCH_INGEST_TOKEN and HOOKWATCH_VIEWER_TOKEN",
                file.display()
            ),
        };
        let Some(stored) = stored else {
            // First start: generate what was not given and keep only that: a token given from
            // outside stays out of the file (it lives wherever the operator keeps it).
            let mut text = String::new();
            let [admin, ingest, viewer] = [0, 1, 2].map(|i| match &given[i] {
                Some(token) => token.clone(),
                None => {
                    let token = generate();
                    text += &format!("{} = {token:?}\n", KEYS[i]);
                    token
                }
            });
            write_new_private(&file, &text)?;
            return Ok(Tokens { admin, ingest, viewer, file: Some(file) });
        };
        let [admin, ingest, viewer] = [0, 1, 2].map(|i| given[i].clone().or_else(|| stored[i].clone()));
        let missing = |key: &str| {
            anyhow::anyhow!(
                "the token file {} has no {key}; add `{key} = \"...\"` to it, or delete the file to generate new tokens",
                file.display()
            )
        };
        let admin = admin.ok_or_else(|| missing(KEYS[0]))?;
        let ingest = ingest.ok_or_else(|| missing(KEYS[1]))?;
        // The viewer token came after the others: a file written before it gets one added.
        let viewer = match viewer {
            Some(v) => v,
            None => {
                let v = generate();
                append_private(&file, &format!("{} = {v:?}\n", KEYS[2]))?;
                v
            }
        };
        Ok(Tokens { admin, ingest, viewer, file: Some(file) })
    }

    /// Which kind `given` is, if any (admin first: a deployment may give two kinds one value).
    pub fn actor(&self, given: &str) -> Option<Actor> {
        [(Actor::Admin, &self.admin), (Actor::Ingest, &self.ingest), (Actor::Viewer, &self.viewer)]
            .into_iter()
            .find(|(_, token)| matches(given, token))
            .map(|(actor, _)| actor)
    }
}

/// The tokens kept in `dir`, if a token file is there (for clients such as `hookwatch send`).
pub fn stored(dir: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(dir.join("hookwatch.tokens")).ok()?;
    match parse(&text) {
        [Some(admin), Some(ingest), _] => Some((admin, ingest)),
        _ => None,
    }
}

/// The admin, ingest and viewer tokens a token file holds.
fn parse(text: &str) -> [Option<String>; 3] {
    KEYS.map(|key| {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().trim_matches('"').to_string())
            .filter(|v| !v.is_empty())
    })
}

/// Adds a line to the token file, whose other lines stay as they are.
fn append_private(path: &Path, line: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot add to the token file {}: {e}", path.display()))?;
    f.write_all(line.as_bytes())?;
    Ok(())
}

/// Writes a file that must not exist yet, readable by its owner only.
fn write_new_private(path: &Path, contents: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot write the token file {}: {e}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn generated_tokens_persist_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let first = Tokens::resolve([None, None, None], dir.path()).unwrap();
        let file = first.file.clone().unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        let again = Tokens::resolve([None, None, None], dir.path()).unwrap();
        assert_eq!((&first.admin, &first.ingest, &first.viewer), (&again.admin, &again.ingest, &again.viewer));
        assert_eq!(first.actor(&first.viewer), Some(Actor::Viewer));
        assert_eq!(first.actor("hw_other"), None);
        let given = Tokens::resolve([Some("a".into()), Some("i".into()), Some("v".into())], dir.path()).unwrap();
        assert_eq!((given.admin.as_str(), given.viewer.as_str(), given.file), ("a", "v", None));
    }

    #[test]
    fn an_unreadable_or_incomplete_token_file_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hookwatch.tokens");
        // A directory in its place cannot be read as a file, whoever runs the test (root too).
        std::fs::create_dir(&file).unwrap();
        let err = Tokens::resolve([None, None, None], dir.path()).unwrap_err().to_string();
        assert!(err.contains("cannot read the token file"), "{err}");
        assert!(file.is_dir(), "the unreadable path was replaced");
        std::fs::remove_dir(&file).unwrap();

        std::fs::write(&file, "admin_token = \"hw_kept\"\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = Tokens::resolve([None, None, None], dir.path()).unwrap_err().to_string();
        assert!(err.contains("has no ingest_token"), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "admin_token = \"hw_kept\"\n");
        // The missing one given from outside completes it, and the file is left as it was.
        let tokens = Tokens::resolve([None, Some("hw_given".into()), Some("hw_view".into())], dir.path()).unwrap();
        assert_eq!((tokens.admin.as_str(), tokens.ingest.as_str()), ("hw_kept", "hw_given"));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "admin_token = \"hw_kept\"\n");
    }

    /// Tokens given from the environment are never written to the file; only the generated one is.
    #[test]
    fn given_tokens_stay_out_of_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let tokens =
            Tokens::resolve([Some("hw_env_admin".into()), Some("hw_env_ingest".into()), None], dir.path()).unwrap();
        let text = std::fs::read_to_string(tokens.file.unwrap()).unwrap();
        assert_eq!(text, format!("viewer_token = {:?}\n", tokens.viewer));
        let again =
            Tokens::resolve([Some("hw_env_admin".into()), Some("hw_env_ingest".into()), None], dir.path()).unwrap();
        assert_eq!(again.viewer, tokens.viewer, "the generated one is kept");
    }

    /// A file written before the viewer token existed keeps its two tokens and gains a viewer
    /// token, the same at every start after.
    #[test]
    fn a_file_without_a_viewer_token_gets_one_added() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hookwatch.tokens");
        let old = "admin_token = \"hw_a\"\ningest_token = \"hw_i\"\n";
        std::fs::write(&file, old).unwrap();
        let first = Tokens::resolve([None, None, None], dir.path()).unwrap();
        assert_eq!((first.admin.as_str(), first.ingest.as_str()), ("hw_a", "hw_i"));
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(text.starts_with(old) && text.contains(&format!("viewer_token = {:?}", first.viewer)), "{text}");
        let again = Tokens::resolve([None, None, None], dir.path()).unwrap();
        assert_eq!(again.viewer, first.viewer);
    }

    #[test]
    fn comparison_is_exact() {
        assert!(matches("hw_abc", "hw_abc"));
        assert!(!matches("hw_ab", "hw_abc"));
        assert!(!matches("", "hw_abc"));
    }
}
