//! An org's audit log: filters, newest first with more loaded as you scroll,
//! each event's details with its before/after diff, export with progress and
//! chain verification.

use attest_shared::{
    api::Page,
    audit::{micros, AuditEvent, ChainVerification},
    permissions::Permission,
};
use leptos::prelude::*;
use leptos_meta::Title;

use crate::{api, components::require_sign_in::RequireSignIn, download};

#[component]
pub fn AuditLog() -> impl IntoView {
    view! {
        <Title text="Audit log"/>
        <RequireSignIn>
            <AuditLogBody/>
        </RequireSignIn>
    }
}

/// The list route's filters, as the form holds them.
#[derive(Debug, Clone, Default, PartialEq)]
struct Filters {
    action: String,
    actor_id: String,
    target_id: String,
    /// `datetime-local` values, read as UTC.
    since: String,
    until: String,
}

impl Filters {
    /// The query string of the list route for this filter and page.
    fn query(&self, cursor: Option<&str>) -> String {
        let time = |local: &str| (!local.is_empty()).then(|| format!("{local}:00Z"));
        [
            ("action", Some(self.action.trim().to_owned())),
            ("actor_id", Some(self.actor_id.trim().to_owned())),
            ("target_id", Some(self.target_id.trim().to_owned())),
            ("since", time(&self.since)),
            ("until", time(&self.until)),
            ("cursor", cursor.map(str::to_owned)),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            value
                .filter(|v| !v.is_empty())
                .map(|v| format!("{name}={}", encode(&v)))
        })
        .collect::<Vec<_>>()
        .join("&")
    }
}

/// Percent-encodes a query value (filters hold free text).
fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The events shown so far and where the next page starts.
#[derive(Clone, Copy)]
struct Feed {
    events: RwSignal<Vec<AuditEvent>>,
    next: RwSignal<Option<String>>,
    exhausted: RwSignal<bool>,
    loading: RwSignal<bool>,
    problem: RwSignal<Option<String>>,
    /// Bumped when the filters change, so a page asked for earlier is dropped.
    generation: StoredValue<u64>,
}

impl Feed {
    fn new() -> Feed {
        Feed {
            events: RwSignal::new(Vec::new()),
            next: RwSignal::new(None),
            exhausted: RwSignal::new(false),
            loading: RwSignal::new(false),
            problem: RwSignal::new(None),
            generation: StoredValue::new(0),
        }
    }

    fn reset(self) {
        self.generation.update_value(|g| *g += 1);
        self.events.set(Vec::new());
        self.next.set(None);
        self.exhausted.set(false);
        self.loading.set(false);
        self.problem.set(None);
    }

    /// Loads the next page, unless one is on its way or there is none.
    fn load_more(self, slug: String, filters: Filters) {
        if self.loading.get_untracked() || self.exhausted.get_untracked() {
            return;
        }
        self.loading.set(true);
        let generation = self.generation.get_value();
        let query = filters.query(self.next.get_untracked().as_deref());
        leptos::task::spawn_local(async move {
            let page =
                api::get::<Page<AuditEvent>>(&format!("/api/v1/orgs/{slug}/audit-events?{query}")).await;
            if self.generation.get_value() != generation {
                return;
            }
            match page {
                Ok(page) => {
                    self.events.update(|events| events.extend(page.items));
                    self.exhausted.set(page.next_cursor.is_none());
                    self.next.set(page.next_cursor);
                }
                Err(e) => {
                    self.problem.set(Some(e.detail));
                    self.exhausted.set(true);
                }
            }
            self.loading.set(false);
        });
    }
}

#[component]
fn AuditLogBody() -> impl IntoView {
    let (slug, mine) = super::org_and_permissions();
    let can_export = Signal::derive(move || mine.get().is_some_and(|p| p.contains(&Permission::AuditExport)));

    let applied = RwSignal::new(Filters::default());
    let feed = Feed::new();
    let open = RwSignal::new(None::<i64>);
    // A new filter (or org) starts the list over.
    Effect::new(move |_| {
        let (slug, filters) = (slug.get(), applied.get());
        feed.reset();
        open.set(None);
        feed.load_more(slug, filters);
    });
    let more = move || feed.load_more(slug.get_untracked(), applied.get_untracked());
    load_when_scrolled_to_the_end(more);

    view! {
        <section class="panel">
            <h1>"Audit log"</h1>
            <p class="muted">"Every sensitive action in this organization, on a hash chain anyone can verify."</p>
            <ChainTools slug=slug can_export=can_export/>
            <FilterForm applied=applied/>
            <p class="notice error" role="alert">{move || feed.problem.get()}</p>
            <EventTable feed=feed open=open/>
            <p class="muted" data-testid="audit-end">
                {move || if feed.loading.get() {
                    "Loading…".to_owned()
                } else if feed.exhausted.get() {
                    format!("{} events shown; that is all.", feed.events.with(Vec::len))
                } else {
                    String::new()
                }}
            </p>
            <Show when=move || !feed.exhausted.get() && !feed.loading.get()>
                <button class="button small ghost" data-testid="load-more" on:click=move |_| more()>
                    "Load more"
                </button>
            </Show>
        </section>
    }
}

