//! Who is signed in, shared by every page through context.

use attest_shared::api::SessionStatus;
use leptos::prelude::*;

use crate::api;

/// The signed-in session, once known. `None` inside means "nobody". The flag
/// says the value is what the server found while rendering this very page.
#[derive(Clone, Copy)]
pub struct Session(pub RwSignal<Option<Option<SessionStatus>>>, StoredValue<bool>);

/// Who the server found signed in for the page it renders (the server puts it
/// in the render's context); `None` for nobody.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug, Default)]
pub struct ServerSession(pub Option<SessionStatus>);

impl Session {
    /// Starts from what the server knew when it rendered the page: the value
    /// travels in the page, so the hydrated console starts where the HTML is
    /// and a page works before (and without) JavaScript.
    pub fn provide() -> Self {
        let known = SharedValue::new(|| {
            #[cfg(feature = "ssr")]
            let known = Some(use_context::<ServerSession>().unwrap_or_default().0);
            #[cfg(not(feature = "ssr"))]
            let known = None;
            known
        })
        .into_inner();
        let rendered = StoredValue::new(known.is_some());
        // Effects run once the hydrated page is in place: from then on, what
        // the server knew is history.
        Effect::new(move |_| rendered.set_value(false));
        let session = Session(RwSignal::new(known), rendered);
        provide_context(session);
        session
    }

    pub fn use_context() -> Self {
        use_context::<Session>().unwrap_or_else(|| Session(RwSignal::new(None), StoredValue::new(false)))
    }

    /// Whether the session is as the server found it while rendering the page
    /// being rendered or hydrated now (not a page navigated to later).
    pub fn is_as_rendered(&self) -> bool {
        self.1.get_value()
    }

    /// The CSRF token of the current session, for unsafe requests.
    pub fn csrf(&self) -> Option<String> {
        self.0.get_untracked().flatten().map(|s| s.csrf_token)
    }

    /// An unsafe call as this session (its CSRF token attached); the answer body
    /// is not needed.
    pub async fn send<B: serde::Serialize>(
        self,
        method: api::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<(), api::ApiError> {
        self.send_with(method, path, body, None).await
    }

    /// An unsafe call as this session whose answer body is wanted.
    pub async fn ask<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        self,
        method: api::Method,
        path: &str,
        body: Option<&B>,
    ) -> Result<T, api::ApiError> {
        let csrf = self.csrf().unwrap_or_default();
        api::call(method, path, body, &[("X-CSRF-Token", &csrf)]).await
    }

    /// Replaces a versioned resource only if it is still at `version`, the one
    /// the page showed (`If-Match`): a change someone else made meanwhile is
    /// reported (`412`) rather than overwritten.
    pub async fn replace<B: serde::Serialize>(
        self,
        path: &str,
        body: &B,
        version: i32,
    ) -> Result<(), api::ApiError> {
        self.send_with(api::Method::Put, path, Some(body), Some(version))
            .await
    }

    async fn send_with<B: serde::Serialize>(
        self,
        method: api::Method,
        path: &str,
        body: Option<&B>,
        if_match: Option<i32>,
    ) -> Result<(), api::ApiError> {
        let csrf = self.csrf();
        let etag = if_match.map(|v| format!("\"{v}\""));
        let headers: Vec<(&str, &str)> = [("X-CSRF-Token", csrf.as_deref()), ("If-Match", etag.as_deref())]
            .into_iter()
            .filter_map(|(name, value)| Some((name, value?)))
            .collect();
        api::call::<B, serde_json::Value>(method, path, body, &headers)
            .await
            .map(drop)
    }

    /// Asks the server who is signed in (called on every page that needs it, so a
    /// revoked session is noticed on the next navigation). Only a `401` means
    /// nobody: an answer that says nothing about the session (a refused or
    /// failed request) leaves what was known, rather than signing the page out.
    pub async fn refresh(self) -> Option<SessionStatus> {
        let status = match api::get::<SessionStatus>("/auth/session").await {
            Ok(status) => Some(status),
            Err(e) if e.status == 401 => None,
            Err(_) => match self.0.get_untracked() {
                Some(known) => return known,
                None => None,
            },
        };
        self.0.set(Some(status.clone()));
        status
    }
}
