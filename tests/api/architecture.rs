//! The shape of the code, checked: the layer order written in `src/lib.rs`'s
//! docs holds for every `crate::` path in the library's code (tests excluded),
//! the top-level modules' import graph has no cycle, and no source file grows
//! past its size.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The layers of `lib.rs`'s docs (`//! N. `name`, `name` — ...`), lowest first.
fn layers() -> Vec<Vec<String>> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut layers = vec![];
    for line in lib.lines() {
        let Some(rest) = line.strip_prefix("//! ") else {
            continue;
        };
        let Some((number, names)) = rest.split_once(". ") else {
            continue;
        };
        if number.parse::<u32>().is_err() {
            continue;
        }
        let head = names.split(" — ").next().unwrap();
        let modules: Vec<String> = head
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_string)
            .collect();
        assert!(!modules.is_empty(), "layer without modules: {line}");
        layers.push(modules);
    }
    layers
}

/// The top-level modules `lib.rs` declares.
fn modules() -> BTreeSet<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    lib.lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect()
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

fn files_of(module: &str) -> Vec<PathBuf> {
    let mut files = vec![];
    let file = src().join(format!("{module}.rs"));
    if file.exists() {
        files.push(file);
    }
    let dir = src().join(module);
    if dir.is_dir() {
        rust_files(&dir, &mut files);
    }
    files
}

/// The code of a file without its comments and its `#[cfg(test)]` module.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            Some(at) => &l[..at],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a piece of code names through `crate::`.
fn imports(code: &str) -> BTreeSet<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(group.split(',').map(|p| ident(p.trim())));
        } else {
            out.insert(ident(rest));
        }
    }
    out.remove("");
    out
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    modules()
        .into_iter()
        .map(|m| {
            let mut deps = BTreeSet::new();
            for file in files_of(&m) {
                deps.extend(imports(&code(&std::fs::read_to_string(&file).unwrap())));
            }
            deps.remove(&m);
            (m, deps)
        })
        .collect()
}

#[test]
fn every_top_level_module_has_one_layer() {
    let layered: Vec<String> = layers().into_iter().flatten().collect();
    let unique: BTreeSet<String> = layered.iter().cloned().collect();
    assert_eq!(unique.len(), layered.len(), "a module is in two layers");
    assert_eq!(unique, modules(), "lib.rs's layers and its modules differ");
}

#[test]
fn no_module_imports_from_a_higher_layer() {
    let layer: BTreeMap<String, usize> = layers()
        .into_iter()
        .enumerate()
        .flat_map(|(i, ms)| ms.into_iter().map(move |m| (m, i)))
        .collect();
    let mut upward = vec![];
    for (module, deps) in graph() {
        for dep in deps {
            if let Some(&to) = layer.get(&dep)
                && to > layer[&module]
            {
                upward.push(format!(
                    "{module} (layer {}) imports {dep} (layer {})",
                    layer[&module] + 1,
                    to + 1
                ));
            }
        }
    }
    assert!(upward.is_empty(), "imports up the layers: {upward:#?}");
}

#[test]
fn the_top_level_import_graph_has_no_cycle() {
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) {
        if let Some(at) = path.iter().position(|p| p == m) {
            panic!("import cycle: {} -> {m}", path[at..].join(" -> "));
        }
        if done.contains(m) {
            return;
        }
        path.push(m.to_string());
        for dep in graph.get(m).into_iter().flatten() {
            visit(dep, graph, path, done);
        }
        path.pop();
        done.insert(m.to_string());
    }
    let graph = graph();
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        visit(m, &graph, &mut vec![], &mut done);
    }
}

#[test]
fn the_import_scanner_skips_comments_and_tests_and_reads_groups() {
    // The scanner itself: comments and test modules do not count, groups do.
    let sample = "use crate::{api, domain::Vin};\n// crate::startup\nfn f() { crate::open::x(); }\n#[cfg(test)]\nmod tests { use crate::corpus; }";
    let found = imports(&code(sample));
    assert_eq!(
        found,
        ["api", "domain", "open"]
            .map(String::from)
            .into_iter()
            .collect()
    );
}

#[test]
fn no_source_file_is_over_500_lines_and_startup_is_under_200() {
    let mut files = vec![];
    for dir in ["src", "tests", "benches"] {
        rust_files(&Path::new(env!("CARGO_MANIFEST_DIR")).join(dir), &mut files);
    }
    let long: Vec<String> = files
        .iter()
        .filter_map(|f| {
            let lines = std::fs::read_to_string(f).unwrap().lines().count();
            (lines > 500).then(|| format!("{} ({lines} lines)", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "files over 500 lines: {long:#?}");
    let startup = std::fs::read_to_string(src().join("startup.rs")).unwrap();
    assert!(startup.lines().count() < 200, "startup.rs is the hub again");
}
