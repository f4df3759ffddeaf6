//! The rows the SQLite writer's last commits left, kept in its memory so
//! that the next batch touching the same workflows need not load them.
//!
//! Why: an order's four transitions touch its workflow row and tasks four
//! times within milliseconds, and loading them was ~12% of a commit on the
//! writer thread, the engine's critical path on SQLite.
//!
//! When a copy is true: the writer's connection is the only one that
//! writes workflow rows, and tasks are written by it or by the pool's
//! claims and heartbeats. `PRAGMA data_version` changes when any other
//! connection (or process) commits, and the writer reads it after taking
//! SQLite's write lock, so nobody can commit between the check and the
//! writer's own commit: a changed version empties the cache. A commit that
//! fails empties it too (its rollback may have undone rows it took).

use std::collections::HashMap;

use rusqlite::Transaction;

use crate::error::Result;
use crate::store::rows::{TaskRow, WorkflowRow};

/// Most workflows kept; past it the cache starts over, so a long tail of
/// idle workflows costs at most this many rows of memory.
const CAPACITY: usize = 4096;

/// A workflow row and every task of that workflow id, as committed.
pub(crate) struct Cached {
    pub row: WorkflowRow,
    pub tasks: Vec<TaskRow>,
}

/// See the module documentation.
#[derive(Default)]
pub(crate) struct Cache {
    /// `PRAGMA data_version` when the rows were last known true.
    data_version: Option<i64>,
    workflows: HashMap<String, Cached>,
}

impl Cache {
    /// Empties the cache if another connection committed since the last
    /// check; call inside the write transaction, before using it.
    pub(crate) fn check(&mut self, tx: &Transaction<'_>) -> Result<()> {
        let version: i64 = tx
            .prepare_cached("PRAGMA data_version")?
            .query_row([], |r| r.get(0))?;
        if self.data_version != Some(version) {
            self.workflows.clear();
            self.data_version = Some(version);
        }
        Ok(())
    }

    /// Takes workflow `id`'s rows out, if kept.
    pub(crate) fn take(&mut self, id: &str) -> Option<Cached> {
        self.workflows.remove(id)
    }

    /// Keeps rows a commit wrote (or loaded and left alone).
    pub(crate) fn keep(&mut self, rows: impl IntoIterator<Item = Cached>) {
        for cached in rows {
            if self.workflows.len() >= CAPACITY {
                self.workflows.clear();
            }
            self.workflows.insert(cached.row.id.clone(), cached);
        }
    }

    /// Forgets everything (after a failed commit).
    pub(crate) fn clear(&mut self) {
        self.workflows.clear();
        self.data_version = None;
    }
}
