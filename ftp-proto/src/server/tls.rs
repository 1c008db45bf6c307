//! RFC 4217 security commands: AUTH, PBSZ, PROT, CCC, and the TLS policies.

use super::config::{ControlTls, DataTls};
use super::texts::reply;
use super::{Action, Outcome, Pending, ServerSession};
use crate::arg::Arg;
use crate::command::ProtectionLevel;
use crate::reply::ReplyCode;

/// What a TLS policy says of a login.
pub(super) enum LoginTls {
    Allowed,
    Refused(&'static str),
}

impl ServerSession {
    /// The control connection is already secured: implicit FTPS (the driver ran the handshake
    /// before the greeting went out). `AUTH` then gets `503`, as after an `AUTH TLS`.
    pub fn set_implicit_tls(&mut self) {
        self.control_tls = true;
    }

    /// Whether the control connection is secured by TLS.
    pub fn is_control_tls(&self) -> bool {
        self.control_tls
    }

    /// Whether data connections are to use TLS (`PROT P`).
    pub fn is_data_protected(&self) -> bool {
        self.protected
    }

    pub(super) fn auth(&mut self, mech: Arg<'static>) {
        if !self.config.features.tls {
            return self.answer(reply(ReplyCode::NOT_IMPLEMENTED, "AUTH not supported."));
        }
        if self.control_tls {
            return self.answer(reply(ReplyCode::BAD_SEQUENCE, "Already using TLS."));
        }
        // RFC 4217 §4: "TLS", and "SSL" which older clients still send, as TLS ("TLS-C" is
        // the draft's name for it). "TLS-P" of the drafts also set PROT P: clients that send
        // it get PROT P, as ProFTPD and vsftpd do.
        let m = mech.as_bytes();
        let is = |name: &str| m.eq_ignore_ascii_case(name.as_bytes());
        if !(is("TLS") || is("TLS-C") || is("SSL") || is("TLS-P")) {
            return self.answer(reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Unsupported AUTH mechanism.",
            ));
        }
        self.answer(reply(ReplyCode::AUTH_OK, "AUTH TLS successful."));
        if is("TLS-P") {
            self.pbsz = true;
            self.protected = true;
        }
        let until = self.now + self.config.tls_handshake_timeout;
        self.start(Pending::TlsHandshake(until), |id| Action::UpgradeTls { id });
    }

    /// The driver's word on the control connection's handshake.
    pub(super) fn tls_outcome(&mut self, outcome: Outcome) {
        if matches!(outcome, Outcome::Done) {
            self.control_tls = true;
        } else {
            // The client is in a TLS handshake: a plain reply would only garble it.
            self.replies.clear();
            self.clear_queue();
            self.closed = true;
            self.actions.push_back(Action::Close);
        }
    }

    pub(super) fn pbsz(&mut self) {
        if !self.config.features.tls {
            self.answer(reply(ReplyCode::NOT_IMPLEMENTED, "PBSZ not supported."));
        } else if !self.control_tls {
            self.answer(reply(ReplyCode::BAD_SEQUENCE, "PBSZ requires AUTH first."));
        } else {
            // RFC 4217 §9: for TLS the buffer size is always 0, whatever was asked.
            self.pbsz = true;
            self.answer(reply(ReplyCode::OK, "PBSZ=0"));
        }
    }

    pub(super) fn prot(&mut self, level: ProtectionLevel) {
        if !self.config.features.tls {
            return self.answer(reply(ReplyCode::NOT_IMPLEMENTED, "PROT not supported."));
        }
        if !self.pbsz {
            return self.answer(reply(ReplyCode::BAD_SEQUENCE, "PROT requires PBSZ first."));
        }
        match level {
            ProtectionLevel::Clear if self.data_tls_required() => self.answer(reply(
                ReplyCode::DENIED_FOR_POLICY,
                "PROT C refused: data connections must be protected (PROT P).",
            )),
            ProtectionLevel::Clear => {
                self.protected = false;
                self.answer(reply(ReplyCode::OK, "Protection level set to C."));
            }
            ProtectionLevel::Private => {
                self.protected = true;
                self.answer(reply(ReplyCode::OK, "Protection level set to P."));
            }
            // RFC 4217 §9: S and E are not meaningful with TLS.
            _ => self.answer(reply(
                ReplyCode::PROT_NOT_SUPPORTED,
                "Only PROT C and P are supported.",
            )),
        }
    }

    /// `CCC` (RFC 4217 §12.3): refused. Going back to plain text mid-session needs the TLS
    /// layer's close_notify in both directions and then plain bytes on the same socket; it
    /// exists for NAT devices that must read PORT commands, and it lets anyone on the path
    /// rewrite the rest of the session. The honest answer is a refusal, with the reason.
    pub(super) fn ccc(&mut self) {
        if !self.config.features.tls {
            self.answer(reply(ReplyCode::NOT_IMPLEMENTED, "CCC not supported."));
        } else if !self.control_tls {
            self.answer(reply(
                ReplyCode::BAD_SEQUENCE,
                "CCC requires a protected control connection.",
            ));
        } else {
            self.answer(reply(
                ReplyCode::DENIED_FOR_POLICY,
                "CCC refused: the control connection stays protected.",
            ));
        }
    }

    /// Whether the data must be protected, for the server's policy and the logged-in user's.
    pub(super) fn data_tls_required(&self) -> bool {
        self.config.features.tls
            && (self.config.data_tls == DataTls::Required
                || self.access().is_some_and(|a| a.require_protected_data))
    }

    /// The reply to a transfer that the protection policy refuses (`521`, RFC 4217 §9), if any.
    pub(super) fn refuse_unprotected_data(&mut self) -> bool {
        if self.protected || !self.data_tls_required() {
            return false;
        }
        self.answer(reply(
            ReplyCode::DATA_PROT_REFUSED,
            "Data connections must be protected: send PBSZ 0 and PROT P.",
        ));
        true
    }

    /// What the control-connection policy says of `USER name` (before the password is sent).
    pub(super) fn user_tls(&self, name: &Arg<'_>) -> LoginTls {
        if !self.config.features.tls || self.control_tls {
            return LoginTls::Allowed;
        }
        match self.config.control_tls {
            ControlTls::Required => LoginTls::Refused("TLS required: send AUTH TLS first."),
            ControlTls::PasswordLogins if !is_anonymous_name(name) => {
                LoginTls::Refused("TLS required for password logins: send AUTH TLS first.")
            }
            _ => LoginTls::Allowed,
        }
    }

    /// What the policies say of a login the authenticator accepted: a user whose own policy
    /// asks for TLS, or a password login that the server's policy sends over TLS but whose
    /// name passed for anonymous at `USER`, is refused on a plain connection.
    pub(super) fn login_tls(&self, access: &crate::access::UserAccess) -> LoginTls {
        if !self.config.features.tls || self.control_tls {
            return LoginTls::Allowed;
        }
        if access.require_tls {
            return LoginTls::Refused("TLS required for this user: send AUTH TLS first.");
        }
        if self.config.control_tls == ControlTls::PasswordLogins && !access.anonymous {
            return LoginTls::Refused("TLS required for password logins: send AUTH TLS first.");
        }
        LoginTls::Allowed
    }
}

/// The names anonymous FTP goes by (RFC 1635 §2).
fn is_anonymous_name(name: &Arg<'_>) -> bool {
    let n = name.as_bytes();
    n.eq_ignore_ascii_case(b"anonymous") || n.eq_ignore_ascii_case(b"ftp")
}
