//! Link settings of the shared library apps load (`libchatflow_ffi.so`).
//!
//! Relative relocations packed instead of one 24-byte entry each: every pointer in the library's read-only data needs
//! one, and unpacked they were ≈ 0.4 MB of the stripped library (`scripts/bindings.sh size`).
fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    match (os.as_str(), env.as_str()) {
        // Android's own packed format, read by its loader since API 23 (the AAR's minSdk is 24; RELR needs 28).
        ("android", _) => println!("cargo:rustc-cdylib-link-arg=-Wl,--pack-dyn-relocs=android"),
        // Standard RELR: glibc 2.36 or newer loads it (the host library is for tests and the console samples).
        ("linux", "gnu") => println!("cargo:rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs"),
        // Apple's linker packs fixups on its own; the iOS build is a static library anyway.
        _ => {}
    }
}
