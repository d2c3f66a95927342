//! The code's own layout rules, read from `src/`: floors import only downward (no module
//! imports one that imports it back, directly or through others), files beside each other
//! in one folder do not import each other in a circle either, and no file outgrows what a
//! newcomer can hold in their head. A `mod.rs` may re-export its children: that is a
//! facade, not an import, and its children may use what it defines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest file `src/` may hold, in lines.
const MAX_LINES: usize = 400;

/// Every `.rs` file of the library, with its module path (`src/ops/take/mod.rs` is
/// `["ops", "take"]`). The binary (`main.rs`, `commands/`) is left out: nothing imports it.
fn library_files() -> Vec<(Vec<String>, PathBuf)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .filter_map(|path| {
            let rel = path.strip_prefix(&src).unwrap().with_extension("");
            let mut module: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if module == ["lib"] {
                module.clear();
            } else if module.last().is_some_and(|m| m == "mod") {
                module.pop();
            }
            let binary = module.first().is_some_and(|m| m == "main" || m == "commands");
            (!binary).then_some((module, path))
        })
        .collect()
}

/// The code of a file without comments or string literals, so neither can fake an import.
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let line = line.split("//").next().unwrap_or_default();
        let mut in_string = false;
        let mut prev = ' ';
        for c in line.chars() {
            if c == '"' && prev != '\\' {
                in_string = !in_string;
            } else if !in_string {
                out.push(c);
            }
            prev = c;
        }
        out.push('\n');
    }
    out
}

