//! Access tokens: HMAC-SHA256 over (database, expiry, read-only, schema right, id), minted by
//! `idbsql-server token` and checked on Hello before any data is sent. Opaque to clients.
//! Format `v2`; `v1` tokens (minted before ids and the schema right) still verify, with it.

use {
    base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine},
    hmac::{Hmac, KeyInit, Mac},
    sha2::Sha256,
    thiserror::Error,
};

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub database: String,
    /// Seconds since the Unix epoch after which the token is refused.
    pub expires_at: u64,
    pub read_only: bool,
    /// May push CREATE / ALTER / DROP (tables, views, indexes, functions), not only rows.
    pub schema: bool,
    /// What a revocation list names; `None` for `v1` tokens, which cannot be revoked by id.
    pub id: Option<String>,
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("missing token")]
    Missing,
    #[error("malformed token")]
    Malformed,
    #[error("token signature is not valid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token is for another database")]
    WrongDatabase,
}

fn mac(secret: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length.
    <HmacSha256 as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length")
}

pub fn mint(secret: &[u8], claims: &Claims) -> String {
    let payload = match &claims.id {
        Some(id) => format!(
            "v2\n{}\n{}\n{}\n{id}\n{}",
            claims.expires_at,
            u8::from(claims.read_only),
            u8::from(claims.schema),
            claims.database
        ),
        // Only for tests of what older servers minted.
        None => format!(
            "v1\n{}\n{}\n{}",
            claims.expires_at,
            u8::from(claims.read_only),
            claims.database
        ),
    };
    let mut signer = mac(secret);
    signer.update(payload.as_bytes());
    let signature = signer.finalize().into_bytes();
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(payload.as_bytes()),
        URL_SAFE_NO_PAD.encode(signature)
    )
}

/// A client's public id in `database`: the first 16 bytes of SHA-256 over the secret it
/// proved in Hello. Broadcasts reveal this id; the secret cannot be computed back from it.
pub fn client_identity(database: &str, client_secret: u128) -> u128 {
    use sha2::Digest;
    let mut hash = Sha256::new();
    hash.update(b"idbsql client id\0");
    hash.update(database.as_bytes());
    hash.update([0]);
    hash.update(client_secret.to_le_bytes());
    let digest = hash.finalize();
    let mut id = [0u8; 16];
    id.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(id)
}

/// Checks signature, expiry (against `now`, Unix seconds) and database name.
pub fn verify(secret: &[u8], token: &str, database: &str, now: u64) -> Result<Claims, AuthError> {
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    let (payload, signature) = token.split_once('.').ok_or(AuthError::Malformed)?;
    let payload = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| AuthError::Malformed)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| AuthError::Malformed)?;
    let mut verifier = mac(secret);
    verifier.update(&payload);
    verifier
        .verify_slice(&signature)
        .map_err(|_| AuthError::BadSignature)?;
    let payload = String::from_utf8(payload).map_err(|_| AuthError::Malformed)?;
    let claims = match payload.split_once('\n') {
        Some(("v1", rest)) => {
            let mut parts = rest.splitn(3, '\n');
            let (Some(expires_at), Some(read_only), Some(name)) =
                (parts.next(), parts.next(), parts.next())
            else {
                return Err(AuthError::Malformed);
            };
            Claims {
                database: name.to_owned(),
                expires_at: expires_at.parse().map_err(|_| AuthError::Malformed)?,
                read_only: read_only == "1",
                schema: true,
                id: None,
            }
        }
        Some(("v2", rest)) => {
            let mut parts = rest.splitn(5, '\n');
            let (Some(expires_at), Some(read_only), Some(schema), Some(id), Some(name)) = (
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
                parts.next(),
            ) else {
                return Err(AuthError::Malformed);
            };
            Claims {
                database: name.to_owned(),
                expires_at: expires_at.parse().map_err(|_| AuthError::Malformed)?,
                read_only: read_only == "1",
                schema: schema == "1",
                id: Some(id.to_owned()),
            }
        }
        _ => return Err(AuthError::Malformed),
    };
    if claims.expires_at <= now {
        return Err(AuthError::Expired);
    }
    if claims.database != database {
        return Err(AuthError::WrongDatabase);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_as_minted() {
        let claims = Claims {
            database: "notes".into(),
            expires_at: 1_000,
            read_only: true,
            schema: false,
            id: Some("t1".into()),
        };
        let token = mint(b"secret", &claims);
        assert_eq!(verify(b"secret", &token, "notes", 999), Ok(claims));
        assert_eq!(
            verify(b"other", &token, "notes", 999),
            Err(AuthError::BadSignature)
        );
        assert_eq!(
            verify(b"secret", &token, "notes", 1_000),
            Err(AuthError::Expired)
        );
        assert_eq!(
            verify(b"secret", &token, "todo", 999),
            Err(AuthError::WrongDatabase)
        );
        assert_eq!(verify(b"secret", "", "notes", 0), Err(AuthError::Missing));
        assert_eq!(
            verify(b"secret", "abc", "notes", 0),
            Err(AuthError::Malformed)
        );
        let (payload, signature) = token.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(
            String::from_utf8(URL_SAFE_NO_PAD.decode(payload).unwrap())
                .unwrap()
                .replacen("\n1\n", "\n0\n", 1),
        );
        assert_eq!(
            verify(b"secret", &format!("{forged}.{signature}"), "notes", 0),
            Err(AuthError::BadSignature)
        );
    }

    #[test]
    fn tokens_minted_before_ids_keep_the_schema_right() {
        // A v1 token exactly as the last release minted it.
        let v1 = Claims {
            database: "notes".into(),
            expires_at: 1_000,
            read_only: false,
            schema: true,
            id: None,
        };
        let token = mint(b"secret", &v1);
        let payload = URL_SAFE_NO_PAD
            .decode(token.split_once('.').unwrap().0)
            .unwrap();
        assert_eq!(payload, b"v1\n1000\n0\nnotes");
        assert_eq!(verify(b"secret", &token, "notes", 999), Ok(v1));
    }

    #[test]
    fn v2_payload_is_as_documented() {
        let claims = Claims {
            database: "notes\nwith a newline".into(),
            expires_at: 1_000,
            read_only: true,
            schema: false,
            id: Some("t1".into()),
        };
        let token = mint(b"secret", &claims);
        let payload = URL_SAFE_NO_PAD
            .decode(token.split_once('.').unwrap().0)
            .unwrap();
        assert_eq!(payload, b"v2\n1000\n1\n0\nt1\nnotes\nwith a newline");
        assert_eq!(
            verify(b"secret", &token, "notes\nwith a newline", 999),
            Ok(claims)
        );
    }
}
