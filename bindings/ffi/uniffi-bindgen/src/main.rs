//! `uniffi-bindgen` at the exact UniFFI version `trackgate-ffi` is built with: generated code
//! and scaffolding must come from the same UniFFI release, or loading fails a checksum check.
//!
//! ```sh
//! cargo run -p trackgate-uniffi-bindgen --bin uniffi-bindgen -- generate \
//!     --library target/debug/libtrackgate_ffi.so --language kotlin --out-dir out/kotlin
//! ```

fn main() {
    uniffi::uniffi_bindgen_main()
}
