//! The UniFFI bindings generator, pinned to the uniffi version `takedown-core` uses.
fn main() {
    uniffi::uniffi_bindgen_main()
}
