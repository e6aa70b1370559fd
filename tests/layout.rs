//! The module map holds: every module of src/ imports only modules listed before it in
//! src/lib.rs (so there is no cycle and the data's way through the code reads top to bottom), and
//! no adapter touches the store.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

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

/// The code without comments and without its tests, which may use anything.
fn code(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

/// The top-level modules a file names through `crate::` paths, including `use crate::{a, b::c}`.
fn imports(code: &str, modules: &[String]) -> HashSet<String> {
    let mut out = HashSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let name: String = item.trim().chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect();
                out.insert(name);
            }
        } else {
            out.insert(rest.chars().take_while(|c| c.is_ascii_lowercase() || *c == '_').collect());
        }
    }
    out.retain(|m| modules.contains(m));
    out
}

#[test]
fn modules_import_only_what_comes_before_them_and_adapters_never_the_store() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    let order: Vec<String> = lib
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod ").and_then(|m| m.strip_suffix(';')))
        .map(str::to_string)
        .collect();
    assert!(order.len() > 10, "{order:?}");
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(root.join("src")).unwrap();
        let top = rel.components().next().unwrap().as_os_str().to_string_lossy().trim_end_matches(".rs").to_string();
        let Some(me) = order.iter().position(|m| *m == top) else { continue };
        let code = code(&file);
        for target in imports(&code, &order) {
            let at = order.iter().position(|m| *m == target).unwrap();
            if at > me {
                wrong.push(format!("{} imports {target}, listed after {top} in src/lib.rs", rel.display()));
            }
        }
        if top == "adapters" && (code.contains("crate::store") || code.contains(".store.") || code.contains("Store")) {
            wrong.push(format!("{} touches the store; adapters go through the core", rel.display()));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_grouped_imports() {
    let modules: Vec<String> = ["model", "store", "deliver"].iter().map(|s| s.to_string()).collect();
    let found = imports("use crate::{deliver::Adapter, model};\nlet s = crate::store::Store::open;", &modules);
    assert_eq!(found, modules.into_iter().collect());
}