/// Verifying the chain and exporting it.
#[component]
fn ChainTools(slug: Memo<String>, can_export: Signal<bool>) -> impl IntoView {
    let verification = Action::new_local(move |_: &()| {
        let path = format!("/api/v1/orgs/{}/audit-events/verify", slug.get_untracked());
        async move { api::get::<ChainVerification>(&path).await }
    });
    let progress = RwSignal::new(None::<download::Progress>);
    let export = Action::new_local(move |format: &&'static str| {
        let path = format!(
            "/api/v1/orgs/{}/audit-events/export?format={format}",
            slug.get_untracked()
        );
        async move { download::save(&path, progress).await }
    });
    let verdict = move || {
        verification.value().get().map(|result| match result {
            Ok(v) if v.ok => view! {
                <span class="tag ok">
                    {format!("Chain intact: {} events, head seq {}", v.events.unwrap_or(0),
                        v.head.map(|h| h.seq).unwrap_or(0))}
                </span>
            }
            .into_any(),
            Ok(v) => view! {
                <span class="tag bad">{format!("Chain broken at seq {}", v.first_bad_seq.unwrap_or(0))}</span>
            }
            .into_any(),
            Err(e) => view! { <span class="notice error">{e.detail}</span> }.into_any(),
        })
    };
    view! {
        <div class="toolbar">
            <button class="button small" data-testid="verify-chain" on:click=move |_| { verification.dispatch(()); }>
                "Verify chain"
            </button>
            <span data-testid="verify-result" role="status">{verdict}</span>
            <Show when=move || can_export.get()>
                <button class="button small ghost" data-testid="export-jsonl"
                    disabled=move || export.pending().get()
                    on:click=move |_| { export.dispatch("jsonl"); }>"Export JSONL"</button>
                <button class="button small ghost" data-testid="export-csv"
                    disabled=move || export.pending().get()
                    on:click=move |_| { export.dispatch("csv"); }>"Export CSV"</button>
            </Show>
            <span data-testid="export-progress" role="status">
                {move || progress.get().map(|p| view! {
                    <progress max=p.total.max(1) value=p.received.min(p.total.max(1))></progress>
                    " " {p.describe()}
                })}
                {move || export.value().get().and_then(|r| r.err()).map(|e| view! { <span class="notice error">{e}</span> })}
            </span>
        </div>
    }
    .into_any()
}

/// The list's filters; applying them starts the list over.
#[component]
fn FilterForm(applied: RwSignal<Filters>) -> impl IntoView {
    let draft = RwSignal::new(Filters::default());
    let input = move |label: &'static str, kind: &'static str, field: fn(&mut Filters) -> &mut String| {
        view! {
            <label class="filter">
                <span>{label}</span>
                <input type=kind
                    prop:value=move || { let mut d = draft.get(); std::mem::take(field(&mut d)) }
                    on:input=move |ev| { let value = event_target_value(&ev); draft.update(|d| *field(d) = value); }/>
            </label>
        }
        .into_any()
    };
    view! {
        <form class="filters" data-testid="audit-filters" on:submit=move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            applied.set(draft.get_untracked());
        }>
            {input("Action", "text", |f| &mut f.action)}
            {input("Actor id", "text", |f| &mut f.actor_id)}
            {input("Target id", "text", |f| &mut f.target_id)}
            {input("Since (UTC)", "datetime-local", |f| &mut f.since)}
            {input("Until (UTC)", "datetime-local", |f| &mut f.until)}
            <button type="submit" class="button small primary">"Apply"</button>
            <button type="button" class="button small ghost" on:click=move |_| {
                draft.set(Filters::default());
                applied.set(Filters::default());
            }>"Clear"</button>
        </form>
    }
    .into_any()
}

