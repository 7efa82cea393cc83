use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::session::Session;

/// Renders its children for a signed-in user; anyone else is sent to the sign-in
/// page. The session is checked with the server each time a page mounts it, so a
/// session revoked elsewhere ends on the next navigation.
#[component]
pub fn RequireSignIn(children: ChildrenFn) -> impl IntoView {
    let session = Session::use_context();
    let status = LocalResource::new(move || session.refresh());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(None) = status.get() {
            navigate("/sign-in", Default::default());
        }
    });
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let children = children.clone();
                status.get().flatten().map(move |_| children())
            }}
        </Suspense>
    }
}
