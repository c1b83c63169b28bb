//! No two modules import each other (issue 15's rule for the request path, held for every
//! crate): a module may use its parent's items and its children's, and any module outside its
//! own line, but never one that uses it back. Mutual imports are how a component starts calling
//! a sibling instead of answering with a value.
//!
//! The check reads the sources: every `crate::a::b` and `super::…` path outside comments and
//! `#[cfg(test)]` modules is resolved to the longest module it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const CRATES: [&str; 7] = [
    "src",
    "sim-core/src",
    "policies/src",
    "models/src",
    "scenarios/src",
    "reports/src",
    "interop/src",
];

/// Every non-test `.rs` file under `dir`, with its module path (`world::gateway` for
/// `world/gateway/mod.rs`, empty for the crate root).
fn modules(dir: &Path) -> Vec<(PathBuf, Vec<String>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read source dir") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if !name.ends_with(".rs") || name.contains("test") {
                continue;
            }
            let rel = path.strip_prefix(dir).expect("under dir");
            let mut parts: Vec<String> = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            out.push((path, parts));
        }
    }
    out
}

/// The source without comment lines and without a trailing `#[cfg(test)] mod tests`.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Each path that starts with `crate::` or `super::` (possibly repeated), as (how many levels
/// up, or `None` for the crate root; the segments after it).
fn paths(code: &str) -> Vec<(Option<usize>, Vec<String>)> {
    let bytes = code.as_bytes();
    let mut out = Vec::new();
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if !ident(bytes[i]) || (i > 0 && (ident(bytes[i - 1]) || bytes[i - 1] == b':')) {
            i += 1;
            continue;
        }
        let mut j = i;
        let mut segments = Vec::new();
        loop {
            let start = j;
            while j < bytes.len() && ident(bytes[j]) {
                j += 1;
            }
            if start == j {
                break;
            }
            segments.push(code[start..j].to_string());
            if code[j..].starts_with("::") {
                j += 2;
            } else {
                break;
            }
        }
        i = j.max(i + 1);
        let ups = segments.iter().take_while(|s| *s == "super").count();
        if segments.first().is_some_and(|s| s == "crate") {
            out.push((None, segments[1..].to_vec()));
        } else if ups > 0 {
            out.push((Some(ups), segments[ups..].to_vec()));
        }
    }
    out
}

/// Pairs of modules of the crate under `dir` that import each other.
fn cycles(dir: &Path) -> Vec<(String, String)> {
    let files = modules(dir);
    let known: BTreeSet<Vec<String>> = files.iter().map(|(_, m)| m.clone()).collect();
    let mut deps: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for (path, me) in &files {
        let text = std::fs::read_to_string(path).expect("read source");
        for (ups, rest) in paths(&code(&text)) {
            let mut target = match ups {
                None => Vec::new(),
                Some(n) => me[..me.len().saturating_sub(n)].to_vec(),
            };
            target.extend(rest);
            let Some(k) = (1..=target.len())
                .rev()
                .find(|&k| known.contains(&target[..k]))
            else {
                continue;
            };
            let t = target[..k].to_vec();
            // A module and its own ancestors or descendants are one line, not a cycle.
            if t.starts_with(me) || me.starts_with(&t) {
                continue;
            }
            deps.entry(me.clone()).or_default().insert(t);
        }
    }
    let mut found = Vec::new();
    for (a, uses) in &deps {
        for b in uses {
            if a < b && deps.get(b).is_some_and(|back| back.contains(a)) {
                found.push((a.join("::"), b.join("::")));
            }
        }
    }
    found
}

#[test]
fn no_two_modules_import_each_other() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut all = Vec::new();
    for krate in CRATES {
        for (a, b) in cycles(&root.join(krate)) {
            all.push(format!("{krate}: `{a}` and `{b}`"));
        }
    }
    assert!(
        all.is_empty(),
        "modules that import each other:\n{}",
        all.join("\n")
    );
}

#[test]
fn the_check_sees_a_cycle() {
    let dir = std::env::temp_dir().join(format!("faultline-cycles-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("world")).expect("temp dir");
    let write = |p: &str, s: &str| std::fs::write(dir.join(p), s).expect("write");
    write("lib.rs", "mod a;\nmod b;\nmod world;\n");
    write(
        "a.rs",
        "use crate::b::Thing;\n// use crate::world::X; (a comment)\n",
    );
    write("b.rs", "pub struct Thing;\nfn f() { crate::a::g(); }\n");
    write("world.rs", "mod gateway;\nuse gateway::G;\n");
    write(
        "world/gateway.rs",
        "use super::World;\nuse super::super::a::g;\n",
    );
    let found = cycles(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(found, vec![("a".to_string(), "b".to_string())]);
}
