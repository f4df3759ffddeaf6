//! The engine's typed errors.

use crate::workflow::WorkflowStatus;

/// What can go wrong when using the engine.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No workflow of this type is registered.
    #[error("unknown workflow type `{0}`")]
    UnknownWorkflowType(String),
    /// The input does not fit the workflow's input type.
    #[error("invalid input for workflow `{workflow_type}`: {message}")]
    InvalidInput {
        workflow_type: String,
        message: String,
    },
    /// No workflow has this id.
    #[error("workflow `{0}` not found")]
    NotFound(String),
    /// The action does not fit the workflow's state.
    #[error("workflow `{id}` is {status}: {message}")]
    WrongState {
        id: String,
        status: WorkflowStatus,
        message: String,
    },
    /// The operation (activity or timer) named is not pending.
    #[error("workflow `{id}` has no pending {what} {seq}")]
    NoSuchOperation {
        id: String,
        what: &'static str,
        seq: u32,
    },
    /// An argument is malformed (an empty id, a bad cursor).
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The database cannot be opened (bad URL, unwritable path, not a database).
    #[error("cannot open the database {url}: {message}")]
    Open { url: String, message: String },
    /// The database cannot be opened or written (path, permissions, corruption).
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// The SQLite writer could not write (see `store::sqlite`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// Migrating the schema failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database was written by a newer Steadfast.
    #[error(
        "the database schema (version {found}) is newer than this Steadfast understands (version {supported}); upgrade Steadfast"
    )]
    SchemaTooNew { found: i64, supported: i64 },
    /// Stored data could not be read back.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The engine is shutting down.
    #[error("the engine is shutting down")]
    ShuttingDown,
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Corrupt(e.to_string())
    }
}
