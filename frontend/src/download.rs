//! Downloading a streamed export with visible progress: the body is read chunk
//! by chunk (counting lines, one per event) and handed to the browser as a file
//! at the end.

/// How far a download is: lines received of the events the server announced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub received: u64,
    pub total: u64,
    pub done: bool,
}

impl Progress {
    pub fn describe(&self) -> String {
        let received = self.received.min(self.total);
        if self.done {
            format!("Exported {} events", self.total)
        } else {
            format!("{received} of {} events…", self.total)
        }
    }
}

/// Fetches `path` and saves its body under the name the server suggests,
/// updating `progress` as it arrives.
pub async fn save(path: &str, progress: leptos::prelude::RwSignal<Option<Progress>>) -> Result<(), String> {
    #[cfg(feature = "hydrate")]
    {
        browser::save(path, progress).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (path, progress);
        Err("downloads run in the browser only".into())
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use leptos::prelude::*;
    use wasm_bindgen::JsCast as _;
    use wasm_bindgen_futures::JsFuture;

    use attest_shared::audit::EXPORT_EVENTS_HEADER;

    use super::Progress;

    fn js(e: wasm_bindgen::JsValue) -> String {
        e.as_string().unwrap_or_else(|| format!("{e:?}"))
    }

    pub async fn save(path: &str, progress: RwSignal<Option<Progress>>) -> Result<(), String> {
        let response: web_sys::Response = JsFuture::from(window().fetch_with_str(path))
            .await
            .map_err(js)?
            .unchecked_into();
        if !response.ok() {
            let text = JsFuture::from(response.text().map_err(js)?).await.map_err(js)?;
            let problem: serde_json::Value =
                serde_json::from_str(&text.as_string().unwrap_or_default()).unwrap_or_default();
            return Err(problem["detail"]
                .as_str()
                .unwrap_or("the export failed")
                .to_owned());
        }
        let headers = response.headers();
        let header = |name: &str| headers.get(name).ok().flatten();
        let total = header(EXPORT_EVENTS_HEADER)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let filename = header("content-disposition")
            .and_then(|v| {
                v.split("filename=\"")
                    .nth(1)
                    .map(|rest| rest.trim_end_matches('"').to_owned())
            })
            .unwrap_or_else(|| "audit-export".to_owned());
        let content_type = header("content-type").unwrap_or_default();
        let csv = content_type.starts_with("text/csv");
        let body = response.body().ok_or("the export has no body")?;
        let reader: web_sys::ReadableStreamDefaultReader = body.get_reader().unchecked_into();
        let chunks = js_sys::Array::new();
        // A CSV export starts with a header line that is not an event.
        let mut lines: u64 = 0;
        progress.set(Some(Progress {
            received: 0,
            total,
            done: false,
        }));
        loop {
            let next = JsFuture::from(reader.read()).await.map_err(js)?;
            let done = js_sys::Reflect::get(&next, &"done".into()).map_err(js)?;
            if done.as_bool().unwrap_or(true) {
                break;
            }
            let chunk: js_sys::Uint8Array = js_sys::Reflect::get(&next, &"value".into())
                .map_err(js)?
                .unchecked_into();
            lines += chunk.to_vec().iter().filter(|b| **b == b'\n').count() as u64;
            chunks.push(&chunk);
            progress.set(Some(Progress {
                received: lines.saturating_sub(u64::from(csv)),
                total,
                done: false,
            }));
        }
        reader.release_lock();
        let options = web_sys::BlobPropertyBag::new();
        options.set_type(&content_type);
        let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&chunks, &options).map_err(js)?;
        let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(js)?;
        let link: web_sys::HtmlAnchorElement = document().create_element("a").map_err(js)?.unchecked_into();
        link.set_href(&url);
        link.set_download(&filename);
        link.click();
        let _ = web_sys::Url::revoke_object_url(&url);
        progress.set(Some(Progress {
            received: total,
            total,
            done: true,
        }));
        Ok(())
    }
}
