//! The architecture of `docs/architecture.md`, checked: data flows one way between the
//! library's modules (no cycle, and none of the edges the map forbids), and `unsafe` is
//! allowed in the uAPI layers and the SIMD kernels only.
//!
//! The module graph is read from the sources: an edge `a -> b` for every `crate::b...` or
//! `super::...` path in `a` (grouped imports expanded) outside comments and test modules. Parent and child modules
//! may name each other (a folder's `mod.rs` re-exports its parts).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file of the library (not the CLI) by module path (`buffer::kernel`).
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "bin") {
                    walk(&p, out);
                }
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    walk(&src, &mut files);
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
                parts.pop();
            }
            let text = std::fs::read_to_string(&p).unwrap();
            (parts.join("::"), strip(&text))
        })
        .collect()
}

/// The source without comments and without its `#[cfg(test)] mod tests { ... }` tail.
fn strip(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let code = match line.find("//") {
            Some(i) => &line[..i],
            None => line,
        };
        out.push_str(code);
        out.push('\n');
    }
    match out.find("#[cfg(test)]\nmod tests") {
        Some(i) => out[..i].to_string(),
        None => out,
    }
}

/// The longest prefix of `path` (`a::b::c`) that is a module.
fn resolve(mods: &BTreeMap<String, String>, path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
    (1..=parts.len())
        .rev()
        .map(|i| parts[..i].join("::"))
        .find(|m| mods.contains_key(m))
}

/// Paths following `prefix` in `code` (`crate::` → `buffer::kernel::KernelStream`), grouped
/// imports expanded (`crate::{error::Error, buffer::{mask, kernel}}` → `error::Error`,
/// `buffer::mask`, `buffer::kernel`).
fn paths_after(code: &str, prefix: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices(prefix) {
        let before = i.checked_sub(1).map(|j| code.as_bytes()[j]);
        if before.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        expand("", &code[i + prefix.len()..], &mut out);
    }
    out
}

/// The path at the start of `rest` (after `base::`), each of a `{...}` group's members.
fn expand(base: &str, rest: &str, out: &mut Vec<String>) {
    let join = |p: &str| {
        let p = p.trim_end_matches(':');
        match (base.is_empty(), p.is_empty()) {
            (true, _) => p.to_string(),
            (false, true) => base.to_string(),
            (false, false) => format!("{base}::{p}"),
        }
    };
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .unwrap_or(rest.len());
    let path = &rest[..end];
    if !rest[end..].starts_with('{') || !path.is_empty() && !path.ends_with("::") {
        out.push(join(path));
        return;
    }
    let base = join(path);
    // Split the group's members at top-level commas.
    let group = &rest[end + 1..];
    let (mut depth, mut start) = (0usize, 0usize);
    for (j, c) in group.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                expand(&base, group[start..j].trim_start(), out);
                return;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                expand(&base, group[start..j].trim_start(), out);
                start = j + 1;
            }
            _ => {}
        }
    }
}

fn related(a: &str, b: &str) -> bool {
    a == b || a.starts_with(&format!("{b}::")) || b.starts_with(&format!("{a}::"))
}

/// The module graph: `a -> {b}`.
fn graph(mods: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let is_test = |m: &str| m == "tests" || m.ends_with("::tests");
    let mut edges = BTreeMap::new();
    for (m, code) in mods {
        // Unit test modules (`demux/tests.rs`) may use anything.
        if is_test(m) {
            continue;
        }
        let mut deps = BTreeSet::new();
        for p in paths_after(code, "crate::") {
            if let Some(r) = resolve(mods, &p) {
                deps.insert(r);
            }
        }
        // `super::x` from module `a::b` names `a::x`.
        let parent: Vec<&str> = m.split("::").collect();
        let parent = &parent[..parent.len().saturating_sub(1)];
        for p in paths_after(code, "super::") {
            let mut full: Vec<&str> = parent.to_vec();
            full.extend(p.split("::").filter(|s| !s.is_empty()));
            if let Some(r) = resolve(mods, &full.join("::")) {
                deps.insert(r);
            }
        }
        deps.retain(|d| !related(m, d) && !is_test(d));
        edges.insert(m.clone(), deps);
    }
    edges
}

/// A cycle through `start`, if there is one.
fn cycle_from(edges: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_string(), vec![start.to_string()])];
    let mut seen = BTreeSet::new();
    while let Some((m, path)) = stack.pop() {
        for d in edges.get(&m).into_iter().flatten() {
            if d == start {
                let mut p = path.clone();
                p.push(d.clone());
                return Some(p);
            }
            if seen.insert(d.clone()) {
                let mut p = path.clone();
                p.push(d.clone());
                stack.push((d.clone(), p));
            }
        }
    }
    None
}

