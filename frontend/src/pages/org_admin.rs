//! An org's members and roles, for the people who manage them. Controls appear
//! only for those who hold the permission; the server refuses everyone else anyway.

use attest_shared::{
    api::{CreateRole, MemberRoles, MemberView, Page, ReplaceRole, RoleView},
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

/// What went wrong with the page's last actions, if anything: the first failure's detail.
fn first_problem<const N: usize>(outcomes: [Option<Result<(), ApiError>>; N]) -> Option<String> {
    outcomes
        .into_iter()
        .flatten()
        .find_map(|outcome| outcome.err())
        .map(|e| e.detail)
}

#[component]
pub fn Members() -> impl IntoView {
    view! {
        <Title text="Members"/>
        <RequireSignIn>
            <MembersBody/>
        </RequireSignIn>
    }
}

#[component]
fn MembersBody() -> impl IntoView {
    let session = Session::use_context();
    let (slug, mine) = org_and_permissions();
    let can_manage = move || mine.get().is_some_and(|p| p.contains(&Permission::MembersManage));
    let members = LocalResource::new(move || {
        let slug = slug.get();
        async move { api::get::<Page<MemberView>>(&format!("/api/v1/orgs/{slug}/members")).await }
    });
    let roles = LocalResource::new(move || {
        let slug = slug.get();
        async move { api::get::<Page<RoleView>>(&format!("/api/v1/orgs/{slug}/roles?limit=200")).await }
    });
    let save = Action::new_local(move |(user, roles, version): &(String, Vec<String>, i32)| {
        let path = format!("/api/v1/orgs/{}/members/{user}/roles", slug.get_untracked());
        let body = MemberRoles {
            roles: roles.clone(),
            expires_at: None,
        };
        let version = *version;
        async move {
            let result = session.replace(&path, &body, version).await;
            members.refetch();
            result
        }
    });
    let remove = Action::new_local(move |user: &String| {
        let path = format!("/api/v1/orgs/{}/members/{user}", slug.get_untracked());
        async move {
            let result = session.send::<()>(Method::Delete, &path, None).await;
            members.refetch();
            result
        }
    });
    let problem = move || first_problem([save.value().get(), remove.value().get()]);

    view! {
        <section class="panel">
            <h1>"Members"</h1>
            <p class="notice error" role="alert">{problem}</p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || {
                    let all_roles: Vec<String> = roles
                        .get()
                        .and_then(|r| r.ok())
                        .map(|p| p.items.into_iter().map(|r| r.name).collect())
                        .unwrap_or_default();
                    members.get().map(|page| match page {
                        Ok(page) => view! {
                            <table class="table" data-testid="members">
                                <thead><tr><th>"Member"</th><th>"Roles"</th><th></th></tr></thead>
                                <tbody>
                                    {page.items.into_iter().map(|m| {
                                        let user = m.user_id.to_string();
                                        let chosen = RwSignal::new(m.roles.clone());
                                        let user_for_save = user.clone();
                                        let all_roles = all_roles.clone();
                                        let email = m.email.clone();
                                        let version = m.version;
                                        view! {
                                            <tr data-member=email>
                                                <td>
                                                    {m.name} <br/><span class="muted">{m.email}</span>
                                                    {m.sso.then(|| view! { " " <span class="badge" data-testid="sso-member" title="Has signed in through the organization's SSO">"SSO"</span> })}
                                                </td>
                                                <td>
                                                    <Show when=can_manage fallback=move || chosen.get().join(", ")>
                                                        {all_roles.iter().map(|role| {
                                                            let role = role.clone();
                                                            let checked = chosen.get_untracked().contains(&role);
                                                            let toggled = role.clone();
                                                            view! {
                                                                <label class="check">
                                                                    <input type="checkbox" value=role.clone() checked=checked
                                                                        on:change=move |_| chosen.update(|r| {
                                                                            if let Some(i) = r.iter().position(|x| *x == toggled) {
                                                                                r.remove(i);
                                                                            } else {
                                                                                r.push(toggled.clone());
                                                                            }
                                                                        })/>
                                                                    {role}
                                                                </label>
                                                            }
                                                        }).collect_view()}
                                                    </Show>
                                                </td>
                                                <td>
                                                    <Show when=can_manage>
                                                        {
                                                            let user_for_save = user_for_save.clone();
                                                            let user_for_remove = user.clone();
                                                            view! {
                                                                <button class="button small" data-testid="save-roles"
                                                                    on:click=move |_| { save.dispatch((user_for_save.clone(), chosen.get_untracked(), version)); }>
                                                                    "Save"
                                                                </button>
                                                                " "
                                                                <button class="button small ghost" data-testid="remove-member"
                                                                    on:click=move |_| { remove.dispatch(user_for_remove.clone()); }>
                                                                    "Remove"
                                                                </button>
                                                            }
                                                        }
                                                    </Show>
                                                </td>
                                            </tr>
                                        }
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                        Err(e) => view! { <p class="notice error">{e.detail}</p> }.into_any(),
                    })
                }}
            </Suspense>
        </section>
    }
}

#[component]
pub fn Roles() -> impl IntoView {
    view! {
        <Title text="Roles"/>
        <RequireSignIn>
            <RolesBody/>
        </RequireSignIn>
    }
}

#[component]
fn RolesBody() -> impl IntoView {
    let session = Session::use_context();
    let (slug, mine) = org_and_permissions();
    let can_manage = move || mine.get().is_some_and(|p| p.contains(&Permission::RolesManage));
    let roles = LocalResource::new(move || {
        let slug = slug.get();
        async move { api::get::<Page<RoleView>>(&format!("/api/v1/orgs/{slug}/roles?limit=200")).await }
    });
    let (name, set_name) = signal(String::new());
    let picked = RwSignal::new(Vec::<Permission>::new());
    // The custom role being edited (name and the version shown), or none: a new role.
    let editing = RwSignal::new(None::<(String, i32)>);
    let reset_form = move || {
        editing.set(None);
        picked.set(Vec::new());
        set_name.set(String::new());
    };
    let save = Action::new_local(move |_: &()| {
        let slug = slug.get_untracked();
        let permissions: Vec<String> = picked
            .get_untracked()
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect();
        let edited = editing.get_untracked();
        let name = name.get_untracked();
        async move {
            let result = match edited {
                Some((role, version)) => {
                    let path = format!("/api/v1/orgs/{slug}/roles/{role}");
                    session
                        .replace(&path, &ReplaceRole { permissions }, version)
                        .await
                }
                None => {
                    let path = format!("/api/v1/orgs/{slug}/roles");
                    session
                        .send(Method::Post, &path, Some(&CreateRole { name, permissions }))
                        .await
                }
            };
            if result.is_ok() {
                reset_form();
            }
            roles.refetch();
            result
        }
    });
    let delete = Action::new_local(move |role: &String| {
        let path = format!("/api/v1/orgs/{}/roles/{role}", slug.get_untracked());
        async move {
            let result = session.send::<()>(Method::Delete, &path, None).await;
            roles.refetch();
            result
        }
    });
    let problem = move || first_problem([save.value().get(), delete.value().get()]);

    view! {
        <section class="panel">
            <h1>"Roles"</h1>
            <p class="muted">"What each role may do in this organization."</p>
            <p class="notice error" role="alert">{problem}</p>
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || roles.get().map(|page| match page {
                    Ok(page) => {
                        let roles = page.items;
                        view! {
                            <div class="scroll">
                            <table class="table matrix" data-testid="role-matrix">
                                <thead>
                                    <tr>
                                        <th>"Permission"</th>
                                        {roles.iter().map(|r| {
                                            let role = r.clone();
                                            let custom = !r.builtin;
                                            view! {
                                                <th>
                                                    {r.name.clone()}
                                                    <Show when=move || custom && can_manage()>
                                                        {
                                                            let role = role.clone();
                                                            let name = role.name.clone();
                                                            view! {
                                                                <button class="button small ghost" data-testid="edit-role"
                                                                    on:click=move |_| {
                                                                        editing.set(Some((role.name.clone(), role.version)));
                                                                        picked.set(role.permissions.clone());
                                                                    }>
                                                                    "Edit"
                                                                </button>
                                                                <button class="button small ghost" data-testid="delete-role"
                                                                    on:click=move |_| { delete.dispatch(name.clone()); }>
                                                                    "Delete"
                                                                </button>
                                                            }
                                                        }
                                                    </Show>
                                                </th>
                                            }
                                        }).collect_view()}
                                    </tr>
                                </thead>
                                <tbody>
                                    {Permission::ALL.iter().map(|p| view! {
                                        <tr>
                                            <td><code>{p.as_str()}</code></td>
                                            {roles.iter().map(|r| view! {
                                                <td>{if r.permissions.contains(p) { "✓" } else { "" }}</td>
                                            }).collect_view()}
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                            </div>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="notice error">{e.detail}</p> }.into_any(),
                })}
            </Suspense>
            <Show when=can_manage>
                <h2>{move || match editing.get() {
                    Some((role, _)) => format!("Edit role “{role}”"),
                    None => "New role".to_owned(),
                }}</h2>
                <form class="form" data-testid="role-form" on:submit=move |ev: leptos::ev::SubmitEvent| {
                    ev.prevent_default();
                    save.dispatch(());
                }>
                    <Show when=move || editing.get().is_none()>
                        <label for="role-name">"Name"</label>
                        <input id="role-name" prop:value=name on:input=move |ev| set_name.set(event_target_value(&ev))/>
                    </Show>
                    <div class="checks">
                        {Permission::ALL.iter().map(|p| {
                            let p = *p;
                            view! {
                                <label class="check">
                                    <input type="checkbox" value=p.as_str()
                                        prop:checked=move || picked.get().contains(&p)
                                        on:change=move |_| picked.update(|v| {
                                            if let Some(i) = v.iter().position(|x| *x == p) { v.remove(i); } else { v.push(p); }
                                        })/>
                                    {p.as_str()}
                                </label>
                            }
                        }).collect_view()}
                    </div>
                    <button type="submit" class="button primary">
                        {move || if editing.get().is_some() { "Save role" } else { "Create role" }}
                    </button>
                    <Show when=move || editing.get().is_some()>
                        " "
                        <button type="button" class="button ghost" on:click=move |_| reset_form()>"Cancel"</button>
                    </Show>
                </form>
            </Show>
        </section>
    }
}
