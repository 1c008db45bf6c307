//! The client and server machines talking to each other through their byte-level wrappers, with
//! no I/O: the driver's work is done by scripted outcomes.

use bytes::BytesMut;
use ftp_proto::server::{DataEndpoint, TransferKind};
use ftp_proto::{
    Action, Arg, ClientConnection, Command, ConnectionInfo, DataTarget, Outcome, Permissions,
    Progress, Secret, ServerConfig, ServerConnection,
};

struct Pair {
    client: ClientConnection,
    server: ServerConnection,
    to_server: BytesMut,
    to_client: BytesMut,
    progress: Vec<Progress>,
    actions: Vec<Action>,
}

impl Pair {
    fn new() -> Self {
        let info = ConnectionInfo {
            local: "127.0.0.1:21".parse().unwrap(),
            peer: "127.0.0.1:40000".parse().unwrap(),
        };
        Self {
            client: ClientConnection::default(),
            server: ServerConnection::new(
                ServerConfig::default(),
                info,
                1024,
                std::time::Instant::now(),
            ),
            to_server: BytesMut::new(),
            to_client: BytesMut::new(),
            progress: Vec::new(),
            actions: Vec::new(),
        }
    }

    /// Moves bytes both ways until neither side has anything to say, collecting the client's
    /// progress and the server's actions; `answer` plays the server's driver.
    fn run(&mut self, mut answer: impl FnMut(&Action) -> Vec<Outcome>) {
        loop {
            let mut moved = self.client.poll_transmit(&mut self.to_server);
            self.server.handle_input(&mut self.to_server);
            while let Some(action) = self.server.poll_action() {
                let id = match &action {
                    Action::Authenticate { id, .. } | Action::OpenPassive { id, .. } => Some(*id),
                    Action::Transfer(t) => Some(t.id),
                    _ => None,
                };
                let outcomes = answer(&action);
                self.actions.push(action);
                for outcome in outcomes {
                    self.server.handle_outcome(id.unwrap(), outcome).unwrap();
                }
                moved = true;
            }
            moved |= self.server.poll_transmit(&mut self.to_client);
            self.client.handle_input(&mut self.to_client).unwrap();
            while let Some(p) = self.client.poll_progress() {
                self.progress.push(p);
                moved = true;
            }
            if !moved {
                return;
            }
        }
    }
}

#[test]
fn login_epsv_retr_quit() {
    let mut pair = Pair::new();
    let login = pair.client.session().login(
        Arg::try_from("bench").unwrap(),
        Secret::new(Arg::try_from("pw").unwrap()),
        None,
    );
    let passive = pair.client.session().passive();
    let retr = pair
        .client
        .session()
        .command(Command::Retr(Arg::try_from("résumé ünï.txt").unwrap()));
    let quit = pair.client.session().command(Command::Quit);
    pair.run(|action| match action {
        Action::Authenticate { password, .. } if password.expose_secret().as_bytes() == b"pw" => {
            vec![Outcome::LoggedIn(Permissions::READ_ONLY.into())]
        }
        Action::Authenticate { .. } => vec![Outcome::LoginRejected],
        Action::OpenPassive { .. } => vec![Outcome::PassiveListening(
            "127.0.0.1:50000".parse().unwrap(),
        )],
        Action::Transfer(t) => {
            assert_eq!(t.path.as_bytes(), "/résumé ünï.txt".as_bytes());
            assert_eq!(
                t.kind,
                TransferKind::Retrieve {
                    offset: 0,
                    length: None
                }
            );
            assert_eq!(
                t.data,
                DataEndpoint::Passive {
                    peer: Some("127.0.0.1".parse().unwrap())
                }
            );
            vec![
                Outcome::TransferStarting { unique_name: None },
                Outcome::TransferComplete { bytes: 27 },
            ]
        }
        _ => vec![],
    });
    let summary: Vec<String> = pair
        .progress
        .iter()
        .map(|p| match p {
            Progress::Continuing { reply, .. } => format!("continue {}", reply.code()),
            Progress::Done { op, reply } => {
                let which = [(login, "login"), (retr, "retr"), (quit, "quit")]
                    .iter()
                    .find(|(id, _)| id == op)
                    .map_or("greeting", |(_, n)| n);
                format!("{which} done {}", reply.code())
            }
            Progress::DataReady { op, target } => {
                assert_eq!(*op, passive);
                assert_eq!(*target, DataTarget::ExtendedPassive(50000));
                "data ready".to_owned()
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        summary,
        [
            "greeting done 220",
            "continue 331",
            "login done 230",
            "data ready",
            "continue 150",
            "retr done 226",
            "quit done 221"
        ]
    );
    assert!(matches!(pair.actions.last(), Some(Action::Close)));
    assert!(pair.server.session().is_closed());
}