/// Every path the code names from `crate`, `super` or `self`, as written (`super::x::Y`),
/// with `use` groups (`use crate::{a, b::{c, d}}`) expanded.
fn named_paths(code: &str) -> Vec<Vec<String>> {
    fn expand(prefix: &str, tree: &str, out: &mut Vec<String>) {
        let tree = tree.trim();
        if let Some(open) = tree.find('{') {
            let head = format!("{prefix}{}", &tree[..open]);
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let (mut depth, mut start) = (0, 0);
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand(&head, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand(&head, &inner[start..], out);
        } else if !tree.is_empty() {
            out.push(format!("{prefix}{}", tree.split(" as ").next().unwrap_or(tree)));
        }
    }
    let mut flat = Vec::new();
    for statement in code.split(';') {
        if let Some(at) = statement.find("use ") {
            expand("", &statement[at + 4..], &mut flat);
        }
    }
    // Inline paths (`crate::ops::purchase(…)`) outside `use` statements.
    let bytes: Vec<char> = code.chars().collect();
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == ':';
    let mut i = 0;
    while i < bytes.len() {
        if (i == 0 || !ident(bytes[i - 1])) && ident(bytes[i]) {
            let start = i;
            while i < bytes.len() && ident(bytes[i]) {
                i += 1;
            }
            flat.push(bytes[start..i].iter().collect());
        } else {
            i += 1;
        }
    }
    flat.into_iter()
        .map(|p| {
            p.split("::")
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect()
        })
        .filter(|p: &Vec<String>| p.len() > 1 && matches!(p[0].as_str(), "crate" | "super" | "self"))
        .collect()
}

/// `path` as seen from module `from`, made absolute and cut to the longest prefix that is
/// a module.
/// In `x/mod.rs` and `x.rs` alike, `self` is module x and `super` its parent.
fn resolve(from: &[String], path: &[String], modules: &BTreeSet<Vec<String>>) -> Vec<String> {
    let mut abs: Vec<String> = Vec::new();
    let mut rest = path;
    match path[0].as_str() {
        "crate" => rest = &path[1..],
        "self" => {
            abs = from.to_vec();
            rest = &path[1..];
        }
        _ => {
            abs = from.to_vec();
            while rest.first().is_some_and(|p| p == "super") {
                abs.pop();
                rest = &rest[1..];
            }
        }
    }
    abs.extend(rest.iter().cloned());
    while !abs.is_empty() && !modules.contains(&abs) {
        abs.pop();
    }
    abs
}

/// For each folder (module path), the import edges between the modules directly in it.
fn edges() -> BTreeMap<Vec<String>, BTreeSet<(String, String)>> {
    let files = library_files();
    let modules: BTreeSet<Vec<String>> = files.iter().map(|(m, _)| m.clone()).collect();
    let mut edges: BTreeMap<Vec<String>, BTreeSet<(String, String)>> = BTreeMap::new();
    for (module, path) in &files {
        let code = code_of(&std::fs::read_to_string(path).unwrap());
        for named in named_paths(&code) {
            let target = resolve(module, &named, &modules);
            // At every level both share a folder, an edge between the two entries there.
            for level in 0..module.len() {
                if target.len() > level && target[..level] == module[..level] && target[level] != module[level] {
                    edges
                        .entry(module[..level].to_vec())
                        .or_default()
                        .insert((module[level].clone(), target[level].clone()));
                }
            }
        }
    }
    edges
}

/// A circle in `edges`, if there is one, as the modules along it.
fn find_cycle(edges: &BTreeSet<(String, String)>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        edges: &BTreeSet<(String, String)>,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = stack.iter().position(|n| n == node) {
            let mut cycle = stack[at..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        stack.push(node.to_owned());
        for (_, to) in edges.iter().filter(|(from, _)| from == node) {
            if let Some(cycle) = visit(to, edges, stack, done) {
                return Some(cycle);
            }
        }
        stack.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for (from, _) in edges {
        if let Some(cycle) = visit(from, edges, &mut Vec::new(), &mut done) {
            return Some(cycle);
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let all = edges();
    let top = all.get(&Vec::new()).expect("the floors import each other");
    // The floors the layout comment in lib.rs describes, checked in their direction.
    for (lower, upper) in [
        ("store", "txn"),
        ("store", "ops"),
        ("txn", "ops"),
        ("ops", "routes"),
        ("metrics", "ops"),
        ("events", "ops"),
        ("domain", "store"),
        ("keys", "store"),
    ] {
        assert!(
            !top.contains(&(lower.to_owned(), upper.to_owned())),
            "{lower} imports {upper}, a floor above it"
        );
    }
    assert!(
        top.contains(&("ops".to_owned(), "txn".to_owned())) && top.contains(&("txn".to_owned(), "store".to_owned())),
        "the reader sees the real imports: {top:?}"
    );
    for (folder, edges) in &all {
        if let Some(cycle) = find_cycle(edges) {
            panic!("in crate::{}: {}", folder.join("::"), cycle.join(" -> "));
        }
    }
    // The circle the OpenAPI document once made with the handlers it lists.
    let routes = &all[&vec!["routes".to_owned()]];
    assert!(routes.contains(&("openapi".to_owned(), "purchase".to_owned())));
    assert!(
        !routes.iter().any(|(from, to)| to == "openapi" && from != "openapi"),
        "no handler imports the OpenAPI document: {routes:?}"
    );
}

#[test]
fn the_cycle_finder_finds_a_planted_circle() {
    let edges: BTreeSet<(String, String)> = [("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]
        .into_iter()
        .map(|(x, y)| (x.to_owned(), y.to_owned()))
        .collect();
    let cycle = find_cycle(&edges).expect("a circle");
    assert_eq!(cycle.first(), cycle.last());
    assert_eq!(cycle.len(), 4);
    let code = code_of("use crate::{a::{b, c as d}, e};\nlet x = super::f::g(); // crate::h\n\"crate::i\"");
    let named = named_paths(&code);
    for want in [
        &["crate", "a", "b"][..],
        &["crate", "a", "c"],
        &["crate", "e"],
        &["super", "f", "g"],
    ] {
        assert!(named.iter().any(|p| p == want), "{want:?} in {named:?}");
    }
    assert!(
        !named
            .iter()
            .any(|p| p.contains(&"h".to_owned()) || p.contains(&"i".to_owned()))
    );
}

#[test]
fn no_file_in_src_is_longer_than_a_newcomer_can_hold() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut long = Vec::new();
    let mut stack = vec![src];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let lines = std::fs::read_to_string(&path).unwrap().lines().count();
                if lines > MAX_LINES {
                    long.push(format!("{} ({lines} lines)", path.display()));
                }
            }
        }
    }
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}
