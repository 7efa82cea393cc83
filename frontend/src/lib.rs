//! The Attest console, a Leptos app rendered on the server (`ssr`) and hydrated in
//! the browser (`hydrate`). Server functions stay thin: they extract state and call
//! an `attest-core` service.

mod api;
pub mod app;
mod components;
mod download;
mod pages;
mod session;
#[cfg(feature = "ssr")]
pub mod shell;
#[cfg(feature = "ssr")]
pub mod status_page;

pub use app::App;
#[cfg(feature = "ssr")]
pub use session::ServerSession;

/// The browser entry point, called by the shell's module script once the wasm is loaded.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
