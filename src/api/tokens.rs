//! Admin, ingest and viewer tokens: from the environment or config, else generated once and kept
//! in a 0600 file next to the database. The file may also hold named tokens of each kind
//! (`admin_token.alice = "hw_…"`), one per person or tool, so the audit log says who acted.

use crate::domain::model::{Actor, Caller};
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
    /// The named tokens the token file holds.
    pub named: Vec<NamedToken>,
}

/// A token the token file names: `admin_token.alice = "hw_…"`.
#[derive(Debug, Clone)]
pub struct NamedToken {
    pub actor: Actor,
    pub name: String,
    token: String,
}

/// The longest name a token may have.
const MAX_NAME: usize = 32;

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
        let file = dir.join("hookwatch.tokens");
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => Some(text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => anyhow::bail!(
                "cannot read the token file {}: {e}; fix its permissions, or set HOOKWATCH_ADMIN_TOKEN, \
                 HOOKWATCH_INGEST_TOKEN and HOOKWATCH_VIEWER_TOKEN",
                file.display()
            ),
        };
        let named = text.as_deref().map(|t| parse_named(t, &file)).transpose()?.unwrap_or_default();
        if let [Some(admin), Some(ingest), Some(viewer)] = &given {
            let (admin, ingest, viewer) = (admin.clone(), ingest.clone(), viewer.clone());
            return Ok(Tokens { admin, ingest, viewer, file: None, named });
        }
        let stored = text.as_deref().map(parse);
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
            return Ok(Tokens { admin, ingest, viewer, file: Some(file), named });
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
        Ok(Tokens { admin, ingest, viewer, file: Some(file), named })
    }

    /// Who `given` is: a named token's kind and name, else the kind of the unnamed token it is.
    pub fn caller(&self, given: &str) -> Option<Caller> {
        // Every named token is compared, so the time taken does not say which one matched.
        let named = self.named.iter().fold(None, |found, n| {
            let hit = matches(given, &n.token);
            found.or(hit.then(|| Caller { actor: n.actor, name: Some(n.name.clone()), request_id: None }))
        });
        named.or_else(|| self.actor(given).map(Caller::from))
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

/// The named tokens a token file holds (`<kind>_token.<name> = "…"`).
fn parse_named(text: &str, file: &Path) -> anyhow::Result<Vec<NamedToken>> {
    let mut named: Vec<NamedToken> = Vec::new();
    for (key, value) in text.lines().filter_map(|l| l.split_once('=')) {
        let Some((kind, name)) = key.trim().split_once('.') else { continue };
        let Some(i) = KEYS.iter().position(|k| *k == kind) else {
            anyhow::bail!(
                "the token file {} has {key:?}: a named token is admin_token.<name>, ingest_token.<name> or viewer_token.<name>",
                file.display()
            );
        };
        let actor = [Actor::Admin, Actor::Ingest, Actor::Viewer][i];
        let valid = !name.is_empty()
            && name.len() <= MAX_NAME
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        let token = value.trim().trim_matches('"').to_string();
        if !valid {
            anyhow::bail!(
                "the token name {name:?} in {} is not valid: use letters, digits, - and _ (at most {MAX_NAME})",
                file.display()
            );
        }
        if token.len() < 16 {
            anyhow::bail!(
                "the token {kind}.{name} in {} is shorter than 16 characters; make it longer (hookwatch generates hw_ and 48 hex digits)",
                file.display()
            );
        }
        if named.iter().any(|n| n.name == name || n.token == token) {
            anyhow::bail!(
                "the token file {} has {name:?} twice, or two names with one token; give each its own",
                file.display()
            );
        }
        named.push(NamedToken { actor, name: name.to_string(), token });
    }
    Ok(named)
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

    /// Named tokens of each kind sit beside the unnamed ones; each is known by its name, and a
    /// name the file gets wrong is refused with what to write.
    #[test]
    fn named_tokens_say_who_is_calling() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hookwatch.tokens");
        let text = "admin_token = \"hw_admin\"\ningest_token = \"hw_ingest\"\nviewer_token = \"hw_viewer\"\n\
                    admin_token.alice = \"hw_alice_0123456789\"\nviewer_token.noc-screen = \"hw_noc_0123456789\"\n";
        std::fs::write(&file, text).unwrap();
        let tokens = Tokens::resolve([None, None, None], dir.path()).unwrap();
        let alice = tokens.caller("hw_alice_0123456789").unwrap();
        assert_eq!((alice.actor, alice.name.as_deref()), (Actor::Admin, Some("alice")));
        let noc = tokens.caller("hw_noc_0123456789").unwrap();
        assert_eq!((noc.actor, noc.name.as_deref()), (Actor::Viewer, Some("noc-screen")));
        assert_eq!(tokens.caller("hw_admin"), Some(Caller::from(Actor::Admin)));
        assert_eq!(tokens.caller("hw_alice_012345678"), None);
        // Given from the environment, the unnamed tokens still sit beside the file's named ones.
        let given = Tokens::resolve([Some("a".into()), Some("i".into()), Some("v".into())], dir.path()).unwrap();
        assert_eq!(given.caller("hw_alice_0123456789").and_then(|c| c.name).as_deref(), Some("alice"));

        std::fs::write(&file, format!("{text}admin_token.bob smith = \"hw_bob_0123456789\"\n")).unwrap();
        let err = Tokens::resolve([None, None, None], dir.path()).unwrap_err().to_string();
        assert!(err.contains("\"bob smith\" in") && err.contains("letters, digits"), "{err}");
        std::fs::write(&file, format!("{text}root_token.bob = \"hw_bob_0123456789\"\n")).unwrap();
        let err = Tokens::resolve([None, None, None], dir.path()).unwrap_err().to_string();
        assert!(err.contains("admin_token.<name>"), "{err}");
    }

    #[test]
    fn comparison_is_exact() {
        assert!(matches("hw_abc", "hw_abc"));
        assert!(!matches("hw_ab", "hw_abc"));
        assert!(!matches("", "hw_abc"));
    }
}
