//! Building and running the server: `Application::build` binds (port 0 in tests),
//! `run_until` serves until the shutdown future resolves, then drains.

use std::{future::Future, net::TcpListener, sync::Arc, time::Duration};

use actix_web::{dev::Server, middleware::from_fn, web, App, HttpServer};
use anyhow::Context as _;
use attest_core::{
    crypto::ServerKey,
    mail::{outbox, Mailer},
    store::{self, StoreConfig},
    AppState, CoreConfig,
};

use crate::{
    config::{Secret, Settings, TlsFiles},
    console::{self, ConsoleAssets},
    extract::{self, BodyLimits, JsonLimit},
    middleware::{
        audit_denials,
        client_ip::TrustedProxies,
        cors, guard, observe, problem_fallback,
        rate_limit::{self, Limiters, LocalLimiter},
        request_id, security_headers,
        session::SessionCookie,
    },
    openapi,
    routes::{self, metrics::MetricsToken},
    secret_key,
    telemetry::Metrics,
};

/// A bound, ready-to-run server.
pub struct Application {
    port: u16,
    server: Server,
    state: AppState,
    metrics: web::Data<Metrics>,
    shutdown_timeout: Duration,
    /// A second handle on the listening socket, to stop listening at shutdown.
    listener: socket2::Socket,
}

impl Application {
    /// Connects and migrates the database, binds the listener and assembles the app.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let metrics = web::Data::new(Metrics::new());
        let state = open_state(&settings, Some(&metrics)).await?;
        store::migrations::up(&state.db)
            .await
            .context("cannot migrate the database")?;
        let mailer = Mailer::new(
            settings.smtp_url.as_ref().map(|u| u.expose().as_str()),
            settings.mail_dir.clone(),
            &sender_address(&settings.public_url),
        )
        .map_err(|e| anyhow::anyhow!("mail: {e}"))?;
        outbox::spawn_worker(state.db.clone(), Arc::new(mailer));
        attest_core::exports::tidy(&state)
            .await
            .context("cannot tidy the org exports")?;
        attest_core::tenancy::orgs::spawn_purger(state.clone());
        attest_core::audit::checkpoint::spawn_signer(state.clone());
        attest_core::audit::retention::spawn(state.clone());
        attest_core::idempotency::spawn_purger(state.clone());
        attest_core::identity::sso::domains::spawn_rechecker(state.clone());
        attest_core::identity::activity::spawn_flusher(state.clone());

        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("cannot listen on {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let listener_handle = socket2::Socket::from(listener.try_clone()?);
        let server = serve(listener, &settings, state.clone(), metrics.clone())?;
        tracing::info!(
            address = %format!("{}://{}", if settings.tls.is_some() { "https" } else { "http" }, listener_addr(&settings, port)),
            public_url = %settings.public_url,
            "attest is listening"
        );
        Ok(Self {
            port,
            server,
            state,
            metrics,
            shutdown_timeout: settings.shutdown_timeout,
            listener: listener_handle,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight
    /// requests finish within the shutdown timeout, and closes the database.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let server = tokio::spawn(self.server);
        let served: anyhow::Result<()> = tokio::select! {
            result = server => result.map_err(anyhow::Error::from).and_then(|r| r.map_err(Into::into)),
            () = shutdown => {
                tracing::info!("shutting down: draining in-flight requests");
                // Stop accepting, but keep every worker running until the requests in
                // flight are done: a pooled PostgreSQL connection is driven by the worker
                // runtime that opened it, so no worker may exit while others still query.
                // Shutting the listening socket down makes the kernel refuse new
                // connections at once instead of queueing them.
                handle.pause().await;
                if let Err(e) = self.listener.shutdown(std::net::Shutdown::Both) {
                    tracing::warn!(error = %e, "could not close the listening socket early");
                }
                drain(&self.metrics, self.shutdown_timeout).await;
                handle.stop(true).await;
                Ok(())
            }
        };
        // However serving ended, the stamps noted last are written.
        if let Err(error) = self.state.activity.flush(&self.state).await {
            tracing::warn!(error = %error, "the last activity stamps could not be written");
        }
        self.state.close().await?;
        served?;
        tracing::info!("stopped");
        Ok(())
    }

    /// Serves until the process ends (tests).
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(std::future::pending()).await
    }
}

/// Resolves the server key and opens the database: what every entry point (the
/// server and the operator commands) needs to call core services; the server
/// passes its metrics, to count each statement.
pub async fn open_state(settings: &Settings, metrics: Option<&Metrics>) -> anyhow::Result<AppState> {
    let key: Secret<Vec<u8>> = secret_key::resolve(&settings.secret_key)?;
    open_state_with_key(settings, &key, metrics).await
}

/// [`open_state`] with the server key given (a restore runs under the key of
/// the snapshot it restores).
pub async fn open_state_with_key(
    settings: &Settings,
    key: &Secret<Vec<u8>>,
    metrics: Option<&Metrics>,
) -> anyhow::Result<AppState> {
    let db = store::connect(&StoreConfig::new(settings.database_url.expose().clone()))
        .await
        .context("cannot open the database")?;
    let config = CoreConfig {
        session_idle: settings.session_idle,
        session_max: settings.session_max,
        login_max_failures: settings.login_max_failures,
        login_lockout: settings.login_lockout,
        public_url: settings.public_url.as_str().trim_end_matches('/').to_owned(),
        sso_allow_private_issuers: !settings.is_production(),
        dns_resolver: settings.dns_resolver,
        blob_dir: settings.data_dir.join("blobs"),
        export_dir: settings.data_dir.join("exports"),
    };
    let mut state = AppState::new(db, ServerKey::new(key.expose().clone()), config);
    if let Some(metrics) = metrics {
        state.observe_statements(|| metrics.statement_observer());
    }
    Ok(state)
}

/// `Attest <no-reply@host>` for the public URL's host name (`localhost` for an IP).
fn sender_address(public_url: &url::Url) -> String {
    let host = match public_url.host() {
        Some(url::Host::Domain(domain)) => domain.to_owned(),
        _ => "localhost".to_owned(),
    };
    format!("Attest <no-reply@{host}>")
}

fn listener_addr(settings: &Settings, port: u16) -> String {
    format!("{}:{port}", settings.listen.ip())
}

/// Waits until no request is being answered, or the grace period is over.
async fn drain(metrics: &Metrics, grace: Duration) {
    let deadline = tokio::time::Instant::now() + grace;
    while metrics.in_flight.get() > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Resolves on SIGTERM or SIGINT (Ctrl-C): both drain gracefully.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                let _ = interrupt.await;
                return;
            }
        };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

