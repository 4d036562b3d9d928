//! The UniFFI bindings generator, pinned to the uniffi version `takedown-ffi` uses.
fn main() {
    uniffi::uniffi_bindgen_main()
}
