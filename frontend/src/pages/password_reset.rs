use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Both steps of a password reset, as plain forms that work without
/// JavaScript: they post to `/auth/password-reset(/confirm)`, which answer with
/// a redirect back here (`?sent=1`, `?error=…`) or on to the sign-in page.
#[component]
pub fn PasswordResetPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.read().get(name).filter(|v| !v.is_empty());
    view! {
        <Title text="Reset your password"/>
        <section class="panel narrow">
            <h1>"Reset your password"</h1>
            {move || match param("token") {
                Some(token) => view! { <NewPassword token=token error=param("error")/> }.into_any(),
                None => view! { <AskForLink sent=param("sent").is_some() error=param("error")/> }.into_any(),
            }}
        </section>
    }
}

#[component]
fn AskForLink(sent: bool, error: Option<String>) -> impl IntoView {
    let problem = error.map(|_| "Enter your email address, such as ada@example.com.");
    view! {
        {sent.then(|| view! {
            <p class="notice" role="status" data-testid="reset-sent">
                "If an account with a password uses that address, a link to reset it is on its way. It works once, for 30 minutes."
            </p>
        })}
        <p class="muted">"Accounts that sign in through their organization's SSO reset their password there."</p>
        <form class="form" method="post" action="/auth/password-reset">
            <label for="email">"Email"</label>
            <input id="email" name="email" type="email" autocomplete="username" required/>
            <button type="submit" class="button primary">"Mail me a reset link"</button>
            <p class="notice error" role="alert">{problem}</p>
        </form>
        <p><a href="/sign-in">"Back to sign-in"</a></p>
    }
}

#[component]
fn NewPassword(token: String, error: Option<String>) -> impl IntoView {
    let weak = error.as_deref() == Some("weak");
    let link_unusable = error.is_some() && !weak;
    let problem = error.map(|_| {
        if weak {
            "That password is too easy to guess. A few unrelated words make a strong one."
        } else {
            "This reset link is unknown, used or expired."
        }
    });
    view! {
        <form class="form" method="post" action="/auth/password-reset/confirm">
            <input type="hidden" name="token" value=token/>
            <label for="new-password">"New password (at least 12 characters)"</label>
            <input id="new-password" name="password" type="password" autocomplete="new-password" minlength="12" required/>
            <button type="submit" class="button primary">"Set the new password"</button>
            <p class="notice error" role="alert">{problem}</p>
        </form>
        {link_unusable.then(|| view! { <p><a href="/password-reset">"Ask for a new link"</a></p> })}
    }
}
