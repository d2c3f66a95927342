//! The code's own layout rules. Between crates, the compiler holds the layers to their
//! direction; these tests check what it cannot: the tools stay out of the service's build,
//! files beside each other in one folder of a crate do not import each other in a circle,
//! and no file outgrows what a newcomer can hold in their head. A `mod.rs` may re-export
//! its children: that is a facade, not an import, and its children may use what it
//! defines.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Longest source file any crate may hold, in lines.
const MAX_LINES: usize = 400;

/// Each source folder of the workspace, with the name of its crate: the root package's
/// `src/` and every `crates/*/src/`.
fn source_roots() -> Vec<(String, PathBuf)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut roots = vec![("stockwatch".to_owned(), root.join("src"))];
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let dir = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy();
        roots.push((format!("stockwatch-{name}"), dir.join("src")));
    }
    roots.sort();
    roots
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every library `.rs` file of the workspace, with its module path led by its crate
/// (`crates/ops/src/take/mod.rs` is `["stockwatch-ops", "take"]`). The binary (`main.rs`,
/// `commands/`) is left out: nothing imports it.
fn library_files() -> Vec<(Vec<String>, PathBuf)> {
    let mut out = Vec::new();
    for (krate, src) in source_roots() {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for path in files {
            let rel = path.strip_prefix(&src).unwrap().with_extension("");
            let mut module: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if module == ["lib"] {
                module.clear();
            } else if module.last().is_some_and(|m| m == "mod") {
                module.pop();
            }
            if module.first().is_some_and(|m| m == "main" || m == "commands") {
                continue;
            }
            module.insert(0, krate.clone());
            out.push((module, path));
        }
    }
    out
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
        // `use` as a word: not the end of `Cause ` or `because `.
        let word = statement
            .match_indices("use ")
            .find(|(at, _)| !statement[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
        if let Some((at, _)) = word {
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

/// `path` as seen from module `from` (led by its crate), made absolute and cut to the
/// longest prefix that is a module.
/// In `x/mod.rs` and `x.rs` alike, `self` is module x and `super` its parent.
fn resolve(from: &[String], path: &[String], modules: &BTreeSet<Vec<String>>) -> Vec<String> {
    let mut rest = path;
    let mut abs: Vec<String> = match path[0].as_str() {
        "crate" => {
            rest = &path[1..];
            from[..1].to_vec()
        }
        "self" => {
            rest = &path[1..];
            from.to_vec()
        }
        _ => {
            let mut abs = from.to_vec();
            while rest.first().is_some_and(|p| p == "super") {
                abs.pop();
                rest = &rest[1..];
            }
            abs
        }
    };
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

/// The workspace crates each crate's `Cargo.toml` depends on (normal dependencies only).
fn crate_dependencies() -> BTreeMap<String, BTreeSet<String>> {
    dependencies(true)
}

/// The workspace's crates and their dependencies, leaving out optional ones unless asked.
fn dependencies(optional: bool) -> BTreeMap<String, BTreeSet<String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = BTreeMap::new();
    for (krate, src) in source_roots() {
        let manifest = std::fs::read_to_string(src.parent().unwrap().join("Cargo.toml")).unwrap();
        let table: toml::Table = manifest.parse().unwrap();
        let deps = table
            .get("dependencies")
            .and_then(|d| d.as_table())
            .cloned()
            .unwrap_or_default();
        let is_optional = |v: &toml::Value| v.get("optional").and_then(toml::Value::as_bool) == Some(true);
        let kept = deps.iter().filter(|(_, v)| optional || !is_optional(v));
        out.insert(krate, kept.map(|(k, _)| k.clone()).collect());
    }
    assert!(out.len() > 2, "read the workspace from {}", root.display());
    out
}

/// Every crate `krate` builds on, itself excluded, through the workspace's crates.
fn reach(krate: &str, deps: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![krate.to_owned()];
    while let Some(next) = todo.pop() {
        for dep in deps.get(&next).into_iter().flatten() {
            if seen.insert(dep.clone()) {
                todo.push(dep.clone());
            }
        }
    }
    seen
}

#[test]
fn the_service_builds_without_the_tools() {
    let deps = crate_dependencies();
    let server = reach("stockwatch-server", &deps);
    assert!(
        server.contains("stockwatch-ops") && server.contains("sqlx"),
        "the reader follows the graph: {server:?}"
    );
    for heavy in ["stockwatch-tools", "plotters", "indicatif", "rand_distr"] {
        assert!(!server.contains(heavy), "the server crate reaches {heavy}");
    }
    // The layers, each below the next: none may reach one above it.
    let floors = [
        "stockwatch-domain",
        "stockwatch-core",
        "stockwatch-store",
        "stockwatch-ops",
        "stockwatch-ledger",
        "stockwatch-server",
    ];
    for (i, lower) in floors.iter().enumerate() {
        let below = reach(lower, &deps);
        for upper in &floors[i..] {
            assert!(!below.contains(*upper), "{lower} depends on {upper}, a floor above it");
        }
    }
    // The tools come in through one optional dependency, the `tools` feature.
    let manifest: toml::Table = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    let tools = &manifest["dependencies"]["stockwatch-tools"];
    assert_eq!(tools.get("optional").and_then(|o| o.as_bool()), Some(true));
}

/// The client shares the server's domain types, not its weight: the domain crate's Redis,
/// OpenAPI and CLI glue are optional, and the client turns none of it on.
#[test]
fn the_client_pulls_neither_redis_nor_the_server() {
    let deps = dependencies(false);
    let client = reach("stockwatch-client", &deps);
    assert!(
        client.contains("stockwatch-domain") && client.contains("reqwest"),
        "{client:?}"
    );
    for server_side in [
        "redis",
        "deadpool-redis",
        "actix-web",
        "utoipa",
        "clap",
        "stockwatch-core",
        "stockwatch-server",
    ] {
        assert!(!client.contains(server_side), "the client reaches {server_side}");
    }
    let manifest: toml::Table =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("crates/client/Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
    let domain = &manifest["dependencies"]["stockwatch-domain"];
    assert!(
        domain.get("features").is_none(),
        "the client turns on domain features: {domain}"
    );
    assert!(
        reach("stockwatch-core", &dependencies(true)).contains("redis"),
        "the check can see redis"
    );
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let all = edges();
    let ops = &all[&vec!["stockwatch-ops".to_owned()]];
    assert!(
        ops.contains(&("sell".to_owned(), "take".to_owned())),
        "the reader sees the real imports: {ops:?}"
    );
    for (folder, edges) in &all {
        if let Some(cycle) = find_cycle(edges) {
            panic!("in {}: {}", folder.join("::"), cycle.join(" -> "));
        }
    }
    // The circle the OpenAPI document once made with the handlers it lists.
    let routes = &all[&vec!["stockwatch-server".to_owned(), "routes".to_owned()]];
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
fn no_source_file_is_longer_than_a_newcomer_can_hold() {
    let mut long = Vec::new();
    for (_, src) in source_roots() {
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        for path in files {
            let lines = std::fs::read_to_string(&path).unwrap().lines().count();
            if lines > MAX_LINES {
                long.push(format!("{} ({lines} lines)", path.display()));
            }
        }
    }
    assert!(long.is_empty(), "over {MAX_LINES} lines: {long:?}");
}
