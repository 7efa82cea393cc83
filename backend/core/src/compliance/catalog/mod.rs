//! Framework catalogs as documents: OSCAL catalog JSON and a simple CSV, both
//! read into one list of entries, checked as a whole (ids unique, parents
//! present, no cycles) before anything is stored. A problem is reported with
//! where it is: the JSON path, or the CSV line and column.

pub mod csv;
pub mod oscal;

use std::collections::{HashMap, HashSet};

use crate::{validate::invalid, AppResult};

/// At most this many requirements per framework (the largest public catalogs
/// hold about 1,200).
pub const MAX_REQUIREMENTS: usize = 50_000;
const MAX_REF: usize = 128;
const MAX_TITLE: usize = 1_000;
const MAX_DESCRIPTION: usize = 50_000;

/// One requirement as the document states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub reference: String,
    pub title: String,
    pub description: Option<String>,
    /// The `reference` of the requirement this one refines.
    pub parent: Option<String>,
    /// Where in the document it is, for errors.
    pub at: String,
}

/// A document's requirements, in document order, and its own title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    pub title: Option<String>,
    pub entries: Vec<Entry>,
}

impl Catalog {
    /// Refuses the catalog at its first problem.
    pub fn check(self) -> AppResult<Catalog> {
        if self.entries.is_empty() {
            return Err(invalid("body", "the catalog has no requirements"));
        }
        if self.entries.len() > MAX_REQUIREMENTS {
            return Err(invalid(
                "body",
                format!("the catalog has more than {MAX_REQUIREMENTS} requirements"),
            ));
        }
        let mut seen = HashSet::new();
        for entry in &self.entries {
            let field = |name: &str| format!("{}.{name}", entry.at);
            let within = |name: &str, value: &str, max: usize| {
                if value.trim().is_empty() {
                    Err(invalid(&field(name), "must not be empty"))
                } else if value.chars().count() > max {
                    Err(invalid(&field(name), format!("must be at most {max} characters")))
                } else {
                    Ok(())
                }
            };
            within("id", &entry.reference, MAX_REF)?;
            within("title", &entry.title, MAX_TITLE)?;
            if let Some(description) = &entry.description {
                within("description", description, MAX_DESCRIPTION)?;
            }
            if !seen.insert(entry.reference.as_str()) {
                return Err(invalid(
                    &field("id"),
                    format!("`{}` appears twice in the catalog", entry.reference),
                ));
            }
        }
        let parents: HashMap<&str, Option<&str>> = self
            .entries
            .iter()
            .map(|e| (e.reference.as_str(), e.parent.as_deref()))
            .collect();
        for entry in &self.entries {
            let Some(parent) = entry.parent.as_deref() else {
                continue;
            };
            if !parents.contains_key(parent) {
                return Err(invalid(
                    &format!("{}.parent", entry.at),
                    format!("`{parent}` is not a requirement of this catalog"),
                ));
            }
            // Walking up from here must reach a root before revisiting anything.
            let mut steps = 0;
            let mut at = Some(parent);
            while let Some(reference) = at {
                steps += 1;
                if reference == entry.reference || steps > self.entries.len() {
                    return Err(invalid(
                        &format!("{}.parent", entry.at),
                        format!("`{}` is its own ancestor", entry.reference),
                    ));
                }
                at = parents.get(reference).copied().flatten();
            }
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(reference: &str, parent: Option<&str>) -> Entry {
        Entry {
            reference: reference.into(),
            title: format!("Title of {reference}"),
            description: None,
            parent: parent.map(Into::into),
            at: format!("line {reference}"),
        }
    }

    fn check(entries: Vec<Entry>) -> Result<Catalog, String> {
        Catalog { title: None, entries }
            .check()
            .map_err(|e| format!("{}: {}", e.errors[0].field, e.errors[0].message))
    }

    #[test]
    fn a_tree_passes() {
        assert!(check(vec![
            entry("a", None),
            entry("a.1", Some("a")),
            entry("a.1.x", Some("a.1"))
        ])
        .is_ok());
    }

    #[test]
    fn duplicates_unknown_parents_and_cycles_are_refused_where_they_are() {
        assert_eq!(
            check(vec![entry("a", None), entry("a", None)]).unwrap_err(),
            "line a.id: `a` appears twice in the catalog"
        );
        assert_eq!(
            check(vec![entry("a", Some("z"))]).unwrap_err(),
            "line a.parent: `z` is not a requirement of this catalog"
        );
        assert!(check(vec![entry("a", Some("b")), entry("b", Some("a"))])
            .unwrap_err()
            .ends_with("is its own ancestor"));
        assert!(check(vec![entry("a", Some("a"))]).is_err());
        assert_eq!(
            check(vec![]).unwrap_err(),
            "body: the catalog has no requirements"
        );
        let mut untitled = entry("a", None);
        untitled.title = " ".into();
        assert_eq!(
            check(vec![untitled]).unwrap_err(),
            "line a.title: must not be empty"
        );
    }
}
