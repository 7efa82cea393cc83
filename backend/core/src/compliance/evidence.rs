//! Evidence that controls work: a note, a link, or an uploaded file (its
//! bytes in the blob store by SHA-256, its type sniffed from the bytes, never
//! taken from the uploader). Evidence may have a validity end; expired
//! evidence no longer covers anything. A reviewer accepts or rejects it.

use attest_shared::{
    api::Page,
    compliance::{CreateEvidence, EvidenceFile, EvidenceKind, EvidenceView, ReviewState, UpdateEvidence},
    permissions::Permission,
};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sea_orm::{
    sea_query::{Expr, Query},
    ActiveValue::Set,
    ColumnTrait as _, ConnectionTrait, EntityTrait as _, PaginatorTrait as _, QueryFilter as _,
    QuerySelect as _,
};
use uuid::Uuid;

use crate::{
    audit::{Action, ComplianceFacts, Record},
    authz::OrgScope,
    clock,
    precondition::{self, Expected},
    store::{
        entities::{controls, evidence, evidence_controls},
        page::PageRequest,
    },
    validate::{finish, optional_text, problem, text},
    AppError, AppResult, AppState,
};

const THE_EVIDENCE: &str = "the evidence";
const MAX_TITLE: usize = 300;
const MAX_NOTE: usize = 20_000;
const MAX_URL: usize = 2_048;
const MAX_FILE_NAME: usize = 255;

/// An uploaded file, as received.
pub struct Upload {
    pub name: String,
    pub bytes: Bytes,
}

/// `GET …/evidence` filters.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub control_id: Option<Uuid>,
    pub kind: Option<EvidenceKind>,
    pub review_state: Option<ReviewState>,
}

/// The type a file's bytes say it is: a known signature, else UTF-8 text, else
/// opaque bytes.
pub fn sniff(bytes: &[u8]) -> &'static str {
    match infer::get(bytes) {
        Some(kind) => kind.mime_type(),
        None if std::str::from_utf8(bytes).is_ok() => "text/plain; charset=utf-8",
        None => "application/octet-stream",
    }
}

/// A file name without any path, control characters or quotes, shortened to
/// fit: what a download offers to save as.
pub fn clean_file_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '"' | '\\'))
        .take(MAX_FILE_NAME)
        .collect();
    match cleaned.trim().trim_start_matches('.') {
        "" => "evidence".to_owned(),
        kept => kept.to_owned(),
    }
}

/// The link without its query and fragment: an audit record never keeps the
/// signature of a pre-signed URL.
fn link_for_audit(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_query(None);
            parsed.set_fragment(None);
            let _ = parsed.set_password(None);
            let _ = parsed.set_username("");
            parsed.to_string()
        }
        Err(_) => String::new(),
    }
}

fn checked_url(url: Option<&str>, errors: &mut Vec<attest_shared::error::FieldError>) -> Option<String> {
    let url = url.map(str::trim).filter(|u| !u.is_empty())?;
    let parsed = url::Url::parse(url)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    if parsed.is_none() {
        errors.push(problem("url", "must be an http:// or https:// URL"));
    } else if url.len() > MAX_URL {
        errors.push(problem("url", format!("must be at most {MAX_URL} characters")));
    }
    Some(url.to_owned())
}

fn file_of(row: &evidence::Model) -> Option<EvidenceFile> {
    Some(EvidenceFile {
        name: row.file_name.clone()?,
        size: row.file_size?,
        sha256: row.file_sha256.clone()?,
        content_type: row.file_content_type.clone()?,
    })
}

fn facts(row: &evidence::Model, control_ids: &[Uuid]) -> ComplianceFacts {
    ComplianceFacts {
        title: Some(row.title.clone()),
        kind: Some(row.kind.clone()),
        url: row.url.as_deref().map(link_for_audit),
        file_name: row.file_name.clone(),
        file_size: row.file_size,
        file_sha256: row.file_sha256.clone(),
        control_ids: Some(control_ids.to_vec()),
        collected_at: Some(row.collected_at.to_utc()),
        valid_until: row.valid_until.map(|t| t.to_utc()),
        status: Some(row.review_state.clone()),
        ..ComplianceFacts::default()
    }
}

