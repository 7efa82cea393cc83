//! Hosting the Leptos console: its pages (server-rendered, then hydrated) and its
//! compiled assets, embedded in the binary and served content-hashed,
//! precompressed and cached forever.

use std::{borrow::Cow, collections::HashMap, sync::Arc};

use actix_web::{
    body::MessageBody,
    dev::{ServiceRequest, ServiceResponse},
    guard,
    http::{
        header::{self, HeaderValue},
        Method,
    },
    middleware::Next,
    web, HttpMessage as _, HttpRequest, HttpResponse,
};
use attest_frontend::{shell::AssetUrls, App, ServerSession};
use leptos::prelude::provide_context;
use leptos_actix::{generate_route_list, render_app_to_stream_with_context, LeptosRoutes as _};
use rust_embed::RustEmbed;

use attest_core::{AppError, AppState, ErrorKind};

use crate::{
    middleware::{credentials::Credentials, security_headers::CspNonce},
    problem::ApiError,
    views,
};

/// `scripts/build-console` writes the bundle here. Release builds embed it; debug
/// builds read it from disk, so a rebuilt console needs no server rebuild.
#[derive(RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../../dist/console"]
#[allow_missing = true]
struct Bundle;

/// URL prefix of the hashed assets.
pub const ASSET_PREFIX: &str = "/assets/";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

struct Asset {
    body: Cow<'static, [u8]>,
    brotli: Option<Cow<'static, [u8]>>,
    gzip: Option<Cow<'static, [u8]>>,
    content_type: &'static str,
    etag: String,
}

/// The bundle, indexed by hashed URL path (`/assets/attest.1a2b3c4d5e6f.js`).
pub struct ConsoleAssets {
    by_path: HashMap<String, Asset>,
    urls: AssetUrls,
}

impl ConsoleAssets {
    /// Indexes the embedded bundle. The hash in each name is the file's SHA-256,
    /// computed at build time for embedded files.
    pub fn load() -> Self {
        let mut by_path = HashMap::new();
        let mut urls = AssetUrls::default();
        for name in Bundle::iter() {
            if name.ends_with(".br") || name.ends_with(".gz") {
                continue;
            }
            let Some(file) = Bundle::get(&name) else { continue };
            let digest = hex::encode(&file.metadata.sha256_hash()[..6]);
            let (stem, ext) = name.rsplit_once('.').unwrap_or((&name, ""));
            let path = format!("{ASSET_PREFIX}{stem}.{digest}.{ext}");
            match name.as_ref() {
                "attest.js" => urls.script = Some(path.clone()),
                "attest_bg.wasm" => urls.wasm = Some(path.clone()),
                "console.css" => urls.stylesheet = Some(path.clone()),
                "favicon.svg" => urls.icon = Some(path.clone()),
                _ => {}
            }
            let asset = Asset {
                body: file.data,
                brotli: Bundle::get(&format!("{name}.br")).map(|f| f.data),
                gzip: Bundle::get(&format!("{name}.gz")).map(|f| f.data),
                content_type: content_type(ext),
                etag: format!("\"{digest}\""),
            };
            by_path.insert(path, asset);
        }
        if urls.script.is_none() {
            tracing::warn!("the console bundle is not built (scripts/build-console): pages will not hydrate");
        }
        Self { by_path, urls }
    }

    pub fn urls(&self) -> &AssetUrls {
        &self.urls
    }
}

fn content_type(ext: &str) -> &'static str {
    match ext {
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

/// `GET /assets/{file}`: the exact hashed name, or `404`.
async fn serve_asset(req: HttpRequest, assets: web::Data<ConsoleAssets>) -> HttpResponse {
    let Some(asset) = assets.by_path.get(req.path()) else {
        return actix_web::ResponseError::error_response(&ApiError(AppError::new(
            ErrorKind::NotFound,
            "no such asset",
        )));
    };
    if req
        .headers()
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == asset.etag.as_bytes())
    {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, asset.etag.clone()))
            .insert_header((header::CACHE_CONTROL, IMMUTABLE))
            .finish();
    }
    let accepted = AcceptedEncodings::of(&req);
    let (body, encoding) = match (&asset.brotli, &asset.gzip) {
        (Some(br), _) if accepted.brotli => (br.clone(), Some("br")),
        (_, Some(gz)) if accepted.gzip => (gz.clone(), Some("gzip")),
        _ => (asset.body.clone(), None),
    };
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, asset.content_type))
        .insert_header((header::CACHE_CONTROL, IMMUTABLE))
        .insert_header((header::ETAG, asset.etag.clone()))
        .insert_header((header::VARY, "Accept-Encoding"));
    if let Some(encoding) = encoding {
        res.insert_header((header::CONTENT_ENCODING, encoding));
    }
    res.body(body.into_owned())
}

