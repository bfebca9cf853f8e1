//! Terminal escaping: no control or bidi-override character survives `clean`.
#![no_main]
use hookwatch::dashboard::sanitize::clean;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cleaned = clean(&text);
    assert!(!cleaned.chars().any(|c| c.is_control() || ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c)));
});
