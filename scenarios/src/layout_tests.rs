//! The crate's layout rules, checked on its own source: no two modules import each other, and
//! no source file (test modules aside) is longer than 900 lines. The sections were split out of
//! one build module to get there; this keeps them that way.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Every module of the crate by path (`sections::tenants`), with its source up to its test
/// module, and with that source's comments removed.
fn modules() -> BTreeMap<String, (String, String)> {
    fn walk(dir: &Path, prefix: &str, out: &mut BTreeMap<String, (String, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            let stem = p.file_stem().unwrap().to_str().unwrap().to_string();
            if p.is_dir() {
                walk(&p, &format!("{prefix}{stem}::"), out);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let name = match stem.as_str() {
                    "lib" => "crate".to_string(),
                    "mod" => prefix.trim_end_matches("::").to_string(),
                    _ => format!("{prefix}{stem}"),
                };
                let text = std::fs::read_to_string(&p).unwrap();
                let code = text.split("#[cfg(test)]").next().unwrap_or("");
                let bare: Vec<&str> = code
                    .lines()
                    .filter(|l| !l.trim_start().starts_with("//"))
                    .collect();
                out.insert(name, (code.to_string(), bare.join("\n")));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
        "",
        &mut out,
    );
    out
}

/// The modules `code` names through `crate::` paths, each resolved to the longest module path.
fn imports(code: &str, modules: &BTreeMap<String, (String, String)>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
        if let Some(m) = (1..=parts.len())
            .rev()
            .map(|k| parts[..k].join("::"))
            .find(|m| modules.contains_key(m))
        {
            out.insert(m);
        }
    }
    out
}

#[test]
fn no_two_modules_import_each_other() {
    let modules = modules();
    let edges: BTreeMap<&String, BTreeSet<String>> = modules
        .iter()
        .map(|(m, (_, bare))| (m, imports(bare, &modules)))
        .collect();
    // The check itself must see the sections being used, or it proves nothing.
    assert!(edges[&"build".to_string()].contains("sections::tenants"));
    let mut loops = Vec::new();
    for (a, targets) in &edges {
        for b in targets {
            if b != *a && edges.get(b).is_some_and(|t| t.contains(*a)) && *a < b {
                loops.push(format!("{a} <-> {b}"));
            }
        }
    }
    assert!(loops.is_empty(), "modules importing each other: {loops:?}");
}

#[test]
fn no_source_file_is_longer_than_900_lines() {
    let long: Vec<String> = modules()
        .into_iter()
        .filter(|(_, (code, _))| code.lines().count() > 900)
        .map(|(m, (code, _))| format!("{m}: {} lines", code.lines().count()))
        .collect();
    assert!(long.is_empty(), "{long:?}");
}
