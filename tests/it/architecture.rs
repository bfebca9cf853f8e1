//! The import graph between the crate's top-level modules, read from the source: it must have no
//! cycle (ARCHITECTURE.md: data flows one way), and the plain types import nothing of the flow.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Each top-level module and the other top-level modules its non-test code names as `crate::…`.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut sources: BTreeMap<String, String> = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        if name == "lib" || name == "main" {
            continue;
        }
        let mut text = String::new();
        let mut pending = vec![path];
        while let Some(p) = pending.pop() {
            if p.is_dir() {
                pending.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
            } else if p.extension().is_some_and(|e| e == "rs") {
                let file = std::fs::read_to_string(&p).unwrap();
                // Unit tests may reach anywhere; the shape is about the code that ships.
                text += file.split("#[cfg(test)]").next().unwrap_or_default();
            }
        }
        sources.insert(name, text);
    }
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    sources
        .iter()
        .map(|(name, text)| {
            let imports = text
                .split("crate::")
                .skip(1)
                .map(|rest| rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect::<String>())
                .filter(|m| m != name && modules.contains(m))
                .collect();
            (name.clone(), imports)
        })
        .collect()
}

/// A path from `from` back to itself, if the graph has one.
fn cycle_through(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_string()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        for next in &graph[path.last().unwrap()] {
            if next == from {
                return Some([path.clone(), vec![next.clone()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push([path.clone(), vec![next.clone()]].concat());
            }
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let graph = import_graph();
    assert!(graph.len() > 15 && graph["engine"].contains("store"), "the graph was read: {graph:?}");
    for module in graph.keys() {
        if let Some(cycle) = cycle_through(&graph, module) {
            panic!("import cycle: {}", cycle.join(" → "));
        }
    }
}

#[test]
fn plain_types_import_nothing_of_the_flow() {
    let graph = import_graph();
    for types in ["model", "error", "secret", "signals"] {
        assert!(graph[types].is_empty(), "{types} imports {:?}", graph[types]);
    }
    for (lower, higher) in [("store", "dispatch"), ("store", "feed"), ("store", "engine"), ("dispatch", "engine")] {
        assert!(!graph[lower].contains(higher), "{lower} imports {higher}, a later stage");
    }
}
