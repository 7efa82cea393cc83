use leptos::prelude::*;
use leptos_meta::Title;

/// Email and password sign-in. The form posts nowhere until accounts exist ([F2]);
/// the show-password toggle works once the page is hydrated.
#[component]
pub fn SignIn() -> impl IntoView {
    let (reveal, set_reveal) = signal(false);
    let (notice, set_notice) = signal(None::<&'static str>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        set_notice.set(Some("Sign-in is not available on this server yet."));
    };

    view! {
        <Title text="Sign in"/>
        <section class="panel narrow">
            <h1>"Sign in"</h1>
            <form class="form" on:submit=on_submit>
                <label for="email">"Work email"</label>
                <input id="email" name="email" type="email" autocomplete="username" required/>
                <label for="password">"Password"</label>
                <div class="password-row">
                    <input
                        id="password"
                        name="password"
                        type=move || if reveal.get() { "text" } else { "password" }
                        autocomplete="current-password"
                        required
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
                <button type="submit" class="button primary">"Sign in"</button>
                <p class="notice" role="status">{move || notice.get()}</p>
            </form>
        </section>
    }
}
