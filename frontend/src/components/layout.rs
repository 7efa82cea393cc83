use leptos::prelude::*;
use leptos_router::{components::A, hooks::use_navigate};

use crate::{api::Method, session::Session};

/// The frame around every page: brand, navigation, content. The navigation shows
/// who is signed in once a page has checked (public pages do not ask the server,
/// so anonymous visits cause no `401`s).
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let session = Session::use_context();
    let signed_in = move || session.0.get().flatten();
    let navigate = use_navigate();
    let sign_out = Action::new_local(move |_: &()| async move {
        let _ = session.send::<()>(Method::Post, "/auth/logout", None).await;
        session.0.set(Some(None));
    });
    Effect::new(move |_| {
        if sign_out.value().get().is_some() {
            navigate("/sign-in", Default::default());
        }
    });

    view! {
        <div class="shell">
            <header class="topbar">
                <a class="brand" href="/">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    "Attest"
                </a>
                <nav class="nav" aria-label="Main">
                    <A href="/" exact=true>"Overview"</A>
                    <A href="/dashboard">"Dashboard"</A>
                    <A href="/account">"Account"</A>
                    <Show
                        when=move || signed_in().is_some()
                        fallback=|| view! { <A href="/sign-in">"Sign in"</A> }
                    >
                        <span class="whoami" data-testid="whoami">
                            {move || signed_in().map(|s| s.user.email).unwrap_or_default()}
                        </span>
                        <button class="button ghost small" on:click=move |_| { sign_out.dispatch(()); }>
                            "Sign out"
                        </button>
                    </Show>
                </nav>
            </header>
            <main class="content">{children()}</main>
            <footer class="footer">"Attest — compliance you can verify"</footer>
        </div>
    }
}
