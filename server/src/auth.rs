//! Access tokens: HMAC-SHA256 over (database, expiry, read-only), minted by `idbsql-server
//! token` and checked on Hello before any data is sent. Tokens are opaque to clients.

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
    let payload = format!(
        "v1\n{}\n{}\n{}",
        claims.expires_at,
        u8::from(claims.read_only),
        claims.database
    );
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
    let mut parts = payload.splitn(4, '\n');
    let (Some("v1"), Some(expires_at), Some(read_only), Some(name)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::Malformed);
    };
    let claims = Claims {
        database: name.to_owned(),
        expires_at: expires_at.parse().map_err(|_| AuthError::Malformed)?,
        read_only: read_only == "1",
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
                .replace("\n1\n", "\n0\n"),
        );
        assert_eq!(
            verify(b"secret", &format!("{forged}.{signature}"), "notes", 0),
            Err(AuthError::BadSignature)
        );
    }
}
