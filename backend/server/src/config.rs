//! Configuration: defaults < `attest.toml` < `ATTEST_*` environment.
//!
//! Every key is parsed on its own so that validation reports *all* problems at
//! once, each naming its key. Values of secret keys are never echoed.
//! See `docs/configuration.md`.

use std::{
    collections::BTreeMap,
    fmt,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};

use base64::Engine as _;
use ipnet::IpNet;
use url::Url;

/// Where a setting's value came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Default,
    File,
    Environment,
}

/// One configuration key: its environment name is `ATTEST_` + the upper-cased name.
struct Key {
    name: &'static str,
    default: Option<&'static str>,
    /// Never echo the value: it is, or may embed, a credential.
    secret: bool,
}

const fn key(name: &'static str, default: Option<&'static str>, secret: bool) -> Key {
    Key {
        name,
        default,
        secret,
    }
}

/// Every key of CONTRACT.md's table, plus the few documented extras.
const KEYS: &[Key] = &[
    key("env", Some("development"), false),
    key("listen", Some("127.0.0.1:8080"), false),
    key("public_url", Some("http://127.0.0.1:8080"), false),
    key("database_url", Some("sqlite://data/attest.db?mode=rwc"), true),
    key("redis_url", None, true),
    key("secret_key", None, true),
    key("smtp_url", None, true),
    key("mail_dir", None, false),
    key("data_dir", Some("data"), false),
    key("allowed_origins", Some(""), false),
    key("log_format", None, false),
    key("metrics_token", None, true),
    key("login_max_failures", Some("5"), false),
    key("login_lockout_seconds", Some("900"), false),
    key("rate_limit_per_minute", Some("600"), false),
    key("auth_rate_limit_per_minute", Some("20"), false),
    key("max_body_bytes", Some("1048576"), false),
    key("max_import_bytes", Some("33554432"), false),
    key("max_upload_bytes", Some("26214400"), false),
    key("session_idle_seconds", Some("3600"), false),
    key("session_max_seconds", Some("43200"), false),
    key("trusted_proxies", Some(""), false),
    key("tls_cert_file", None, false),
    key("tls_key_file", None, false),
    key("shutdown_timeout_seconds", Some("30"), false),
    key("request_timeout_seconds", Some("30"), false),
    key("dns_resolver", None, false),
];

const ENV_PREFIX: &str = "ATTEST_";
/// Minimum length of `ATTEST_SECRET_KEY` once decoded.
pub const MIN_SECRET_KEY_BYTES: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Secret material; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    pub fn new(value: T) -> Self {
        Self(value)
    }
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// Where the server key comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretKeySource {
    Configured(Secret<Vec<u8>>),
    /// Development only: read from, or created in, `<data_dir>/secret.key`.
    GeneratedFile(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// The validated configuration of one `attest` process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub env: Environment,
    pub listen: SocketAddr,
    pub public_url: Url,
    pub database_url: Secret<String>,
    pub redis_url: Option<Secret<String>>,
    pub secret_key: SecretKeySource,
    pub smtp_url: Option<Secret<String>>,
    pub mail_dir: PathBuf,
    pub data_dir: PathBuf,
    pub allowed_origins: Vec<String>,
    pub log_format: LogFormat,
    pub metrics_token: Option<Secret<String>>,
    pub login_max_failures: u32,
    pub login_lockout: Duration,
    pub rate_limit_per_minute: u32,
    pub auth_rate_limit_per_minute: u32,
    pub max_body_bytes: usize,
    pub max_import_bytes: usize,
    pub max_upload_bytes: usize,
    pub session_idle: Duration,
    pub session_max: Duration,
    pub trusted_proxies: Vec<IpNet>,
    pub tls: Option<TlsFiles>,
    pub shutdown_timeout: Duration,
    pub request_timeout: Duration,
    /// The DNS server SSO domain verification asks; `None`: the system's.
    pub dns_resolver: Option<std::net::SocketAddr>,
}

impl Settings {
    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }
}

/// What went wrong with one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.message)
    }
}

