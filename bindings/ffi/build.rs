//! Link settings of the shared library apps load (`libchatflow_ffi.so`).
//!
//! Relative relocations packed instead of one 24-byte entry each: every pointer in the library's read-only data needs
//! one, and unpacked they were ≈ 0.4 MB of the stripped library (`scripts/bindings.sh size`).
//!
//! 16 KB pages: Android 15+ devices may run with 16 KB pages, where the loader refuses a library whose LOAD segments
//! are aligned to less (Google Play requires 16 KB support for apps targeting them). `max-page-size` aligns the
//! segments; `common-page-size` makes the end of RELRO a 16 KB boundary, so the loader's read-only protection of
//! RELRO's last page does not cover writable data (the crash JNA 5.16 had). The padding is in memory, not the file.
fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    let elf = match (os.as_str(), env.as_str()) {
        // Android's own packed format, read by its loader since API 23 (the AAR's minSdk is 24; RELR needs 28).
        ("android", _) => {
            println!("cargo:rustc-cdylib-link-arg=-Wl,--pack-dyn-relocs=android");
            true
        }
        // Standard RELR: glibc 2.36 or newer loads it (the host library is for tests and the console samples).
        ("linux", "gnu") => {
            println!("cargo:rustc-cdylib-link-arg=-Wl,-z,pack-relative-relocs");
            true
        }
        // Apple's linker packs fixups on its own; the iOS build is a static library anyway.
        _ => false,
    };
    if elf {
        // Every ELF build, so the test command checks on the host library what ships for Android (android/build.sh).
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,max-page-size=16384");
        println!("cargo:rustc-cdylib-link-arg=-Wl,-z,common-page-size=16384");
    }
}
