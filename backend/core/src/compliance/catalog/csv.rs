//! A catalog as CSV: the header `id,title,description,parent`, one
//! requirement per line; `parent` names another line's `id` (or is empty).

use super::{Catalog, Entry};
use crate::{validate::invalid, AppError, AppResult, ErrorKind};

const HEADER: [&str; 4] = ["id", "title", "description", "parent"];

pub fn parse(document: &[u8]) -> AppResult<Catalog> {
    // Spreadsheets like to start their exports with a byte-order mark.
    let document = document.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(document);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(document);
    let header = reader.headers().map_err(unreadable)?;
    let names: Vec<String> = header.iter().map(str::to_ascii_lowercase).collect();
    if names != HEADER {
        return Err(invalid(
            "line 1",
            format!("the header must be `{}`", HEADER.join(",")),
        ));
    }
    let mut entries = Vec::new();
    for record in reader.records() {
        let record = record.map_err(unreadable)?;
        let line = record.position().map_or(0, csv::Position::line);
        let column = |i: usize| record.get(i).map(str::to_owned).filter(|v| !v.is_empty());
        entries.push(Entry {
            reference: column(0).unwrap_or_default(),
            title: column(1).unwrap_or_default(),
            description: column(2),
            parent: column(3),
            at: format!("line {line}"),
        });
    }
    Catalog { title: None, entries }.check()
}

fn unreadable(error: csv::Error) -> AppError {
    let place = error
        .position()
        .map(|p| format!(" (line {})", p.line()))
        .unwrap_or_default();
    match error.kind() {
        csv::ErrorKind::UnequalLengths { .. } => invalid(
            &format!("line {}", error.position().map_or(0, csv::Position::line)),
            "must have exactly 4 columns: id,title,description,parent",
        ),
        csv::ErrorKind::Utf8 { .. } => {
            AppError::new(ErrorKind::BadRequest, format!("the CSV is not UTF-8{place}"))
        }
        _ => AppError::new(ErrorKind::BadRequest, format!("the CSV could not be read{place}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_become_entries_with_their_parents() {
        let doc = "\u{feff}id,title,description,parent\nGOV-1,Governance,Who decides,\nGOV-1.1,\"Roles, named\",,GOV-1\n";
        let catalog = parse(doc.as_bytes()).unwrap();
        assert_eq!(catalog.entries.len(), 2);
        assert_eq!(catalog.entries[1].title, "Roles, named");
        assert_eq!(catalog.entries[1].parent.as_deref(), Some("GOV-1"));
        assert_eq!(catalog.entries[1].description, None);
        assert_eq!(catalog.entries[0].description.as_deref(), Some("Who decides"));
    }

    #[test]
    fn problems_name_their_line() {
        let err = parse(b"id,name\nA,B\n").unwrap_err();
        assert_eq!(err.errors[0].field, "line 1");
        let err = parse(b"id,title,description,parent\nA,B,C\n").unwrap_err();
        assert_eq!(err.errors[0].field, "line 2");
        let err = parse(b"id,title,description,parent\nA,B,,\n,No id,,\n").unwrap_err();
        assert_eq!(err.errors[0].field, "line 3.id");
        let err = parse(b"id,title,description,parent\nA,B,,\xff\n").unwrap_err();
        assert_eq!(err.kind, ErrorKind::BadRequest);
    }
}
