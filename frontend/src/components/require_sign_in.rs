use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::session::Session;

/// Renders its children for a signed-in user; anyone else is sent to the sign-in
/// page. The server renders the page already knowing the session (so it is
/// complete without JavaScript); in the browser the session is checked again
/// each time a page mounts this, so a session revoked elsewhere ends on the
/// next navigation.
#[component]
pub fn RequireSignIn(children: ChildrenFn) -> impl IntoView {
    let session = Session::use_context();
    // A page the server rendered signed in shows at once (the server has just
    // checked); a page reached by navigating in the browser waits for the check,
    // so its data is never asked for with a session that has ended.
    let checked = RwSignal::new(session.is_as_rendered());
    // Effects run only in the browser; a check that finds nobody signed in
    // turns the page into the redirect below.
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            session.refresh().await;
            checked.set(true);
        });
    });
    // Whether someone is signed in, not who: a refreshed status that says the
    // same leaves the page as it is.
    let signed_in = Memo::new(move |_| {
        checked
            .get()
            .then(|| session.0.get().map(|status| status.is_some()))
            .flatten()
    });
    move || match signed_in.get() {
        Some(true) => children().into_any(),
        Some(false) => view! { <Redirect path="/sign-in"/> }.into_any(),
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
    }
}
