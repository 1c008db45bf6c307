//! Building reply values: fixed texts and texts that carry client bytes.

use crate::reply::{Reply, ReplyCode};

pub(super) fn reply(code: ReplyCode, text: &'static str) -> Reply {
    Reply::from_static(code, text)
}

/// Builds a reply from text that may hold client bytes; line ends are cut out so the reply
/// stays one line.
pub(super) fn reply_owned(code: ReplyCode, text: Vec<u8>) -> Reply {
    let clean: Vec<u8> = text
        .into_iter()
        .filter(|&b| b != b'\r' && b != b'\n')
        .collect();
    Reply::new(code, clean).unwrap_or_else(|_| Reply::from_static(code, ""))
}
