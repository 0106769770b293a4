//! Fuzzes what the server decodes from the network: client frames and the change sets they
//! carry, and the server frames a client decodes. Any input must decode or fail, never panic.
#![no_main]

use {
    idbsql::protocol::{
        decode_change_set,
        messages::{ClientMessage, ServerMessage, decode_message},
    },
    libfuzzer_sys::fuzz_target,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(ClientMessage::Push { change_set, .. }) = decode_message::<ClientMessage>(data) {
        let _ = decode_change_set(&change_set);
    }
    let _ = decode_message::<ServerMessage>(data);
    let _ = decode_change_set(data);
});
