//! The public status page, rendered on the server only: complete HTML with no
//! script at all (it is read during outages, by everyone at once, often
//! without JavaScript), styled by one small stylesheet that follows
//! `prefers-color-scheme`. The server renders it once per change of the page.

use attest_shared::status::{
    ComponentStatus, ComponentView, Impact, IncidentView, MaintenanceStatus, MaintenanceView, PublicPage,
    UptimeDay,
};
use chrono::{DateTime, Utc};
use leptos::prelude::*;

/// The page's stylesheet, served at [`STYLESHEET_PATH`].
pub const STYLESHEET: &str = include_str!("../static/status.css");
pub const STYLESHEET_PATH: &str = "/status/status.css";

/// Past incidents shown on the page (the feed and the JSON carry more).
const PAST_SHOWN: usize = 10;

fn when(at: DateTime<Utc>) -> String {
    at.format("%b %-d, %H:%M UTC").to_string()
}

fn status_class(status: ComponentStatus) -> &'static str {
    match status {
        ComponentStatus::Operational => "ok",
        ComponentStatus::DegradedPerformance => "minor",
        ComponentStatus::PartialOutage => "major",
        ComponentStatus::MajorOutage => "critical",
        ComponentStatus::UnderMaintenance => "maintenance",
    }
}

fn impact_class(impact: Impact) -> &'static str {
    match impact {
        Impact::None => "ok",
        Impact::Minor => "minor",
        Impact::Major => "major",
        Impact::Critical => "critical",
    }
}

/// The whole document of the page.
pub fn render(page: &PublicPage) -> String {
    let title = format!("{} status", page.name);
    let body = document(page, &title, page_body(page));
    format!("<!DOCTYPE html>{}", body.to_html())
}

/// A short page of the subscription flow: a message and, optionally, a form
/// with one button posting to `action`.
pub fn render_message(page_name: &str, heading: &str, text: &str, form: Option<(&str, &str)>) -> String {
    let title = format!("{heading} · {page_name} status");
    let heading = heading.to_owned();
    let text = text.to_owned();
    let form = form.map(|(action, button)| {
        let action = action.to_owned();
        let button = button.to_owned();
        view! {
            <form method="post" action=action>
                <button type="submit">{button}</button>
            </form>
        }
    });
    let content = view! {
        <section class="card">
            <h2>{heading}</h2>
            <p>{text}</p>
            {form}
            <p><a href="/status">"Back to the status page"</a></p>
        </section>
    };
    format!(
        "<!DOCTYPE html>{}",
        document_named(page_name, &title, content).to_html()
    )
}

fn document(page: &PublicPage, title: &str, content: impl IntoView + 'static) -> impl IntoView {
    document_named(&page.name, title, content)
}

fn document_named(name: &str, title: &str, content: impl IntoView + 'static) -> impl IntoView {
    let title = title.to_owned();
    let name = name.to_owned();
    view! {
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <title>{title}</title>
                <link rel="stylesheet" href=STYLESHEET_PATH/>
                <link rel="alternate" type="application/atom+xml" title="Incidents and maintenances" href="/status/feed.atom"/>
            </head>
            <body>
                <header>
                    <h1><a href="/status">{name}" status"</a></h1>
                </header>
                <main>{content}</main>
                <footer>
                    <a href="/status/feed.atom">"Atom feed"</a>
                    " · "
                    <a href="/api/v2/summary.json">"JSON API"</a>
                </footer>
            </body>
        </html>
    }
}

fn page_body(page: &PublicPage) -> impl IntoView + 'static {
    let in_progress: Vec<&MaintenanceView> = page
        .maintenances
        .iter()
        .filter(|m| m.status == MaintenanceStatus::InProgress)
        .collect();
    let banner_class = if page.indicator == Impact::None && !in_progress.is_empty() {
        "banner maintenance"
    } else {
        match page.indicator {
            Impact::None => "banner ok",
            Impact::Minor => "banner minor",
            Impact::Major => "banner major",
            Impact::Critical => "banner critical",
        }
    };
    let headline = if page.indicator == Impact::None && in_progress.is_empty() {
        "All systems operational".to_owned()
    } else {
        page.description.clone()
    };
    let upcoming: Vec<&MaintenanceView> = page
        .maintenances
        .iter()
        .filter(|m| m.status == MaintenanceStatus::Scheduled)
        .collect();
    let active = page.active_incidents.iter().map(incident).collect_view();
    let maintenances = in_progress
        .into_iter()
        .chain(upcoming)
        .map(maintenance)
        .collect_view();
    let past: Vec<_> = page
        .past_incidents
        .iter()
        .take(PAST_SHOWN)
        .map(incident)
        .collect();
    let past = if past.is_empty() {
        view! { <p class="muted">"No incidents reported in the last 90 days."</p> }.into_any()
    } else {
        past.collect_view().into_any()
    };
    view! {
        <p class=banner_class role="status">{headline}</p>
        <section aria-labelledby="active-heading" class:empty=page.active_incidents.is_empty()>
            <h2 id="active-heading" class="visually-hidden">"Active incidents"</h2>
            {active}
        </section>
        <section aria-labelledby="maintenance-heading" class:empty=page.maintenances.iter().all(|m| m.status == MaintenanceStatus::Completed)>
            <h2 id="maintenance-heading">"Maintenance"</h2>
            {maintenances}
        </section>
        <section aria-labelledby="components-heading">
            <h2 id="components-heading">"Components"</h2>
            {component_list(page)}
        </section>
        <section aria-labelledby="past-heading">
            <h2 id="past-heading">"Past incidents"</h2>
            {past}
        </section>
        <section aria-labelledby="subscribe-heading" class="card">
            <h2 id="subscribe-heading">"Get updates by mail"</h2>
            <form method="post" action="/status/subscriptions">
                <label for="subscribe-email">"Email address"</label>
                <input id="subscribe-email" name="email" type="email" autocomplete="email" required/>
                <button type="submit">"Subscribe"</button>
            </form>
        </section>
        <p class="muted">"Updated "{when(page.updated_at)}</p>
    }
}

