//! [`ServerConnection`]: a session with its line decoder, bytes in and bytes out.

use std::sync::Arc;
use std::time::Instant;

use bytes::BytesMut;

use super::{
    Action, ActionId, ConnectionInfo, Outcome, Pending, ServerConfig, ServerSession,
    UnexpectedOutcome,
};
use crate::command::{Command, ParseError};
use crate::framing::LineDecoder;

/// A [`ServerSession`](super::ServerSession) with its line decoder: bytes in, bytes and actions out.
#[derive(Debug)]
pub struct ServerConnection {
    decoder: LineDecoder,
    session: ServerSession,
}

impl ServerConnection {
    /// A connection with the given session settings and line limit.
    pub fn new(
        config: impl Into<Arc<ServerConfig>>,
        info: ConnectionInfo,
        max_line_len: usize,
        now: Instant,
    ) -> Self {
        Self::with_session(ServerSession::new(config, info, now), max_line_len)
    }

    /// A connection from a banned address: see [`ServerSession::banned`].
    pub fn banned(
        config: impl Into<Arc<ServerConfig>>,
        info: ConnectionInfo,
        max_line_len: usize,
        now: Instant,
    ) -> Self {
        Self::with_session(ServerSession::banned(config, info, now), max_line_len)
    }

    /// A connection over the server's limits: see [`ServerSession::over_limit`].
    pub fn over_limit(
        config: impl Into<Arc<ServerConfig>>,
        info: ConnectionInfo,
        max_line_len: usize,
        now: Instant,
    ) -> Self {
        Self::with_session(ServerSession::over_limit(config, info, now), max_line_len)
    }

    fn with_session(session: ServerSession, max_line_len: usize) -> Self {
        Self {
            decoder: LineDecoder::new(max_line_len),
            session,
        }
    }

    /// Decodes and feeds commands from the front of `input` while the session wants them.
    /// Bytes not yet consumed stay in `input`.
    pub fn handle_input(&mut self, input: &mut BytesMut) {
        self.handle_input_with(input, |_| {});
    }

    /// Like [`handle_input`](Self::handle_input), showing each parsed command (or parse error)
    /// to `inspect` before the session takes it: for logs. `Command`'s `Display` redacts
    /// passwords.
    pub fn handle_input_with(
        &mut self,
        input: &mut BytesMut,
        mut inspect: impl FnMut(&Result<Command<'_>, ParseError>),
    ) {
        while self.session.wants_read() {
            match self.decoder.decode(input) {
                None => break,
                Some(Ok(line)) => {
                    let parsed = Command::parse_owned(line);
                    inspect(&parsed);
                    match parsed {
                        Ok(cmd) => self.session.handle_command(cmd),
                        Err(e) => self.session.handle_parse_error(e),
                    }
                }
                Some(Err(e)) => self.session.handle_decode_error(e),
            }
        }
    }

    /// The control connection reached end of input: what is left of a line is dropped and the
    /// session closes (no reply can be read any more).
    pub fn handle_eof(&mut self, input: &mut BytesMut) {
        self.handle_input(input);
        input.clear();
        if !self.session.closed {
            self.session.closed = true;
            self.session.clear_queue();
            if let Some((id, Pending::Transfer(_))) = &self.session.pending {
                let id = *id;
                self.session.actions.push_back(Action::Abort { id });
            }
            self.session.actions.push_back(Action::Close);
        }
    }

    /// Appends every queued reply, in wire form, to `out`. Returns whether anything was written.
    pub fn poll_transmit(&mut self, out: &mut BytesMut) -> bool {
        self.poll_transmit_with(out, |_| {})
    }

    /// Like [`poll_transmit`](Self::poll_transmit), showing each reply to `inspect` first: for
    /// logs (`Reply`'s `Display` escapes control characters).
    pub fn poll_transmit_with(
        &mut self,
        out: &mut BytesMut,
        mut inspect: impl FnMut(&crate::Reply),
    ) -> bool {
        let mut wrote = false;
        while let Some(r) = self.session.poll_reply() {
            inspect(&r);
            r.encode(out);
            wrote = true;
        }
        wrote
    }

    /// See [`ServerSession::poll_action`](super::ServerSession::poll_action).
    pub fn poll_action(&mut self) -> Option<Action> {
        self.session.poll_action()
    }

    /// See [`ServerSession::handle_outcome`](super::ServerSession::handle_outcome).
    pub fn handle_outcome(
        &mut self,
        id: ActionId,
        outcome: Outcome,
    ) -> Result<(), UnexpectedOutcome> {
        self.session.handle_outcome(id, outcome)
    }

    /// See [`ServerSession::poll_timeout`](super::ServerSession::poll_timeout).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.session.poll_timeout()
    }

    /// See [`ServerSession::handle_timeout`](super::ServerSession::handle_timeout).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.session.handle_timeout(now);
    }

    /// See [`ServerSession::handle_write`](super::ServerSession::handle_write).
    pub fn handle_write(&mut self, written: usize, unsent: usize) {
        self.session.handle_write(written, unsent);
    }

    /// See [`ServerSession::is_abandoned`](super::ServerSession::is_abandoned).
    pub fn is_abandoned(&self) -> bool {
        self.session.is_abandoned()
    }

    /// See [`ServerSession::wants_read`](super::ServerSession::wants_read).
    pub fn wants_read(&self) -> bool {
        self.session.wants_read()
    }

    /// The session.
    pub fn session(&self) -> &ServerSession {
        &self.session
    }

    /// The session, mutably (for timeouts and shutdown).
    pub fn session_mut(&mut self) -> &mut ServerSession {
        &mut self.session
    }
}
