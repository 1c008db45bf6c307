//! The login: USER, PASS, ACCT, HOST and REIN.

use std::sync::Arc;

use super::texts::reply;
use super::tls::LoginTls;
use super::{Action, FailureKind, Outcome, Pending, Phase, ServerSession};
use crate::arg::{Arg, Secret};
use crate::path::VirtualPath;
use crate::reply::ReplyCode;

impl ServerSession {
    pub(super) fn user_cmd(&mut self, user: Arg<'static>) {
        if let LoginTls::Refused(text) = self.user_tls(&user) {
            return self.answer(reply(ReplyCode::NOT_LOGGED_IN, text));
        }
        // USER at any time starts a new login (RFC 959 §4.1.1 allows a change of user).
        self.phase = Phase::AwaitingPass { user };
        self.answer(reply(
            ReplyCode::NEED_PASSWORD,
            "Please specify the password.",
        ));
    }

    pub(super) fn pass_cmd(&mut self, password: Secret<Arg<'static>>) {
        match &self.phase {
            Phase::AwaitingPass { user } => {
                let user = user.clone();
                let host = self.host.clone();
                self.start(Pending::Login, |id| Action::Authenticate {
                    id,
                    user,
                    password,
                    host,
                });
            }
            Phase::LoggedIn { .. } => {
                self.answer(reply(ReplyCode::SUPERFLUOUS, "Already logged in."))
            }
            _ => self.answer(reply(ReplyCode::BAD_SEQUENCE, "Login with USER first.")),
        }
    }

    pub(super) fn acct_cmd(&mut self, account: Secret<Arg<'static>>) {
        match &self.phase {
            Phase::AwaitingAccount { user } => {
                let user = user.clone();
                self.start(Pending::Login, |id| Action::Account { id, user, account });
            }
            Phase::LoggedIn { .. } => {
                self.answer(reply(ReplyCode::SUPERFLUOUS, "ACCT not needed."))
            }
            _ => self.answer(reply(
                ReplyCode::BAD_SEQUENCE,
                "Login with USER and PASS first.",
            )),
        }
    }

    pub(super) fn rein(&mut self) {
        // RFC 2228 §3 has REIN reset the security state too, which for TLS means going back
        // to plain text (see CCC): refused while TLS protects the control connection, as
        // RFC 2228 lets a server refuse what it does not support. A new login over TLS needs
        // no REIN: USER starts one at any time.
        if self.control_tls {
            return self.answer(reply(
                ReplyCode::NOT_IMPLEMENTED,
                "REIN not available while TLS protects the control connection; send USER to log in again.",
            ));
        }
        self.forget_data_channel();
        let fresh = Self::new(Arc::clone(&self.config), self.info, self.now);
        // Keep what REIN does not reset: the id counter (ids stay unique).
        // The login deadline does not start again: REIN cannot buy time before a login.
        let (next_id, failures, started_at, blocked) = (
            self.next_id,
            self.login_failures,
            self.started_at,
            self.output_blocked,
        );
        let replies = std::mem::take(&mut self.replies);
        let actions = std::mem::take(&mut self.actions);
        *self = fresh;
        self.next_id = next_id;
        self.login_failures = failures;
        self.started_at = started_at;
        self.output_blocked = blocked;
        self.replies = replies;
        self.actions = actions;
        self.answer(reply(
            ReplyCode::SERVICE_READY,
            "Service ready for new user.",
        ));
    }

    pub(super) fn host_cmd(&mut self, host: Arg<'static>) {
        // RFC 7151 §3: HOST comes before USER; afterwards it is a bad sequence.
        if matches!(self.phase, Phase::AwaitingUser) {
            self.host = Some(host);
            self.answer(reply(ReplyCode::SERVICE_READY, "Host accepted."));
        } else {
            self.answer(reply(
                ReplyCode::BAD_SEQUENCE,
                "HOST must come before USER.",
            ));
        }
    }

    pub(super) fn login_rejected(&mut self) {
        self.phase = Phase::AwaitingUser;
        self.login_failures += 1;
        self.answer(reply(ReplyCode::NOT_LOGGED_IN, "Login incorrect."));
        if self.login_failures >= self.config.max_login_failures {
            self.close_with(reply(
                ReplyCode::SERVICE_NOT_AVAILABLE,
                "Too many failed logins.",
            ));
        }
    }

    /// The authenticator's verdict on the login in flight.
    pub(super) fn login_outcome(&mut self, outcome: Outcome) {
        match outcome {
            Outcome::LoggedIn(access) => {
                if let LoginTls::Refused(text) = self.login_tls(&access) {
                    self.phase = Phase::AwaitingUser;
                    return self.answer(reply(ReplyCode::NOT_LOGGED_IN, text));
                }
                let user = match std::mem::replace(&mut self.phase, Phase::AwaitingUser) {
                    Phase::AwaitingPass { user }
                    | Phase::AwaitingAccount { user }
                    | Phase::LoggedIn { user, .. } => user,
                    Phase::AwaitingUser => Arg::default(),
                };
                self.phase = Phase::LoggedIn { user, access };
                self.login_failures = 0;
                self.cwd = VirtualPath::root();
                self.answer(reply(ReplyCode::LOGGED_IN, "Login successful."));
            }
            Outcome::NeedAccount => {
                if let Phase::AwaitingPass { user } =
                    std::mem::replace(&mut self.phase, Phase::AwaitingUser)
                {
                    self.phase = Phase::AwaitingAccount { user };
                    self.answer(reply(ReplyCode::NEED_ACCOUNT, "Need account for login."));
                } else {
                    self.login_refused();
                }
            }
            // The authenticator had no room for this login (its hashing queue is full): no
            // failed login, but no service either.
            Outcome::Failed(FailureKind::Busy) => self.close_with(reply(
                ReplyCode::SERVICE_NOT_AVAILABLE,
                "Too many logins at once; try again later.",
            )),
            Outcome::Failed(kind @ FailureKind::TooManySessions) => {
                self.close_with(reply(kind.reply_code(), kind.text()))
            }
            _ => self.login_refused(),
        }
    }

    /// A refused login is answered after the failed-login delay, against password guessing;
    /// meanwhile nothing else is read (the next command waits behind the 530).
    fn login_refused(&mut self) {
        let delay = self.config.failed_login_delay;
        if delay.is_zero() {
            return self.login_rejected();
        }
        let id = self.next_id();
        self.pending = Some((id, Pending::LoginDelay(self.now + delay)));
    }
}
