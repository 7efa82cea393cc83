//! The account page's credentials: changing the password, and the SSO
//! identities linked to the account (with linking another).

use attest_shared::api::{ChangePassword, LinkIdentity, LinkStarted, LinkedIdentity, Page};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{
    api::{self, Method},
    session::Session,
};

/// `POST /api/v1/me/password`: the current password, then the new one. A real
/// form: without JavaScript the browser posts it (the session's CSRF token in a
/// hidden field) and the server sends it back here with the outcome in the
/// query; with JavaScript it is sent in the background.
#[component]
pub fn ChangePasswordForm() -> impl IntoView {
    let session = Session::use_context();
    let query = use_query_map();
    let (current, set_current) = signal(String::new());
    let (new, set_new) = signal(String::new());
    let change = Action::new_local(move |body: &ChangePassword| {
        let body = body.clone();
        async move {
            session
                .send(Method::Post, "/api/v1/me/password", Some(&body))
                .await
        }
    });
    const CHANGED: &str = "Password changed. Your other sessions were signed out.";
    const WRONG_CURRENT: &str = "Your current password is wrong.";
    let outcome = move || match change.value().get() {
        Some(Ok(())) => Some(("notice", CHANGED.to_owned())),
        Some(Err(e)) if e.code == "invalid_credentials" => Some(("notice error", WRONG_CURRENT.to_owned())),
        Some(Err(e)) => Some((
            "notice error",
            e.fields
                .first()
                .map_or(e.detail.clone(), |(_, m)| format!("The new password {m}")),
        )),
        // What the server said of a form posted without JavaScript.
        None => {
            let query = query.read();
            match (
                query.get("password").as_deref(),
                query.get("password_error").as_deref(),
            ) {
                (Some("changed"), _) => Some(("notice", CHANGED.to_owned())),
                (_, Some("current")) => Some(("notice error", WRONG_CURRENT.to_owned())),
                (_, Some(_)) => Some((
                    "notice error",
                    "The new password is too easy to guess. A few unrelated words make a strong one."
                        .to_owned(),
                )),
                _ => None,
            }
        }
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        change.dispatch(ChangePassword {
            current: current.get_untracked(),
            new: new.get_untracked(),
        });
    };
    view! {
        <section class="panel">
            <h2>"Password"</h2>
            <form class="form" method="post" action="/api/v1/me/password" on:submit=on_submit data-testid="change-password">
                <input type="hidden" name="csrf_token" value=session.csrf().unwrap_or_default()/>
                <label for="current-password">"Current password"</label>
                <input id="current-password" name="current" type="password" autocomplete="current-password" required
                    on:input=move |ev| set_current.set(event_target_value(&ev))/>
                <label for="new-password">"New password (at least 12 characters)"</label>
                <input id="new-password" name="new" type="password" autocomplete="new-password" required
                    on:input=move |ev| set_new.set(event_target_value(&ev))/>
                <button type="submit" class="button primary" disabled=move || change.pending().get()>"Change password"</button>
                {move || outcome().map(|(class, text)| view! { <p class=class role="status">{text}</p> })}
            </form>
        </section>
    }
}

/// The identities linked to my account, and linking one at an org's IdP.
#[component]
pub fn LinkedIdentities() -> impl IntoView {
    let session = Session::use_context();
    let query = use_query_map();
    let refused = move || query.read().get("link_error").map(|code| link_problem(&code));
    let linked = LocalResource::new(|| api::get::<Page<LinkedIdentity>>("/api/v1/me/identities"));
    let (org, set_org) = signal(String::new());
    let (password, set_password) = signal(String::new());
    let (code, set_code) = signal(String::new());
    let link = Action::new_local(move |body: &LinkIdentity| {
        let body = body.clone();
        let csrf = session.csrf().unwrap_or_default();
        async move {
            let started = api::call::<_, LinkStarted>(
                Method::Post,
                "/api/v1/me/identities",
                Some(&body),
                &[("x-csrf-token", &csrf)],
            )
            .await?;
            super::leave_for(&started.redirect);
            Ok::<_, api::ApiError>(())
        }
    });
    let unlink = Action::new_local(move |slug: &String| {
        let path = format!("/api/v1/me/identities/{slug}");
        async move {
            let result = session.send::<()>(Method::Delete, &path, None).await;
            linked.refetch();
            result
        }
    });
    let unlink_problem = move || match unlink.value().get() {
        Some(Err(e)) if e.status == 409 => {
            Some("Your account has no password: this identity is how you sign in, so it stays.".to_owned())
        }
        Some(Err(e)) => Some(e.describe()),
        _ => None,
    };
    let problem = move || match link.value().get() {
        Some(Err(e)) if e.totp_required => Some("Enter the code from your authenticator app too.".to_owned()),
        Some(Err(e)) if e.code == "invalid_credentials" => Some("Your password is wrong.".to_owned()),
        Some(Err(e)) if e.status == 404 => {
            Some("You are not a member of that organization, or it does not sign in with SSO.".to_owned())
        }
        Some(Err(e)) => Some(e.describe()),
        _ => None,
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        link.dispatch(LinkIdentity {
            org: org.get_untracked(),
            password: Some(password.get_untracked()).filter(|p| !p.is_empty()),
            totp: Some(code.get_untracked()).filter(|c| !c.is_empty()),
            return_to: Some("/account".into()),
        });
    };
    view! {
        <section class="panel">
            <h2>"Single sign-on identities"</h2>
            <p class="notice error" role="alert">{refused}</p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || linked.get().map(|page| match page {
                    Ok(page) if page.items.is_empty() => view! { <p class="muted">"No identity is linked yet."</p> }.into_any(),
                    Ok(page) => view! {
                        <ul data-testid="identities">
                            {page.items.into_iter().map(|i| {
                                let slug = i.org.slug.clone();
                                view! {
                                    <li>
                                        {i.org.name} " " <span class="muted">{i.issuer}</span> " "
                                        <button class="button small" data-testid="unlink"
                                            on:click=move |_| { unlink.dispatch(slug.clone()); }>
                                            "Unlink"
                                        </button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <p class="notice error">{e.detail}</p> }.into_any(),
                })}
            </Suspense>
            <p class="notice error" role="alert">{unlink_problem}</p>
            <p class="muted">"To sign in to an organization through its identity provider, link your identity there. Your password proves it is you."</p>
            <form class="form" on:submit=on_submit data-testid="link-identity">
                <label for="link-org">"Organization (its short name)"</label>
                <input id="link-org" required on:input=move |ev| set_org.set(event_target_value(&ev))/>
                <label for="link-password">"Your password"</label>
                <input id="link-password" type="password" autocomplete="current-password"
                    on:input=move |ev| set_password.set(event_target_value(&ev))/>
                <label for="link-totp">"One-time code (if two-factor sign-in is on)"</label>
                <input id="link-totp" inputmode="numeric" autocomplete="one-time-code"
                    on:input=move |ev| set_code.set(event_target_value(&ev))/>
                <button type="submit" class="button" disabled=move || link.pending().get()>"Link with SSO"</button>
                <p class="notice error" role="alert">{problem}</p>
            </form>
        </section>
    }
}

/// What a refused link (`/account?link_error=…`) tells the user.
fn link_problem(code: &str) -> String {
    match code {
        "identity_linked_elsewhere" => "That identity is already linked to another Attest account.",
        "not_a_member" => "You are not a member of that organization.",
        "state_invalid" | "flow_expired" => "The link took too long or was already used. Try again.",
        _ => "Linking failed. Try again, or ask your administrator.",
    }
    .to_owned()
}
