//! `uniffi-bindgen`: generates Kotlin (and Swift) bindings from the built `chatflow_ffi` library (library mode).
//! Must run inside the cargo workspace: it reads `cargo metadata` to find each crate's `uniffi.toml`.
//!
//! Kotlin output is then narrowed ([`kotlin_visibility`]): apps see the facade and the value types, not the plumbing.

mod kotlin_visibility;

use std::path::{Path, PathBuf};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    uniffi::uniffi_bindgen_main();
    if let Some(out_dir) = kotlin_out_dir(&args) {
        if let Err(e) = narrow_kotlin_files(&out_dir) {
            eprintln!("could not narrow the generated Kotlin in {}: {e}", out_dir.display());
            std::process::exit(1);
        }
    }
}

/// The `--out-dir` of a `generate --language kotlin` run.
fn kotlin_out_dir(args: &[String]) -> Option<PathBuf> {
    let value_of = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1));
    let kotlin = args.iter().any(|a| a == "generate") && value_of("--language").is_some_and(|l| l == "kotlin");
    kotlin.then(|| value_of("--out-dir").map(PathBuf::from)).flatten()
}

fn narrow_kotlin_files(dir: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            narrow_kotlin_files(&path)?;
        } else if path.extension().is_some_and(|e| e == "kt") {
            let source = std::fs::read_to_string(&path)?;
            let narrowed = kotlin_visibility::narrow(&source)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
            std::fs::write(&path, narrowed)?;
        }
    }
    Ok(())
}
