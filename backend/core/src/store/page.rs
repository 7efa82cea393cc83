//! Keyset pagination, the one way every list pages (CONTRACT.md "Lists").
//!
//! A list orders its rows by a unique, indexed key (sea-orm's [`Cursor`]) and a
//! page asks for the rows past the last key of the previous page, so a page costs
//! the same at any depth and rows inserted meanwhile neither repeat nor push
//! others out of the walk. The cursor is that key, serialized and
//! base64url-encoded: opaque to clients.

use attest_shared::api::Page;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use sea_orm::{
    sea_query::IntoValueTuple, ConnectionTrait, Cursor, EntityTrait, Select, SelectModel, SelectorTrait,
};
use serde::{de::DeserializeOwned, Serialize};

use crate::{validate::invalid, AppResult};

/// CONTRACT.md: `?limit=` defaults to 50 and may be at most 200.
pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

/// One page's request: how many rows, and after which key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PageRequest {
    limit: u64,
    cursor: Option<String>,
}

impl PageRequest {
    /// A request as the API receives it; a limit out of range is refused, not
    /// clamped, so a client never mistakes a shorter page for the end.
    pub fn new(limit: Option<u64>, cursor: Option<String>) -> AppResult<Self> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(invalid("limit", format!("must be between 1 and {MAX_LIMIT}")));
        }
        Ok(Self {
            limit,
            cursor: cursor.filter(|c| !c.is_empty()),
        })
    }

    /// The key the page starts after, decoded as the list's key type.
    pub fn after<K: DeserializeOwned>(&self) -> AppResult<Option<K>> {
        let Some(cursor) = &self.cursor else {
            return Ok(None);
        };
        URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|json| serde_json::from_slice(&json).ok())
            .map(Some)
            .ok_or_else(|| invalid("cursor", "is not a cursor this list gave out"))
    }

    /// How many rows to fetch: one more than the page, to learn whether another follows.
    pub fn fetch(&self) -> u64 {
        self.limit + 1
    }

    /// Loads the page from `cursor` (a query's `cursor_by(key)`, ascending or
    /// `desc()`); `key_of` reads a row's key, the columns of `cursor_by`.
    pub async fn load<S, K>(
        &self,
        db: &impl ConnectionTrait,
        mut cursor: Cursor<S>,
        key_of: impl Fn(&S::Item) -> K,
    ) -> AppResult<Page<S::Item>>
    where
        S: SelectorTrait,
        K: Serialize + DeserializeOwned + IntoValueTuple,
    {
        if let Some(after) = self.after::<K>()? {
            cursor.after(after);
        }
        let rows = cursor.first(self.fetch()).all(db).await?;
        Ok(self.page(rows, key_of))
    }

    /// The page of `rows` (fetched in key order, at most [`Self::fetch`] of them),
    /// with the cursor of the next page when there is one.
    pub fn page<T, K: Serialize>(&self, mut rows: Vec<T>, key_of: impl Fn(&T) -> K) -> Page<T> {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = rows.last().filter(|_| more).map(|last| encode(&key_of(last)));
        Page {
            items: rows,
            next_cursor,
        }
    }
}

/// `query` by `key`, largest first: newest first for a UUIDv7 id or a sequence.
pub fn descending<E>(query: Select<E>, key: E::Column) -> Cursor<SelectModel<E::Model>>
where
    E: EntityTrait,
    E::Model: Sync,
{
    let mut cursor = query.cursor_by(key);
    cursor.desc();
    cursor
}

fn encode<K: Serialize>(key: &K) -> String {
    // A key is a plain value (a string, a number, a tuple of them): it serializes.
    let json = serde_json::to_vec(key).unwrap_or_default();
    URL_SAFE_NO_PAD.encode(json)
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;

    #[test]
    fn limits_outside_the_contract_are_refused_naming_the_field() {
        for limit in [0, MAX_LIMIT + 1] {
            let err = PageRequest::new(Some(limit), None).unwrap_err();
            assert_eq!(err.errors[0].field, "limit");
        }
        assert_eq!(PageRequest::new(None, None).unwrap().fetch(), DEFAULT_LIMIT + 1);
        assert_eq!(
            PageRequest::new(Some(MAX_LIMIT), None).unwrap().fetch(),
            MAX_LIMIT + 1
        );
    }

    #[test]
    fn a_cursor_carries_the_last_key_of_a_full_page_only() {
        let request = PageRequest::new(Some(2), None).unwrap();
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = request.page(ids.clone(), |id| *id);
        assert_eq!(page.items, ids[..2]);
        let next = PageRequest::new(Some(2), page.next_cursor).unwrap();
        assert_eq!(next.after::<Uuid>().unwrap(), Some(ids[1]));

        let last = request.page(ids[..2].to_vec(), |id| *id);
        assert_eq!(last.next_cursor, None, "no page follows the last");
    }

    #[test]
    fn a_cursor_not_given_out_is_a_validation_error() {
        for cursor in ["%%%", "bm90IGpzb24", &URL_SAFE_NO_PAD.encode("\"text\"")] {
            let request = PageRequest::new(None, Some(cursor.to_owned())).unwrap();
            let err = request.after::<Uuid>().unwrap_err();
            assert_eq!(err.errors[0].field, "cursor", "{cursor}");
        }
    }
}
