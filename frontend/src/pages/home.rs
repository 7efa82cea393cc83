use leptos::prelude::*;
use leptos_meta::Title;

#[component]
pub fn Home() -> impl IntoView {
    view! {
        <Title text="Overview"/>
        <section class="hero">
            <h1>"Your compliance program, verifiable end to end"</h1>
            <p class="lede">
                "Each organization signs in through its own identity provider, with roles, "
                "revocable sessions, scoped API keys and a tamper-evident audit trail your "
                "auditors can check themselves. Frameworks, controls, evidence and policies are coming next."
            </p>
            <a class="button primary" href="/sign-in">"Sign in"</a>
        </section>
    }
}
