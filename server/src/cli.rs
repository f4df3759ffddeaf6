//! The command line: `steadfast serve`, `steadfast token`, `steadfast bench`.
//! Every flag of `serve` and `token` has an environment variable of the same
//! meaning (`bench` reads none: see [`crate::bench::options`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Steadfast: durable workflows (orders) and their operations dashboard.
#[derive(Debug, Parser)]
#[command(name = "steadfast", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server: API, dashboard, workers and the simulated services.
    Serve(Box<ServeArgs>),
    /// Print a customer API token (a signed JWT) for a user.
    Token(TokenArgs),
    /// Benchmark: run `process_order` workflows and report throughput,
    /// latency, CPU, memory and database size.
    Bench(Box<crate::bench::BenchArgs>),
}

/// Which parts of Steadfast this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// API, dashboard and workers.
    All,
    /// Only workers (no HTTP API beyond health and metrics).
    Worker,
    /// Only the API and dashboard (no workers).
    Api,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "STEADFAST_LISTEN", default_value = "127.0.0.1:3000")]
    pub listen: SocketAddr,
    /// Folder for the SQLite database and generated secrets.
    #[arg(long, env = "STEADFAST_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Engine database: `sqlite://path` or `postgres://...` (default: a SQLite
    /// file in the data folder, created on first start).
    #[arg(long, env = "STEADFAST_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The simulated services' database, which also keeps the dashboard's
    /// sessions (default: `services.db` in the data folder with SQLite, the
    /// engine's database with PostgreSQL).
    #[arg(long, env = "STEADFAST_SERVICES_DATABASE_URL")]
    pub services_database_url: Option<String>,
    /// Base URL of the inventory, payment and fulfilment services (default:
    /// the simulated ones on this server, `http://LISTEN/services`).
    #[arg(long, env = "STEADFAST_SERVICES_URL")]
    pub services_url: Option<String>,
    /// Do not host the simulated services (use real ones via --services-url).
    #[arg(long, env = "STEADFAST_NO_DEMO_SERVICES")]
    pub no_demo_services: bool,
    /// Workflow tasks processed at once.
    #[arg(long, env = "STEADFAST_WORKFLOW_CONCURRENCY", default_value_t = 64)]
    pub workflow_concurrency: usize,
    /// Activity attempts run at once.
    #[arg(long, env = "STEADFAST_ACTIVITY_CONCURRENCY", default_value_t = 256)]
    pub activity_concurrency: usize,
    /// Seconds a new order waits after reserving, cancellable, before it is
    /// charged (0: no hold).
    #[arg(long, env = "STEADFAST_HOLD_SECONDS", default_value_t = 0)]
    pub hold_seconds: u64,
    /// How long a worker's claim on a task lasts before others take it over.
    #[arg(long, env = "STEADFAST_LEASE_SECONDS", default_value_t = 30)]
    pub lease_seconds: u64,
    /// Log format (levels from RUST_LOG, default info).
    #[arg(long, env = "STEADFAST_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Which parts this process runs.
    #[arg(long, env = "STEADFAST_ROLE", value_enum, default_value = "all")]
    pub role: Role,
    /// The operator credential (default: generated once into the data folder).
    #[arg(long, env = "STEADFAST_OPERATOR_TOKEN", hide_env_values = true)]
    pub operator_token: Option<String>,
    /// Secret that signs customer tokens (default: generated once into the data folder).
    #[arg(long, env = "STEADFAST_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Hide and refuse every action (cancel, retry, faults, ...).
    #[arg(long, env = "STEADFAST_READ_ONLY")]
    pub read_only: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct TokenArgs {
    /// The user id the token names (`sub`).
    #[arg(long)]
    pub user: String,
    /// Folder holding the generated signing secret.
    #[arg(long, env = "STEADFAST_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Secret that signs customer tokens (default: the data folder's).
    #[arg(long, env = "STEADFAST_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
}

impl ServeArgs {
    /// The engine database URL.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}/steadfast.db", self.data_dir.display()))
    }

    /// The simulated services' database URL.
    pub fn services_database_url(&self) -> String {
        if let Some(url) = &self.services_database_url {
            return url.clone();
        }
        let engine = self.database_url();
        if engine.starts_with("postgres") {
            engine
        } else {
            format!("sqlite://{}/services.db", self.data_dir.display())
        }
    }
}
