//! A catalog in OSCAL (NIST's Open Security Controls Assessment Language),
//! JSON: `catalog.groups[].controls[]`, groups nesting groups and controls
//! nesting their enhancements. Controls and enhancements become requirements
//! (an enhancement's parent is its control); groups only organize them. A
//! requirement's description is the prose of the control's `statement` part.
//!
//! The document is read straight into these few typed shapes (everything
//! else OSCAL holds is skipped unread), never into a generic JSON tree.

use serde::Deserialize;

use super::{Catalog, Entry};
use crate::{validate::invalid, AppError, AppResult, ErrorKind};

#[derive(Deserialize)]
struct Document {
    catalog: OscalCatalog,
}

#[derive(Deserialize)]
struct OscalCatalog {
    metadata: Metadata,
    #[serde(default)]
    groups: Vec<Group>,
    #[serde(default)]
    controls: Vec<Control>,
}

#[derive(Deserialize)]
struct Metadata {
    title: String,
}

#[derive(Deserialize)]
struct Group {
    #[serde(default)]
    groups: Vec<Group>,
    #[serde(default)]
    controls: Vec<Control>,
}

#[derive(Deserialize)]
struct Control {
    id: String,
    title: String,
    #[serde(default)]
    parts: Vec<Part>,
    #[serde(default)]
    controls: Vec<Control>,
}

#[derive(Deserialize)]
struct Part {
    name: String,
    #[serde(default)]
    prose: Option<String>,
    #[serde(default)]
    parts: Vec<Part>,
}

pub fn parse(document: &[u8]) -> AppResult<Catalog> {
    let mut deserializer = serde_json::Deserializer::from_slice(document);
    let parsed: Document = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
                invalid(&path, message)
            }
            _ => AppError::new(
                ErrorKind::BadRequest,
                format!(
                    "the body is not valid JSON (line {}, column {})",
                    inner.line(),
                    inner.column()
                ),
            ),
        }
    })?;
    deserializer.end().map_err(|_| {
        AppError::new(
            ErrorKind::BadRequest,
            "the body has characters after the JSON document",
        )
    })?;
    let mut entries = Vec::new();
    let catalog = parsed.catalog;
    walk_controls(&catalog.controls, "catalog.controls", None, &mut entries);
    walk_groups(&catalog.groups, "catalog.groups", &mut entries);
    Catalog {
        title: Some(catalog.metadata.title.trim().to_owned()).filter(|t| !t.is_empty()),
        entries,
    }
    .check()
}

fn walk_groups(groups: &[Group], at: &str, entries: &mut Vec<Entry>) {
    for (i, group) in groups.iter().enumerate() {
        walk_controls(&group.controls, &format!("{at}[{i}].controls"), None, entries);
        walk_groups(&group.groups, &format!("{at}[{i}].groups"), entries);
    }
}

fn walk_controls(controls: &[Control], at: &str, parent: Option<&str>, entries: &mut Vec<Entry>) {
    for (i, control) in controls.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let mut prose = Vec::new();
        for part in control.parts.iter().filter(|p| p.name == "statement") {
            collect_prose(part, &mut prose);
        }
        entries.push(Entry {
            reference: control.id.trim().to_owned(),
            title: control.title.trim().to_owned(),
            description: Some(prose.join("\n")).filter(|d| !d.is_empty()),
            parent: parent.map(str::to_owned),
            at: here.clone(),
        });
        walk_controls(
            &control.controls,
            &format!("{here}.controls"),
            Some(control.id.trim()),
            entries,
        );
    }
}

fn collect_prose(part: &Part, into: &mut Vec<String>) {
    if let Some(prose) = part.prose.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        into.push(prose.to_owned());
    }
    for sub in &part.parts {
        collect_prose(sub, into);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CATALOG: &str = r#"{"catalog": {"uuid": "0b8e4a1e-0000-4000-8000-000000000000",
      "metadata": {"title": "Tiny Catalog", "version": "1.0", "oscal-version": "1.1.2"},
      "groups": [{"id": "ac", "class": "family", "title": "Access",
        "controls": [{"id": "ac-1", "class": "SP800-53", "title": "Policy",
          "params": [{"id": "ac-1_prm_1"}],
          "parts": [{"id": "ac-1_smt", "name": "statement", "prose": "Write it down.",
                     "parts": [{"id": "ac-1_smt.a", "name": "item", "prose": "Keep it current."}]},
                    {"id": "ac-1_gdn", "name": "guidance", "prose": "Not part of the statement."}],
          "controls": [{"id": "ac-1.1", "title": "Review"}]}],
        "groups": [{"id": "ac-x", "title": "Nested", "controls": [{"id": "ac-9", "title": "Deep"}]}]}],
      "controls": [{"id": "top-1", "title": "Top level"}],
      "back-matter": {"resources": []}}}"#;

    #[test]
    fn controls_and_enhancements_become_requirements_and_groups_do_not() {
        let catalog = parse(CATALOG.as_bytes()).unwrap();
        assert_eq!(catalog.title.as_deref(), Some("Tiny Catalog"));
        let refs: Vec<(&str, Option<&str>)> = catalog
            .entries
            .iter()
            .map(|e| (e.reference.as_str(), e.parent.as_deref()))
            .collect();
        assert_eq!(
            refs,
            [
                ("top-1", None),
                ("ac-1", None),
                ("ac-1.1", Some("ac-1")),
                ("ac-9", None)
            ]
        );
        assert_eq!(
            catalog.entries[1].description.as_deref(),
            Some("Write it down.\nKeep it current.")
        );
    }

    #[test]
    fn a_problem_is_reported_at_its_json_path() {
        let err =
            parse(br#"{"catalog": {"metadata": {"title": "T"}, "groups": [{"controls": [{"id": "a"}]}]}}"#)
                .unwrap_err();
        assert_eq!(err.kind, ErrorKind::ValidationFailed);
        assert_eq!(err.errors[0].field, "catalog.groups[0].controls[0]");
        assert!(err.errors[0].message.contains("title"), "{:?}", err.errors);

        let err =
            parse(br#"{"catalog": {"metadata": {"title": "T"}, "controls": [{"id": 7, "title": "x"}]}}"#)
                .unwrap_err();
        assert_eq!(err.errors[0].field, "catalog.controls[0].id");

        let err = parse(br#"{"catalog": {"metadata": {"title": "T"}, "controls": [{"id": "a", "title": "x"}, {"id": "a", "title": "y"}]}}"#)
            .unwrap_err();
        assert_eq!(err.errors[0].field, "catalog.controls[1].id");

        let err = parse(br#"{"catalog": {"metadata": "#).unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadRequest);
        let err = parse(br#"{"profile": {}}"#).unwrap_err();
        assert!(err.errors[0].message.contains("catalog"), "{:?}", err.errors);
    }
}
