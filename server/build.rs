//! Embeds the web inbox (`web/inbox/`) into the binary: lists the folder into `$OUT_DIR/inbox_files.rs`, one
//! `include_bytes!` per file, so `cargo build` alone yields a server whose inbox works. A changed, added or removed
//! file reruns this script.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read when the script runs, not baked in when it is compiled: a build directory shared by two checkouts may run
    // a script compiled for the other one.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR for build scripts");
    let dir = Path::new(&manifest_dir).join("web/inbox");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.path())
        .collect();
    files.sort();
    let mut out = String::from(
        "/// `(file name, contents)` of every file of `web/inbox/`.\npub const FILES: &[(&str, &[u8])] = &[\n",
    );
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path.file_name().and_then(|n| n.to_str()).expect("inbox file names are UTF-8");
        writeln!(out, "    ({name:?}, include_bytes!({:?})),", path.display().to_string()).expect("write to a String");
    }
    out.push_str("];\n");
    let target = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("inbox_files.rs");
    std::fs::write(&target, out).unwrap_or_else(|e| panic!("cannot write {}: {e}", target.display()));
}
