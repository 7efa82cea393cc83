use attest_shared::api::{AcceptInvitation, AcceptedInvitation};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{self, Method};

/// Where an invitation mail's link lands: choose a name and password (new
/// accounts), then join the organization. A real form: without JavaScript the
/// browser posts it and the server sends it back here, welcomed
/// (`?joined=1`) or with what was wrong (`?error=`).
#[component]
pub fn AcceptInvitationPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).filter(|v| !v.is_empty());
    let token = move || param("token").unwrap_or_default();
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
    const INVALID: &str = "This invitation is invalid, already used, revoked or expired. Ask for a new one.";

    view! {
        <Title text="Join an organization"/>
        <section class="panel narrow">
            {move || {
                // Without JavaScript the server says only "joined" (a link must
                // not be able to make this page name an org).
                let joined = match accept.value().get() {
                    Some(Ok(accepted)) => Some(Some((accepted.org.name, accepted.user.email))),
                    Some(Err(_)) => None,
                    None => param("joined").map(|_| None),
                };
                if let Some(details) = joined {
                    let (title, sign_in_as) = match details {
                        Some((org, email)) => (
                            format!("Welcome to {org}"),
                            Some(view! { " with " <strong>{email}</strong> }),
                        ),
                        None => ("Welcome".to_owned(), None),
                    };
                    return view! {
                        <h1>{title}</h1>
                        <p>"You are now a member. Sign in" {sign_in_as} " to start."</p>
                        <a class="button primary" href="/sign-in">"Sign in"</a>
                    }.into_any();
                }
                let problem = match accept.value().get() {
                    Some(Err(e)) if e.status == 400 && e.code == "bad_request" => Some(INVALID.to_owned()),
                    Some(Err(e)) => Some(e.describe()),
                    _ => param("error").map(|code| match code.as_str() {
                        "invalid" => INVALID.to_owned(),
                        "name" => "Enter your name (up to 200 characters).".to_owned(),
                        _ => "Choose a password of at least 12 characters that is hard to guess: a few unrelated words make a strong one.".to_owned(),
                    }),
                };
                view! {
                    <h1>"Join an organization"</h1>
                    <p class="muted">"New to Attest? Choose your name and a password. Already have an account? Just press Join."</p>
                    <form class="form" method="post" action="/auth/invitations/accept" on:submit=on_submit>
                        <input type="hidden" name="token" value=token/>
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
            }}
        </section>
    }
}
