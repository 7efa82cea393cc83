use leptos::prelude::*;
use leptos_meta::Title;

/// Shown for any console path that names no page; answered with status `404`.
#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_actix::ResponseOptions>() {
        response.set_status(actix_web::http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found"/>
        <section class="panel narrow">
            <h1>"Page not found"</h1>
            <p>"There is nothing at this address. It may have moved, or the link may be mistyped."</p>
            <a class="button" href="/">"Back to the overview"</a>
        </section>
    }
}
