//! The import graph of the crate's shipped code, read from the source with `syn`: no cycle between
//! the stages (the top-level folders and files), none between the files of any folder, and the
//! plain types (`domain`) import nothing of the flow, nor the settings anything but them (ARCHITECTURE.md:
//! data flows one way).
//!
//! A path is followed through a folder's re-exports (`pub use child::Item` in its `mod.rs`) to
//! the file that defines the item, so a re-export cannot hide an edge. A folder's `mod.rs` is its
//! face, not one of its files: what a file takes from it (`super::Engine`) is not an edge between
//! files.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use syn::visit::Visit;

type Module = Vec<String>;

/// Every module of `src/` (a file, or a folder for its `mod.rs`) and the modules its code names.
struct Crate {
    edges: BTreeMap<Module, BTreeSet<Module>>,
}

/// What one file names: paths as written, and its re-exports (for a `mod.rs`).
#[derive(Default)]
struct Names {
    paths: Vec<Vec<String>>,
    reexports: Vec<Vec<String>>,
}

impl<'a> Visit<'a> for Names {
    fn visit_item(&mut self, item: &'a syn::Item) {
        // Unit tests may reach anywhere; the shape is about the code that ships.
        let attrs = match item {
            syn::Item::Mod(m) => &m.attrs,
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            syn::Item::Use(u) => &u.attrs,
            _ => return syn::visit::visit_item(self, item),
        };
        let test_only = attrs.iter().any(|a| a.path().is_ident("cfg") && quote_of(a).contains("test"));
        if !test_only {
            syn::visit::visit_item(self, item);
        }
    }

    fn visit_item_use(&mut self, item: &'a syn::ItemUse) {
        let mut paths = Vec::new();
        flatten(&item.tree, Vec::new(), &mut paths);
        let public = !matches!(item.vis, syn::Visibility::Inherited);
        for path in paths {
            if public {
                self.reexports.push(path.clone())
            }
            self.paths.push(path);
        }
    }

    fn visit_path(&mut self, path: &'a syn::Path) {
        self.paths.push(path.segments.iter().map(|s| s.ident.to_string()).collect());
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'a syn::Macro) {
        // Macro arguments are tokens, not syntax: read `crate :: a :: b` sequences from them.
        let text = mac.tokens.to_string().replace(' ', "");
        for rest in text.split("crate::").skip(1) {
            let path = rest.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')).next().unwrap_or("");
            self.paths.push(std::iter::once("crate").chain(path.split("::")).map(String::from).collect());
        }
        syn::visit::visit_macro(self, mac);
    }
}

fn quote_of(attr: &syn::Attribute) -> String {
    match &attr.meta {
        syn::Meta::List(list) => list.tokens.to_string(),
        _ => String::new(),
    }
}

/// A `use` tree as the paths it names; a glob names its prefix.
fn flatten(tree: &syn::UseTree, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let with = |name: String| [prefix.clone(), vec![name]].concat();
    match tree {
        syn::UseTree::Path(p) => flatten(&p.tree, with(p.ident.to_string()), out),
        syn::UseTree::Name(n) => out.push(with(n.ident.to_string())),
        syn::UseTree::Rename(r) => out.push(with(r.ident.to_string())),
        syn::UseTree::Glob(_) => out.push(prefix),
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| flatten(t, prefix.clone(), out)),
    }
}

/// The module a `.rs` file under `src/` is: `a/b.rs` is `[a, b]`, `a/mod.rs` is `[a]`.
fn module_of(src: &Path, file: &Path) -> Module {
    let mut parts: Module = file.strip_prefix(src).unwrap().iter().map(|p| p.to_string_lossy().to_string()).collect();
    let last = parts.pop().unwrap();
    if last != "mod.rs" {
        parts.push(last.trim_end_matches(".rs").to_string());
    }
    parts
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(p) = pending.pop() {
        if p.is_dir() {
            pending.extend(std::fs::read_dir(&p).unwrap().map(|e| e.unwrap().path()));
        } else if p.extension().is_some_and(|e| e == "rs") {
            files.push(p);
        }
    }
    files
}

impl Crate {
    fn read() -> Crate {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut names = BTreeMap::new();
        for file in rust_files(&src) {
            let module = module_of(&src, &file);
            if module == ["lib"] || module == ["main"] {
                continue;
            }
            let syntax = syn::parse_file(&std::fs::read_to_string(&file).unwrap()).unwrap();
            let mut found = Names::default();
            found.visit_file(&syntax);
            names.insert(module, found);
        }
        let modules: BTreeSet<Module> = names.keys().cloned().collect();
        // (folder, item) → the module a folder's `pub use` takes the item from.
        let mut reexported = BTreeMap::new();
        for (module, found) in &names {
            for path in &found.reexports {
                if let Some(absolute) = absolute(module, path, &modules) {
                    let (from, rest) = longest_module(&absolute, &modules);
                    if from.starts_with(module) && from != *module && rest.len() == 1 {
                        reexported.insert((module.clone(), rest[0].clone()), from);
                    }
                }
            }
        }
        let edges = names
            .iter()
            .map(|(module, found)| {
                let targets = found
                    .paths
                    .iter()
                    .filter_map(|path| absolute(module, path, &modules))
                    .map(|absolute| {
                        let (mut target, rest) = longest_module(&absolute, &modules);
                        if let Some(from) =
                            rest.first().and_then(|item| reexported.get(&(target.clone(), item.clone())))
                        {
                            target = from.clone();
                        }
                        target
                    })
                    .filter(|target| target != module)
                    .collect();
                (module.clone(), targets)
            })
            .collect();
        Crate { edges }
    }

