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

impl Error {
    /// Whether the operation may succeed if tried again: the database
    /// connection was lost or refused, the pool had no connection in time,
    /// the server is shutting down or starting up, or SQLite was busy.
    ///
    /// ```
    /// let lost = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset");
    /// assert!(engine::Error::Database(sqlx::Error::Io(lost)).is_transient());
    /// assert!(!engine::Error::NotFound("w".into()).is_transient());
    /// ```
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Database(
                sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::Protocol(_),
            ) => true,
            Error::Database(sqlx::Error::Database(e)) => e.code().is_some_and(|code| {
                // PostgreSQL: connection exceptions (08…), shutting down or
                // starting up (57P01–57P03); SQLite: busy or locked.
                code.starts_with("08")
                    || matches!(code.as_ref(), "57P01" | "57P02" | "57P03" | "5" | "6")
            }),
            Error::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => matches!(
                e.code,
                rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
            ),
            _ => false,
        }
    }
}

/// The engine's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Corrupt(e.to_string())
    }
}
