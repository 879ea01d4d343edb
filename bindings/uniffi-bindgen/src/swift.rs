//! `uniffi-bindgen-swift`: Swift sources, C headers and module maps as separate outputs, for SwiftPM targets and
//! XCFrameworks.

fn main() {
    uniffi::uniffi_bindgen_swift()
}
