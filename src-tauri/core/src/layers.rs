//! The core's layers, checked: a module may use only modules of its own or an earlier layer
//! (ARCHITECTURE.md, "Layers of the core"). So there is no import circle between them, and a
//! newcomer can read the core bottom-up. Test code (`#[cfg(test)] mod …` at the end of a file,
//! and the test-only files) may use anything.

use std::collections::BTreeSet;
use std::path::Path;

/// Bottom to top. Every top-level module of `lib.rs` appears exactly once.
const LAYERS: &[&[&str]] = &[
    &["error", "time", "files", "csv_out"],
    &["store"],
    &["secrets"],
    &["context"],
    &["audit", "ingest"],
    &["stripe", "webhook"],
    &["domain"],
    &["stripe_sync", "doctor", "backup"],
    &["receiver"],
    &["tunnel", "requests", "ropa", "health"],
    &["jobs"],
];

/// Files that are test code from their first line.
const TEST_FILES: &[&str] = &["props.rs", "tests.rs", "fake.rs", "layers.rs"];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The product code of a file: comments and the trailing test module dropped.
fn product_code(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]")
            && lines
                .peek()
                .is_some_and(|next| next.trim_start().starts_with("mod "))
        {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The top-level modules named by `crate::x` in `code`.
fn uses(code: &str) -> BTreeSet<String> {
    code.match_indices("crate::")
        .map(|(i, _)| {
            code[i + 7..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|m| !m.is_empty())
        .collect()
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_uses_only_its_own_or_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    let declared: BTreeSet<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';'))
        .collect();
    let listed: BTreeSet<&str> = LAYERS.iter().flat_map(|l| l.iter().copied()).collect();
    assert_eq!(
        declared, listed,
        "LAYERS must list every public module of lib.rs"
    );

    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let name = rel.file_name().unwrap().to_str().unwrap();
        if rel.components().count() == 1 && (name == "lib.rs" || TEST_FILES.contains(&name)) {
            continue;
        }
        if TEST_FILES.contains(&name) {
            continue;
        }
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap()
            .trim_end_matches(".rs")
            .to_string();
        let own = layer_of(&top).unwrap_or_else(|| panic!("{top} is in no layer"));
        let code = product_code(&std::fs::read_to_string(&file).unwrap());
        for used in uses(&code) {
            match layer_of(&used) {
                Some(l) if l > own => wrong.push(format!(
                    "{} (layer {own}) uses crate::{used} (layer {l})",
                    rel.display()
                )),
                _ => {}
            }
        }
    }
    assert!(wrong.is_empty(), "upward imports:\n{}", wrong.join("\n"));
}

#[test]
fn the_check_sees_an_upward_import() {
    let code = product_code(
        "// crate::requests in a comment\nuse crate::store::Db;\nuse crate::requests::Kind;\n\
         #[cfg(test)]\nmod tests { use crate::ropa; }\n",
    );
    let used = uses(&code);
    assert!(used.contains("store") && used.contains("requests") && !used.contains("ropa"));
    assert!(layer_of("requests") > layer_of("store"));
}
