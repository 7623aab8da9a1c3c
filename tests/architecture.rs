//! The crate's shape, checked on its source: modules depend downwards only (no cycle among
//! the submodules of any module), every stage has its CPU twin, and nothing outside
//! `src/backend/` chooses between the GPU and the CPU.
//!
//! Dependencies are read from paths in the source (`crate::a::b`, `super::b`): a file under
//! submodule `c` of module `m` that names submodule `b` of `m` makes the edge `c → b`. Names
//! that stop at a module's own items (its `mod.rs` facade, re-exports) make no edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path of a source file: `src/backend/cpu/mod.rs` → `[backend, cpu]`.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().unwrap() != "bin" {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The paths a `use`-style tail names: `a::b::C` → `[a, b, C]`; `{a::B, c}` → `[a, B]`, `[c]`.
fn expand(text: &str) -> Vec<Vec<String>> {
    let text = text.trim_start();
    if let Some(inner) = text.strip_prefix('{') {
        // Items of the group, split at top-level commas up to the matching brace.
        let mut items = Vec::new();
        let (mut depth, mut start) = (0, 0);
        for (i, c) in inner.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    items.push(&inner[start..i]);
                    break;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    items.push(&inner[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        return items.into_iter().flat_map(expand).collect();
    }
    let ident: String = text
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if ident.is_empty() {
        return vec![Vec::new()];
    }
    let rest = &text[ident.len()..];
    match rest.strip_prefix("::") {
        Some(tail) => expand(tail)
            .into_iter()
            .map(|mut p| {
                p.insert(0, ident.clone());
                p
            })
            .collect(),
        None => vec![vec![ident]],
    }
}

/// The module paths a file's source names, resolved from `crate::` and `super::` (a whole
/// `use` may span lines, so the source is read as one string).
fn referenced(module: &[String], source: &str) -> Vec<Vec<String>> {
    let code: String = source
        .lines()
        .map(|l| l.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        if code[..i].ends_with('$') {
            continue; // `$crate::` in a macro
        }
        out.extend(expand(&code[i + "crate::".len()..]));
    }
    for (i, _) in code.match_indices("super::") {
        if code[..i].ends_with("::") {
            continue; // `super::super::` is counted from its first `super`
        }
        let mut base: Vec<String> = module.to_vec();
        let mut rest = &code[i..];
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
        for tail in expand(rest) {
            let mut path = base.clone();
            path.extend(tail);
            out.push(path);
        }
    }
    out
}

/// The groups of modules that reach each other (strongly connected, more than one module).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<BTreeSet<String>> {
    let reach = |from: &str| {
        let mut seen = BTreeSet::new();
        let mut todo = vec![from.to_string()];
        while let Some(n) = todo.pop() {
            for m in edges.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    todo.push(m.clone());
                }
            }
        }
        seen
    };
    let reached: BTreeMap<&String, BTreeSet<String>> =
        edges.keys().map(|n| (n, reach(n))).collect();
    let mut groups: BTreeSet<BTreeSet<String>> = BTreeSet::new();
    for (n, r) in &reached {
        let group: BTreeSet<String> = r
            .iter()
            .filter(|m| reached.get(m).is_some_and(|back| back.contains(n.as_str())))
            .cloned()
            .collect();
        if group.len() > 1 {
            groups.insert(group);
        }
    }
    groups.into_iter().collect()
}

#[test]
fn modules_depend_downwards_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();
    // Per parent module: edges between its direct children.
    let mut graphs: BTreeMap<Vec<String>, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        let source = std::fs::read_to_string(file).unwrap();
        // Code under #[cfg(test)] at the end of a file may look anywhere.
        let source = source.split("#[cfg(test)]\nmod tests").next().unwrap();
        for target in referenced(&module, source) {
            // The deepest common parent, and the children of it on each side.
            let common = module
                .iter()
                .zip(&target)
                .take_while(|(a, b)| a == b)
                .count();
            if common >= module.len() || common >= target.len() {
                continue; // within one module, or naming an ancestor's facade
            }
            let to: Vec<String> = target[..=common].to_vec();
            if !modules.contains(&to) && !modules.iter().any(|m| m.starts_with(&to)) {
                continue; // an item of the parent, not a child module
            }
            graphs
                .entry(module[..common].to_vec())
                .or_default()
                .entry(module[common].clone())
                .or_default()
                .insert(target[common].clone());
        }
    }
    if std::env::var_os("TOMORS_ARCH_DEBUG").is_some() {
        eprintln!("{graphs:#?}");
    }
    let mut found = Vec::new();
    for (parent, edges) in &graphs {
        for group in cycles(edges) {
            let detail: Vec<String> = group
                .iter()
                .map(|n| {
                    let to: Vec<&String> = edges[n].iter().filter(|m| group.contains(*m)).collect();
                    format!("{n} → {to:?}")
                })
                .collect();
            found.push(format!(
                "in crate::{}: {}",
                parent.join("::"),
                detail.join("; ")
            ));
        }
    }
    assert!(found.is_empty(), "module cycles:\n{}", found.join("\n"));
}

#[test]
fn every_stage_has_its_twin_and_no_model_outside_the_backend_picks_one() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(root.join("shaders")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "wgsl") {
            let stem = path.file_stem().unwrap().to_string_lossy();
            let twin = root.join("src/backend/cpu").join(format!("{stem}.rs"));
            assert!(twin.is_file(), "{} has no twin", path.display());
        }
    }
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    for file in files {
        // The backend (its unit tests' helpers, which open the GPU on purpose, included).
        if file.starts_with(root.join("src/backend")) {
            continue;
        }
        let source = std::fs::read_to_string(&file).unwrap();
        for needle in [
            "backend::cpu",
            "backend::gpu::GpuContext",
            "ActiveBackend::Gpu {",
            "Backend::Cpu =>",
            "Backend::Gpu =>",
        ] {
            assert!(
                !source.contains(needle),
                "{} names `{needle}`: only src/backend/ chooses between the GPU and the CPU",
                file.display()
            );
        }
    }
}
