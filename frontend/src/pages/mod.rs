pub mod accept_invitation;
pub mod account;
pub mod api_keys;
pub mod audit;
pub mod compliance;
pub mod credentials;
pub mod dashboard;
pub mod home;
pub mod not_found;
pub mod org_admin;
pub mod password_reset;
pub mod sign_in;
pub mod sso;
pub mod sso_domains;

use attest_shared::{api::Me, permissions::Permission};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::api;

/// The org slug from the path, and the permissions I hold there (for showing controls).
pub(crate) fn org_and_permissions() -> (Memo<String>, LocalResource<Vec<Permission>>) {
    let params = use_params_map();
    let slug = Memo::new(move |_| params.read().get("org").unwrap_or_default());
    let mine = LocalResource::new(move || {
        let slug = slug.get();
        async move {
            api::get::<Me>("/api/v1/me")
                .await
                .ok()
                .and_then(|me| me.memberships.into_iter().find(|m| m.org.slug == slug))
                .map(|m| m.permissions)
                .unwrap_or_default()
        }
    });
    (slug, mine)
}

/// Leaves the console for another site, such as an IdP (a full navigation).
pub(crate) fn leave_for(url: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().set_href(url);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}
