use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Home() -> impl IntoView {
    view! {
        <Title text="Overview"/>
        <section class="hero">
            <h1>"Your compliance program, verifiable end to end"</h1>
            <p class="lede">
                "Track frameworks, controls, evidence and policies per organization, with a "
                "tamper-evident audit trail your auditors can check themselves."
            </p>
            <a class="button primary" href="/sign-in">"Sign in"</a>
        </section>
    }
}