fn view(row: evidence::Model, control_ids: Vec<Uuid>) -> AppResult<EvidenceView> {
    Ok(EvidenceView {
        id: row.id,
        control_ids,
        kind: super::stored(&row.kind, EvidenceKind::parse)?,
        file: file_of(&row),
        check: row
            .platform_check
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(AppError::internal)?,
        title: row.title,
        note: row.note,
        url: row.url,
        collected_at: row.collected_at.to_utc(),
        valid_until: row.valid_until.map(|t| t.to_utc()),
        review_state: super::stored(&row.review_state, ReviewState::parse)?,
        reviewer_id: row.reviewer_id,
        reviewed_at: row.reviewed_at.map(|t| t.to_utc()),
        version: row.version,
        created_at: row.created_at.to_utc(),
        updated_at: row.updated_at.to_utc(),
    })
}

/// The controls each of `ids` supports.
async fn links<C: ConnectionTrait>(
    db: &C,
    ids: Vec<Uuid>,
) -> AppResult<std::collections::HashMap<Uuid, Vec<Uuid>>> {
    let mut by_evidence: std::collections::HashMap<Uuid, Vec<Uuid>> = std::collections::HashMap::new();
    if ids.is_empty() {
        return Ok(by_evidence);
    }
    let rows: Vec<(Uuid, Uuid)> = evidence_controls::Entity::find()
        .select_only()
        .columns([
            evidence_controls::Column::EvidenceId,
            evidence_controls::Column::ControlId,
        ])
        .filter(evidence_controls::Column::EvidenceId.is_in(ids))
        .into_tuple()
        .all(db)
        .await?;
    for (evidence, control) in rows {
        by_evidence.entry(evidence).or_default().push(control);
    }
    for controls in by_evidence.values_mut() {
        controls.sort_unstable();
    }
    Ok(by_evidence)
}

async fn view_of<C: ConnectionTrait>(db: &C, row: evidence::Model) -> AppResult<EvidenceView> {
    let controls = links(db, vec![row.id]).await?.remove(&row.id).unwrap_or_default();
    view(row, controls)
}

pub async fn list(
    state: &AppState,
    scope: &OrgScope,
    filter: &Filter,
    page: &PageRequest,
) -> AppResult<Page<EvidenceView>> {
    scope.require(Permission::EvidenceRead)?;
    let mut query = evidence::Entity::find().filter(evidence::Column::OrgId.eq(scope.org_id()));
    if let Some(kind) = filter.kind {
        query = query.filter(evidence::Column::Kind.eq(kind.as_str()));
    }
    if let Some(state) = filter.review_state {
        query = query.filter(evidence::Column::ReviewState.eq(state.as_str()));
    }
    if let Some(control) = filter.control_id {
        query = query.filter(
            evidence::Column::Id.in_subquery(
                Query::select()
                    .column(evidence_controls::Column::EvidenceId)
                    .from(evidence_controls::Entity)
                    .and_where(evidence_controls::Column::ControlId.eq(control))
                    .and_where(evidence_controls::Column::OrgId.eq(scope.org_id()))
                    .to_owned(),
            ),
        );
    }
    let rows = page
        .load(&state.db, query.cursor_by(evidence::Column::Id), |e| e.id)
        .await?;
    let mut links = links(&state.db, rows.items.iter().map(|e| e.id).collect()).await?;
    super::views(rows, |row| {
        let controls = links.remove(&row.id).unwrap_or_default();
        view(row, controls)
    })
}

async fn row<C: ConnectionTrait>(db: &C, scope: &OrgScope, id: Uuid) -> AppResult<evidence::Model> {
    super::one_in_org::<evidence::Entity, _>(db, scope, id, evidence::Column::Id, evidence::Column::OrgId)
        .await
}

