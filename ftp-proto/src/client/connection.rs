//! [`ClientConnection`]: a client session with its reply decoder, bytes in and bytes out.

use std::collections::VecDeque;

use bytes::BytesMut;

use super::{ClientSession, Progress};
use crate::reply::{ReplyDecoder, ReplyDecoderConfig, ReplyError};

/// A [`ClientSession`] with its reply decoder: bytes in, commands (as bytes) and progress out.
#[derive(Debug)]
pub struct ClientConnection {
    decoder: ReplyDecoder,
    session: ClientSession,
    progress: VecDeque<Progress>,
}

impl Default for ClientConnection {
    fn default() -> Self {
        Self::new(ReplyDecoderConfig::default())
    }
}

impl ClientConnection {
    /// A connection with the given reply limits.
    pub fn new(config: ReplyDecoderConfig) -> Self {
        Self {
            decoder: ReplyDecoder::new(config),
            session: ClientSession::new(),
            progress: VecDeque::new(),
        }
    }

    /// Decodes every whole reply at the front of `input` and feeds it to the session. A reply
    /// that cannot be decoded is an error for the caller: the conversation cannot be trusted to
    /// stay in step after it.
    pub fn handle_input(&mut self, input: &mut BytesMut) -> Result<(), ReplyError> {
        while let Some(reply) = self.decoder.decode(input) {
            let progress = self.session.handle_reply(reply?);
            self.progress.push_back(progress);
        }
        Ok(())
    }

    /// The server closed the connection: an unfinished reply is an error.
    pub fn handle_eof(&mut self, input: &mut BytesMut) -> Result<(), ReplyError> {
        self.handle_input(input)?;
        match self.decoder.decode_eof(input) {
            Some(Err(e)) => Err(e),
            Some(Ok(reply)) => {
                let progress = self.session.handle_reply(reply);
                self.progress.push_back(progress);
                Ok(())
            }
            None => Ok(()),
        }
    }

    /// Takes what the next decoded reply did.
    pub fn poll_progress(&mut self) -> Option<Progress> {
        self.progress.pop_front()
    }

    /// Appends every command ready to send, in wire form, to `out`. Returns whether anything
    /// was written.
    pub fn poll_transmit(&mut self, out: &mut BytesMut) -> bool {
        let mut wrote = false;
        while let Some(cmd) = self.session.poll_command() {
            cmd.encode(out);
            wrote = true;
        }
        wrote
    }

    /// The session, to queue operations.
    pub fn session(&mut self) -> &mut ClientSession {
        &mut self.session
    }

    /// The session, to look at.
    pub fn session_ref(&self) -> &ClientSession {
        &self.session
    }
}
