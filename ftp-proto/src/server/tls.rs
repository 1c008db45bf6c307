//! RFC 4217 security commands: AUTH, PBSZ, PROT.

use super::texts::reply;
use super::{Action, ServerSession};
use crate::arg::Arg;
use crate::command::ProtectionLevel;
use crate::reply::ReplyCode;

impl ServerSession {
    pub(super) fn auth(&mut self, mech: Arg) {
        if !self.config.features.tls {
            return self.answer(reply(ReplyCode::NOT_IMPLEMENTED, "AUTH not supported."));
        }
        if self.control_tls {
            return self.answer(reply(ReplyCode::BAD_SEQUENCE, "Already using TLS."));
        }
        // RFC 4217 §4: "TLS", and "SSL" which older clients still send, as TLS.
        let m = mech.as_bytes();
        if ["TLS", "TLS-C", "SSL", "TLS-P"]
            .iter()
            .any(|x| m.eq_ignore_ascii_case(x.as_bytes()))
        {
            self.control_tls = true;
            self.answer(reply(ReplyCode::AUTH_OK, "AUTH TLS successful."));
            self.actions.push_back(Action::UpgradeTls);
        } else {
            self.answer(reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Unsupported AUTH mechanism.",
            ));
        }
    }

    pub(super) fn pbsz(&mut self) {
        if !self.config.features.tls {
            self.answer(reply(ReplyCode::NOT_IMPLEMENTED, "PBSZ not supported."));
        } else if !self.control_tls {
            self.answer(reply(ReplyCode::BAD_SEQUENCE, "PBSZ requires AUTH first."));
        } else {
            // RFC 4217 §9: for TLS the buffer size is always 0.
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
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Only PROT C and P are supported.",
            )),
        }
    }
}
