use attest_shared::api::{Page, SessionView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;
use uuid::Uuid;

use crate::{
    api::{self, Method},
    components::require_sign_in::RequireSignIn,
    pages::credentials::{ChangePasswordForm, LinkedIdentities},
    session::Session,
};

#[component]
pub fn Account() -> impl IntoView {
    view! {
        <Title text="Account"/>
        <RequireSignIn>
            <Sessions/>
            <ChangePasswordForm/>
            <LinkedIdentities/>
            <YourData/>
        </RequireSignIn>
    }
}

/// The export of everything Attest holds about me: a plain download, so it
/// works without JavaScript (and the router leaves it alone).
#[component]
fn YourData() -> impl IntoView {
    view! {
        <section class="panel">
            <h2>"Your data"</h2>
            <p class="muted">
                "One JSON file with your profile, memberships, sessions, linked identities, the API keys \
                 you created, your policy acknowledgments and every audit event by or about you. It never \
                 holds a secret."
            </p>
            <a class="button" href="/api/v1/me/export" download="attest-personal-data.json" rel="external">
                "Download my data"
            </a>
        </section>
    }
}

/// My sessions, with "revoke" on each and "sign out everywhere".
#[component]
fn Sessions() -> impl IntoView {
    let session = Session::use_context();
    let sessions = LocalResource::new(|| api::get::<Page<SessionView>>("/api/v1/me/sessions"));
    let revoke = Action::new_local(move |id: &Uuid| {
        let path = format!("/api/v1/me/sessions/{id}");
        async move {
            let result = session.send::<()>(Method::Delete, &path, None).await;
            sessions.refetch();
            result
        }
    });
    let navigate = use_navigate();
    let everywhere = Action::new_local(move |_: &()| async move {
        let list = api::get::<Page<SessionView>>("/api/v1/me/sessions").await?;
        for other in list.items.iter().filter(|s| !s.current) {
            let path = format!("/api/v1/me/sessions/{}", other.id);
            session.send::<()>(Method::Delete, &path, None).await?;
        }
        session.send::<()>(Method::Post, "/auth/logout", None).await?;
        session.0.set(Some(None));
        Ok::<_, api::ApiError>(())
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = everywhere.value().get() {
            navigate("/sign-in", Default::default());
        }
    });

    view! {
        <section class="panel">
            <h1>"Your sessions"</h1>
            <p class="muted">"Every browser signed in to your account. Revoking one signs it out at once."</p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || sessions.get().map(|page| match page {
                    Ok(page) => view! {
                        <table class="table" data-testid="sessions">
                            <thead><tr><th>"Signed in"</th><th>"Last active"</th><th>"From"</th><th></th></tr></thead>
                            <tbody>
                                {page.items.into_iter().map(|s| {
                                    let id = s.id;
                                    view! {
                                        <tr>
                                            <td>{s.created_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                                            <td>{s.last_seen_at.format("%Y-%m-%d %H:%M UTC").to_string()}</td>
                                            <td>{s.ip.unwrap_or_default()} " " <span class="muted">{s.user_agent.unwrap_or_default()}</span></td>
                                            <td>
                                                {if s.current {
                                                    view! { <span class="tag">"This browser"</span> }.into_any()
                                                } else {
                                                    view! {
                                                        <button class="button small" data-testid="revoke"
                                                            on:click=move |_| { revoke.dispatch(id); }>
                                                            "Revoke"
                                                        </button>
                                                    }.into_any()
                                                }}
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
            <button class="button danger" data-testid="sign-out-everywhere" on:click=move |_| { everywhere.dispatch(()); }>
                "Sign out everywhere"
            </button>
        </section>
    }
}
