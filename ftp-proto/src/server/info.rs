//! Informational commands: FEAT, HELP, OPTS, LANG and STAT without a path.

use bytes::{Bytes, BytesMut};

use super::texts::{reply, reply_owned};
use super::{DataChannel, Representation, ServerSession};
use crate::arg::Arg;
use crate::feat::feat_reply;
use crate::listing::FactSet;
use crate::reply::{Reply, ReplyCode};

impl ServerSession {
    pub(super) fn feat(&mut self) {
        let reply = feat_reply(self.config.features, self.mlst_facts, self.hash_algorithm);
        self.answer(reply);
    }

    /// The verbs this session answers (other than with `502`), in `HELP`'s order.
    pub(super) fn implemented_verbs(&self) -> Vec<&'static str> {
        let f = self.config.features;
        let mlst = !f.mlst.is_empty();
        [
            ("ABOR", true),
            ("ACCT", true),
            ("ALLO", true),
            ("APPE", true),
            ("AUTH", f.tls),
            ("CDUP", true),
            ("CWD", true),
            ("DELE", true),
            ("EPRT", true),
            ("EPSV", true),
            ("FEAT", true),
            ("HASH", f.hash),
            ("HELP", true),
            ("HOST", true),
            ("LANG", true),
            ("LIST", true),
            ("MDTM", f.mdtm),
            ("MFMT", f.mfmt),
            ("MKD", true),
            ("MLSD", mlst),
            ("MLST", mlst),
            ("MODE", true),
            ("NLST", true),
            ("NOOP", true),
            ("OPTS", true),
            ("PASS", true),
            ("PASV", true),
            ("PBSZ", f.tls),
            ("PORT", true),
            ("PROT", f.tls),
            ("PWD", true),
            ("QUIT", true),
            ("RANG", f.hash),
            ("REIN", true),
            ("REST", true),
            ("RETR", true),
            ("RMD", true),
            ("RNFR", true),
            ("RNTO", true),
            ("SIZE", f.size),
            ("STAT", true),
            ("STOR", true),
            ("STOU", true),
            ("STRU", true),
            ("SYST", true),
            ("TYPE", true),
            ("USER", true),
            ("XCRC", f.hash),
            ("XCUP", true),
            ("XCWD", true),
            ("XMD5", f.hash),
            ("XMKD", true),
            ("XPWD", true),
            ("XRMD", true),
            ("XSHA1", f.hash),
            ("XSHA256", f.hash),
            ("XSHA512", f.hash),
        ]
        .into_iter()
        .filter_map(|(verb, on)| on.then_some(verb))
        .collect()
    }

    pub(super) fn help(&mut self, topic: Option<Arg<'static>>) {
        // CCC, SMNT and SITE are always answered 502, AUTH, PBSZ and PROT without TLS, and the
        // extensions the back-end lacks: HELP lists none of them.
        let verbs = self.implemented_verbs();
        match topic {
            None => {
                let rows = verbs.chunks(14).map(|row| {
                    let mut line = String::new();
                    for verb in row {
                        line.push_str(&format!(" {verb:<4}"));
                    }
                    Bytes::from(line.trim_end().to_owned())
                });
                let lines = std::iter::once(Bytes::from_static(
                    b"The following commands are recognized.",
                ))
                .chain(rows)
                .chain(std::iter::once(Bytes::from_static(b"Help OK.")));
                if let Ok(r) = Reply::multiline(ReplyCode::HELP, lines) {
                    self.answer(r);
                }
            }
            Some(topic) => {
                let known = verbs
                    .iter()
                    .any(|v| v.as_bytes().eq_ignore_ascii_case(topic.as_bytes()));
                if known {
                    let mut text = b"Syntax: ".to_vec();
                    text.extend(topic.as_bytes().iter().map(u8::to_ascii_uppercase));
                    text.extend_from_slice(b" (see RFC 959 and its extensions)");
                    self.answer(reply_owned(ReplyCode::HELP, text));
                } else {
                    self.answer(reply(ReplyCode::NOT_IMPLEMENTED, "Unknown command."));
                }
            }
        }
    }

    pub(super) fn opts(&mut self, opts: crate::command::Opts<'static>) {
        let name = opts.name.as_bytes();
        let value = opts.value.as_ref().map(Arg::as_bytes).unwrap_or_default();
        if name.eq_ignore_ascii_case(b"UTF8") || name.eq_ignore_ascii_case(b"UTF-8") {
            // Paths are passed through as bytes either way; clients such as FileZilla and
            // Windows Explorer only look for the 200.
            if value.eq_ignore_ascii_case(b"ON") || value.is_empty() {
                self.utf8 = true;
                self.answer(reply(ReplyCode::OK, "UTF8 mode enabled."));
            } else if value.eq_ignore_ascii_case(b"OFF") {
                self.utf8 = false;
                self.answer(reply(ReplyCode::OK, "UTF8 mode disabled."));
            } else {
                self.answer(reply(
                    ReplyCode::PARAMETER_SYNTAX_ERROR,
                    "Use OPTS UTF8 ON or OFF.",
                ));
            }
        } else if name.eq_ignore_ascii_case(b"HASH") && self.config.features.hash {
            self.opts_hash(value.trim_ascii());
        } else if name.eq_ignore_ascii_case(b"MLST") && !self.config.features.mlst.is_empty() {
            // RFC 3659 §7.9: unknown facts are ignored; the reply lists the facts now in use.
            self.mlst_facts = FactSet::parse_opts(value).intersection(self.config.features.mlst);
            let mut text = BytesMut::from(&b"MLST OPTS "[..]);
            self.mlst_facts.write_opts(&mut text);
            self.answer(reply_owned(ReplyCode::OK, text.to_vec()));
        } else {
            self.answer(reply(
                ReplyCode::PARAMETER_SYNTAX_ERROR,
                "Option not understood.",
            ));
        }
    }

    pub(super) fn lang(&mut self, tag: Option<Arg<'static>>) {
        // RFC 2640 §4.1: only English is offered; no tag means the default.
        let english = tag.as_ref().is_none_or(|t| {
            let t = t.as_bytes();
            t.eq_ignore_ascii_case(b"EN")
                || t.get(..3).is_some_and(|p| p.eq_ignore_ascii_case(b"EN-"))
        });
        if english {
            self.answer(reply(ReplyCode::OK, "Using language EN."));
        } else {
            self.answer(reply(
                ReplyCode::PARAMETER_NOT_IMPLEMENTED,
                "Unsupported language.",
            ));
        }
    }

    pub(super) fn status(&mut self) {
        let mut lines: Vec<Vec<u8>> = vec![b"FTP server status:".to_vec()];
        lines.push(format!("     Connected to {}", self.info.peer.ip()).into_bytes());
        if let Some(user) = self.user() {
            let mut l = b"     Logged in as ".to_vec();
            l.extend_from_slice(user.as_bytes());
            lines.push(l);
        }
        let t = match self.representation {
            Representation::Ascii => "ASCII",
            Representation::Binary => "BINARY",
        };
        lines.push(format!("     TYPE: {t}; STRUcture: File; MODE: Stream").into_bytes());
        let data = match self.data {
            DataChannel::None => "No data connection",
            DataChannel::Passive => "Passive listener open",
            DataChannel::Active(_) => "Active mode address set",
        };
        lines.push(format!("     {data}").into_bytes());
        lines.push(
            format!(
                "     Control connection is {}",
                if self.control_tls {
                    "TLS"
                } else {
                    "plain text"
                }
            )
            .into_bytes(),
        );
        lines.push(b"End of status".to_vec());
        let lines = lines.into_iter().map(|l| {
            l.into_iter()
                .filter(|&b| b != b'\r' && b != b'\n')
                .collect::<Vec<u8>>()
        });
        if let Ok(r) = Reply::multiline(ReplyCode::SYSTEM_STATUS, lines) {
            self.answer(r);
        }
    }
}
