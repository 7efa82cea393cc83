//! The command line (CONTRACT.md): `serve`, `migrate`, `admin`, `backup`,
//! `restore`, `audit verify`, `config check`.

mod snapshot;

use std::{path::PathBuf, process::ExitCode};

use attest_core::store::{self, StoreConfig};
use attest_server::{
    config::{self, Settings, Sources},
    telemetry, Application,
};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "attest",
    version,
    about = "Attest: a self-hosted, multi-tenant compliance platform"
)]
struct Cli {
    /// TOML file with the same keys as the ATTEST_* environment (default: ./attest.toml if present).
    #[arg(long, global = true, value_name = "FILE", env = "ATTEST_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (API, console, status page); creates and migrates the database on first start.
    Serve,
    /// Apply or roll back schema migrations.
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Manage platform operators.
    Admin {
        #[command(subcommand)]
        action: AdminAction,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
    /// Write a consistent snapshot of the whole installation (database and evidence files)
    /// to FILE, while the server runs or not.
    Backup {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Replace the database's contents with a snapshot's. Every checksum and every audit
    /// chain is verified first; a corrupt snapshot is refused and changes nothing. Stop the
    /// servers first, and start them again after.
    Restore {
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// Check the audit trail.
    Audit {
        #[command(subcommand)]
        action: AuditAction,
    },
}

#[derive(Subcommand)]
enum AuditAction {
    /// Recompute every org's chain (or one org's); exit 0 only when all verify,
    /// else non-zero naming the first bad seq of each broken chain.
    Verify {
        #[arg(long, value_name = "SLUG")]
        org: Option<String>,
    },
}

#[derive(Subcommand)]
enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the most recent migrations (default one step). Rolling back the
    /// audit trail's tables while they hold events needs --yes-destroy-audit-data.
    Down {
        #[arg(long, default_value_t = 1)]
        steps: u32,
        /// Roll back even when that deletes recorded audit events.
        #[arg(long)]
        yes_destroy_audit_data: bool,
    },
    /// List every migration and whether it is applied.
    Status,
}

#[derive(Subcommand)]
enum AdminAction {
    /// Create a platform operator. The password is asked for twice, without
    /// echo, or read from standard input; never taken as an argument.
    Create {
        #[arg(long)]
        email: String,
        /// Read the password from standard input (scripts) instead of asking.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Disable a user: revoke every session now and refuse sign-in.
    Disable {
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum ConfigAction {
    /// Validate the configuration; non-zero exit listing every problem.
    Check,
}

pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let config_file = cli
        .config
        .clone()
        .or_else(|| Some(PathBuf::from("attest.toml")).filter(|p| p.is_file()));
    let sources = Sources::read(config_file.as_deref(), std::env::vars());
    for name in &sources.unknown_environment {
        eprintln!("warning: {name} is not an Attest setting and is ignored");
    }
    for warning in sources.set_but_unused() {
        eprintln!("warning: {warning}");
    }
    let settings = match config::load(&sources) {
        Ok(settings) => settings,
        Err(rejected) => {
            eprint!("{rejected}");
            return ExitCode::from(2);
        }
    };

    match cli.command.unwrap_or(Command::Serve) {
        Command::Config {
            action: ConfigAction::Check,
        } => {
            println!(
                "configuration is valid ({} environment)",
                if settings.is_production() {
                    "production"
                } else {
                    "development"
                }
            );
            ExitCode::SUCCESS
        }
        Command::Serve => block_on(serve(settings)),
        Command::Migrate { action } => block_on(migrate(settings, action)),
        Command::Admin {
            action: AdminAction::Create {
                email,
                password_stdin,
            },
        } => block_on(create_operator(settings, email, password_stdin)),
        Command::Admin {
            action: AdminAction::Disable { email },
        } => block_on(disable_user(settings, email)),
        Command::Audit {
            action: AuditAction::Verify { org },
        } => block_on(verify_audit(settings, org)),
        Command::Backup { out } => block_on(snapshot::backup(settings, &out)),
        Command::Restore { from } => block_on(snapshot::restore(settings, &from)),
    }
}

fn block_on(work: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(work) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    telemetry::init_logging(settings.log_format);
    let app = Application::build(settings).await?;
    app.run_until(attest_server::startup::shutdown_signal()).await
}

async fn migrate(settings: Settings, action: MigrateAction) -> anyhow::Result<()> {
    let db = store::connect(&StoreConfig::new(settings.database_url.expose().clone())).await?;
    match action {
        MigrateAction::Up => {
            store::migrations::up(&db).await?;
            println!("migrations applied");
        }
        MigrateAction::Down {
            steps,
            yes_destroy_audit_data,
        } => {
            if !yes_destroy_audit_data {
                refuse_losing_audit_events(&db, steps).await?;
            }
            let undone = store::migrations::down(&db, steps).await?;
            println!("rolled back {undone} migration(s)");
        }
        MigrateAction::Status => {
            for migration in store::migrations::status(&db).await? {
                let state = if migration.applied { "applied" } else { "pending" };
                println!("{state:<8} {}", migration.name);
            }
        }
    }
    db.close().await?;
    Ok(())
}

async fn verify_audit(settings: Settings, slug: Option<String>) -> anyhow::Result<()> {
    use attest_core::audit::verify::{self, Verification};

    let state = attest_server::startup::open_state(&settings, None).await?;
    let chains = verify::verify_all(&state, slug.as_deref()).await?;
    if let (Some(slug), true) = (&slug, chains.is_empty()) {
        anyhow::bail!("no organization {slug}");
    }
    let mut broken = 0;
    for (slug, verification) in &chains {
        match verification {
            Verification::Intact { events, head } => {
                let head = head
                    .as_ref()
                    .map(|(seq, hash)| format!(", head {seq} {hash}"))
                    .unwrap_or_default();
                println!("{slug}: ok, {events} events{head}");
            }
            Verification::Broken { first_bad_seq } => {
                broken += 1;
                println!("{slug}: BROKEN, first bad seq {first_bad_seq}");
            }
        }
    }
    if broken > 0 {
        anyhow::bail!("{broken} audit chain(s) failed verification");
    }
    Ok(())
}

async fn create_operator(settings: Settings, email: String, password_stdin: bool) -> anyhow::Result<()> {
    let password = if password_stdin {
        let mut password = String::new();
        std::io::stdin().read_line(&mut password)?;
        password.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        ask_password_twice()?
    };
    let new_file = sqlite_file(settings.database_url.expose()).filter(|path| !path.exists());
    let state = attest_server::startup::open_state(&settings, None).await?;
    store::migrations::up(&state.db).await?;
    let user = attest_core::identity::users::create_operator(&state, &email, password)
        .await
        .map_err(|e| anyhow::anyhow!(describe(&e)))?;
    println!(
        "created operator {} ({}) in {}",
        user.email,
        user.id,
        database_named(settings.database_url.expose())
    );
    if let Some(path) = new_file {
        // A relative path follows the working directory: say so before it bites.
        eprintln!(
            "note: {} did not exist, so this is a new, empty database. The server must open the \
             same file: run it from this directory, or set ATTEST_DATABASE_URL to an absolute path.",
            path.display()
        );
    }
    state.close().await?;
    Ok(())
}

/// The migration whose `down` drops the audit trail's tables.
const AUDIT_MIGRATION: &str = "m20261124_000004_audit";

/// Refuses a rollback of `steps` that would drop the audit tables while they
/// hold events, saying what would be lost. An empty trail rolls back freely.
async fn refuse_losing_audit_events(db: &sea_orm::DatabaseConnection, steps: u32) -> anyhow::Result<()> {
    use sea_orm::{EntityTrait as _, PaginatorTrait as _};
    let applied: Vec<String> = store::migrations::status(db)
        .await?
        .into_iter()
        .filter(|m| m.applied)
        .map(|m| m.name)
        .collect();
    let undone = applied
        .iter()
        .rev()
        .take(usize::try_from(steps).unwrap_or(usize::MAX));
    if !undone.into_iter().any(|name| name == AUDIT_MIGRATION) {
        return Ok(());
    }
    let events = attest_core::store::entities::audit_events::Entity::find()
        .count(db)
        .await?;
    anyhow::ensure!(
        events == 0,
        "rolling back {steps} migration(s) drops the audit trail: {events} recorded audit event(s) would be \
         deleted for good. Export them first (GET /api/v1/orgs/{{org}}/audit-events/export), then run \
         again with --yes-destroy-audit-data"
    );
    Ok(())
}

/// Asks on the terminal, without echo, twice.
fn ask_password_twice() -> anyhow::Result<String> {
    let no_terminal = |e: std::io::Error| {
        anyhow::anyhow!("cannot ask for the password ({e}); pipe it in with --password-stdin")
    };
    let first = rpassword::prompt_password("Password for the new operator: ").map_err(no_terminal)?;
    let second = rpassword::prompt_password("The same password again: ").map_err(no_terminal)?;
    anyhow::ensure!(first == second, "the two passwords differ; nobody was created");
    Ok(first)
}

/// The absolute path of a SQLite URL's file (`None` for other databases).
fn sqlite_file(url: &str) -> Option<std::path::PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let path = std::path::Path::new(
        rest.trim_start_matches("//")
            .split('?')
            .next()
            .unwrap_or_default(),
    );
    Some(std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

/// Which database a command wrote to, without credentials: a SQLite file's
/// path, or a PostgreSQL server's host and database.
fn database_named(url: &str) -> String {
    if let Some(path) = sqlite_file(url) {
        return format!("the SQLite database {}", path.display());
    }
    match url::Url::parse(url) {
        Ok(parsed) => format!(
            "the PostgreSQL database {} on {}",
            parsed.path().trim_start_matches('/'),
            parsed.host_str().unwrap_or("localhost")
        ),
        Err(_) => "the configured database".to_owned(),
    }
}

async fn disable_user(settings: Settings, email: String) -> anyhow::Result<()> {
    let state = attest_server::startup::open_state(&settings, None).await?;
    let revoked = attest_core::identity::users::disable(&state, &email)
        .await
        .map_err(|e| anyhow::anyhow!(describe(&e)))?;
    println!("disabled {email}; revoked {revoked} session(s)");
    state.close().await?;
    Ok(())
}

/// A domain error as one line for the terminal, with its field problems.
fn describe(err: &attest_core::AppError) -> String {
    let mut text = err.detail.clone().unwrap_or_else(|| err.kind.title().to_owned());
    for e in &err.errors {
        text.push_str(&format!("; {} {}", e.field, e.message));
    }
    // The operator at the terminal needs the cause an API answer keeps to the logs.
    if let Some(cause) = err.cause() {
        text.push_str(&format!(" ({cause})"));
    }
    text
}
