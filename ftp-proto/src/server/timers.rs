//! Time: every deadline of a session lives here, as quinn-proto keeps its timers. The driver
//! reads the clock and passes it in ([`ServerSession::handle_timeout`]); it sleeps until
//! [`ServerSession::poll_timeout`] and knows no duration of its own.
//!
//! The deadlines: the login deadline (from the session's start until a login succeeds); the
//! idle timeout (from the last complete command or the end of the last transfer, while nothing
//! is in flight: bytes of an unfinished line do not count); the failed-login delay (a refused
//! login is answered when it ends); the data connection of a transfer (from its `150` until it
//! opens); a stalled transfer (no data moved); the TLS handshake after `234`; and replies the client does not read (no byte
//! of them written for the idle timeout).

use std::time::Instant;

use super::texts::reply;
use super::{AbortBy, Action, Pending, Phase, ServerSession};
use crate::reply::ReplyCode;

/// The session's deadlines as they stand: one computation for both
/// [`ServerSession::poll_timeout`] and [`ServerSession::handle_timeout`].
#[derive(Default)]
struct Deadlines {
    /// Replies nobody reads.
    unread: Option<Instant>,
    /// No login yet.
    login: Option<Instant>,
    /// Nothing in flight, no command.
    idle: Option<Instant>,
    /// The 530 of a refused login.
    login_delay: Option<Instant>,
    /// The data connection of the running transfer.
    data: Option<Instant>,
    /// The running transfer's data stopped.
    stall: Option<Instant>,
    /// The control connection's TLS handshake.
    handshake: Option<Instant>,
}

impl Deadlines {
    fn earliest(&self) -> Option<Instant> {
        [
            self.unread,
            self.login,
            self.idle,
            self.login_delay,
            self.data,
            self.stall,
            self.handshake,
        ]
        .into_iter()
        .flatten()
        .min()
    }
}

impl ServerSession {
    /// The next moment the session needs [`handle_timeout`](Self::handle_timeout) called, if
    /// any. Changes after every `handle_*` call: ask again before each wait.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.deadlines().earliest()
    }

    /// Time has passed: `now` is the time. Call it whenever the driver wakes (before feeding
    /// what woke it), and at least at each [`poll_timeout`](Self::poll_timeout): what is due
    /// happens (`421` and close for the login deadline and the idle timeout; the refused
    /// login's `530`; an abort for a transfer whose data connection did not open or whose data
    /// stopped), and later events are stamped with `now`. Time never runs backwards: an
    /// earlier `now` than before is taken as the same moment.
    pub fn handle_timeout(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
        let now = self.now;
        let due = self.deadlines();
        let passed = |deadline: Option<Instant>| deadline.is_some_and(|at| now >= at);
        if passed(due.unread) {
            return self.abandon();
        }
        if passed(due.handshake) {
            // Nothing can be said: the client is in the middle of a TLS handshake.
            self.replies.clear();
            self.clear_queue();
            self.closed = true;
            self.actions.push_back(Action::Close);
            return;
        }
        if passed(due.login) {
            return self.close_with(reply(
                ReplyCode::SERVICE_NOT_AVAILABLE,
                "Login timeout: closing control connection.",
            ));
        }
        if passed(due.idle) {
            return self.close_with(reply(
                ReplyCode::SERVICE_NOT_AVAILABLE,
                "Timeout: closing control connection.",
            ));
        }
        if passed(due.login_delay) {
            self.pending = None;
            self.login_rejected();
            return self.run_queued();
        }
        let abort = if passed(due.data) {
            AbortBy::DataTimeout
        } else if passed(due.stall) {
            AbortBy::Stalled
        } else {
            return;
        };
        if let Some((id, Pending::Transfer(run))) = &mut self.pending {
            run.abort = Some(abort);
            let id = *id;
            self.actions.push_back(Action::Abort { id });
        }
    }

    fn deadlines(&self) -> Deadlines {
        let unread = self
            .output_blocked
            .map(|since| since + self.config.idle_timeout);
        if self.closed {
            // Only the replies still to send matter once closed.
            return Deadlines {
                unread: unread.filter(|_| !self.abandoned),
                ..Deadlines::default()
            };
        }
        let logged_in = matches!(self.phase, Phase::LoggedIn { .. });
        let mut due = Deadlines {
            unread,
            login: (!logged_in).then(|| self.started_at + self.config.login_timeout),
            ..Deadlines::default()
        };
        match &self.pending {
            None => due.idle = Some(self.last_command + self.config.idle_timeout),
            Some((_, Pending::LoginDelay(until))) => due.login_delay = Some(*until),
            Some((_, Pending::TlsHandshake(until))) => due.handshake = Some(*until),
            // One abort is enough: an aborted transfer has no deadline left.
            Some((_, Pending::Transfer(run))) if run.abort.is_none() => {
                due.data = run
                    .data_wait
                    .map(|since| since + self.config.data_connect_timeout);
                due.stall = run
                    .last_progress
                    .map(|at| at + self.config.data_stall_timeout);
            }
            Some(_) => {}
        }
        due
    }

    /// The driver wrote to the control connection: `written` bytes of the replies went out
    /// and `unsent` wait. Replies that make no progress for the idle timeout mean a client
    /// that does not read them: the session is then [abandoned](Self::is_abandoned).
    pub fn handle_write(&mut self, written: usize, unsent: usize) {
        if unsent == 0 {
            self.output_blocked = None;
        } else if written > 0 || self.output_blocked.is_none() {
            self.output_blocked = Some(self.now);
        }
    }

    /// Whether the client stopped reading its replies for the idle timeout: the driver drops
    /// the connection at once, without sending what is left.
    pub fn is_abandoned(&self) -> bool {
        self.abandoned
    }

    fn abandon(&mut self) {
        if self.abandoned {
            return;
        }
        self.abandoned = true;
        self.replies.clear();
        self.clear_queue();
        if let Some((id, Pending::Transfer(run))) = &mut self.pending {
            if run.abort.is_none() {
                run.abort = Some(AbortBy::Closing);
                let id = *id;
                self.actions.push_back(Action::Abort { id });
            }
        }
        if !self.closed {
            self.closed = true;
            self.actions.push_back(Action::Close);
        }
    }
}