/// Which precompressed forms the client takes (`q=0` excludes a coding).
#[derive(Debug, Default, PartialEq, Eq)]
struct AcceptedEncodings {
    brotli: bool,
    gzip: bool,
}

impl AcceptedEncodings {
    fn of(req: &HttpRequest) -> Self {
        let header = req
            .headers()
            .get(header::ACCEPT_ENCODING)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        Self::parse(header)
    }

    fn parse(header: &str) -> Self {
        let mut accepted = Self::default();
        for item in header.split(',') {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q <= 0.0)
            });
            match coding.as_str() {
                "br" => accepted.brotli = !refused,
                "gzip" => accepted.gzip = !refused,
                _ => {}
            }
        }
        accepted
    }
}

/// Context every console render gets: asset URLs, who is signed in, and the
/// CSP nonce the security middleware put on this response (replacing Leptos's
/// own random one).
fn render_context(urls: Arc<AssetUrls>) -> impl Fn() + Clone + Send + 'static {
    move || {
        provide_context((*urls).clone());
        let (session, nonce) = leptos::prelude::use_context::<leptos_actix::Request>()
            .map(|req| {
                let extensions = req.extensions();
                let nonce = extensions.get::<CspNonce>().map(|n| n.0.clone());
                (extensions.get::<ServerSession>().cloned(), nonce)
            })
            .unwrap_or_default();
        provide_context(session.unwrap_or_default());
        if let Some(nonce) = nonce {
            provide_context(leptos::nonce::Nonce::from_value(nonce));
        }
    }
}

/// Looks up the session of a page request, so the page renders on the server
/// as its visitor will see it: signed in, with the CSRF token its forms need to
/// work without JavaScript. Other requests (API, assets) are left alone.
pub async fn page_session(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let is_page = matches!(*req.method(), Method::GET | Method::HEAD)
        && !["/api/", "/auth/", ASSET_PREFIX]
            .iter()
            .any(|p| req.path().starts_with(p))
        && !crate::routes::status_page::is_public_page(req.path())
        && Credentials::presented(req.request());
    if is_page {
        if let (Credentials::Session(live, _), Some(state)) = (
            Credentials::of(req.request()).await.map_err(ApiError)?,
            req.app_data::<web::Data<AppState>>(),
        ) {
            let status = views::session_status(state, &live);
            req.extensions_mut().insert(ServerSession(Some(status)));
        }
    }
    next.call(req).await
}

/// Whether the client asked for a page rather than data.
fn wants_html(ctx: &guard::GuardContext<'_>) -> bool {
    ctx.head()
        .headers()
        .get(header::ACCEPT)
        .and_then(|v: &HeaderValue| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Mounts the console: hashed assets, the app's pages, and a friendly HTML `404`
/// for browsers on unknown paths (API clients get problem+json from the default service).
pub fn configure(cfg: &mut web::ServiceConfig, assets: web::Data<ConsoleAssets>) {
    let urls = Arc::new(assets.urls().clone());
    cfg.app_data(assets).service(
        web::resource(format!("{ASSET_PREFIX}{{file}}"))
            .route(web::get().to(serve_asset))
            .route(web::head().to(serve_asset)),
    );
    let routes = generate_route_list(App);
    let page_paths: Vec<String> = routes.iter().map(|r| r.path().to_owned()).collect();
    cfg.leptos_routes_with_context(
        routes,
        render_context(urls.clone()),
        attest_frontend::shell::shell,
    );
    // Pages take GET and HEAD; any other method on a page path is a 405, not a 404.
    for path in page_paths {
        cfg.service(web::resource(path).default_service(web::to(|| async {
            crate::routes::method_not_allowed("GET, HEAD")
        })));
    }
    cfg.route(
        "/{tail:.*}",
        render_app_to_stream_with_context(
            render_context(urls),
            attest_frontend::shell::shell,
            leptos_router::Method::Get,
        )
        .guard(guard::Get())
        .guard(guard::fn_guard(wants_html)),
    );
}

#[cfg(test)]
mod tests {
    use super::AcceptedEncodings;

    #[test]
    fn reads_accept_encoding_with_quality_values() {
        assert_eq!(
            AcceptedEncodings::parse("gzip, deflate, br"),
            AcceptedEncodings {
                brotli: true,
                gzip: true
            }
        );
        assert_eq!(
            AcceptedEncodings::parse("br;q=0, gzip;q=0.5"),
            AcceptedEncodings {
                brotli: false,
                gzip: true
            }
        );
        assert_eq!(AcceptedEncodings::parse(""), AcceptedEncodings::default());
    }
}
