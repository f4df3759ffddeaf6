//! Group commit: every transition of this process goes through one writer
//! task that gathers whatever is queued and commits it as one batch, so many
//! workflows share one database commit (and one fsync).

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::error::{Error, Result};
use crate::store::{Applied, Store, Transition};

/// Most transitions committed together.
const MAX_BATCH: usize = 512;

type Request = (Transition, oneshot::Sender<Result<Applied>>);

/// A cheap-to-clone handle for submitting transitions to the writer.
#[derive(Clone)]
pub(crate) struct Writer {
    tx: mpsc::Sender<Request>,
}

impl Writer {
    /// Starts the writer task; it ends when every handle is dropped.
    pub(crate) fn spawn(store: Arc<dyn Store>, on_commit: impl Fn() + Send + 'static) -> Self {
        let (tx, mut rx) = mpsc::channel::<Request>(4 * MAX_BATCH);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let (transitions, replies): (Vec<_>, Vec<_>) = batch.drain(..).unzip();
                match store.commit(&transitions).await {
                    Ok(applied) => {
                        for (reply, applied) in replies.into_iter().zip(applied) {
                            let _ = reply.send(Ok(applied));
                        }
                    }
                    // One bad transition must not fail its neighbours: retry
                    // each alone so that only the failing one reports an error.
                    Err(_) => {
                        for (transition, reply) in transitions.into_iter().zip(replies) {
                            let outcome = store
                                .commit(std::slice::from_ref(&transition))
                                .await
                                .and_then(|mut v| v.pop().ok_or(Error::ShuttingDown));
                            let _ = reply.send(outcome);
                        }
                    }
                }
                on_commit();
            }
        });
        Self { tx }
    }

    /// Commits one transition (batched with whatever else is queued).
    pub(crate) async fn commit(&self, transition: Transition) -> Result<Applied> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send((transition, reply))
            .await
            .map_err(|_| Error::ShuttingDown)?;
        answer.await.map_err(|_| Error::ShuttingDown)?
    }

    /// Commits several transitions, answering in order.
    pub(crate) async fn commit_all(&self, transitions: Vec<Transition>) -> Result<Vec<Applied>> {
        let mut answers = Vec::with_capacity(transitions.len());
        for transition in transitions {
            let (reply, answer) = oneshot::channel();
            self.tx
                .send((transition, reply))
                .await
                .map_err(|_| Error::ShuttingDown)?;
            answers.push(answer);
        }
        let mut applied = Vec::with_capacity(answers.len());
        for answer in answers {
            applied.push(answer.await.map_err(|_| Error::ShuttingDown)??);
        }
        Ok(applied)
    }
}
