//! The ingest parser and validator: any bytes give a verdict, never a panic; an accepted body
//! names a catalog action.
#![no_main]
use hookwatch::domain::catalog::Catalog;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let catalog = Catalog::new(&["deploy.finished".to_string()]);
    if let Ok(facts) = hookwatch::validate::payload::inspect(data, &catalog) {
        assert!(catalog.canonical(&facts.action).is_some());
        assert!(std::str::from_utf8(data).is_ok(), "accepted bodies are UTF-8");
    }
});
