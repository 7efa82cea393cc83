use attest_shared::api::{AcceptInvitation, AcceptedInvitation};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{self, Method};

/// Where an invitation mail's link lands: choose a name and password (new
/// accounts), then join the organization.
#[component]
pub fn AcceptInvitationPage() -> impl IntoView {
    let query = use_query_map();
    let token = move || query.read().get("token").unwrap_or_default();
    let (name, set_name) = signal(String::new());
    let (password, set_password) = signal(String::new());
    let accept = Action::new_local(move |body: &AcceptInvitation| {
        let body = body.clone();
        async move {
            api::call::<_, AcceptedInvitation>(Method::Post, "/auth/invitations/accept", Some(&body), &[])
                .await
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        accept.dispatch(AcceptInvitation {
            token: token(),
            name: name.get_untracked(),
            password: Some(password.get_untracked()).filter(|p| !p.is_empty()),
        });
    };

    view! {
        <Title text="Join an organization"/>
        <section class="panel narrow">
            {move || match accept.value().get() {
                Some(Ok(accepted)) => view! {
                    <h1>"Welcome to " {accepted.org.name}</h1>
                    <p>"You are now a member. Sign in with " <strong>{accepted.user.email}</strong> " to start."</p>
                    <a class="button primary" href="/sign-in">"Sign in"</a>
                }.into_any(),
                outcome => {
                    let problem = match outcome {
                        Some(Err(e)) if e.status == 400 && e.code == "bad_request" => {
                            Some("This invitation is invalid, already used, revoked or expired. Ask for a new one.".to_owned())
                        }
                        Some(Err(e)) => Some(e.detail),
                        _ => None,
                    };
                    view! {
                        <h1>"Join an organization"</h1>
                        <p class="muted">"New to Attest? Choose your name and a password. Already have an account? Just press Join."</p>
                        <form class="form" on:submit=on_submit>
                            <label for="name">"Your name"</label>
                            <input id="name" name="name" autocomplete="name"
                                on:input=move |ev| set_name.set(event_target_value(&ev))/>
                            <label for="new-password">"Password (at least 12 characters)"</label>
                            <input id="new-password" name="password" type="password" autocomplete="new-password"
                                on:input=move |ev| set_password.set(event_target_value(&ev))/>
                            <button type="submit" class="button primary">"Join"</button>
                            <p class="notice error" role="alert">{problem}</p>
                        </form>
                    }.into_any()
                }
            }}
        </section>
    }
}