#[test]
fn the_module_graph_has_no_cycle() {
    let mods = modules();
    let edges = graph(&mods);
    assert!(edges.len() > 40, "{} modules read", edges.len());
    for m in edges.keys() {
        if let Some(c) = cycle_from(&edges, m) {
            panic!(
                "modules depend on each other in a circle: {}",
                c.join(" -> ")
            );
        }
    }
}

/// The arrows the map forbids: `(modules, what they must not use)`, by module prefix.
const FORBIDDEN: &[(&[&str], &[&str])] = &[
    // The kernel transfer engine and everything below it know fds, bytes and formats only.
    (
        &[
            "attr_io",
            "ioctl",
            "buffer::cancel",
            "buffer::demux",
            "buffer::dmabuf",
            "buffer::kernel",
            "buffer::mask",
            "buffer::mmap_blocks",
            "buffer::uapi",
        ],
        &[
            "sysfs",
            "network",
            "xml",
            "context",
            "buffer::block",
            "buffer::events",
            "buffer::trigger",
            "info",
            "discover",
        ],
    ),
    // The local backend hands the engine what it needs; it never reaches up.
    (
        &["sysfs"],
        &[
            "context",
            "network",
            "xml",
            "buffer::block",
            "buffer::trigger",
            "info",
            "discover",
        ],
    ),
    // Backends return their parts; the context is built above them.
    (
        &["network", "xml"],
        &["context", "sysfs", "buffer::block", "info", "discover"],
    ),
    // The server sits on top of the library, beside the CLI: nothing in the library
    // reaches up to it.
    (
        &[
            "attr_io",
            "attr_loc",
            "backend",
            "buffer",
            "channel_type",
            "context",
            "discover",
            "error",
            "format",
            "gpio",
            "info",
            "ioctl",
            "model",
            "network",
            "strtol",
            "sysfs",
            "xml",
        ],
        &["server"],
    ),
    // The interface sits below the backends.
    (
        &[
            "backend",
            "attr_loc",
            "model",
            "format",
            "channel_type",
            "error",
        ],
        &[
            "context",
            "sysfs",
            "xml",
            "network::session",
            "network::stream",
            "info",
        ],
    ),
];

#[test]
fn data_flows_one_way() {
    let mods = modules();
    let edges = graph(&mods);
    let under = |m: &str, p: &str| m == p || m.starts_with(&format!("{p}::"));
    // Every name in the map is a module (a renamed one would make its rule vacuous).
    for (who, not) in FORBIDDEN {
        for name in who.iter().chain(not.iter()) {
            assert!(
                mods.keys().any(|m| under(m, name)),
                "FORBIDDEN names '{name}', which is no module of src/"
            );
        }
    }
    let mut wrong = Vec::new();
    for (m, deps) in &edges {
        for (who, not) in FORBIDDEN {
            if !who.iter().any(|w| under(m, w)) {
                continue;
            }
            for d in deps {
                if not.iter().any(|n| under(d, n)) {
                    wrong.push(format!("{m} -> {d}"));
                }
            }
        }
    }
    assert!(wrong.is_empty(), "arrows against the map: {wrong:#?}");
}

/// `unsafe` only where `lib.rs` allows it: the ioctl helpers, the two uAPI layers and the
/// SIMD kernels (the compiler enforces the rest with `#![deny(unsafe_code)]`).
#[test]
fn unsafe_is_allowed_in_the_uapi_layers_and_simd_kernels_only() {
    let allowed = ["ioctl", "buffer::uapi", "gpio::uapi", "buffer::demux::simd"];
    let mods = modules();
    let lib = &mods[""];
    assert!(lib.contains("#![deny(unsafe_code)]"));
    for (m, code) in &mods {
        let allows = code.contains("allow(unsafe_code)");
        let uses = code.contains("unsafe {") || code.contains("unsafe fn");
        if uses {
            assert!(allowed.contains(&m.as_str()), "unsafe code in {m}");
        }
        // The allowances are on the modules themselves (or their `mod` lines).
        if allows && !m.is_empty() {
            assert!(
                allowed.contains(&m.as_str())
                    || ["buffer", "gpio"].contains(&m.as_str()) && code.contains("mod uapi;"),
                "{m} allows unsafe code"
            );
        }
    }
}
