//! An org's API keys: create one with a permission picker limited to what I hold
//! here, see its secret once (with a copy button), rotate or revoke keys, and
//! see when each was last used.

use attest_shared::{
    api::{ApiKeyView, CreateApiKey, CreatedApiKey, Page, RotateApiKey},
    permissions::Permission,
};
use leptos::prelude::*;
use leptos_meta::Title;

use super::org_and_permissions;
use crate::{
    api::{self, ApiError, Method},
    components::require_sign_in::RequireSignIn,
    session::Session,
};

/// How long a rotated key keeps working, as the rotate button offers it.
const ROTATION_GRACE_SECONDS: u32 = 24 * 3600;

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    view! {
        <Title text="API keys"/>
        <RequireSignIn>
            <ApiKeysBody/>
        </RequireSignIn>
    }
}

#[component]
fn ApiKeysBody() -> impl IntoView {
    let session = Session::use_context();
    let (slug, mine) = org_and_permissions();
    let path = move || format!("/api/v1/orgs/{}/api-keys", slug.get());
    let keys = LocalResource::new(move || {
        let path = path();
        async move { api::get::<Page<ApiKeyView>>(&path).await }
    });
    let can_manage = move || {
        mine.get()
            .is_some_and(|held| held.contains(&Permission::ApiKeysManage))
    };

    let name = RwSignal::new(String::new());
    let chosen = RwSignal::new(Vec::<Permission>::new());
    let expires = RwSignal::new(String::new());
    // The secret just made: shown until dismissed, never fetched again.
    let revealed = RwSignal::new(None::<CreatedApiKey>);

    let create = Action::new_local(move |_: &()| {
        let path = path();
        let body = CreateApiKey {
            name: name.get_untracked(),
            permissions: chosen
                .get_untracked()
                .iter()
                .map(|p| p.as_str().to_owned())
                .collect(),
            expires_at: expiry(&expires.get_untracked()),
        };
        async move {
            let made = session
                .ask::<_, CreatedApiKey>(Method::Post, &path, Some(&body))
                .await?;
            name.set(String::new());
            chosen.set(Vec::new());
            expires.set(String::new());
            revealed.set(Some(made));
            keys.refetch();
            Ok::<(), ApiError>(())
        }
    });
    let rotate = Action::new_local(move |id: &String| {
        let path = format!("{}/{id}/rotate", path());
        async move {
            let body = RotateApiKey {
                grace_seconds: ROTATION_GRACE_SECONDS,
            };
            let made = session
                .ask::<_, CreatedApiKey>(Method::Post, &path, Some(&body))
                .await?;
            revealed.set(Some(made));
            keys.refetch();
            Ok::<(), ApiError>(())
        }
    });
    let revoke = Action::new_local(move |id: &String| {
        let path = format!("{}/{id}", path());
        async move {
            session.send::<()>(Method::Delete, &path, None).await?;
            keys.refetch();
            Ok::<(), ApiError>(())
        }
    });
    let failure = move || {
        [create.value().get(), rotate.value().get(), revoke.value().get()]
            .into_iter()
            .flatten()
            .find_map(Result::err)
            .map(|e| e.describe())
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(());
    };
    let toggle = move |permission: Permission, on: bool| {
        chosen.update(|list| {
            list.retain(|p| *p != permission);
            if on {
                list.push(permission);
            }
        });
    };

    // Built apart (and type-erased) to keep the view's type within the compiler's limits.
    let table = view! {
        <table class="table" data-testid="api-keys">
            <thead><tr>
                <th>"Name"</th><th>"Key"</th><th>"Permissions"</th><th>"Expires"</th><th>"Last used"</th><th></th>
            </tr></thead>
            <tbody>
                {move || keys.get().and_then(|r| r.ok()).map(|page| page.items.into_iter().map(|key| {
                    let id = key.id.to_string();
                    let (rotate_id, revoke_id) = (id.clone(), id.clone());
                    view! {
                        <tr data-key=key.name.clone()>
                            <td>{key.name.clone()}</td>
                            <td><code>{key.prefix.clone()} "_…"</code></td>
                            <td>{key.permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>().join(", ")}</td>
                            <td>{key.expires_at.map_or("never".to_owned(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())}</td>
                            <td data-testid="last-used">{key.last_used_at.map_or("never".to_owned(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())}</td>
                            <td>
                                <Show when=can_manage>
                                    <button type="button" class="button ghost" data-testid="rotate-key"
                                        title="A new key; this one keeps working for 24 hours"
                                        on:click={let id = rotate_id.clone(); move |_| { rotate.dispatch(id.clone()); }}>"Rotate"</button>
                                    " "
                                    <button type="button" class="button ghost" data-testid="revoke-key"
                                        on:click={let id = revoke_id.clone(); move |_| { revoke.dispatch(id.clone()); }}>"Revoke"</button>
                                </Show>
                            </td>
                        </tr>
                    }
                }).collect_view())}
            </tbody>
        </table>
    }
    .into_any();
    let form = view! {
        <Show when=can_manage>
            <form class="form" on:submit=on_submit data-testid="api-key-form">
                <h2>"New key"</h2>
                <label for="key-name">"Name"</label>
                <input id="key-name" required maxlength="100" placeholder="Nightly evidence sync"
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                <fieldset>
                    <legend>"Permissions (only those you hold here)"</legend>
                    {move || mine.get().unwrap_or_default().into_iter().map(|permission| view! {
                        <label class="check">
                            <input type="checkbox" value=permission.as_str()
                                prop:checked=move || chosen.get().contains(&permission)
                                on:change=move |ev| toggle(permission, event_target_checked(&ev))/>
                            {permission.as_str()}
                        </label>
                    }).collect_view()}
                </fieldset>
                <label for="key-expires">"Expires (optional)"</label>
                <input id="key-expires" type="date" prop:value=move || expires.get()
                    on:input=move |ev| expires.set(event_target_value(&ev))/>
                <button type="submit" class="button primary" disabled=move || create.pending().get()>
                    "Create key"
                </button>
            </form>
        </Show>
    }
    .into_any();

    view! {
        <section class="panel">
            <h1>"API keys"</h1>
            <p class="muted">
                "Partners call the API with " <code>"Authorization: Bearer atk_…"</code>
                ". A key can do what it was given and you still hold, in this organization only."
            </p>
            {move || revealed.get().map(|made| view! {
                <div class="notice" role="dialog" aria-label="New API key" data-testid="new-key">
                    <p><strong>"Copy this key now: it is shown only once."</strong></p>
                    <p><code data-testid="new-key-value">{made.key.clone()}</code></p>
                    <button type="button" class="button" data-testid="copy-key" on:click={
                        let key = made.key.clone();
                        move |_| copy_to_clipboard(&key)
                    }>"Copy"</button>
                    " "
                    <button type="button" class="button ghost" on:click=move |_| revealed.set(None)>"Done"</button>
                </div>
            })}
            {move || failure().map(|text| view! { <p class="notice error" role="alert">{text}</p> })}
            {table}
            {form}
        </section>
    }
}

/// A date input's `YYYY-MM-DD` as the end of that day, UTC.
fn expiry(date: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let day = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(23, 59, 59)?.and_utc())
}

fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(text);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

#[cfg(test)]
mod tests {
    use super::expiry;

    #[test]
    fn a_date_expires_at_the_end_of_that_day() {
        assert_eq!(
            expiry("2027-03-01").unwrap().to_rfc3339(),
            "2027-03-01T23:59:59+00:00"
        );
        assert!(expiry("").is_none());
        assert!(expiry("soon").is_none());
    }
}
