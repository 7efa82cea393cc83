use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};

use crate::{
    components::layout::Layout,
    pages::{
        accept_invitation::AcceptInvitationPage,
        account::Account,
        api_keys::ApiKeysPage,
        audit::AuditLog,
        compliance::CompliancePage,
        dashboard::Dashboard,
        home::Home,
        not_found::NotFound,
        org_admin::{Members, Roles},
        password_reset::PasswordResetPage,
        sign_in::SignIn,
        sso::SsoSettingsPage,
    },
    session::Session,
};

/// The console: one router, one layout.
#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    Session::provide();
    mark_hydrated();

    view! {
        <Title formatter=|page: String| if page.is_empty() { "Attest".to_owned() } else { format!("{page} · Attest") }/>
        <Router>
            <Layout>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=Home/>
                    <Route path=path!("/sign-in") view=SignIn/>
                    <Route path=path!("/dashboard") view=Dashboard/>
                    <Route path=path!("/account") view=Account/>
                    <Route path=path!("/password-reset") view=PasswordResetPage/>
                    <Route path=path!("/invitations/accept") view=AcceptInvitationPage/>
                    <Route path=path!("/orgs/:org/members") view=Members/>
                    <Route path=path!("/orgs/:org/roles") view=Roles/>
                    <Route path=path!("/orgs/:org/audit") view=AuditLog/>
                    <Route path=path!("/orgs/:org/sso") view=SsoSettingsPage/>
                    <Route path=path!("/orgs/:org/api-keys") view=ApiKeysPage/>
                    <Route path=path!("/orgs/:org/compliance") view=CompliancePage/>
                </Routes>
            </Layout>
        </Router>
    }
}

/// Sets `data-hydrated` on `<html>` once the wasm has taken over the page, so tests
/// and styles can tell a hydrated console from a server-rendered one.
fn mark_hydrated() {
    #[cfg(feature = "hydrate")]
    Effect::new(|_| {
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-hydrated", "true");
        }
    });
}
