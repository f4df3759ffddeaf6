//! The dashboard's operator sessions, kept in the database (the services'
//! one: its migrations create `dashboard_sessions`) rather than in one
//! process's memory, so that a session outlives a restart and every process
//! behind one address (PostgreSQL scale-out, `--role api`) recognises it.
//! What a session is and why (random id, CSRF token, idle expiry) is
//! `app::auth`'s business; this is only where it is kept.

use std::time::Duration;

use app::model::Flash;

use crate::services::Error;
use crate::services::store::{Db, now_ms, with_pool, with_tx};

/// The session table of one database. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Sessions {
    db: Db,
}

/// Milliseconds from now until `idle` has passed.
fn expiry(idle: Duration) -> i64 {
    now_ms().saturating_add(i64::try_from(idle.as_millis()).unwrap_or(i64::MAX))
}

impl Sessions {
    /// Sessions in the database at `url` (applying its migrations): for a
    /// process that hosts no simulated services.
    pub async fn open(url: &str) -> Result<Self, Error> {
        Ok(Self {
            db: Db::connect(url).await?,
        })
    }

    /// Sessions in the simulated services' database, sharing their pool.
    pub fn beside(services: &crate::services::Services) -> Self {
        Self {
            db: services.db.clone(),
        }
    }

    /// Records a new session that ends after `idle` without use. Forgets
    /// the sessions that have expired meanwhile.
    pub async fn create(&self, id: &str, csrf: &str, idle: Duration) -> Result<(), Error> {
        let now = now_ms();
        with_pool!(&self.db, pool => {
            sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at_ms <= $1")
                .bind(now)
                .execute(pool)
                .await?;
            sqlx::query(
                "INSERT INTO dashboard_sessions (id, csrf, expires_at_ms) VALUES ($1, $2, $3)",
            )
            .bind(id)
            .bind(csrf)
            .bind(expiry(idle))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The CSRF token of session `id` if it exists and has not expired; its
    /// expiry moves to `idle` from now. `None` for an unknown or expired id.
    pub async fn touch(&self, id: &str, idle: Duration) -> Result<Option<String>, Error> {
        let csrf: Option<String> = with_pool!(&self.db, pool => {
            sqlx::query_scalar(
                "UPDATE dashboard_sessions SET expires_at_ms = $1 \
                 WHERE id = $2 AND expires_at_ms > $3 RETURNING csrf",
            )
            .bind(expiry(idle))
            .bind(id)
            .bind(now_ms())
            .fetch_optional(pool)
            .await?
        });
        Ok(csrf)
    }

    /// Keeps `flash` for the next page session `id` sees.
    pub async fn set_flash(&self, id: &str, flash: &Flash) -> Result<(), Error> {
        let flash = serde_json::to_string(flash)?;
        with_pool!(&self.db, pool => {
            sqlx::query(
                "UPDATE dashboard_sessions SET flash = $1 WHERE id = $2 AND expires_at_ms > $3",
            )
            .bind(&flash)
            .bind(id)
            .bind(now_ms())
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The kept flash of session `id`, removed as it is read (shown once).
    pub async fn take_flash(&self, id: &str) -> Result<Option<Flash>, Error> {
        let flash: Option<String> = with_tx!(&self.db, tx => {
            let flash: Option<Option<String>> = sqlx::query_scalar(
                "SELECT flash FROM dashboard_sessions WHERE id = $1 AND expires_at_ms > $2",
            )
            .bind(id)
            .bind(now_ms())
            .fetch_optional(&mut *tx)
            .await?;
            let flash = flash.flatten();
            if flash.is_some() {
                sqlx::query("UPDATE dashboard_sessions SET flash = NULL WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            flash
        });
        Ok(flash.map(|f| serde_json::from_str(&f)).transpose()?)
    }

    /// Ends session `id`: its cookie is worthless from now on.
    pub async fn end(&self, id: &str) -> Result<(), Error> {
        with_pool!(&self.db, pool => {
            sqlx::query("DELETE FROM dashboard_sessions WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDLE: Duration = Duration::from_secs(3600);

    async fn sessions() -> (tempfile::TempDir, Sessions) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/services.db", dir.path().display());
        let sessions = Sessions::open(&url).await.expect("database opens");
        (dir, sessions)
    }

    #[tokio::test]
    async fn a_live_session_answers_its_csrf_token_and_ends_on_logout() {
        let (_dir, s) = sessions().await;
        s.create("id-1", "csrf-1", IDLE).await.unwrap();
        assert_eq!(
            s.touch("id-1", IDLE).await.unwrap().as_deref(),
            Some("csrf-1")
        );
        s.end("id-1").await.unwrap();
        assert_eq!(s.touch("id-1", IDLE).await.unwrap(), None);
    }

    #[tokio::test]
    async fn unknown_and_expired_sessions_are_refused() {
        let (_dir, s) = sessions().await;
        assert_eq!(s.touch("never-created", IDLE).await.unwrap(), None);
        s.create("short", "csrf", Duration::from_millis(50))
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(s.touch("short", IDLE).await.unwrap(), None);
        // An expired session's flash is gone with it.
        s.set_flash(
            "short",
            &Flash {
                ok: true,
                message: "late".into(),
            },
        )
        .await
        .unwrap();
        assert_eq!(s.take_flash("short").await.unwrap(), None);
    }

    #[tokio::test]
    async fn use_moves_the_expiry_forward() {
        let (_dir, s) = sessions().await;
        s.create("id", "csrf", Duration::from_millis(300))
            .await
            .unwrap();
        // Each use within the idle time extends it: after three uses 450 ms
        // have passed, more than the first 300 ms.
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_millis(150)).await;
            assert!(
                s.touch("id", Duration::from_millis(300))
                    .await
                    .unwrap()
                    .is_some()
            );
        }
    }

    #[tokio::test]
    async fn a_flash_is_shown_once() {
        let (_dir, s) = sessions().await;
        s.create("id", "csrf", IDLE).await.unwrap();
        let flash = Flash {
            ok: false,
            message: "409 Conflict".into(),
        };
        s.set_flash("id", &flash).await.unwrap();
        assert_eq!(s.take_flash("id").await.unwrap(), Some(flash));
        assert_eq!(s.take_flash("id").await.unwrap(), None);
    }
}
