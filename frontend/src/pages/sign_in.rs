use attest_shared::api::{LoginRequest, LoginResponse};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;

use crate::{
    api::{self, Method},
    session::Session,
};

/// Email and password sign-in against `POST /auth/login`.
#[component]
pub fn SignIn() -> impl IntoView {
    let session = Session::use_context();
    let (email, set_email) = signal(String::new());
    let (password, set_password) = signal(String::new());
    let (reveal, set_reveal) = signal(false);
    let (code, set_code) = signal(String::new());
    // Shown once the server says this account needs a one-time code.
    let needs_code = RwSignal::new(false);
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
        _ => None,
    };
    Effect::new(move |_| {
        if let Some(Ok(_)) = sign_in.value().get() {
            navigate("/dashboard", Default::default());
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
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
            <form class="form" on:submit=on_submit>
                <label for="email">"Work email"</label>
                <input
                    id="email"
                    name="email"
                    type="email"
                    autocomplete="username"
                    required
                    on:input=move |ev| set_email.set(event_target_value(&ev))
                />
                <label for="password">"Password"</label>
                <div class="password-row">
                    <input
                        id="password"
                        name="password"
                        type=move || if reveal.get() { "text" } else { "password" }
                        autocomplete="current-password"
                        required
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
                <button type="submit" class="button primary" disabled=move || sign_in.pending().get()>
                    {move || if sign_in.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
                <p class="notice error" role="alert">{problem}</p>
            </form>
        </section>
    }
}
