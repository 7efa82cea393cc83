use attest_shared::{api::Me, permissions::Permission};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::{api, components::require_sign_in::RequireSignIn, session::Session};

#[component]
pub fn Dashboard() -> impl IntoView {
    view! {
        <Title text="Dashboard"/>
        <RequireSignIn>
            <DashboardBody/>
        </RequireSignIn>
    }
}

#[component]
fn DashboardBody() -> impl IntoView {
    let session = Session::use_context();
    let me = LocalResource::new(|| api::get::<Me>("/api/v1/me"));
    let name = move || session.0.get().flatten().map(|s| s.user.name).unwrap_or_default();
    view! {
        <section class="panel">
            <h1 data-testid="dashboard-title">"Welcome, " {name}</h1>
            <h2>"Your organizations"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || me.get().map(|me| match me {
                    Ok(me) if me.memberships.is_empty() => view! {
                        <p class="muted">"You do not belong to an organization yet."</p>
                    }.into_any(),
                    Ok(me) => view! {
                        <ul class="list">
                            {me.memberships.into_iter().map(|m| view! {
                                <li>
                                    <strong>{m.org.name}</strong> " · " {m.roles.join(", ")} " · "
                                    <a href=format!("/orgs/{}/members", m.org.slug)>"Members"</a> " · "
                                    <a href=format!("/orgs/{}/roles", m.org.slug)>"Roles"</a> " · "
                                    <a href=format!("/orgs/{}/audit", m.org.slug)>"Audit log"</a>
                                    {m.permissions.contains(&Permission::ControlsRead).then(|| view! {
                                        " · " <a href=format!("/orgs/{}/compliance", m.org.slug)>"Compliance"</a>
                                    })}
                                    {m.permissions.contains(&Permission::SsoManage).then(|| view! {
                                        " · " <a href=format!("/orgs/{}/sso", m.org.slug)>"SSO"</a>
                                    })}
                                    {m.permissions.contains(&Permission::ApiKeysRead).then(|| view! {
                                        " · " <a href=format!("/orgs/{}/api-keys", m.org.slug)>"API keys"</a>
                                    })}
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any(),
                    Err(e) => view! { <p class="notice error">{e.detail}</p> }.into_any(),
                })}
            </Suspense>
        </section>
    }
}
