//! The console's HTTP client: the same REST API partners use, called from the
//! browser. Requests only run after hydration; on the server these functions are
//! never awaited (pages show their loading state instead).

use serde::{de::DeserializeOwned, Serialize};

/// A failed call, reduced to what a page shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub detail: String,
    /// Sign-in only: the password was right, now a one-time code is needed.
    pub totp_required: bool,
    /// A `validation_failed` problem's fields: `(field, message)`.
    pub fields: Vec<(String, String)>,
}

impl ApiError {
    /// The detail, then each invalid field with its message.
    pub fn describe(&self) -> String {
        self.fields
            .iter()
            .fold(self.detail.clone(), |text, (field, message)| {
                format!("{text}; {field}: {message}")
            })
    }

    fn network(detail: String) -> Self {
        Self {
            status: 0,
            code: "network".into(),
            detail,
            totp_required: false,
            fields: Vec::new(),
        }
    }
}

/// The method of a call; unsafe ones carry the session's CSRF token.
#[derive(Debug, Clone, Copy)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

/// Calls `path` with extra `headers` and decodes a JSON answer (`()` for `204`).
pub async fn call<B: Serialize, T: DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<&B>,
    headers: &[(&str, &str)],
) -> Result<T, ApiError> {
    #[cfg(feature = "hydrate")]
    {
        use gloo_net::http::{Request, RequestBuilder};
        let builder: RequestBuilder = match method {
            Method::Get => Request::get(path),
            Method::Post => Request::post(path),
            Method::Put => Request::put(path),
            Method::Delete => Request::delete(path),
        };
        let builder = headers
            .iter()
            .fold(builder, |builder, (name, value)| builder.header(name, value));
        let request = match body {
            Some(body) => builder.json(body),
            None => builder.build(),
        }
        .map_err(|e| ApiError::network(e.to_string()))?;
        let response = request
            .send()
            .await
            .map_err(|e| ApiError::network(e.to_string()))?;
        let status = response.status();
        if (200..300).contains(&status) {
            let text = response
                .text()
                .await
                .map_err(|e| ApiError::network(e.to_string()))?;
            let text = if text.is_empty() { "null".to_owned() } else { text };
            return serde_json::from_str(&text).map_err(|e| ApiError::network(e.to_string()));
        }
        let problem: serde_json::Value = response.json().await.unwrap_or_default();
        let field = |name: &str| problem[name].as_str().unwrap_or_default().to_owned();
        Err(ApiError {
            status,
            code: field("code"),
            detail: field("detail"),
            totp_required: problem["totp_required"].as_bool().unwrap_or(false),
            fields: problem["errors"]
                .as_array()
                .map(|errors| {
                    errors
                        .iter()
                        .map(|e| {
                            (
                                e["field"].as_str().unwrap_or_default().to_owned(),
                                e["message"].as_str().unwrap_or_default().to_owned(),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (method, path, body.map(|_| ()), headers);
        Err(ApiError::network("requests run in the browser only".into()))
    }
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    call::<(), T>(Method::Get, path, None, &[]).await
}