fn serve(
    listener: TcpListener,
    settings: &Settings,
    state: AppState,
    metrics: web::Data<Metrics>,
) -> anyhow::Result<Server> {
    let state = web::Data::new(state);
    let assets = web::Data::new(ConsoleAssets::load());
    let json_limit = web::Data::new(JsonLimit(settings.max_body_bytes));
    let body_limits = web::Data::new(BodyLimits {
        import: settings.max_import_bytes,
        upload: settings.max_upload_bytes,
    });
    let timeout = web::Data::new(guard::RequestTimeout(settings.request_timeout));
    let hsts = web::Data::new(security_headers::Hsts(settings.is_production()));
    let metrics_token = web::Data::new(MetricsToken(
        settings.metrics_token.as_ref().map(|t| t.expose().clone()),
    ));
    let max_body = settings.max_body_bytes;
    let allowed_origins = settings.allowed_origins.clone();
    let console_origin = settings.public_url.origin().ascii_serialization();
    let session_cookie = web::Data::new(SessionCookie {
        secure: settings.is_production(),
        max_age_seconds: i64::try_from(settings.session_max.as_secs()).unwrap_or(i64::MAX),
        origin: console_origin.clone(),
    });
    let trusted_proxies = web::Data::new(TrustedProxies(settings.trusted_proxies.clone()));
    let limiters = Limiters {
        auth: Arc::new(LocalLimiter::per_minute(settings.auth_rate_limit_per_minute)),
        api: Arc::new(LocalLimiter::per_minute(settings.rate_limit_per_minute)),
    };
    spawn_limiter_upkeep(limiters.clone());
    let limiters = web::Data::new(limiters);

    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(metrics.clone())
            .app_data(json_limit.clone())
            .app_data(body_limits.clone())
            .app_data(timeout.clone())
            .app_data(hsts.clone())
            .app_data(metrics_token.clone())
            .app_data(session_cookie.clone())
            .app_data(trusted_proxies.clone())
            .app_data(limiters.clone())
            .app_data(web::PayloadConfig::new(max_body))
            .configure(extract::configure_extractors)
            .configure(routes::configure)
            .configure(openapi::configure_docs)
            .configure(|cfg| console::configure(cfg, assets.clone()))
            .default_service(web::to(routes::not_found))
            .wrap(from_fn(console::page_session))
            .wrap(from_fn(audit_denials::middleware))
            .wrap(from_fn(rate_limit::middleware))
            .wrap(from_fn(guard::middleware))
            .wrap(cors::ApiOnly(cors::partner_api(
                &allowed_origins,
                &console_origin,
            )))
            .wrap(from_fn(problem_fallback::middleware))
            .wrap(from_fn(crate::routes::ofrep::errors_in_ofrep_shape))
            .wrap(from_fn(security_headers::middleware))
            .wrap(from_fn(observe::middleware))
            .wrap(from_fn(request_id::middleware))
    })
    .disable_signals()
    .shutdown_timeout(settings.shutdown_timeout.as_secs());

    let server = match &settings.tls {
        Some(files) => server.listen_rustls_0_23(listener, tls_config(files)?)?,
        None => server.listen(listener)?,
    };
    Ok(server.run())
}

/// Forgets idle rate-limit keys every minute so memory stays bounded.
fn spawn_limiter_upkeep(limiters: Limiters) {
    tokio::spawn(async move {
        let mut every_minute = tokio::time::interval(Duration::from_secs(60));
        loop {
            every_minute.tick().await;
            limiters.shrink();
        }
    });
}

fn tls_config(files: &TlsFiles) -> anyhow::Result<rustls::ServerConfig> {
    use rustls_pki_types::{pem::PemObject as _, CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .with_context(|| format!("cannot read {}", files.cert.display()))?
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("{} holds no valid PEM certificate", files.cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("{} holds no valid PEM private key", files.key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?)
}
