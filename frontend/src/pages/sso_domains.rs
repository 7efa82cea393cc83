//! The SSO page's domain proofs: each claimed domain's state and the TXT
//! record that proves it, with "Verify" to look the record up now.

use attest_shared::api::{Page, SsoDomain, VerifySsoDomain};
use leptos::prelude::*;

use crate::{
    api::{self, Method},
    session::Session,
};

/// The domains of `slug`'s SSO settings; `saved` changes when the settings
/// are saved (the list follows them).
#[component]
pub fn DomainProofs(slug: Memo<String>, saved: Signal<i32>) -> impl IntoView {
    let session = Session::use_context();
    let domains = LocalResource::new(move || {
        let path = format!("/api/v1/orgs/{}/sso/domains", slug.get());
        saved.track();
        async move { api::get::<Page<SsoDomain>>(&path).await }
    });
    let verify = Action::new_local(move |domain: &String| {
        let path = format!(
            "/api/v1/orgs/{}/sso/domains/{domain}/verify",
            slug.get_untracked()
        );
        let body = VerifySsoDomain { method: "dns".into() };
        async move {
            let result = session.send(Method::Post, &path, Some(&body)).await;
            domains.refetch();
            result
        }
    });
    let outcome = move || {
        verify.value().get().map(|result| match result {
            Ok(()) => (
                "notice",
                "Verified: the domain now routes sign-ins to your identity provider.".to_owned(),
            ),
            Err(e) => ("notice error", e.detail),
        })
    };
    view! {
        <section class="panel">
            <h2>"Email domains"</h2>
            <p class="muted">
                "A domain routes sign-ins to your identity provider only once you prove you own it: publish the TXT record shown, then press Verify. Keep the record: Attest checks it daily."
            </p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || domains.get().map(|page| match page {
                    Ok(page) => view! {
                        <table class="table" data-testid="sso-domains">
                            <thead><tr><th>"Domain"</th><th>"State"</th><th>"TXT record"</th><th></th></tr></thead>
                            <tbody>
                                {page.items.into_iter().map(|d| {
                                    let domain = d.domain.clone();
                                    let verified = d.state == "verified";
                                    view! {
                                        <tr>
                                            <td>{d.domain}</td>
                                            <td><span class="tag">{d.state}</span></td>
                                            <td><code>{d.txt_name}</code> " " <code>{d.txt_value}</code></td>
                                            <td>
                                                {(!verified).then(|| view! {
                                                    <button class="button small" data-testid="verify-domain"
                                                        on:click=move |_| { verify.dispatch(domain.clone()); }>
                                                        "Verify"
                                                    </button>
                                                })}
                                            </td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    }.into_any(),
                    Err(e) => view! { <p class="notice error">{e.detail}</p> }.into_any(),
                })}
            </Suspense>
            {move || outcome().map(|(class, text)| view! { <p class=class role="status">{text}</p> })}
        </section>
    }
}
