//! An org's SSO settings, for those who hold `sso:manage`: the IdP, the email
//! domains it claims (and their proofs), provisioning, and a "test connection"
//! that fetches the issuer's discovery document before anything is saved.

use attest_shared::api::{
    Page, PutSsoSettings, RoleView, SecretUpdate, SsoSettings, SsoTestRequest, SsoTestResult,
};
use leptos::prelude::*;
use leptos_meta::Title;

use super::{org_and_permissions, sso_domains::DomainProofs};
use crate::{
    api::{self, Method},
    components::require_sign_in::RequireSignIn,
    session::Session,
};

#[component]
pub fn SsoSettingsPage() -> impl IntoView {
    view! {
        <Title text="Single sign-on"/>
        <RequireSignIn>
            <SsoBody/>
        </RequireSignIn>
    }
}

/// The form's fields, edited in place.
#[derive(Clone, Copy)]
struct Fields {
    enabled: RwSignal<bool>,
    issuer: RwSignal<String>,
    client_id: RwSignal<String>,
    /// Empty: keep the stored secret.
    client_secret: RwSignal<String>,
    domains: RwSignal<String>,
    jit: RwSignal<bool>,
    default_role: RwSignal<String>,
    version: RwSignal<i32>,
}

impl Fields {
    fn new() -> Fields {
        Fields {
            enabled: RwSignal::new(false),
            issuer: RwSignal::new(String::new()),
            client_id: RwSignal::new(String::new()),
            client_secret: RwSignal::new(String::new()),
            domains: RwSignal::new(String::new()),
            jit: RwSignal::new(false),
            default_role: RwSignal::new(String::new()),
            version: RwSignal::new(0),
        }
    }

    fn load(&self, settings: &SsoSettings) {
        self.enabled.set(settings.enabled);
        self.issuer.set(settings.issuer.clone());
        self.client_id.set(settings.client_id.clone());
        self.client_secret.set(String::new());
        self.domains.set(settings.email_domains.join(", "));
        self.jit.set(settings.jit_provisioning);
        self.default_role.set(settings.default_role.clone());
        self.version.set(settings.version);
    }

    fn to_request(self) -> PutSsoSettings {
        let secret = self.client_secret.get_untracked();
        PutSsoSettings {
            enabled: self.enabled.get_untracked(),
            issuer: self.issuer.get_untracked(),
            client_id: self.client_id.get_untracked(),
            client_secret: if secret.is_empty() {
                SecretUpdate::Keep
            } else {
                SecretUpdate::Set(secret)
            },
            email_domains: split_domains(&self.domains.get_untracked()),
            jit_provisioning: self.jit.get_untracked(),
            default_role: self.default_role.get_untracked(),
        }
    }
}

