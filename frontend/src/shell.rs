//! The HTML document around the app, rendered on the server for every page.

use leptos::prelude::*;
use leptos_meta::MetaTags;

use crate::App;

/// Where the compiled console assets are served, content-hashed. `None` when the
/// console has not been built: pages then render without scripts or styles.
#[derive(Clone, Debug, Default)]
pub struct AssetUrls {
    pub script: Option<String>,
    pub wasm: Option<String>,
    pub stylesheet: Option<String>,
    pub icon: Option<String>,
}

/// The document shell. The inline module script carries this response's CSP nonce.
pub fn shell() -> impl IntoView {
    let assets = use_context::<AssetUrls>().unwrap_or_default();
    let nonce = leptos::nonce::use_nonce();
    let boot = match (&assets.script, &assets.wasm) {
        (Some(script), Some(wasm)) => Some(format!(
            "import init, {{ hydrate }} from {script:?}; init({{ module_or_path: {wasm:?} }}).then(hydrate);"
        )),
        _ => None,
    };

    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                {assets.stylesheet.map(|href| view! { <link rel="stylesheet" href=href/> })}
                {assets.icon.map(|href| view! { <link rel="icon" type="image/svg+xml" href=href/> })}
                {assets.script.clone().map(|href| view! { <link rel="modulepreload" href=href/> })}
                {boot.map(|code| view! { <script type="module" nonce=nonce>{code}</script> })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}