/// Components in display order, grouped under their group's name where they have one.
fn component_list(page: &PublicPage) -> impl IntoView + 'static {
    let mut sections: Vec<(Option<String>, Vec<&ComponentView>)> = Vec::new();
    for c in &page.components {
        match sections
            .iter_mut()
            .find(|(group, _)| group.is_some() && *group == c.group)
        {
            Some((_, members)) => members.push(c),
            None => sections.push((c.group.clone(), vec![c])),
        }
    }
    sections
        .into_iter()
        .map(|(group, members)| {
            let rows = members
                .into_iter()
                .map(|c| component(c, page.uptime.get(&c.id).map(Vec::as_slice).unwrap_or_default()))
                .collect_view();
            view! {
                <div class="group">
                    {group.map(|g| view! { <h3>{g}</h3> })}
                    <ul class="components">{rows}</ul>
                </div>
            }
        })
        .collect_view()
}

fn component(c: &ComponentView, days: &[UptimeDay]) -> impl IntoView + 'static {
    let name = c.name.clone();
    let description = c.description.clone();
    let status = c.status;
    let overall = if days.is_empty() {
        100.0
    } else {
        days.iter().map(|d| d.percent).sum::<f64>() / days.len() as f64
    };
    view! {
        <li>
            <div class="component">
                <span class="name">{name}</span>
                <span class=format!("status {}", status_class(status))>{status.label()}</span>
            </div>
            {description.map(|d| view! { <p class="muted">{d}</p> })}
            {uptime_bars(days, overall)}
        </li>
    }
}

/// 90 daily bars as one small SVG: a green strip, with a bar drawn only for
/// the days that were not fully up (a quiet page stays a few hundred bytes).
fn uptime_bars(days: &[UptimeDay], overall: f64) -> impl IntoView + 'static {
    const BAR: usize = 5;
    const GAP: usize = 1;
    let width = days.len() * (BAR + GAP);
    let label = format!("Uptime over the last {} days: {overall:.2}%", days.len());
    let bars = days
        .iter()
        .enumerate()
        .filter(|(_, d)| d.worst != ComponentStatus::Operational || d.percent < 100.0)
        .map(|(i, d)| {
            let class = status_class(d.worst);
            let tip = format!("{}: {:.2}% up, worst {}", d.date, d.percent, d.worst.label());
            view! { <rect x=(i * (BAR + GAP)).to_string() width=BAR.to_string() height="24" class=class><title>{tip}</title></rect> }
        })
        .collect_view();
    view! {
        <div class="uptime">
            <svg viewBox=format!("0 0 {width} 24") preserveAspectRatio="none" role="img" aria-label=label.clone()>
                <rect width=width.to_string() height="24" class="ok"/>
                {bars}
            </svg>
            <p class="muted"><span>{format!("{} days ago", days.len())}</span><span>{format!("{overall:.2}% uptime")}</span><span>"Today"</span></p>
        </div>
    }
}

fn incident(i: &IncidentView) -> impl IntoView + 'static {
    let name = i.name.clone();
    let class = format!("card incident {}", impact_class(i.impact));
    let updates = i
        .updates
        .iter()
        .map(|u| {
            let status = u.status.label();
            let message = u.message.clone();
            let at = when(u.created_at);
            view! {
                <li><strong>{status}</strong>" — "{message}<br/><small class="muted">{at}</small></li>
            }
        })
        .collect_view();
    let affected = (!i.components.is_empty()).then(|| {
        let names = i
            .components
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        view! { <p class="muted">"This affects: "{names}</p> }
    });
    view! {
        <article class=class>
            <h3>{name}</h3>
            <ul class="updates">{updates}</ul>
            {affected}
        </article>
    }
}

fn maintenance(m: &MaintenanceView) -> impl IntoView + 'static {
    let name = m.name.clone();
    let message = m.message.clone();
    let window = format!("{} to {}", when(m.scheduled_for), when(m.scheduled_until));
    let status = m.status.label();
    let affected = (!m.components.is_empty()).then(|| {
        let names = m
            .components
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        view! { <p class="muted">"This affects: "{names}</p> }
    });
    view! {
        <article class="card incident maintenance">
            <h3>{name}" "<small>"("{status}")"</small></h3>
            <p>{message}</p>
            <p class="muted">{window}</p>
            {affected}
        </article>
    }
}
