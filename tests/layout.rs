//! The layout of `src/`: dependencies between the crate's top-level
//! modules point one way. A module that names another (`crate::other` in
//! code, not in comments or docs) depends on it; the test fails, naming
//! the cycle and a line of each step, when any module reaches itself.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The `.rs` files under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

/// Each top-level module of `src/` and the files it is made of.
fn modules(src: &Path) -> BTreeMap<String, Vec<PathBuf>> {
    let mut modules = BTreeMap::new();
    for entry in fs::read_dir(src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            modules.insert(name, rust_files(&path));
        } else if name != "lib" && path.extension().is_some_and(|ext| ext == "rs") {
            modules.insert(name, vec![path]);
        }
    }
    modules
}

/// The modules each module names in its code, with a place of each.
fn dependencies(
    modules: &BTreeMap<String, Vec<PathBuf>>,
) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut graph = BTreeMap::new();
    for (name, files) in modules {
        let mut uses = BTreeMap::new();
        for file in files {
            let text = fs::read_to_string(file).unwrap();
            for (number, line) in text.lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                for (at, _) in line.match_indices("crate::") {
                    let other: String = line[at + "crate::".len()..]
                        .chars()
                        .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                        .collect();
                    if other != *name && modules.contains_key(&other) {
                        uses.entry(other)
                            .or_insert_with(|| format!("{}:{}", file.display(), number + 1));
                    }
                }
            }
        }
        graph.insert(name.clone(), uses);
    }
    graph
}

/// A path from `from` back to `to`, if there is one.
fn path_back(
    graph: &BTreeMap<String, BTreeMap<String, String>>,
    from: &str,
    to: &str,
    seen: &mut BTreeSet<String>,
) -> Option<Vec<String>> {
    if from == to {
        return Some(vec![to.to_owned()]);
    }
    if !seen.insert(from.to_owned()) {
        return None;
    }
    for next in graph.get(from)?.keys() {
        if let Some(mut path) = path_back(graph, next, to, seen) {
            path.insert(0, from.to_owned());
            return Some(path);
        }
    }
    None
}

fn cycles(graph: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<String> {
    let mut found = Vec::new();
    for (module, uses) in graph {
        for (other, place) in uses {
            if let Some(path) = path_back(graph, other, module, &mut BTreeSet::new()) {
                found.push(format!(
                    "{module} -> {} (first at {place})",
                    path.join(" -> ")
                ));
            }
        }
    }
    found
}

#[test]
fn no_module_of_src_depends_on_itself_through_others() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = dependencies(&modules(&src));
    assert!(
        graph.contains_key("task") && graph.contains_key("store"),
        "{graph:?}"
    );
    let found = cycles(&graph);
    assert!(
        found.is_empty(),
        "import cycles in src/:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_finds_a_cycle_when_there_is_one() {
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    graph
        .entry("status".into())
        .or_default()
        .insert("error".into(), "status.rs:1".into());
    graph
        .entry("error".into())
        .or_default()
        .insert("table".into(), "error.rs:2".into());
    graph
        .entry("table".into())
        .or_default()
        .insert("status".into(), "table.rs:3".into());
    graph.entry("id".into()).or_default();
    let found = cycles(&graph);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(
        found[0].contains("error -> table -> status -> error"),
        "{found:?}"
    );
}
