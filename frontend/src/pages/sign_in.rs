use attest_shared::api::{LoginRequest, LoginResponse, SsoRealm};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::{
    api::{self, Method},
    session::Session,
};

/// Email first: an address whose domain an org signs in with SSO goes to its
/// IdP (`/auth/sso/start`); any other signs in with its password against
/// `POST /auth/login`. Without JavaScript the form posts there itself, and the
/// server sends the browser on (dashboard or IdP) or back with `?error=`.
#[component]
pub fn SignIn() -> impl IntoView {
    let session = Session::use_context();
    let query = use_query_map();
    let sso_error = move || query.read().get("sso_error").map(|code| sso_problem(&code));
    let was_reset = move || query.read().get("reset").is_some();
    // What the server said of a form posted without JavaScript.
    let form_error = move || query.read().get("error");
    let (email, set_email) = signal(String::new());
    // The email the realm check answered for, and whether it uses SSO.
    let realm = RwSignal::new(None::<(String, bool)>);
    let check_realm = Action::new_local(move |email: &String| {
        let email = email.clone();
        async move {
            let path = format!("/auth/sso/realm?email={}", encode(&email));
            if let Ok(answer) = api::get::<SsoRealm>(&path).await {
                realm.set(Some((email, answer.sso)));
            }
        }
    });
    let uses_sso = move || {
        realm
            .get()
            .is_some_and(|(checked, sso)| sso && checked == email.get())
    };
    let (password, set_password) = signal(String::new());
    let (reveal, set_reveal) = signal(false);
    let (code, set_code) = signal(String::new());
    // Shown once the server says this account needs a one-time code.
    let needs_code = RwSignal::new(query.with_untracked(|q| q.get("error").as_deref() == Some("totp")));
    let navigate = use_navigate();

    let sign_in = Action::new_local(move |request: &LoginRequest| {
        let request = request.clone();
        async move {
            let response =
                api::call::<_, LoginResponse>(Method::Post, "/auth/login", Some(&request), &[]).await?;
            session.refresh().await;
            Ok::<_, api::ApiError>(response)
        }
    });
    Effect::new(move |_| {
        if let Some(Err(e)) = sign_in.value().get() {
            if e.totp_required {
                needs_code.set(true);
            }
        }
    });
    let problem = move || match sign_in.value().get() {
        Some(Err(e)) if e.totp_required && code.get_untracked().is_empty() => {
            Some("Enter the code from your authenticator app.".to_owned())
        }
        Some(Err(e)) if e.totp_required => Some("That code is not valid. Try the current one.".to_owned()),
        Some(Err(e)) if e.code == "invalid_credentials" => Some("The email or password is wrong.".to_owned()),
        Some(Err(e)) if e.status == 429 => {
            Some("Too many attempts. Wait a moment, then try again.".to_owned())
        }
        Some(Err(e)) => Some(format!("Sign-in failed: {}", e.detail)),
        None => form_error().map(|code| {
            match code.as_str() {
                "totp" => "Enter your email, password and the code from your authenticator app.",
                "busy" => "Too many attempts. Wait a moment, then try again.",
                _ => "The email or password is wrong.",
            }
            .to_owned()
        }),
        Some(Ok(_)) => None,
    };
    Effect::new(move |_| {
        if let Some(Ok(_)) = sign_in.value().get() {
            navigate("/dashboard", Default::default());
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if uses_sso() {
            go_to_sso(&email.get_untracked());
            return;
        }
        sign_in.dispatch(LoginRequest {
            email: email.get_untracked(),
            password: password.get_untracked(),
            totp: Some(code.get_untracked()).filter(|c| !c.is_empty()),
        });
    };

    view! {
        <Title text="Sign in"/>
        <section class="panel narrow">
            <h1>"Sign in"</h1>
            <Show when=was_reset>
                <p class="notice" role="status" data-testid="reset-done">
                    "Your password was reset and every session signed out. Sign in with the new one."
                </p>
            </Show>
            <form class="form" method="post" action="/auth/login" on:submit=on_submit>
                <label for="email">"Work email"</label>
                <input
                    id="email"
                    name="email"
                    type="email"
                    autocomplete="username"
                    required
                    on:input=move |ev| {
                        let typed = event_target_value(&ev);
                        if looks_complete(&typed) {
                            check_realm.dispatch(typed.clone());
                        }
                        set_email.set(typed);
                    }
                />
                <Show when=uses_sso>
                    <p class="notice" data-testid="sso-notice">
                        "Your organization signs in with its own identity provider."
                    </p>
                </Show>
                <div class="password-step" hidden=uses_sso>
                <label for="password">"Password"</label>
                <div class="password-row">
                    <input
                        id="password"
                        name="password"
                        type=move || if reveal.get() { "text" } else { "password" }
                        autocomplete="current-password"
                        on:input=move |ev| set_password.set(event_target_value(&ev))
                    />
                    <button
                        type="button"
                        class="button ghost"
                        data-testid="toggle-password"
                        aria-pressed=move || reveal.get().to_string()
                        on:click=move |_| set_reveal.update(|r| *r = !*r)
                    >
                        {move || if reveal.get() { "Hide" } else { "Show" }}
                    </button>
                </div>
                <Show when=move || needs_code.get()>
                    <label for="totp">"One-time code (or a recovery code)"</label>
                    <input
                        id="totp"
                        name="totp"
                        inputmode="numeric"
                        autocomplete="one-time-code"
                        on:input=move |ev| set_code.set(event_target_value(&ev))
                    />
                </Show>
                </div>
                <button type="submit" class="button primary" disabled=move || sign_in.pending().get()>
                    {move || match (uses_sso(), sign_in.pending().get()) {
                        (true, _) => "Continue with SSO",
                        (false, true) => "Signing in…",
                        (false, false) => "Sign in",
                    }}
                </button>
                <p class="notice error" role="alert">{move || problem().or_else(sso_error)}</p>
            </form>
            <p><a href="/password-reset" data-testid="forgot-password">"Forgot your password?"</a></p>
        </section>
    }
}

/// Worth asking the server about: something@domain.tld.
fn looks_complete(email: &str) -> bool {
    email
        .rsplit_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.') && !domain.ends_with('.'))
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// Leaves the console for the org's IdP (a full navigation: the IdP is another site).
fn go_to_sso(email: &str) {
    let target = format!("/auth/sso/start?email={}&return_to=%2Fdashboard", encode(email));
    super::leave_for(&target);
}

/// What a refused SSO sign-in (`/sign-in?sso_error=…`) tells the user.
fn sso_problem(code: &str) -> String {
    match code {
        "not_a_member" | "membership_removed" | "membership_expired" => {
            "Your organization's identity provider signed you in, but you are not a member of this organization in Attest. Ask an administrator for an invitation."
        }
        "email_unverified" | "domain_not_claimed" => {
            "Your identity provider did not confirm an email address this organization may use."
        }
        "account_exists" => {
            "An account with this email already exists. Sign in with it, then link this identity from your account page."
        }
        "account_disabled" => "This account is disabled.",
        "state_invalid" | "flow_expired" => "That sign-in link expired or was already used. Please sign in again.",
        "idp_error" => "Your identity provider did not complete the sign-in.",
        "idp_unavailable" => "Your identity provider cannot be reached right now. Try again shortly.",
        _ => "Single sign-on failed. Please try again, or contact your administrator.",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_complete_looking_emails_are_checked() {
        assert!(looks_complete("ada@acme.com"));
        for partial in ["ada", "ada@", "ada@acme", "@acme.com", "ada@acme."] {
            assert!(!looks_complete(partial), "{partial}");
        }
    }

    #[test]
    fn emails_are_escaped_for_a_query() {
        assert_eq!(encode("a+b@x.com"), "a%2Bb%40x.com");
    }
}