/// The events shown so far, newest first.
#[component]
fn EventTable(feed: Feed, open: RwSignal<Option<i64>>) -> impl IntoView {
    view! {
        <div class="scroll">
            <table class="table" data-testid="audit-events">
                <thead><tr><th>"Seq"</th><th>"When (UTC)"</th><th>"Actor"</th><th>"Action"</th><th>"Target"</th><th>"Outcome"</th></tr></thead>
                <tbody>
                    <For each=move || feed.events.get() key=|e| e.seq let:event>
                        <EventRow event=event open=open/>
                    </For>
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

/// One event, and its details below it once opened.
#[component]
fn EventRow(event: AuditEvent, open: RwSignal<Option<i64>>) -> impl IntoView {
    let seq = event.seq;
    let is_open = move || open.get() == Some(seq);
    let target = format!(
        "{} {}",
        event.target.kind,
        event.target.id.clone().unwrap_or_default()
    );
    let outcome = event.outcome.as_str();
    view! {
        <tr class="event" data-seq=seq data-action=event.action.clone()
            on:click=move |_| open.update(|o| *o = if *o == Some(seq) { None } else { Some(seq) })>
            <td>{seq}</td>
            <td>{micros::format(&event.occurred_at)}</td>
            <td>{event.actor.display.clone()}</td>
            <td><code>{event.action.clone()}</code></td>
            <td>{target}</td>
            <td><span class=format!("tag {outcome}")>{outcome}</span></td>
        </tr>
        <Show when=is_open>
            <tr class="detail"><td colspan="6"><EventDetail event=event.clone()/></td></tr>
        </Show>
    }
    .into_any()
}

#[component]
fn EventDetail(event: AuditEvent) -> impl IntoView {
    let meta = event.metadata.clone();
    let changes = diff(&meta["before"], &meta["after"]);
    let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "—".to_owned());
    view! {
        <div class="event-detail" data-testid="event-detail">
            {(!changes.is_empty()).then(|| view! {
                <table class="table diff" data-testid="event-diff">
                    <thead><tr><th>"Field"</th><th>"Before"</th><th>"After"</th></tr></thead>
                    <tbody>
                        {changes.into_iter().map(|(field, before, after)| {
                            let changed = before != after;
                            view! {
                                <tr class:changed=changed>
                                    <td>{field}</td><td><code>{before}</code></td><td><code>{after}</code></td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            })}
            <dl class="facts">
                <dt>"Request id"</dt><dd>{text(&event.request_id)}</dd>
                <dt>"IP"</dt><dd>{text(&event.ip)}</dd>
                <dt>"User agent"</dt><dd>{text(&event.user_agent)}</dd>
                <dt>"Metadata"</dt><dd><code>{meta.to_string()}</code></dd>
                <dt>"Hash"</dt><dd><code>{event.hash.clone()}</code></dd>
                <dt>"Previous hash"</dt><dd><code>{event.prev_hash.clone()}</code></dd>
            </dl>
        </div>
    }
    .into_any()
}

/// Field by field, what `before` and `after` hold (a field only one of them
/// has shows `—` on the other side).
fn diff(before: &serde_json::Value, after: &serde_json::Value) -> Vec<(String, String, String)> {
    let (Some(b), Some(a)) = (before.as_object(), after.as_object()) else {
        return Vec::new();
    };
    let mut fields: Vec<&String> = b.keys().chain(a.keys()).collect();
    fields.sort();
    fields.dedup();
    let show = |v: Option<&serde_json::Value>| v.map_or_else(|| "—".to_owned(), |v| v.to_string());
    fields
        .into_iter()
        .map(|f| (f.clone(), show(b.get(f)), show(a.get(f))))
        .collect()
}

/// Calls `load` whenever the page is scrolled to (near) its end: infinite scroll.
fn load_when_scrolled_to_the_end(load: impl Fn() + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let handle = window_event_listener(leptos::ev::scroll, move |_| {
            let window = window();
            let viewport = window.inner_height().ok().and_then(|h| h.as_f64()).unwrap_or(0.0);
            let scrolled = window.scroll_y().unwrap_or(0.0);
            let height = document()
                .document_element()
                .map_or(0.0, |root| f64::from(root.scroll_height()));
            if scrolled + viewport >= height - 300.0 {
                load();
            }
        });
        on_cleanup(move || handle.remove());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = load;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_become_an_encoded_query_without_empty_members() {
        let filters = Filters {
            action: " role.created ".into(),
            target_id: "a b&c".into(),
            since: "2026-12-01T10:30".into(),
            ..Filters::default()
        };
        assert_eq!(
            filters.query(Some("42")),
            "action=role.created&target_id=a%20b%26c&since=2026-12-01T10%3A30%3A00Z&cursor=42"
        );
        assert_eq!(Filters::default().query(None), "");
    }

    #[test]
    fn the_diff_lists_every_field_of_either_side() {
        let before = serde_json::json!({"roles": ["auditor"]});
        let after = serde_json::json!({"roles": ["admin"], "expires_at": "2027-01-01T00:00:00.000000Z"});
        assert_eq!(
            diff(&before, &after),
            [
                (
                    "expires_at".into(),
                    "—".into(),
                    "\"2027-01-01T00:00:00.000000Z\"".into()
                ),
                ("roles".into(), "[\"auditor\"]".into(), "[\"admin\"]".into()),
            ]
        );
        assert!(diff(&serde_json::Value::Null, &after).is_empty());
    }
}