/// The verdict on a configuration: every problem, and warnings that do not stop it.
#[derive(Debug)]
pub struct Rejected {
    pub problems: Vec<Problem>,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the configuration has {} problem(s):", self.problems.len())?;
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejected {}

/// The raw layers, before parsing.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    /// Keys from `attest.toml`, normalised (`listen` or `ATTEST_LISTEN` both read as `listen`).
    file: BTreeMap<String, String>,
    environment: BTreeMap<String, String>,
    /// Problems found while reading the layers (unreadable file, unknown keys).
    problems: Vec<Problem>,
    /// `ATTEST_*` variables that name no key: reported, not fatal.
    pub unknown_environment: Vec<String>,
}

impl Sources {
    /// Reads the optional TOML file and the given environment variables.
    pub fn read(
        config_file: Option<&Path>,
        environment: impl IntoIterator<Item = (String, String)>,
    ) -> Sources {
        let mut sources = Sources::default();
        if let Some(path) = config_file {
            sources.read_file(path);
        }
        for (name, value) in environment {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let normalised = rest.to_ascii_lowercase();
            if find_key(&normalised).is_some() {
                sources.environment.insert(normalised, value);
            } else if !IGNORED_ENVIRONMENT.contains(&rest) {
                sources.unknown_environment.push(name);
            }
        }
        sources
    }

    fn read_file(&mut self, path: &Path) {
        let file_key = || format!("config file {}", path.display());
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) => {
                self.problems.push(Problem {
                    key: file_key(),
                    message: format!("cannot be read: {e}"),
                });
                return;
            }
        };
        let table: toml::Table = match text.parse() {
            Ok(table) => table,
            Err(e) => {
                self.problems.push(Problem {
                    key: file_key(),
                    message: format!("is not valid TOML: {}", e.message()),
                });
                return;
            }
        };
        for (name, value) in table {
            let lower = name.to_ascii_lowercase();
            let normalised = lower.strip_prefix("attest_").unwrap_or(&lower).to_owned();
            if find_key(&normalised).is_none() {
                self.problems.push(Problem {
                    key: file_key(),
                    message: format!("unknown key `{name}`"),
                });
                continue;
            }
            match toml_scalar(&value) {
                Some(text) => {
                    self.file.insert(normalised, text);
                }
                None => self.problems.push(Problem {
                    key: env_name(&normalised),
                    message: "must be a string, number, boolean or list of strings".into(),
                }),
            }
        }
    }

    fn get(&self, name: &str) -> Option<(&str, Origin)> {
        if let Some(v) = self.environment.get(name) {
            return Some((v, Origin::Environment));
        }
        if let Some(v) = self.file.get(name) {
            return Some((v, Origin::File));
        }
        find_key(name)
            .and_then(|k| k.default)
            .map(|v| (v, Origin::Default))
    }
}

/// Keys the contract defines whose feature has not landed yet, and what will
/// use them: accepted and validated, but warned about when set.
const NOT_USED_YET: &[(&str, &str)] = &[("redis_url", "cross-instance rate limits and revocation fan-out")];

impl Sources {
    /// The warnings for keys set (in the environment or the file) that nothing
    /// uses yet, so an operator is not misled into relying on them.
    pub fn set_but_unused(&self) -> Vec<String> {
        NOT_USED_YET
            .iter()
            .filter(|(name, _)| self.environment.contains_key(*name) || self.file.contains_key(*name))
            .map(|(name, what)| {
                format!(
                    "{} is set but not used yet (it is for {what}, which is not built yet)",
                    env_name(name)
                )
            })
            .collect()
    }
}

/// `ATTEST_*` variables that are not server settings: the config file path, and
/// the test harness's database.
const IGNORED_ENVIRONMENT: &[&str] = &["CONFIG", "TEST_DATABASE_URL"];

fn find_key(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

fn env_name(name: &str) -> String {
    format!("{ENV_PREFIX}{}", name.to_ascii_uppercase())
}

fn toml_scalar(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        toml::Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .map(|items| items.join(",")),
        _ => None,
    }
}