    /// The edges between the direct parts of `folder` (files or subfolders), each module inside
    /// counted as the part it lies in; the folder's own `mod.rs` is not a part.
    fn graph_within(&self, folder: &[String]) -> BTreeMap<String, BTreeSet<String>> {
        let part = |m: &Module| (m.len() > folder.len() && m.starts_with(folder)).then(|| m[folder.len()].clone());
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (from, targets) in &self.edges {
            let Some(a) = part(from) else { continue };
            let entry = graph.entry(a.clone()).or_default();
            entry.extend(targets.iter().filter_map(part).filter(|b| *b != a));
        }
        graph
    }

    fn folders(&self) -> BTreeSet<Module> {
        self.edges.keys().flat_map(|m| (0..m.len()).map(|n| m[..n].to_vec())).collect()
    }
}

/// `path` as written in `module`, made absolute from the crate root; `None` for another crate.
fn absolute(module: &Module, path: &[String], modules: &BTreeSet<Module>) -> Option<Module> {
    let (first, rest) = path.split_first()?;
    let mut base = match first.as_str() {
        "crate" => Vec::new(),
        "self" => module.clone(),
        "super" => module[..module.len().checked_sub(1)?].to_vec(),
        child if modules.contains(&[module.clone(), vec![child.to_string()]].concat()) => {
            return Some([module.clone(), path.to_vec()].concat());
        }
        _ => return None,
    };
    let mut rest = rest;
    while rest.first().is_some_and(|s| s == "super") {
        base.pop();
        rest = &rest[1..];
    }
    Some([base, rest.to_vec()].concat())
}

/// The longest prefix of `path` that is a module, and what follows it.
fn longest_module(path: &[String], modules: &BTreeSet<Module>) -> (Module, Module) {
    let n = (0..=path.len()).rev().find(|n| modules.contains(&path[..*n].to_vec()) || *n == 0).unwrap_or(0);
    (path[..n].to_vec(), path[n..].to_vec())
}

/// A path from `from` back to itself, if the graph has one.
fn cycle_through(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_string()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        for next in graph.get(path.last().unwrap()).into_iter().flatten() {
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

fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    graph.keys().filter_map(|node| cycle_through(graph, node)).map(|cycle| cycle.join(" → ")).collect()
}

#[test]
fn no_stage_imports_one_that_imports_it_back() {
    let stages = Crate::read().graph_within(&[]);
    assert!(stages.len() > 10 && stages["engine"].contains("store"), "the graph was read: {stages:?}");
    assert_eq!(cycles(&stages), Vec::<String>::new());
}

/// Folders whose files still import each other in a cycle (none now). The test fails once a
/// folder here has no cycle, so the entry goes.
const KNOWN_CYCLES: &[&str] = &[];

#[test]
fn no_file_in_a_folder_imports_one_that_imports_it_back() {
    let code = Crate::read();
    assert!(code.folders().len() > 10, "the folders were read");
    let mut found = Vec::new();
    for folder in code.folders().into_iter().filter(|f| !f.is_empty()) {
        let name = folder.join("/");
        let within = cycles(&code.graph_within(&folder));
        if KNOWN_CYCLES.contains(&name.as_str()) {
            assert!(!within.is_empty(), "{name} has no cycle now: take it out of KNOWN_CYCLES");
        } else {
            found.extend(within.into_iter().map(|c| format!("{name}: {c}")));
        }
    }
    assert!(found.is_empty(), "import cycles inside folders:\n{}", found.join("\n"));
}

#[test]
fn plain_types_import_nothing_of_the_flow() {
    let stages = Crate::read().graph_within(&[]);
    assert!(stages["domain"].is_empty(), "domain imports {:?}", stages["domain"]);
    for (lower, higher) in [("store", "dispatch"), ("store", "observe"), ("store", "engine"), ("dispatch", "engine")] {
        assert!(!stages[lower].contains(higher), "{lower} imports {higher}, a later stage");
    }
    // The settings are plain values; the stages they configure make their own types of them.
    assert!(stages["config"].contains("domain"), "config was read: {:?}", stages["config"]);
    let configured: Vec<&String> = stages["config"].iter().filter(|s| *s != "domain").collect();
    assert!(configured.is_empty(), "config imports {configured:?}");
}

/// The dashboard's files that reach the server in-process: the local source adapts the engine to
/// the `Source` trait, as the remote one adapts the HTTP API.
const DASHBOARD_ADAPTERS: &[&str] = &["dashboard/source/local"];

/// What the dashboard may know of the rest: the API's JSON types, the plain domain values (the
/// filter language, clocks, the signature scheme), the validation a form shares with the server
/// and the operator's settings (its theme), so `attach` shows what the API says and nothing
/// compiled from the server's insides.
const DASHBOARD_KNOWS: &[&str] = &["dashboard", "wire", "domain", "validate", "config"];

#[test]
fn the_dashboard_knows_the_server_only_through_the_wire_types() {
    let code = Crate::read();
    let mut found = Vec::new();
    let mut dashboard_files = 0;
    for (module, targets) in &code.edges {
        if module.first().is_none_or(|m| m != "dashboard") || DASHBOARD_ADAPTERS.contains(&module.join("/").as_str()) {
            continue;
        }
        dashboard_files += 1;
        let beyond =
            targets.iter().filter(|t| t.first().is_some_and(|stage| !DASHBOARD_KNOWS.contains(&stage.as_str())));
        found.extend(beyond.map(|t| format!("{} imports {}", module.join("/"), t.join("::"))));
    }
    assert!(dashboard_files > 20, "the dashboard's files were read");
    assert!(found.is_empty(), "the dashboard reaches past the wire types:\n{}", found.join("\n"));
}
