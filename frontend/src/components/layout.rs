use leptos::prelude::*;
use leptos_router::components::A;

/// The frame around every page: brand, navigation, content.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <div class="shell">
            <header class="topbar">
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    "Attest"
                </a>
                <nav class="nav" aria-label="Main">
                    <A href="/" exact=true>"Overview"</A>
                    <A href="/sign-in">"Sign in"</A>
                </nav>
            </header>
            <main class="content">{children()}</main>
            <footer class="footer">"Attest — compliance you can verify"</footer>
        </div>
    }
}