/// Parses one key at a time, collecting problems instead of stopping at the first.
struct Parser<'a> {
    sources: &'a Sources,
    problems: Vec<Problem>,
}

impl Parser<'_> {
    fn problem(&mut self, name: &str, message: impl Into<String>) {
        self.problems.push(Problem {
            key: env_name(name),
            message: message.into(),
        });
    }

    /// The raw value, trimmed; `None` when unset or empty.
    fn raw(&self, name: &str) -> Option<(String, Origin)> {
        self.sources
            .get(name)
            .map(|(v, origin)| (v.trim().to_owned(), origin))
            .filter(|(v, _)| !v.is_empty())
    }

    /// Parses a value with `parse`; on failure reports `expected`, echoing the value
    /// only for keys that are not secret.
    fn parse<T>(&mut self, name: &str, expected: &str, parse: impl FnOnce(&str) -> Option<T>) -> Option<T> {
        let (raw, _) = self.raw(name)?;
        match parse(&raw) {
            Some(value) => Some(value),
            None => {
                let secret = find_key(name).is_some_and(|k| k.secret);
                let message = if secret {
                    format!("must be {expected}")
                } else {
                    format!("must be {expected} (got {raw:?})")
                };
                self.problem(name, message);
                None
            }
        }
    }

    fn number<T>(&mut self, name: &str, min: T) -> Option<T>
    where
        T: std::str::FromStr + PartialOrd + Copy + fmt::Display,
    {
        let expected = format!("a whole number of at least {min}");
        self.parse(name, &expected, |raw| raw.parse::<T>().ok().filter(|n| *n >= min))
    }

    fn seconds(&mut self, name: &str, min: u64) -> Option<Duration> {
        self.number::<u64>(name, min).map(Duration::from_secs)
    }

    fn list(&self, name: &str) -> Vec<String> {
        self.raw(name)
            .map(|(raw, _)| {
                raw.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Parses and validates everything, reporting every problem at once.
pub fn load(sources: &Sources) -> Result<Settings, Rejected> {
    let mut p = Parser {
        sources,
        problems: sources.problems.clone(),
    };

    let env = p.parse("env", "`development` or `production`", |raw| match raw {
        "development" => Some(Environment::Development),
        "production" => Some(Environment::Production),
        _ => None,
    });
    let production = env == Some(Environment::Production);

    let listen = p.parse("listen", "an address like 127.0.0.1:8080", |raw| raw.parse().ok());
    let public_url = parse_public_url(&mut p, production, listen);
    let database_url = p.parse("database_url", "a sqlite:// or postgres:// URL", |raw| {
        attest_core::store::Backend::of_url(raw).map(|_| raw.to_owned())
    });
    let redis_url = p.parse("redis_url", "a redis:// or rediss:// URL", |raw| {
        (raw.starts_with("redis://") || raw.starts_with("rediss://")).then(|| Secret::new(raw.to_owned()))
    });
    let smtp_url = p.parse("smtp_url", "an smtp:// or smtps:// URL", |raw| {
        (raw.starts_with("smtp://") || raw.starts_with("smtps://")).then(|| Secret::new(raw.to_owned()))
    });
    let data_dir = p
        .raw("data_dir")
        .map(|(raw, _)| PathBuf::from(raw))
        .unwrap_or_else(|| PathBuf::from("data"));
    let mail_dir = p
        .raw("mail_dir")
        .map(|(raw, _)| PathBuf::from(raw))
        .unwrap_or_else(|| data_dir.join("mail"));
    let secret_key = parse_secret_key(&mut p, production, &data_dir);
    let allowed_origins = parse_allowed_origins(&mut p, production);
    let log_format = p
        .parse("log_format", "`pretty` or `json`", |raw| match raw {
            "pretty" => Some(LogFormat::Pretty),
            "json" => Some(LogFormat::Json),
            _ => None,
        })
        .unwrap_or(if production {
            LogFormat::Json
        } else {
            LogFormat::Pretty
        });
    let metrics_token = p.raw("metrics_token").map(|(raw, _)| Secret::new(raw));
    let login_max_failures = p.number::<u32>("login_max_failures", 1);
    let login_lockout = p.seconds("login_lockout_seconds", 1);
    let rate_limit_per_minute = p.number::<u32>("rate_limit_per_minute", 1);
    let auth_rate_limit_per_minute = p.number::<u32>("auth_rate_limit_per_minute", 1);
    let max_body_bytes = p.number::<usize>("max_body_bytes", 1024);
    let max_import_bytes = p.number::<usize>("max_import_bytes", 1024);
    let max_upload_bytes = p.number::<usize>("max_upload_bytes", 1024);
    let session_idle = p.seconds("session_idle_seconds", 1);
    let session_max = p.seconds("session_max_seconds", 1);
    if let (Some(idle), Some(max)) = (session_idle, session_max) {
        if idle > max {
            p.problem(
                "session_idle_seconds",
                "must not exceed ATTEST_SESSION_MAX_SECONDS",
            );
        }
    }
    let trusted_proxies = parse_trusted_proxies(&mut p);
    let tls = parse_tls(&mut p);
    let shutdown_timeout = p.seconds("shutdown_timeout_seconds", 0);
    let request_timeout = p.seconds("request_timeout_seconds", 1);
    let dns_resolver = p.parse(
        "dns_resolver",
        "a DNS server's host:port, such as 10.0.0.2:53",
        |raw| {
            use std::net::ToSocketAddrs as _;
            raw.parse().ok().or_else(|| raw.to_socket_addrs().ok()?.next())
        },
    );

    let settings = (|| {
        Some(Settings {
            env: env?,
            listen: listen?,
            public_url: public_url?,
            database_url: Secret::new(database_url?),
            redis_url,
            secret_key: secret_key?,
            smtp_url,
            mail_dir,
            data_dir,
            allowed_origins,
            log_format,
            metrics_token,
            login_max_failures: login_max_failures?,
            login_lockout: login_lockout?,
            rate_limit_per_minute: rate_limit_per_minute?,
            auth_rate_limit_per_minute: auth_rate_limit_per_minute?,
            max_body_bytes: max_body_bytes?,
            max_import_bytes: max_import_bytes?,
            max_upload_bytes: max_upload_bytes?,
            session_idle: session_idle?,
            session_max: session_max?,
            trusted_proxies,
            tls,
            shutdown_timeout: shutdown_timeout?,
            request_timeout: request_timeout?,
            dns_resolver,
        })
    })();

    match settings {
        Some(settings) if p.problems.is_empty() => Ok(settings),
        _ => Err(Rejected { problems: p.problems }),
    }
}

/// The public URL: as configured, or in development derived from where the
/// server listens (its address and port; `127.0.0.1` for a wildcard address,
/// which no browser can reach).
fn parse_public_url(p: &mut Parser<'_>, production: bool, listen: Option<SocketAddr>) -> Option<Url> {
    let origin = p.raw("public_url").map(|(_, origin)| origin);
    // (Port 0 asks the system for a free port, unknown until bound: the default stays.)
    if let (Some(Origin::Default) | None, Some(listen), false) =
        (origin, listen.filter(|l| l.port() != 0), production)
    {
        let host = match listen.ip() {
            ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        return Url::parse(&format!("http://{host}:{}", listen.port())).ok();
    }
    let url = p.parse(
        "public_url",
        "an absolute http(s) URL such as https://attest.example.com",
        |raw| {
            Url::parse(raw.trim_end_matches('/'))
                .ok()
                .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
                .filter(|u| u.query().is_none() && u.fragment().is_none())
        },
    )?;
    let wildcard = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_unspecified(),
        Some(url::Host::Ipv6(ip)) => ip.is_unspecified(),
        _ => false,
    };
    if wildcard {
        p.problem(
            "public_url",
            "names a wildcard address no browser can reach; use the address people open, such as http://127.0.0.1:8080",
        );
        return None;
    }
    if production {
        if origin == Some(Origin::Default) {
            p.problem("public_url", "is required in production");
            return None;
        }
        if url.scheme() != "https" {
            p.problem("public_url", "must use https:// in production");
            return None;
        }
    }
    Some(url)
}

fn parse_secret_key(p: &mut Parser<'_>, production: bool, data_dir: &Path) -> Option<SecretKeySource> {
    let expected = format!("at least {MIN_SECRET_KEY_BYTES} bytes, encoded as base64 or hex");
    match p.raw("secret_key") {
        None if production => {
            p.problem("secret_key", format!("is required in production ({expected})"));
            None
        }
        None => Some(SecretKeySource::GeneratedFile(data_dir.join("secret.key"))),
        Some(_) => p
            .parse("secret_key", &expected, decode_secret_key)
            .map(|bytes| SecretKeySource::Configured(Secret::new(bytes))),
    }
}

/// Hex first (it is also valid base64, but never the other way round), then base64.
pub fn decode_secret_key(raw: &str) -> Option<Vec<u8>> {
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ];
    hex::decode(raw)
        .ok()
        .or_else(|| engines.iter().find_map(|e| e.decode(raw).ok()))
        .or_else(|| {
            let unpadded = raw.trim_end_matches('=');
            [
                base64::engine::general_purpose::STANDARD_NO_PAD,
                base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ]
            .iter()
            .find_map(|e| e.decode(unpadded).ok())
        })
        .filter(|bytes| bytes.len() >= MIN_SECRET_KEY_BYTES)
}

fn parse_allowed_origins(p: &mut Parser<'_>, production: bool) -> Vec<String> {
    let mut origins = Vec::new();
    for entry in p.list("allowed_origins") {
        if entry == "*" {
            if production {
                p.problem(
                    "allowed_origins",
                    "`*` is refused in production: list the partner origins",
                );
            } else {
                origins.push(entry);
            }
            continue;
        }
        match Url::parse(&entry) {
            Ok(url)
                if matches!(url.scheme(), "http" | "https") && url.host().is_some() && url.path() == "/" =>
            {
                origins.push(url.origin().ascii_serialization());
            }
            _ => p.problem(
                "allowed_origins",
                format!("{entry:?} is not an origin like https://partner.example.com"),
            ),
        }
    }
    origins
}

fn parse_trusted_proxies(p: &mut Parser<'_>) -> Vec<IpNet> {
    let mut nets = Vec::new();
    for entry in p.list("trusted_proxies") {
        let parsed = entry
            .parse::<IpNet>()
            .ok()
            .or_else(|| entry.parse::<std::net::IpAddr>().ok().map(IpNet::from));
        match parsed {
            Some(net) => nets.push(net),
            None => p.problem(
                "trusted_proxies",
                format!("{entry:?} is not a CIDR such as 10.0.0.0/8"),
            ),
        }
    }
    nets
}

fn parse_tls(p: &mut Parser<'_>) -> Option<TlsFiles> {
    let cert = p.raw("tls_cert_file").map(|(v, _)| PathBuf::from(v));
    let key = p.raw("tls_key_file").map(|(v, _)| PathBuf::from(v));
    match (cert, key) {
        (None, None) => None,
        (Some(cert), Some(key)) => {
            for (name, path) in [("tls_cert_file", &cert), ("tls_key_file", &key)] {
                if !path.is_file() {
                    p.problem(name, format!("{} is not a readable file", path.display()));
                }
            }
            Some(TlsFiles { cert, key })
        }
        (Some(_), None) => {
            p.problem("tls_key_file", "is required when ATTEST_TLS_CERT_FILE is set");
            None
        }
        (None, Some(_)) => {
            p.problem("tls_cert_file", "is required when ATTEST_TLS_KEY_FILE is set");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Sources {
        Sources::read(None, pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())))
    }

    fn problems(pairs: &[(&str, &str)]) -> Vec<Problem> {
        load(&env(pairs)).err().map(|r| r.problems).unwrap_or_default()
    }

    const GOOD_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    #[test]
    fn defaults_give_a_working_development_setup() {
        let settings = load(&env(&[])).unwrap();
        assert_eq!(settings.env, Environment::Development);
        assert_eq!(settings.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(settings.database_url.expose(), "sqlite://data/attest.db?mode=rwc");
        assert_eq!(
            settings.secret_key,
            SecretKeySource::GeneratedFile(PathBuf::from("data/secret.key"))
        );
        assert_eq!(settings.mail_dir, PathBuf::from("data/mail"));
        assert_eq!(settings.log_format, LogFormat::Pretty);
        assert_eq!(settings.max_body_bytes, 1_048_576);
        assert_eq!(settings.session_idle, Duration::from_secs(3600));
    }

    #[test]
    fn production_lists_every_missing_required_key() {
        let found = problems(&[("ATTEST_ENV", "production")]);
        let keys: Vec<_> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["ATTEST_PUBLIC_URL", "ATTEST_SECRET_KEY"]);
    }

    #[test]
    fn production_refuses_plain_http_and_wildcard_origins() {
        let found = problems(&[
            ("ATTEST_ENV", "production"),
            ("ATTEST_PUBLIC_URL", "http://attest.example.com"),
            ("ATTEST_SECRET_KEY", GOOD_KEY),
            ("ATTEST_ALLOWED_ORIGINS", "https://a.example.com, *"),
        ]);
        let keys: Vec<_> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(keys, ["ATTEST_PUBLIC_URL", "ATTEST_ALLOWED_ORIGINS"]);
    }

    #[test]
    fn a_valid_production_setup_is_accepted_with_json_logs() {
        let settings = load(&env(&[
            ("ATTEST_ENV", "production"),
            ("ATTEST_PUBLIC_URL", "https://attest.example.com/"),
            ("ATTEST_SECRET_KEY", GOOD_KEY),
        ]))
        .unwrap();
        assert!(settings.is_production());
        assert_eq!(settings.log_format, LogFormat::Json);
        assert_eq!(settings.public_url.as_str(), "https://attest.example.com/");
    }

    #[test]
    fn secret_values_are_never_echoed() {
        let secret = "short-but-very-recognisable-secret";
        let found = problems(&[
            ("ATTEST_SECRET_KEY", secret),
            ("ATTEST_DATABASE_URL", "mysql://user:hunter2@db/attest"),
        ]);
        assert_eq!(found.len(), 2);
        let text = Rejected { problems: found }.to_string();
        assert!(!text.contains(secret), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn every_invalid_value_is_reported_not_just_the_first() {
        let found = problems(&[
            ("ATTEST_LISTEN", "nowhere"),
            ("ATTEST_MAX_BODY_BYTES", "lots"),
            ("ATTEST_LOG_FORMAT", "xml"),
            ("ATTEST_TRUSTED_PROXIES", "10.0.0.0/8,not-a-net"),
            ("ATTEST_TLS_CERT_FILE", "/nonexistent.pem"),
        ]);
        let keys: Vec<_> = found.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "ATTEST_LISTEN",
                "ATTEST_LOG_FORMAT",
                "ATTEST_MAX_BODY_BYTES",
                "ATTEST_TRUSTED_PROXIES",
                "ATTEST_TLS_KEY_FILE"
            ]
        );
        assert!(found[0].message.contains("\"nowhere\""));
    }

    #[test]
    fn secret_keys_decode_from_hex_or_base64_and_must_be_long_enough() {
        assert_eq!(decode_secret_key(&"ab".repeat(32)).map(|k| k.len()), Some(32));
        assert_eq!(decode_secret_key(GOOD_KEY).map(|k| k.len()), Some(32));
        assert_eq!(decode_secret_key("c2hvcnQ="), None);
    }

    #[test]
    fn environment_wins_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("attest.toml");
        std::fs::write(
            &file,
            "listen = \"127.0.0.1:9000\"\nATTEST_LOGIN_MAX_FAILURES = 7\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
        )
        .unwrap();
        let sources = Sources::read(
            Some(&file),
            [("ATTEST_LISTEN".to_string(), "127.0.0.1:9100".to_string())],
        );
        let settings = load(&sources).unwrap();
        assert_eq!(settings.listen.port(), 9100);
        assert_eq!(settings.login_max_failures, 7);
        assert_eq!(settings.trusted_proxies.len(), 1);
    }

    #[test]
    fn unknown_file_keys_are_problems_and_unknown_variables_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("attest.toml");
        std::fs::write(&file, "lisen = \"x\"\n").unwrap();
        let sources = Sources::read(Some(&file), [("ATTEST_LISTN".to_string(), "x".to_string())]);
        assert_eq!(sources.unknown_environment, ["ATTEST_LISTN"]);
        assert!(sources.set_but_unused().is_empty());
        let rejected = load(&sources).unwrap_err();
        assert!(rejected.problems[0].message.contains("unknown key `lisen`"));
    }

    #[test]
    fn keys_whose_feature_is_not_built_are_warned_about_when_set() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("attest.toml");
        std::fs::write(&file, "max_body_bytes = 4096\n").unwrap();
        let env = [(
            "ATTEST_REDIS_URL".to_string(),
            "redis://127.0.0.1:6379".to_string(),
        )];
        let warnings = Sources::read(Some(&file), env).set_but_unused();
        assert_eq!(warnings.len(), 1, "a used key is not warned about: {warnings:?}");
        assert!(
            warnings[0].starts_with("ATTEST_REDIS_URL is set but not used yet"),
            "{warnings:?}"
        );
        assert!(
            !warnings.concat().contains("redis://"),
            "never the value (it may hold a password)"
        );
    }

    #[test]
    fn the_default_public_url_follows_the_listen_address_and_never_a_wildcard() {
        let url_for = |env: &[(&str, &str)]| {
            let env = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned()));
            load(&Sources::read(None, env)).map(|s| s.public_url.to_string())
        };
        assert_eq!(
            url_for(&[("ATTEST_LISTEN", "0.0.0.0:9000")]).unwrap(),
            "http://127.0.0.1:9000/"
        );
        assert_eq!(
            url_for(&[("ATTEST_LISTEN", "10.1.2.3:8080")]).unwrap(),
            "http://10.1.2.3:8080/"
        );
        assert_eq!(url_for(&[]).unwrap(), "http://127.0.0.1:8080/");
        let set = [
            ("ATTEST_LISTEN", "0.0.0.0:9000"),
            ("ATTEST_PUBLIC_URL", "https://attest.example.com"),
        ];
        assert_eq!(url_for(&set).unwrap(), "https://attest.example.com/");
        let rejected = url_for(&[("ATTEST_PUBLIC_URL", "http://0.0.0.0:8080")]).unwrap_err();
        assert!(rejected.problems[0].message.contains("wildcard"), "{rejected}");
    }
    /// A valid value other than the default for each documented key (with the
    /// keys it needs beside it), so the test below can set it.
    fn sample(key: &str, dir: &Path) -> Option<Vec<(String, String)>> {
        let file = |name: &str| {
            let path = dir.join(name);
            std::fs::write(&path, "pem").unwrap();
            path.display().to_string()
        };
        let pairs = match key {
            "ATTEST_ENV" => vec![(key, "production".to_owned())],
            "ATTEST_LISTEN" => vec![(key, "127.0.0.1:9999".to_owned())],
            "ATTEST_PUBLIC_URL" => vec![(key, "https://other.example.com".to_owned())],
            "ATTEST_DATABASE_URL" => vec![(key, "postgres://attest@db/attest".to_owned())],
            "ATTEST_REDIS_URL" => vec![(key, "redis://127.0.0.1:6379".to_owned())],
            "ATTEST_SECRET_KEY" => vec![(key, "cd".repeat(32))],
            "ATTEST_SMTP_URL" => vec![(key, "smtp://mail.example.com:25".to_owned())],
            "ATTEST_MAIL_DIR" => vec![(key, "elsewhere/mail".to_owned())],
            "ATTEST_DATA_DIR" => vec![(key, "elsewhere".to_owned())],
            "ATTEST_ALLOWED_ORIGINS" => vec![(key, "https://partner.example.com".to_owned())],
            "ATTEST_LOG_FORMAT" => vec![(key, "json".to_owned())],
            "ATTEST_METRICS_TOKEN" => vec![(key, "a-metrics-token-long-enough".to_owned())],
            "ATTEST_LOGIN_MAX_FAILURES" => vec![(key, "9".to_owned())],
            "ATTEST_LOGIN_LOCKOUT_SECONDS" => vec![(key, "60".to_owned())],
            "ATTEST_RATE_LIMIT_PER_MINUTE" => vec![(key, "10".to_owned())],
            "ATTEST_AUTH_RATE_LIMIT_PER_MINUTE" => vec![(key, "5".to_owned())],
            "ATTEST_MAX_BODY_BYTES" => vec![(key, "4096".to_owned())],
            "ATTEST_MAX_IMPORT_BYTES" => vec![(key, "4096".to_owned())],
            "ATTEST_MAX_UPLOAD_BYTES" => vec![(key, "4096".to_owned())],
            "ATTEST_SESSION_IDLE_SECONDS" => vec![(key, "60".to_owned())],
            "ATTEST_SESSION_MAX_SECONDS" => vec![(key, "7200".to_owned())],
            "ATTEST_TRUSTED_PROXIES" => vec![(key, "10.0.0.0/8".to_owned())],
            "ATTEST_TLS_CERT_FILE" | "ATTEST_TLS_KEY_FILE" => vec![
                ("ATTEST_TLS_CERT_FILE", file("cert.pem")),
                ("ATTEST_TLS_KEY_FILE", file("key.pem")),
            ],
            "ATTEST_SHUTDOWN_TIMEOUT_SECONDS" => vec![(key, "5".to_owned())],
            "ATTEST_REQUEST_TIMEOUT_SECONDS" => vec![(key, "5".to_owned())],
            "ATTEST_DNS_RESOLVER" => vec![(key, "127.0.0.1:5353".to_owned())],
            _ => return None,
        };
        Some(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    }

    /// The `ATTEST_*` names in the first column of docs/configuration.md's table.
    fn documented_keys() -> Vec<String> {
        let doc = include_str!("../../../docs/configuration.md");
        doc.lines()
            .filter_map(|line| line.strip_prefix("| `"))
            .filter_map(|row| row.split(" | ").next())
            .flat_map(|cell| cell.split('`'))
            .filter(|word| word.starts_with(ENV_PREFIX))
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn every_documented_key_changes_the_settings_or_is_warned_about() {
        let keys = documented_keys();
        assert!(keys.len() >= 25, "the table was read: {keys:?}");
        let known: Vec<String> = KEYS.iter().map(|k| env_name(k.name)).collect();
        let mut undocumented = known.clone();
        undocumented.retain(|name| !keys.contains(name));
        assert!(
            undocumented.is_empty(),
            "keys missing from docs/configuration.md: {undocumented:?}"
        );

        let dir = tempfile::tempdir().unwrap();
        let base = [
            (
                "ATTEST_PUBLIC_URL".to_owned(),
                "https://attest.example.com".to_owned(),
            ),
            ("ATTEST_SECRET_KEY".to_owned(), GOOD_KEY.to_owned()),
        ];
        let settings_with = |extra: &[(String, String)]| {
            let mut pairs: BTreeMap<String, String> = base.iter().cloned().collect();
            pairs.extend(extra.iter().cloned());
            Sources::read(None, pairs)
        };
        let defaults = load(&settings_with(&[])).unwrap();
        for key in &keys {
            assert!(known.contains(key), "{key} is documented but not a setting");
            let pairs = sample(key, dir.path()).unwrap_or_else(|| panic!("give {key} a sample value"));
            let sources = settings_with(&pairs);
            let settings = load(&sources).unwrap_or_else(|e| panic!("{key}: {e}"));
            let warned = sources
                .set_but_unused()
                .iter()
                .any(|w| w.starts_with(key.as_str()));
            if NOT_USED_YET.iter().any(|(name, _)| env_name(name) == *key) {
                assert!(warned, "{key} is not used yet, and setting it must say so");
            } else {
                assert!(!warned, "{key} is used, yet warned about");
                assert_ne!(settings, defaults, "{key} is parsed but changes nothing");
            }
        }
    }
}
