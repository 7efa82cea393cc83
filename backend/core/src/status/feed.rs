//! The page's Atom feed (RFC 4287): one entry per incident update and per
//! maintenance, newest first, so feed readers see each step as it is posted.

use atom_syndication::{Content, Entry, Feed, Link, Person, Text};
use attest_shared::status::PublicPage;
use chrono::{DateTime, Utc};

/// Entries the feed carries, at most.
const ENTRIES: usize = 50;

struct Item {
    id: String,
    title: String,
    body: String,
    at: DateTime<Utc>,
}

pub fn render(page: &PublicPage) -> String {
    let page_url = format!("{}/status", page.url);
    let mut items: Vec<Item> = Vec::new();
    for incident in page.active_incidents.iter().chain(&page.past_incidents) {
        for update in &incident.updates {
            items.push(Item {
                id: format!("urn:uuid:{}", update.id),
                title: format!("{}: {}", incident.name, update.status.label()),
                body: update.message.clone(),
                at: update.created_at,
            });
        }
    }
    for m in &page.maintenances {
        let window = format!(
            "{} to {} (UTC)",
            m.scheduled_for.format("%Y-%m-%d %H:%M"),
            m.scheduled_until.format("%Y-%m-%d %H:%M")
        );
        items.push(Item {
            id: format!("urn:uuid:{}", m.id),
            title: format!("Maintenance: {} ({})", m.name, m.status.label()),
            body: format!("{window}\n\n{}", m.message),
            at: m.updated_at,
        });
    }
    items.sort_by_key(|item| std::cmp::Reverse(item.at));
    items.truncate(ENTRIES);
    let link = |href: &str, rel: &str| Link {
        href: href.to_owned(),
        rel: rel.to_owned(),
        ..Link::default()
    };
    let entries = items
        .into_iter()
        .map(|item| Entry {
            title: Text::plain(item.title),
            id: item.id,
            updated: item.at.fixed_offset(),
            links: vec![link(&page_url, "alternate")],
            content: Some(Content {
                value: Some(item.body),
                content_type: Some("text".to_owned()),
                ..Content::default()
            }),
            ..Entry::default()
        })
        .collect();
    let feed = Feed {
        title: Text::plain(format!("{} status", page.name)),
        id: page_url.clone(),
        updated: page.updated_at.fixed_offset(),
        authors: vec![Person {
            name: page.name.clone(),
            ..Person::default()
        }],
        links: vec![
            link(&page_url, "alternate"),
            link(&format!("{page_url}/feed.atom"), "self"),
        ],
        entries,
        ..Feed::default()
    };
    feed.to_string()
}