pub async fn get(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<EvidenceView> {
    scope.require(Permission::EvidenceRead)?;
    view_of(&state.db, row(&state.db, scope, id).await?).await
}

/// The file of evidence `id`, with its bytes.
pub async fn file(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<(EvidenceFile, Bytes)> {
    scope.require(Permission::EvidenceRead)?;
    let row = row(&state.db, scope, id).await?;
    let file = file_of(&row)
        .ok_or_else(|| AppError::new(crate::ErrorKind::NotFound, "this evidence has no file"))?;
    let bytes = state.blobs.get(scope.org_id(), &file.sha256).await?;
    Ok((file, bytes))
}

/// `400` unless every one of `control_ids` is a control of the org.
async fn only_org_controls<C: ConnectionTrait>(
    db: &C,
    scope: &OrgScope,
    control_ids: &[Uuid],
) -> AppResult<()> {
    super::all_in_org::<controls::Entity, _>(
        db,
        scope,
        control_ids,
        controls::Column::Id,
        controls::Column::OrgId,
        "control_ids",
    )
    .await
}

/// Replaces the evidence's control links; every control must be the org's.
async fn write_links<C: ConnectionTrait>(
    db: &C,
    scope: &OrgScope,
    evidence_id: Uuid,
    control_ids: &[Uuid],
) -> AppResult<()> {
    only_org_controls(db, scope, control_ids).await?;
    evidence_controls::Entity::delete_many()
        .filter(evidence_controls::Column::EvidenceId.eq(evidence_id))
        .exec(db)
        .await?;
    if !control_ids.is_empty() {
        evidence_controls::Entity::insert_many(control_ids.iter().map(|&control| {
            evidence_controls::ActiveModel {
                evidence_id: Set(evidence_id),
                control_id: Set(control),
                org_id: Set(scope.org_id()),
            }
        }))
        .exec_without_returning(db)
        .await?;
    }
    Ok(())
}

/// Adds evidence: a note or a link from `body`, or `upload` as a file.
pub async fn create(
    state: &AppState,
    scope: &OrgScope,
    body: &CreateEvidence,
    upload: Option<Upload>,
) -> AppResult<EvidenceView> {
    scope.require(Permission::EvidenceWrite)?;
    let mut errors = Vec::new();
    let kind = match (&upload, body.kind) {
        (Some(_), None | Some(EvidenceKind::File)) => EvidenceKind::File,
        (Some(_), Some(_)) => {
            errors.push(problem("kind", "an uploaded file is evidence of kind `file`"));
            EvidenceKind::File
        }
        (None, Some(EvidenceKind::File)) => {
            errors.push(problem(
                "file",
                "upload the file as multipart/form-data (parts `metadata` and `file`)",
            ));
            EvidenceKind::File
        }
        (None, Some(kind)) => kind,
        (None, None) if body.url.is_some() => EvidenceKind::Url,
        (None, None) => EvidenceKind::Note,
    };
    let title = text("title", &body.title, MAX_TITLE, &mut errors);
    let note = optional_text("note", body.note.as_deref(), MAX_NOTE, &mut errors);
    let url = checked_url(body.url.as_deref(), &mut errors);
    match kind {
        EvidenceKind::Note if note.is_none() => errors.push(problem("note", "a note says something")),
        EvidenceKind::Url if url.is_none() => errors.push(problem("url", "a link needs its url")),
        EvidenceKind::Note | EvidenceKind::File if url.is_some() => {
            errors.push(problem(
                "url",
                format!("evidence of kind `{}` has no url", kind.as_str()),
            ));
        }
        _ => {}
    }
    if let Some(upload) = &upload {
        if upload.bytes.is_empty() {
            errors.push(problem("file", "the file is empty"));
        }
    }
    finish(errors)?;
    let control_ids = super::distinct(body.control_ids.clone());
    let now = clock::now();
    let file = upload.map(|upload| {
        let sha256 = super::blobs::address(&upload.bytes);
        let file = EvidenceFile {
            name: clean_file_name(&upload.name),
            size: i64::try_from(upload.bytes.len()).unwrap_or(i64::MAX),
            content_type: sniff(&upload.bytes).to_owned(),
            sha256,
        };
        (file, upload.bytes)
    });
    if let Some((file, bytes)) = &file {
        // Refused links store nothing; checked again in the transaction.
        only_org_controls(&state.db, scope, &control_ids).await?;
        // Stored before the row that names it: a committed row always has its bytes.
        state
            .blobs
            .put(scope.org_id(), &file.sha256, bytes.clone())
            .await?;
    }
    let file = file.map(|(file, _)| file);
    let row = evidence::Model {
        id: Uuid::now_v7(),
        org_id: scope.org_id(),
        kind: kind.as_str().to_owned(),
        title,
        note,
        url,
        file_name: file.as_ref().map(|f| f.name.clone()),
        file_size: file.as_ref().map(|f| f.size),
        file_sha256: file.as_ref().map(|f| f.sha256.clone()),
        file_content_type: file.as_ref().map(|f| f.content_type.clone()),
        platform_check: None,
        collected_at: body.collected_at.map_or(now, |t| t.fixed_offset()),
        valid_until: body.valid_until.map(|t| t.fixed_offset()),
        review_state: ReviewState::Pending.as_str().to_owned(),
        reviewer_id: None,
        reviewed_at: None,
        version: 1,
        created_at: now,
        updated_at: now,
    };
    insert(state, scope, row, control_ids).await
}

/// Stores new evidence with its links, audited.
pub(super) async fn insert(
    state: &AppState,
    scope: &OrgScope,
    row: evidence::Model,
    control_ids: Vec<Uuid>,
) -> AppResult<EvidenceView> {
    let txn = state.begin().await?;
    evidence::Entity::insert(evidence::ActiveModel::from(row.clone()))
        .exec_without_returning(&txn)
        .await?;
    write_links(&txn, scope, row.id, &control_ids).await?;
    scope
        .audit(
            &txn,
            Record::of(Action::EvidenceCreated, "evidence", row.id)
                .with(super::created(facts(&row, &control_ids))),
        )
        .await?;
    txn.commit().await?;
    view(row, control_ids)
}

/// Applies a PATCH at the expected version (`412` otherwise). Setting
/// `review_state` records the caller as the reviewer.
pub async fn update(
    state: &AppState,
    scope: &OrgScope,
    id: Uuid,
    patch: &UpdateEvidence,
    expected: Expected,
) -> AppResult<EvidenceView> {
    scope.require(Permission::EvidenceWrite)?;
    let txn = state.begin().await?;
    let current = row(&txn, scope, id).await?;
    expected.check(current.version, THE_EVIDENCE)?;
    let before_controls = links(&txn, vec![id]).await?.remove(&id).unwrap_or_default();
    let kind = super::stored(&current.kind, EvidenceKind::parse)?;
    let mut errors = Vec::new();
    let title = match &patch.title {
        Some(title) => text("title", title, MAX_TITLE, &mut errors),
        None => current.title.clone(),
    };
    let note = match &patch.note {
        Some(note) => optional_text("note", note.as_deref(), MAX_NOTE, &mut errors),
        None => current.note.clone(),
    };
    if kind == EvidenceKind::Note && note.is_none() {
        errors.push(problem("note", "a note says something"));
    }
    let url = match &patch.url {
        Some(_) if kind != EvidenceKind::Url => {
            errors.push(problem(
                "url",
                format!("evidence of kind `{}` has no url", kind.as_str()),
            ));
            None
        }
        Some(url) => checked_url(Some(url), &mut errors).or_else(|| {
            errors.push(problem("url", "a link needs its url"));
            None
        }),
        None => current.url.clone(),
    };
    finish(errors)?;
    let now = clock::now();
    let (review_state, reviewer_id, reviewed_at) = match patch.review_state {
        Some(ReviewState::Pending) => (ReviewState::Pending.as_str().to_owned(), None, None),
        Some(review) => (
            review.as_str().to_owned(),
            Some(scope.actor().user_id()),
            Some(now),
        ),
        None => (
            current.review_state.clone(),
            current.reviewer_id,
            current.reviewed_at,
        ),
    };
    let after = evidence::Model {
        title,
        note,
        url,
        collected_at: patch
            .collected_at
            .map_or(current.collected_at, |t| t.fixed_offset()),
        valid_until: patch
            .valid_until
            .map_or(current.valid_until, |until| until.map(|t| t.fixed_offset())),
        review_state,
        reviewer_id,
        reviewed_at,
        version: current.version + 1,
        updated_at: now,
        ..current.clone()
    };
    let control_ids = patch
        .control_ids
        .clone()
        .map_or_else(|| before_controls.clone(), super::distinct);
    let updated = evidence::Entity::update_many()
        .col_expr(evidence::Column::Title, Expr::value(after.title.clone()))
        .col_expr(evidence::Column::Note, Expr::value(after.note.clone()))
        .col_expr(evidence::Column::Url, Expr::value(after.url.clone()))
        .col_expr(evidence::Column::CollectedAt, Expr::value(after.collected_at))
        .col_expr(evidence::Column::ValidUntil, Expr::value(after.valid_until))
        .col_expr(
            evidence::Column::ReviewState,
            Expr::value(after.review_state.clone()),
        )
        .col_expr(evidence::Column::ReviewerId, Expr::value(after.reviewer_id))
        .col_expr(evidence::Column::ReviewedAt, Expr::value(after.reviewed_at))
        .col_expr(evidence::Column::Version, Expr::value(after.version))
        .col_expr(evidence::Column::UpdatedAt, Expr::value(now))
        .filter(evidence::Column::Id.eq(id))
        .filter(evidence::Column::OrgId.eq(scope.org_id()))
        .filter(evidence::Column::Version.eq(current.version))
        .exec(&txn)
        .await?;
    if updated.rows_affected != 1 {
        return Err(precondition::stale(THE_EVIDENCE));
    }
    if patch.control_ids.is_some() {
        write_links(&txn, scope, id, &control_ids).await?;
    }
    scope
        .audit(
            &txn,
            Record::of(Action::EvidenceUpdated, "evidence", id).with(super::change(
                facts(&current, &before_controls),
                facts(&after, &control_ids),
            )),
        )
        .await?;
    txn.commit().await?;
    view(after, control_ids)
}

/// Deletes the evidence, and its file's bytes when no other evidence of the
/// org holds the same file.
pub async fn delete(state: &AppState, scope: &OrgScope, id: Uuid) -> AppResult<()> {
    scope.require(Permission::EvidenceWrite)?;
    let txn = state.begin().await?;
    let current = row(&txn, scope, id).await?;
    let controls = links(&txn, vec![id]).await?.remove(&id).unwrap_or_default();
    evidence::Entity::delete_by_id(id).exec(&txn).await?;
    scope
        .audit(
            &txn,
            Record::of(Action::EvidenceDeleted, "evidence", id)
                .with(super::deleted(facts(&current, &controls))),
        )
        .await?;
    let orphaned = match &current.file_sha256 {
        Some(sha256) => {
            evidence::Entity::find()
                .filter(evidence::Column::OrgId.eq(scope.org_id()))
                .filter(evidence::Column::FileSha256.eq(sha256.as_str()))
                .count(&txn)
                .await?
                == 0
        }
        None => false,
    };
    txn.commit().await?;
    if let (true, Some(sha256)) = (orphaned, &current.file_sha256) {
        state.blobs.delete(scope.org_id(), sha256).await?;
    }
    Ok(())
}

/// Whether evidence valid until `until` still counts at `now`.
pub fn is_current(until: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    until.is_none_or(|until| until > now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_files_type_comes_from_its_bytes() {
        assert_eq!(sniff(b"%PDF-1.7\n%\xe2\xe3"), "application/pdf");
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        // Named for what it is; downloads are attachments, never rendered.
        assert_eq!(sniff(b"<html><script>alert(1)</script>"), "text/html");
        assert_eq!(
            sniff("id,title\nA,Ünïcode".as_bytes()),
            "text/plain; charset=utf-8"
        );
        assert_eq!(sniff(b"\xff\xfe\x00binary"), "application/octet-stream");
    }

    #[test]
    fn a_file_name_loses_its_path_and_anything_a_header_could_trip_on() {
        assert_eq!(clean_file_name("../../etc/passwd"), "passwd");
        assert_eq!(
            clean_file_name("C:\\Users\\ada\\report \"final\".pdf"),
            "report final.pdf"
        );
        assert_eq!(clean_file_name("a\r\nb.txt"), "ab.txt");
        assert_eq!(clean_file_name(".."), "evidence");
        assert_eq!(clean_file_name(&"x".repeat(400)).len(), MAX_FILE_NAME);
    }

    #[test]
    fn an_audited_link_keeps_no_query_or_credentials() {
        assert_eq!(
            link_for_audit("https://user:pw@files.example.com/report.pdf?X-Amz-Signature=abc#p2"),
            "https://files.example.com/report.pdf"
        );
    }
}
