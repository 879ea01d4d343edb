//! `uniffi-bindgen`: generates Kotlin (and Swift) bindings from the built `chatflow_ffi` library (library mode).
//! Must run inside the cargo workspace: it reads `cargo metadata` to find each crate's `uniffi.toml`.

fn main() {
    uniffi::uniffi_bindgen_main()
}
