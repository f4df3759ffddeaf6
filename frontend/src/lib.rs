//! Hydration entry point: the few lines that bring the server-rendered
//! dashboard (`app`) to life in the browser.
//!
//! Built for `wasm32-unknown-unknown` by `scripts/build.sh` and turned into
//! `target/site/pkg/steadfast{.js,_bg.wasm}` by `wasm-bindgen --target web`.
//! On other targets the crate is empty.

#[cfg(target_arch = "wasm32")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(app::App);
}
