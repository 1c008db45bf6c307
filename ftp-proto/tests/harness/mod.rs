//! The test harness of the server machine: a session driven by hand, with helpers that
//! answer its actions.

#![allow(dead_code)]

use std::time::Instant;

use ftp_proto::listing::{FileKind, Metadata};
use ftp_proto::server::FailureKind;
use ftp_proto::server::{AddressFamily, Transfer};
use ftp_proto::{
    Action, ActionId, Command, ConnectionInfo, Outcome, Permissions, Reply, ServerConfig,
    ServerSession, VirtualPath,
};

pub(crate) struct Harness {
    pub(crate) session: ServerSession,
    /// When the session began.
    pub(crate) t0: Instant,
}

impl Harness {
    pub(crate) fn new() -> Self {
        Self::with(ServerConfig::default(), "127.0.0.1:21", "127.0.0.1:40000")
    }

    pub(crate) fn with(config: ServerConfig, local: &str, peer: &str) -> Self {
        let info = ConnectionInfo {
            local: local.parse().unwrap(),
            peer: peer.parse().unwrap(),
        };
        let t0 = Instant::now();
        let mut h = Self {
            session: ServerSession::new(config, info, t0),
            t0,
        };
        assert_eq!(h.codes(), [220]);
        h
    }

    pub(crate) fn logged_in(permissions: Permissions) -> Self {
        let mut h = Self::new();
        h.login(permissions);
        h
    }

    pub(crate) fn login(&mut self, permissions: Permissions) {
        assert_eq!(self.cmd("USER bench"), [331]);
        assert_eq!(self.cmd("PASS bench"), Vec::<u16>::new());
        let Some(Action::Authenticate {
            id,
            user,
            password,
            host: None,
        }) = self.session.poll_action()
        else {
            panic!("expected Authenticate")
        };
        assert_eq!(
            (user.as_bytes(), password.expose_secret().as_bytes()),
            (&b"bench"[..], &b"bench"[..])
        );
        self.session
            .handle_outcome(id, Outcome::LoggedIn(permissions.into()))
            .unwrap();
        assert_eq!(self.codes(), [230]);
    }

    pub(crate) fn replies(&mut self) -> Vec<Reply> {
        std::iter::from_fn(|| self.session.poll_reply()).collect()
    }

    pub(crate) fn codes(&mut self) -> Vec<u16> {
        self.replies().iter().map(|r| r.code().as_u16()).collect()
    }

    /// Sends a line (parsed, or a parse error), returns the reply codes.
    pub(crate) fn cmd(&mut self, line: &str) -> Vec<u16> {
        match Command::parse_owned(line.to_owned()) {
            Ok(cmd) => self.session.handle_command(cmd),
            Err(e) => self.session.handle_parse_error(e),
        }
        self.codes()
    }

    pub(crate) fn action(&mut self) -> Action {
        self.session.poll_action().expect("an action")
    }

    pub(crate) fn no_action(&mut self) {
        assert_eq!(self.session.poll_action(), None);
    }

    /// Opens a passive listener through EPSV.
    pub(crate) fn epsv(&mut self) {
        assert_eq!(self.cmd("EPSV"), Vec::<u16>::new());
        let Action::OpenPassive {
            id,
            family: AddressFamily::V4,
            ..
        } = self.action()
        else {
            panic!()
        };
        self.session
            .handle_outcome(
                id,
                Outcome::PassiveListening("127.0.0.1:50000".parse().unwrap()),
            )
            .unwrap();
        let r = self.replies();
        assert_eq!(
            r[0].to_bytes().as_ref(),
            b"229 Entering Extended Passive Mode (|||50000|)\r\n"
        );
    }

    /// The transfer asked for. A listing asks for its path's metadata first: answered as a
    /// directory.
    pub(crate) fn transfer(&mut self) -> Transfer {
        match self.action() {
            Action::Transfer(t) => t,
            Action::Metadata { id, .. } => {
                self.session
                    .handle_outcome(id, Outcome::Metadata(Box::new(dir())))
                    .unwrap();
                self.transfer()
            }
            other => panic!("expected a transfer, got {other:?}"),
        }
    }

    /// The file is open: the 150 is queued, then the action to start moving data.
    pub(crate) fn started(&mut self, id: ActionId) -> Vec<u16> {
        self.session
            .handle_outcome(id, Outcome::TransferStarting { unique_name: None })
            .unwrap();
        assert_eq!(self.action(), Action::StartData { id });
        self.codes()
    }

    /// Answers the metadata the last command asked for with a failure.
    pub(crate) fn metadata_fails(&mut self, kind: FailureKind) {
        let Action::Metadata { id, .. } = self.action() else {
            panic!("expected a metadata action")
        };
        self.session
            .handle_outcome(id, Outcome::Failed(kind))
            .unwrap();
    }

    /// Answers the metadata the last command asked for.
    pub(crate) fn metadata(&mut self, meta: Metadata) -> VirtualPath {
        let Action::Metadata { id, path } = self.action() else {
            panic!("expected a metadata action")
        };
        self.session
            .handle_outcome(id, Outcome::Metadata(Box::new(meta)))
            .unwrap();
        path
    }
}

impl Harness {
    pub(crate) fn replies_of(&mut self, line: &str) -> String {
        self.session
            .handle_command(Command::parse_owned(line.to_owned()).unwrap());
        self.replies()
            .iter()
            .map(|r| String::from_utf8_lossy(&r.to_bytes()).into_owned())
            .collect()
    }
}

pub(crate) fn dir() -> Metadata {
    Metadata::new(FileKind::Directory, 0)
}

pub(crate) fn file(size: u64) -> Metadata {
    Metadata::new(FileKind::File, size)
}