#[component]
fn SsoBody() -> impl IntoView {
    let session = Session::use_context();
    let (slug, _) = org_and_permissions();
    let path = move || format!("/api/v1/orgs/{}/sso", slug.get());
    let settings = LocalResource::new(move || {
        let path = path();
        async move { api::get::<SsoSettings>(&path).await }
    });
    let roles = LocalResource::new(move || {
        let slug = slug.get();
        async move { api::get::<Page<RoleView>>(&format!("/api/v1/orgs/{slug}/roles?limit=200")).await }
    });
    let fields = Fields::new();
    Effect::new(move |_| {
        if let Some(Ok(current)) = settings.get() {
            fields.load(&current);
        }
    });
    let save = Action::new_local(move |_: &()| {
        let path = path();
        let body = fields.to_request();
        let version = fields.version.get_untracked();
        async move {
            let result = session.replace(&path, &body, version).await;
            settings.refetch();
            result
        }
    });
    let test = Action::new_local(move |issuer: &String| {
        let path = format!("{}/test", path());
        let body = SsoTestRequest {
            issuer: issuer.clone(),
        };
        let csrf = session.csrf().unwrap_or_default();
        async move {
            api::call::<_, SsoTestResult>(Method::Post, &path, Some(&body), &[("X-CSRF-Token", &csrf)]).await
        }
    });
    let test_outcome = move || {
        test.value().get().map(|result| match result {
            Ok(SsoTestResult {
                ok: true,
                authorization_endpoint,
                ..
            }) => (
                "notice",
                format!(
                    "Discovery works: sign-ins will go to {}",
                    authorization_endpoint.unwrap_or_default()
                ),
            ),
            Ok(SsoTestResult { error, .. }) => (
                "notice error",
                format!("Discovery failed: {}", error.unwrap_or_default()),
            ),
            Err(e) => ("notice error", e.describe()),
        })
    };
    let save_outcome = move || {
        save.value().get().map(|result| match result {
            Ok(()) => ("notice", "Saved.".to_owned()),
            Err(e) => ("notice error", e.describe()),
        })
    };
    let redirect_uri = move || {
        settings
            .get()
            .and_then(|s| s.ok())
            .map(|s| s.redirect_uri)
            .unwrap_or_default()
    };
    let secret_set = move || {
        settings
            .get()
            .and_then(|s| s.ok())
            .is_some_and(|s| s.client_secret_set)
    };
    let role_names = move || -> Vec<String> {
        roles
            .get()
            .and_then(|r| r.ok())
            .map(|page| {
                page.items
                    .into_iter()
                    .filter(|r| r.name != "owner")
                    .map(|r| r.name)
                    .collect()
            })
            .unwrap_or_default()
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(());
    };

    view! {
        <section class="panel">
            <h1>"Single sign-on"</h1>
            <p class="muted">
                "Register Attest at your identity provider with this redirect URI: "
                <code data-testid="redirect-uri">{redirect_uri}</code>
            </p>
            <form class="form" on:submit=on_submit data-testid="sso-form">
                <label class="check">
                    <input type="checkbox" id="sso-enabled" prop:checked=move || fields.enabled.get()
                        on:change=move |ev| fields.enabled.set(event_target_checked(&ev))/>
                    "Members sign in through this identity provider"
                </label>
                <label for="sso-issuer">"Issuer URL"</label>
                <div class="password-row">
                    <input id="sso-issuer" type="url" required placeholder="https://idp.example.com"
                        prop:value=move || fields.issuer.get()
                        on:input=move |ev| fields.issuer.set(event_target_value(&ev))/>
                    <button type="button" class="button ghost" data-testid="sso-test"
                        on:click=move |_| { test.dispatch(fields.issuer.get_untracked()); }>
                        {move || if test.pending().get() { "Testing…" } else { "Test connection" }}
                    </button>
                </div>
                {move || test_outcome().map(|(class, text)| view! { <p class=class data-testid="sso-test-result">{text}</p> })}
                <label for="sso-client-id">"Client ID"</label>
                <input id="sso-client-id" required prop:value=move || fields.client_id.get()
                    on:input=move |ev| fields.client_id.set(event_target_value(&ev))/>
                <label for="sso-client-secret">"Client secret"</label>
                <input id="sso-client-secret" type="password" autocomplete="off"
                    placeholder=move || if secret_set() { "stored — leave empty to keep it" } else { "" }
                    prop:value=move || fields.client_secret.get()
                    on:input=move |ev| fields.client_secret.set(event_target_value(&ev))/>
                <label for="sso-domains">"Email domains (comma-separated)"</label>
                <input id="sso-domains" placeholder="example.com, example.org" prop:value=move || fields.domains.get()
                    on:input=move |ev| fields.domains.set(event_target_value(&ev))/>
                <label class="check">
                    <input type="checkbox" id="sso-jit" prop:checked=move || fields.jit.get()
                        on:change=move |ev| fields.jit.set(event_target_checked(&ev))/>
                    "Create members on their first sign-in (just-in-time provisioning)"
                </label>
                <label for="sso-default-role">"Role of new members"</label>
                <select id="sso-default-role" prop:value=move || fields.default_role.get()
                    on:change=move |ev| fields.default_role.set(event_target_value(&ev))>
                    {move || role_names().into_iter().map(|name| {
                        let selected = name == fields.default_role.get_untracked();
                        view! { <option value=name.clone() selected=selected>{name.clone()}</option> }
                    }).collect_view()}
                </select>
                <button type="submit" class="button primary" disabled=move || save.pending().get()>
                    {move || if save.pending().get() { "Saving…" } else { "Save" }}
                </button>
                {move || save_outcome().map(|(class, text)| view! { <p class=class role="status" data-testid="sso-save-result">{text}</p> })}
            </form>
        </section>
        <DomainProofs slug=slug saved=fields.version.into()/>
    }
}

fn split_domains(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n'])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::split_domains;

    #[test]
    fn domains_are_split_on_commas_and_spaces() {
        assert_eq!(
            split_domains(" a.com, b.org  c.net,,"),
            ["a.com", "b.org", "c.net"]
        );
    }
}
