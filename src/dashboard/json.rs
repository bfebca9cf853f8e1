//! Pretty-prints JSON into lines of typed tokens, once per inspected event, so the view can colour
//! it without re-parsing on every frame.

use super::sanitize::clean;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Token {
    Punct,
    Key,
    Str,
    Num,
    Bool,
    Null,
}

pub type JsonLine = Vec<(Token, String)>;

/// The lines of `value`, indented by two spaces; strings are escaped for the terminal.
pub fn lines(value: &Value) -> Vec<JsonLine> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    emit(value, 0, &mut current, &mut out);
    out.push(current);
    out
}

fn indent(level: usize) -> (Token, String) {
    (Token::Punct, "  ".repeat(level))
}

fn quoted(s: &str) -> String {
    // serde_json's escaping, then the terminal-safety pass for anything it left.
    clean(&serde_json::to_string(s).unwrap_or_default()).into_owned()
}

fn emit(value: &Value, level: usize, line: &mut JsonLine, out: &mut Vec<JsonLine>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            let members = map.iter().map(|(k, v)| (Some(k.as_str()), v));
            emit_container(("{", "}"), members, map.len(), level, line, out);
        }
        Value::Array(items) if !items.is_empty() => {
            emit_container(("[", "]"), items.iter().map(|v| (None, v)), items.len(), level, line, out);
        }
        Value::Object(_) => line.push((Token::Punct, "{}".into())),
        Value::Array(_) => line.push((Token::Punct, "[]".into())),
        Value::String(s) => line.push((Token::Str, quoted(s))),
        Value::Number(n) => line.push((Token::Num, n.to_string())),
        Value::Bool(b) => line.push((Token::Bool, b.to_string())),
        Value::Null => line.push((Token::Null, "null".into())),
    }
}

/// An object's members (with keys) or an array's items, one per line, indented one level deeper.
fn emit_container<'v>(
    (open, close): (&str, &str),
    members: impl Iterator<Item = (Option<&'v str>, &'v Value)>,
    n: usize,
    level: usize,
    line: &mut JsonLine,
    out: &mut Vec<JsonLine>,
) {
    line.push((Token::Punct, open.into()));
    for (i, (key, value)) in members.enumerate() {
        out.push(std::mem::take(line));
        line.push(indent(level + 1));
        if let Some(key) = key {
            line.push((Token::Key, quoted(key)));
            line.push((Token::Punct, ": ".into()));
        }
        emit(value, level + 1, line, out);
        if i + 1 < n {
            line.push((Token::Punct, ",".into()));
        }
    }
    out.push(std::mem::take(line));
    line.push(indent(level));
    line.push((Token::Punct, close.into()));
}

/// Lines of text that is not JSON (or too large to pretty-print): shown as plain, escaped strings.
pub fn plain(text: &str) -> Vec<JsonLine> {
    text.lines().map(|l| vec![(Token::Str, clean(l).into_owned())]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(lines: &[JsonLine]) -> String {
        lines.iter().map(|l| l.iter().map(|(_, s)| s.as_str()).collect::<String>()).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn pretty_prints_like_serde_and_escapes_controls() {
        let v: Value = serde_json::from_str(r#"{"a":[1,true,null],"b":{"c":"x\u001b[31m"},"d":{}}"#).unwrap();
        let got = text(&lines(&v));
        let expected = serde_json::to_string_pretty(&v).unwrap();
        assert_eq!(got, expected);
        assert!(!got.contains('\x1b'));
    }
}
