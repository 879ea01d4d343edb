//! The core's layout rules, checked on its sources: each capability owns its tables (no other folder writes SQL
//! on them: it calls the owner's typed queries), the store is infrastructure (it imports no capability), and the
//! client-wide context exposes services, not fields other folders reach into.

use std::path::{Path, PathBuf};

/// Which folder of `src/` owns each table of the schema (`src/store/migrations`).
const OWNERS: &[(&str, &str)] = &[
    ("meta", "store"),
    ("session", "session"),
    ("properties", "session"),
    ("chatflows", "chatflow"),
    ("chatflow_status", "chatflow"),
    ("consents", "consent"),
    ("conversations", "sync"),
    ("messages", "sync"),
    ("outbox", "sync"),
    ("kb_articles", "kb"),
    ("kb_fts", "kb"),
    ("kb_sync", "kb"),
    ("attachment_cache", "attachments"),
];

const SQL_KEYWORDS: &[&str] = &["FROM", "INTO", "UPDATE", "JOIN", "TABLE"];

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`, with its text up to its unit tests (tests may set up any table).
fn sources(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("tests.rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default().to_owned();
            out.push((path, code));
        }
    }
}

fn folder_of(path: &Path) -> String {
    let relative = path.strip_prefix(src()).unwrap();
    let mut parts = relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned());
    let first = parts.next().unwrap_or_default();
    first.trim_end_matches(".rs").to_owned()
}

/// The tables a piece of code names in SQL (`FROM messages`, `INSERT INTO outbox`, …).
fn tables_named(code: &str) -> Vec<&'static str> {
    let words: Vec<&str> =
        code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).filter(|w| !w.is_empty()).collect();
    let mut named = Vec::new();
    for pair in words.windows(2) {
        if SQL_KEYWORDS.contains(&pair[0]) {
            if let Some((table, _)) = OWNERS.iter().find(|(t, _)| *t == pair[1]) {
                named.push(*table);
            }
        }
    }
    named
}

#[test]
fn each_table_is_queried_only_by_the_capability_that_owns_it() {
    let mut files = Vec::new();
    sources(&src(), &mut files);
    let mut violations = Vec::new();
    for (path, code) in &files {
        let folder = folder_of(path);
        for table in tables_named(code) {
            let owner = OWNERS.iter().find(|(t, _)| *t == table).map(|(_, o)| *o).unwrap();
            if owner != folder {
                violations.push(format!("{}: SQL on `{table}`, which `{owner}/` owns", path.display()));
            }
        }
    }
    violations.dedup();
    assert!(violations.is_empty(), "call the owner's typed queries instead:\n{}", violations.join("\n"));
}

#[test]
fn every_table_of_the_schema_has_an_owner() {
    let migrations = src().join("store/migrations");
    for entry in std::fs::read_dir(migrations).unwrap() {
        let sql = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let words: Vec<&str> = sql.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            if *w == "TABLE" && i > 0 && (words[i - 1] == "CREATE" || words[i - 1] == "VIRTUAL") {
                let name = words[i + 1].trim_end_matches('(');
                assert!(OWNERS.iter().any(|(t, _)| *t == name), "table `{name}` has no owner in tests/layout.rs");
            }
        }
    }
}

#[test]
fn the_store_imports_no_capability() {
    let mut files = Vec::new();
    sources(&src().join("store"), &mut files);
    for (path, code) in &files {
        for capability in ["sync", "session", "consent", "chatflow", "kb", "attachments", "state"] {
            let import = format!("crate::{capability}");
            assert!(!code.contains(&import), "{} imports `{import}`: the store is infrastructure", path.display());
        }
    }
}

/// The fields of `struct NAME` in `file` that code outside the struct's own folder can reach.
fn open_fields(file: &str, name: &str) -> Vec<String> {
    let text = std::fs::read_to_string(src().join(file)).unwrap();
    let start = format!("struct {name} {{");
    let body = text.split(start.as_str()).nth(1).unwrap_or_else(|| panic!("{name} in {file}"));
    let body = body.split("\n}").next().unwrap();
    let open = |l: &&str| l.starts_with("pub ") || l.starts_with("pub(crate)");
    body.lines().map(str::trim).filter(open).map(str::to_owned).collect()
}

#[test]
fn the_client_context_and_the_messaging_state_keep_their_fields_to_themselves() {
    let shared = open_fields("client.rs", "ClientInner");
    assert!(shared.is_empty(), "ClientInner fields reachable from other folders: {shared:?}");
    let shared = open_fields("sync/state.rs", "SyncState");
    assert!(shared.is_empty(), "SyncState fields reachable outside sync/: {shared:?}");
}
