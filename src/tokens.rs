//! Admin and ingest tokens: from the environment or config, else generated once and kept in a
//! 0600 file next to the database.

use rand::Rng;
use std::path::{Path, PathBuf};
use subtle::ConstantTimeEq;

#[derive(Debug, Clone)]
pub struct Tokens {
    pub admin: String,
    pub ingest: String,
    /// Where generated tokens are kept, when any were generated.
    pub file: Option<PathBuf>,
}

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
    /// `admin`/`ingest` are what the environment or config gave; missing ones come from (or go to)
    /// `hookwatch.tokens` beside the database (or in `dir` when there is no database file).
    pub fn resolve(admin: Option<String>, ingest: Option<String>, dir: &Path) -> anyhow::Result<Tokens> {
        let admin = admin.filter(|t| !t.trim().is_empty());
        let ingest = ingest.filter(|t| !t.trim().is_empty());
        if let (Some(admin), Some(ingest)) = (&admin, &ingest) {
            return Ok(Tokens { admin: admin.clone(), ingest: ingest.clone(), file: None });
        }
        let file = dir.join("hookwatch.tokens");
        let (stored_admin, stored_ingest) = match std::fs::read_to_string(&file) {
            Ok(text) => parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                // First start: generate what was not given and keep it.
                let tokens = Tokens {
                    admin: admin.unwrap_or_else(generate),
                    ingest: ingest.unwrap_or_else(generate),
                    file: Some(file.clone()),
                };
                let text = format!("admin_token = {:?}\ningest_token = {:?}\n", tokens.admin, tokens.ingest);
                write_new_private(&file, &text)?;
                return Ok(tokens);
            }
            // Never replace a file that exists: clients hold the tokens in it.
            Err(e) => anyhow::bail!(
                "cannot read the token file {}: {e}; fix its permissions, or set HOOKWATCH_ADMIN_TOKEN and \
                 HOOKWATCH_INGEST_TOKEN",
                file.display()
            ),
        };
        let missing = |key: &str| {
            anyhow::anyhow!(
                "the token file {} has no {key}; add `{key} = \"...\"` to it, or delete the file to generate new tokens",
                file.display()
            )
        };
        Ok(Tokens {
            admin: admin.or(stored_admin).ok_or_else(|| missing("admin_token"))?,
            ingest: ingest.or(stored_ingest).ok_or_else(|| missing("ingest_token"))?,
            file: Some(file),
        })
    }
}

/// The tokens kept in `dir`, if a token file is there (for clients such as `hookwatch send`).
pub fn stored(dir: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(dir.join("hookwatch.tokens")).ok()?;
    match parse(&text) {
        (Some(admin), Some(ingest)) => Some((admin, ingest)),
        _ => None,
    }
}

fn parse(text: &str) -> (Option<String>, Option<String>) {
    let value = |key: &str| {
        text.lines()
            .filter_map(|l| l.split_once('='))
            .find(|(k, _)| k.trim() == key)
            .map(|(_, v)| v.trim().trim_matches('"').to_string())
            .filter(|v| !v.is_empty())
    };
    (value("admin_token"), value("ingest_token"))
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
        let first = Tokens::resolve(None, None, dir.path()).unwrap();
        let file = first.file.clone().unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        let again = Tokens::resolve(None, None, dir.path()).unwrap();
        assert_eq!((first.admin, first.ingest), (again.admin, again.ingest));
        let given = Tokens::resolve(Some("a".into()), Some("i".into()), dir.path()).unwrap();
        assert_eq!((given.admin.as_str(), given.file), ("a", None));
    }

    #[test]
    fn an_unreadable_or_incomplete_token_file_is_refused_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("hookwatch.tokens");
        // A directory in its place cannot be read as a file, whoever runs the test (root too).
        std::fs::create_dir(&file).unwrap();
        let err = Tokens::resolve(None, None, dir.path()).unwrap_err().to_string();
        assert!(err.contains("cannot read the token file"), "{err}");
        assert!(file.is_dir(), "the unreadable path was replaced");
        std::fs::remove_dir(&file).unwrap();

        std::fs::write(&file, "admin_token = \"hw_kept\"\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let err = Tokens::resolve(None, None, dir.path()).unwrap_err().to_string();
        assert!(err.contains("has no ingest_token"), "{err}");
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "admin_token = \"hw_kept\"\n");
        // The missing one given from outside completes it, and the file is left as it was.
        let tokens = Tokens::resolve(None, Some("hw_given".into()), dir.path()).unwrap();
        assert_eq!((tokens.admin.as_str(), tokens.ingest.as_str()), ("hw_kept", "hw_given"));
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "admin_token = \"hw_kept\"\n");
    }

    #[test]
    fn comparison_is_exact() {
        assert!(matches("hw_abc", "hw_abc"));
        assert!(!matches("hw_ab", "hw_abc"));
        assert!(!matches("", "hw_abc"));
    }
}
