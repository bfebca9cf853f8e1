//! The W3C Trace Context an event carries: its `traceparent` (and `tracestate`), read from an
//! ingest's headers (an invalid one is ignored, as W3C Trace Context says: the request is not
//! refused), kept with the event, and the parent of every delivery attempt's own.

/// A `traceparent` (version 00): the trace, the span it names, and the trace flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TraceParent {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// Bit 0 is `sampled`; the others are passed on as they came.
    pub flags: u8,
}

/// An event's trace context: its `traceparent`, and the `tracestate` that came with it (vendors'
/// entries, which W3C asks every participant to pass on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceContext {
    pub parent: TraceParent,
    pub state: Option<String>,
}

/// The longest `tracestate` kept: W3C asks that at least 512 characters be passed on; a longer one
/// is left out whole rather than cut through a vendor's entry.
const STATE_LIMIT: usize = 512;
/// W3C's most list members in a `tracestate`; with more it is discarded.
const STATE_MEMBERS: usize = 32;

impl TraceContext {
    /// From a request's `traceparent` and its `tracestate` values (several headers are one list):
    /// `None` without a valid parent (the state is then not read, as W3C says); the state is left
    /// out when empty, over 512 characters or 32 entries, or not printable ASCII.
    pub fn read(traceparent: &str, tracestate: &[&str]) -> Option<TraceContext> {
        let parent = TraceParent::parse(traceparent)?;
        let members: Vec<&str> = tracestate
            .iter()
            .flat_map(|s| s.split(','))
            .map(|m| m.trim_matches([' ', '\t']))
            .filter(|m| !m.is_empty())
            .collect();
        let state = members.join(",");
        let keep = !members.is_empty()
            && members.len() <= STATE_MEMBERS
            && state.len() <= STATE_LIMIT
            && state.bytes().all(|b| (0x20..=0x7e).contains(&b));
        Some(TraceContext { parent, state: keep.then_some(state) })
    }
}

/// The length of a version 00 header: `00-` 32 hex `-` 16 hex `-` 2 hex.
const LENGTH: usize = 55;

impl TraceParent {
    /// Reads a header as W3C Trace Context's processing model does: lowercase hex fields, no
    /// all-zero trace or span id, version `ff` refused; a later version is read for the fields
    /// it shares with 00 (it may be longer, a `-` after them). `None` for anything else.
    pub fn parse(header: &str) -> Option<TraceParent> {
        let text = header.trim_matches([' ', '\t']).as_bytes();
        if text.len() < LENGTH || text[2] != b'-' || text[35] != b'-' || text[52] != b'-' {
            return None;
        }
        let version = hex::<1>(&text[0..2])?[0];
        let fits = match version {
            0 => text.len() == LENGTH,
            0xff => false,
            _ => text.len() == LENGTH || text[LENGTH] == b'-',
        };
        let parent = TraceParent {
            trace_id: hex(&text[3..35])?,
            span_id: hex(&text[36..52])?,
            flags: hex::<1>(&text[53..55])?[0],
        };
        (fits && parent.trace_id != [0; 16] && parent.span_id != [0; 8]).then_some(parent)
    }

    pub fn sampled(&self) -> bool {
        self.flags & 1 == 1
    }
}

/// `N` bytes from `2 * N` lowercase hex digits (W3C allows no capitals).
fn hex<const N: usize>(digits: &[u8]) -> Option<[u8; N]> {
    let value = |d: u8| match d {
        b'0'..=b'9' => Some(d - b'0'),
        b'a'..=b'f' => Some(d - b'a' + 10),
        _ => None,
    };
    let mut bytes = [0; N];
    for (byte, pair) in bytes.iter_mut().zip(digits.chunks_exact(2)) {
        *byte = value(pair[0])? << 4 | value(pair[1])?;
    }
    (digits.len() == 2 * N).then_some(bytes)
}

impl std::fmt::Display for TraceParent {
    /// The version 00 header.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("00-")?;
        self.trace_id.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        f.write_str("-")?;
        self.span_id.iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        write!(f, "-{:02x}", self.flags)
    }
}

impl std::str::FromStr for TraceParent {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        TraceParent::parse(text).ok_or_else(|| format!("{text:?} is not a W3C traceparent"))
    }
}

#[cfg(test)]
mod tests {
    use super::{TraceContext, TraceParent};

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_header_reads_back_as_it_was_written() {
        let parent = TraceParent::parse(VALID).unwrap();
        assert_eq!(parent.trace_id[..2], [0x4b, 0xf9]);
        assert_eq!(parent.span_id[7], 0xb7);
        assert!(parent.sampled());
        assert_eq!(parent.to_string(), VALID);
        assert_eq!(TraceParent::parse(&format!(" {VALID}\t")), Some(parent), "optional whitespace around it");
        let later = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what-comes-next";
        assert_eq!(TraceParent::parse(later).map(|p| (p.flags, p.to_string().starts_with("00-"))), Some((0, true)));
    }

    #[test]
    fn a_tracestate_is_kept_with_a_valid_parent_only_and_within_w3cs_bounds() {
        let read = |parent: &str, states: &[&str]| TraceContext::read(parent, states).map(|c| c.state);
        assert_eq!(
            read(VALID, &["congo=t61rcWkgMzE", " rojo=00f067aa0ba902b7 ,"]),
            Some(Some("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7".into()))
        );
        assert_eq!(read(VALID, &[]), Some(None));
        assert_eq!(read("00-bad", &["congo=t61rcWkgMzE"]), None, "no state without its parent");
        assert_eq!(read(VALID, &[&"a=b,".repeat(33)]), Some(None), "over 32 entries: dropped whole");
        assert_eq!(read(VALID, &[&format!("a={}", "x".repeat(600))]), Some(None), "over 512 characters");
        assert_eq!(read(VALID, &["a=\u{e9}"]), Some(None), "not printable ASCII");
    }

    #[test]
    fn what_w3c_calls_invalid_is_not_read() {
        for invalid in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "0x-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::parse(invalid), None, "{invalid:?}");
        }
    }
}
