//! Who may do what. Customers place orders with a signed JWT (HS256, `sub` =
//! user id); operators act on workflows with the operator token. Both
//! secrets come from config or are generated once into the data directory.

use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// How long a customer token printed by `steadfast token` stays valid.
const TOKEN_DAYS: i64 = 365;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: i64,
    exp: i64,
}

/// The secrets, cheap to clone.
#[derive(Clone)]
pub struct Auth {
    encoding: EncodingKey,
    decoding: DecodingKey,
    operator_token: String,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Auth { .. }")
    }
}

/// Why a credential was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    #[error("a bearer token is required (Authorization: Bearer <token>)")]
    Missing,
    #[error("the token is invalid: {0}")]
    Invalid(String),
    #[error("this needs the operator token")]
    NotOperator,
}

impl Auth {
    /// Secrets as given, or read from (and on first start written to) `data_dir`.
    pub fn load(
        data_dir: &Path,
        jwt_secret: Option<&str>,
        operator_token: Option<&str>,
    ) -> anyhow::Result<Self> {
        let jwt_secret = match jwt_secret {
            Some(s) => s.to_string(),
            None => read_or_create(&data_dir.join("jwt-secret"))?,
        };
        let operator_token = match operator_token {
            Some(s) => s.to_string(),
            None => read_or_create(&data_dir.join("operator-token"))?,
        };
        Ok(Self::new(&jwt_secret, &operator_token))
    }

    /// Secrets given directly.
    pub fn new(jwt_secret: &str, operator_token: &str) -> Self {
        Self {
            encoding: EncodingKey::from_secret(jwt_secret.as_bytes()),
            decoding: DecodingKey::from_secret(jwt_secret.as_bytes()),
            operator_token: operator_token.to_string(),
        }
    }

    /// The operator credential (printed at start-up).
    pub fn operator_token(&self) -> &str {
        &self.operator_token
    }

    /// A customer token for `user`.
    pub fn issue(&self, user: &str) -> anyhow::Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user.to_string(),
            iat: now,
            exp: now + TOKEN_DAYS * 24 * 3600,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.encoding,
        )?)
    }

    /// The user a customer token names.
    pub fn customer(&self, bearer: Option<&str>) -> Result<String, Error> {
        let token = bearer.ok_or(Error::Missing)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["sub", "exp"]);
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        if data.claims.sub.is_empty() || data.claims.sub.len() > 128 {
            return Err(Error::Invalid("the subject must be 1 to 128 bytes".into()));
        }
        Ok(data.claims.sub)
    }

    /// Whether `bearer` is the operator token (compared in constant time).
    pub fn operator(&self, bearer: Option<&str>) -> Result<(), Error> {
        let token = bearer.ok_or(Error::Missing)?;
        if constant_time_eq(token.as_bytes(), self.operator_token.as_bytes()) {
            Ok(())
        } else {
            Err(Error::NotOperator)
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A 256-bit random secret as hex.
pub fn random_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads a secret file, or creates it (mode 0600) with a fresh secret.
fn read_or_create(path: &Path) -> anyhow::Result<String> {
    use anyhow::Context;
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_string();
        if !existing.is_empty() {
            return Ok(existing);
        }
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let secret = random_secret();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    std::io::Write::write_all(&mut file, secret.as_bytes())?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_forgeries_fail() {
        let auth = Auth::new("secret-a", "op");
        let token = auth.issue("alice").unwrap();
        assert_eq!(auth.customer(Some(&token)), Ok("alice".to_string()));
        let other = Auth::new("secret-b", "op");
        assert!(matches!(
            other.customer(Some(&token)),
            Err(Error::Invalid(_))
        ));
        assert_eq!(auth.customer(None), Err(Error::Missing));
        assert!(matches!(
            auth.customer(Some("garbage")),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn operator_token_must_match_exactly() {
        let auth = Auth::new("s", "operator-secret");
        assert_eq!(auth.operator(Some("operator-secret")), Ok(()));
        assert_eq!(
            auth.operator(Some("operator-secreT")),
            Err(Error::NotOperator)
        );
        assert_eq!(auth.operator(Some("")), Err(Error::NotOperator));
        assert_eq!(auth.operator(None), Err(Error::Missing));
    }

    #[test]
    fn secrets_are_generated_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = Auth::load(dir.path(), None, None).unwrap();
        let b = Auth::load(dir.path(), None, None).unwrap();
        assert_eq!(a.operator_token(), b.operator_token());
        let token = a.issue("bob").unwrap();
        assert_eq!(b.customer(Some(&token)), Ok("bob".into()));
    }
}
