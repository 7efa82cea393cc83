//! An org's compliance program at a glance: its frameworks with their
//! readiness, its controls with their health, and forms to import the starter
//! catalog, create a control mapped to requirements, and attach a note as
//! evidence. Readiness follows every change (docs/compliance.md).

use attest_shared::{
    api::Page,
    compliance::{
        ControlStatus, ControlView, CreateControl, CreateEvidence, EvidenceView, FrameworkView, Readiness,
        RequirementView,
    },
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

#[component]
pub fn CompliancePage() -> impl IntoView {
    view! {
        <Title text="Compliance"/>
        <RequireSignIn>
            <ComplianceBody/>
        </RequireSignIn>
    }
}

/// `percent` as the page shows it.
fn shown(readiness: &Readiness) -> String {
    format!(
        "{:.1} % ({} of {})",
        readiness.percent, readiness.covered, readiness.requirements
    )
}

#[component]
fn ComplianceBody() -> impl IntoView {
    let session = Session::use_context();
    let (slug, mine) = org_and_permissions();
    let base = move || format!("/api/v1/orgs/{}", slug.get());
    // Moved by every change, so everything shown is fetched again.
    let changes = RwSignal::new(0_u32);
    let frameworks = LocalResource::new(move || {
        changes.track();
        let path = format!("{}/frameworks", base());
        async move { api::get::<Page<FrameworkView>>(&path).await }
    });
    let controls = LocalResource::new(move || {
        changes.track();
        let path = format!("{}/controls?limit=200", base());
        async move { api::get::<Page<ControlView>>(&path).await }
    });
    // The requirements of the first framework, for mapping a new control.
    let requirements = LocalResource::new(move || {
        let first = frameworks
            .get()
            .and_then(|r| r.ok())
            .and_then(|p| p.items.first().map(|f| f.id));
        let path = first.map(|id| format!("{}/frameworks/{id}/requirements?limit=200", base()));
        async move {
            match path {
                Some(path) => api::get::<Page<RequirementView>>(&path).await.map(|p| p.items),
                None => Ok(Vec::new()),
            }
        }
    });
    let holds = move |permission| mine.get().is_some_and(|held| held.contains(&permission));

    let import = Action::new_local(move |_: &()| {
        let path = format!("{}/frameworks/starter", base());
        async move {
            session
                .ask::<(), FrameworkView>(Method::Post, &path, None)
                .await?;
            changes.update(|n| *n += 1);
            Ok::<(), ApiError>(())
        }
    });

    let title = RwSignal::new(String::new());
    let status = RwSignal::new(ControlStatus::NotStarted);
    let mapped = RwSignal::new(Vec::<uuid::Uuid>::new());
    let create_control = Action::new_local(move |_: &()| {
        let path = format!("{}/controls", base());
        let body = CreateControl {
            title: title.get_untracked(),
            status: Some(status.get_untracked()),
            requirement_ids: mapped.get_untracked(),
            ..CreateControl::default()
        };
        async move {
            session
                .ask::<_, ControlView>(Method::Post, &path, Some(&body))
                .await?;
            title.set(String::new());
            mapped.set(Vec::new());
            changes.update(|n| *n += 1);
            Ok::<(), ApiError>(())
        }
    });

    let evidence_control = RwSignal::new(String::new());
    let evidence_title = RwSignal::new(String::new());
    let evidence_note = RwSignal::new(String::new());
    let add_evidence = Action::new_local(move |_: &()| {
        let path = format!("{}/evidence", base());
        let body = CreateEvidence {
            title: evidence_title.get_untracked(),
            note: Some(evidence_note.get_untracked()),
            control_ids: evidence_control.get_untracked().parse().into_iter().collect(),
            ..CreateEvidence::default()
        };
        async move {
            session
                .ask::<_, EvidenceView>(Method::Post, &path, Some(&body))
                .await?;
            evidence_title.set(String::new());
            evidence_note.set(String::new());
            changes.update(|n| *n += 1);
            Ok::<(), ApiError>(())
        }
    });
    let failure = move || {
        [
            import.value().get(),
            create_control.value().get(),
            add_evidence.value().get(),
        ]
        .into_iter()
        .flatten()
        .find_map(Result::err)
        .map(|e| e.describe())
    };

    let framework_table = view! {
        <table class="table" data-testid="frameworks">
            <thead><tr><th>"Framework"</th><th>"Requirements"</th><th>"Readiness"</th></tr></thead>
            <tbody>
                {move || frameworks.get().and_then(|r| r.ok()).map(|page| page.items.into_iter().map(|framework| {
                    let path = format!("{}/frameworks/{}/readiness", base(), framework.id);
                    let readiness = LocalResource::new(move || {
                        changes.track();
                        let path = path.clone();
                        async move { api::get::<Readiness>(&path).await }
                    });
                    view! {
                        <tr data-framework=framework.name.clone()>
                            <td>{framework.name.clone()}</td>
                            <td>{framework.requirement_count}</td>
                            <td data-testid="readiness">
                                {move || readiness.get().and_then(|r| r.ok()).map(|r| shown(&r))}
                            </td>
                        </tr>
                    }
                }).collect_view())}
            </tbody>
        </table>
        {move || frameworks.get().and_then(|r| r.ok()).filter(|p| p.items.is_empty()).map(|_| view! {
            <p class="muted">"No framework yet: import Attest's starter catalog to begin."</p>
        })}
        <Show when=move || holds(Permission::ControlsWrite)>
            <button type="button" class="button" data-testid="import-starter"
                disabled=move || import.pending().get()
                on:click=move |_| { import.dispatch(()); }>"Import the starter catalog"</button>
        </Show>
    }
    .into_any();

    let control_table = view! {
        <table class="table" data-testid="controls">
            <thead><tr><th>"Control"</th><th>"Status"</th><th>"Health"</th><th>"Requirements"</th></tr></thead>
            <tbody>
                {move || controls.get().and_then(|r| r.ok()).map(|page| page.items.into_iter().map(|control| view! {
                    <tr data-control=control.title.clone()>
                        <td>{control.title.clone()}</td>
                        <td>{control.status.label()}</td>
                        <td data-testid="health" data-health=control.health.as_str()>{control.health.label()}</td>
                        <td>{control.requirement_ids.len()}</td>
                    </tr>
                }).collect_view())}
            </tbody>
        </table>
    }
    .into_any();

    let control_form = view! {
        <Show when=move || holds(Permission::ControlsWrite)>
            <form class="form" data-testid="control-form"
                on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); create_control.dispatch(()); }>
                <h2>"New control"</h2>
                <label for="control-title">"Title"</label>
                <input id="control-title" required maxlength="300"
                    prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev))/>
                <label for="control-status">"Status"</label>
                <select id="control-status" on:change=move |ev| {
                    if let Some(chosen) = ControlStatus::parse(&event_target_value(&ev)) {
                        status.set(chosen);
                    }
                }>
                    {[ControlStatus::NotStarted, ControlStatus::InProgress, ControlStatus::Implemented]
                        .into_iter()
                        .map(|s| view! { <option value=s.as_str() selected=move || status.get() == s>{s.label()}</option> })
                        .collect_view()}
                </select>
                <label for="control-requirements">"Meets (requirements of the first framework)"</label>
                <select id="control-requirements" multiple size="6" on:change=move |ev| {
                    mapped.set(selected_values(&ev).iter().filter_map(|v| v.parse().ok()).collect());
                }>
                    {move || requirements.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|r| {
                        let id = r.id;
                        view! {
                            <option value=id.to_string() prop:selected=move || mapped.get().contains(&id)>
                                {format!("{} {}", r.reference, r.title)}
                            </option>
                        }
                    }).collect_view()}
                </select>
                <button type="submit" class="button primary" disabled=move || create_control.pending().get()>
                    "Create control"
                </button>
            </form>
        </Show>
    }
    .into_any();

    let evidence_form = view! {
        <Show when=move || holds(Permission::EvidenceWrite)>
            <form class="form" data-testid="evidence-form"
                on:submit=move |ev: leptos::ev::SubmitEvent| { ev.prevent_default(); add_evidence.dispatch(()); }>
                <h2>"Add evidence"</h2>
                <label for="evidence-control">"For control"</label>
                <select id="evidence-control" required on:change=move |ev| evidence_control.set(event_target_value(&ev))>
                    <option value="">"Choose a control"</option>
                    {move || controls.get().and_then(|r| r.ok()).map(|page| page.items.into_iter().map(|c| view! {
                        <option value=c.id.to_string()>{c.title.clone()}</option>
                    }).collect_view())}
                </select>
                <label for="evidence-title">"Title"</label>
                <input id="evidence-title" required maxlength="300" prop:value=move || evidence_title.get()
                    on:input=move |ev| evidence_title.set(event_target_value(&ev))/>
                <label for="evidence-note">"Note"</label>
                <textarea id="evidence-note" required prop:value=move || evidence_note.get()
                    on:input=move |ev| evidence_note.set(event_target_value(&ev))></textarea>
                <button type="submit" class="button primary" disabled=move || add_evidence.pending().get()>
                    "Add evidence"
                </button>
            </form>
        </Show>
    }
    .into_any();

    view! {
        <section class="panel">
            <h1>"Compliance"</h1>
            <p class="muted">
                "A requirement is covered by an implemented control with current evidence, or a control that does not apply."
            </p>
            {move || failure().map(|text| view! { <p class="notice error" role="alert">{text}</p> })}
            {framework_table}
            {control_table}
            {control_form}
            {evidence_form}
        </section>
    }
}

/// The values of a `<select multiple>`'s chosen options.
fn selected_values(ev: &leptos::ev::Event) -> Vec<String> {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast as _;
        let Some(select) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
        else {
            return Vec::new();
        };
        let options = select.selected_options();
        (0..options.length())
            .filter_map(|i| options.item(i))
            .filter_map(|o| o.get_attribute("value"))
            .collect()
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = ev;
        Vec::new()
    }
}
