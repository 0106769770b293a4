//! Sync protocol messages between a client and idbsql-server, one per binary WebSocket frame,
//! encoded with the same codec crate as change sets. Change sets travel as their encoded bytes.

use serde::{Deserialize, Serialize};

/// Sent in `Hello`; the server refuses versions it does not speak. 3: a client proves its
/// identity with a secret and learns its public id in `Welcome`.
pub const PROTOCOL_VERSION: u16 = 3;

/// A `Reject` whose reason starts so was refused for one of the server's quotas (clients
/// report it with code `quota`); other rejections are the change set's own fault.
pub const QUOTA_REJECT_PREFIX: &str = "quota: ";

/// At most this many log entries in one `Changes` message; more follow with `more: true`.
pub const CHANGES_PAGE: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientMessage {
    /// First message on a connection.
    Hello {
        protocol: u16,
        database: String,
        /// Known only to this client (and the server): the server derives the client's public
        /// id from it, so no one who saw that id in a broadcast can act as this client.
        client_secret: u128,
        token: String,
        /// The highest server sequence number this client has applied.
        last_seen_seq: u64,
    },
    /// A locally committed change set, numbered per client from 1 without gaps.
    Push {
        client_seq: u64,
        change_set: Vec<u8>,
        /// The newest server entry the client had seen when it committed the change set (at
        /// most): a row it overwrites that was written later is a conflict to its writer.
        seen: u64,
    },
    /// Asks for the log entries after `after_seq` (one page; more follow on their own).
    Pull {
        after_seq: u64,
    },
    Ping {
        nonce: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerMessage {
    Welcome {
        /// The newest server sequence number of this database.
        server_seq: u64,
        /// The highest `client_seq` of this client the server has accepted (0 if none).
        acked_client_seq: u64,
        read_only: bool,
        /// The largest frame the server takes; a bigger push would close the connection, so
        /// the client rejects such a change set itself.
        max_frame_bytes: u64,
        /// This client's public id: its pushes carry it in `LogEntry::client_id`.
        client_id: u128,
    },
    /// Fatal for the connection: the server closes it after sending this.
    Error {
        code: ErrorKind,
        message: String,
    },
    Ack {
        client_seq: u64,
        server_seq: u64,
    },
    Reject {
        client_seq: u64,
        reason: String,
    },
    /// Log entries in server order: catch-up pages and live broadcast alike.
    Changes {
        entries: Vec<LogEntry>,
        more: bool,
    },
    Pong {
        nonce: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorKind {
    Protocol,
    Unauthorized,
    ReadOnly,
    TooManyConnections,
    RateLimited,
    Internal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    pub seq: u64,
    /// The pushing client's public id (see `Hello::client_secret`).
    pub client_id: u128,
    pub client_seq: u64,
    pub change_set: Vec<u8>,
    /// The pushing client's `Push::seen`; `u64::MAX` for entries logged before it existed.
    pub seen: u64,
}

#[derive(Debug, thiserror::Error)]
#[error("malformed protocol message: {0}")]
pub struct MessageError(String);

pub fn encode_message<T: Serialize>(message: &T) -> Vec<u8> {
    // Serialising these plain types into a Vec cannot fail.
    postcard::to_allocvec(message).unwrap_or_default()
}

pub fn decode_message<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, MessageError> {
    postcard::from_bytes(bytes).map_err(|e| MessageError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_garbage_is_an_error() {
        let hello = ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            database: "notes".into(),
            client_secret: u128::MAX - 5,
            token: "t".into(),
            last_seen_seq: 42,
        };
        let bytes = encode_message(&hello);
        assert_eq!(decode_message::<ClientMessage>(&bytes).unwrap(), hello);
        let changes = ServerMessage::Changes {
            entries: vec![LogEntry {
                seq: 1,
                client_id: 2,
                client_seq: 3,
                change_set: vec![1, 2, 3],
                seen: 0,
            }],
            more: false,
        };
        assert_eq!(
            decode_message::<ServerMessage>(&encode_message(&changes)).unwrap(),
            changes
        );
        for cut in 0..bytes.len() {
            assert!(decode_message::<ClientMessage>(&bytes[..cut]).is_err());
        }
        assert!(decode_message::<ClientMessage>(&[0xff, 0xff, 0xff]).is_err());
    }
}
