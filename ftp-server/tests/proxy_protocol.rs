//! The PROXY protocol on control and passive data connections: only trusted balancers, only
//! with a header, and every rule about the client's address applied to the address the header
//! names (port stealing, bounce protection, bans).

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

use common::{Client, Rt, options, start, storage, users};
use ftp_server::TrustedProxy;

/// A v2 header from `src` to `dst`.
fn v2(src: SocketAddr, dst: SocketAddr) -> Vec<u8> {
    ppp::v2::Builder::with_addresses(
        ppp::v2::Version::Two | ppp::v2::Command::Proxy,
        ppp::v2::Protocol::Stream,
        (src, dst),
    )
    .build()
    .unwrap()
}

/// A control connection from the "balancer" (127.0.0.1) for the client `client`.
fn proxied(server: SocketAddr, client: &str, v1: bool) -> Client {
    let mut ctl = TcpStream::connect(server).unwrap();
    let client: SocketAddr = client.parse().unwrap();
    if v1 {
        let IpAddr::V4(ip) = client.ip() else {
            unreachable!()
        };
        write!(
            ctl,
            "PROXY TCP4 {ip} {} {} {}\r\n",
            server.ip(),
            client.port(),
            server.port()
        )
        .unwrap();
    } else {
        ctl.write_all(&v2(client, server)).unwrap();
    }
    Client::over(ctl)
}

/// A passive data connection through the "balancer" for `client`, to EPSV's port.
fn data_for(c: &mut Client, client: &str) -> TcpStream {
    let r = c.cmd("EPSV");
    assert_eq!(r.code().as_u16(), 229, "{r}");
    let port = ftp_proto::address::parse_epsv_reply(r.first_line()).unwrap();
    let to = SocketAddr::new(c.ctl.peer_addr().unwrap().ip(), port);
    let mut data = TcpStream::connect(to).unwrap();
    data.write_all(&v2(client.parse().unwrap(), to)).unwrap();
    data.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    data
}

fn trusted() -> [TrustedProxy; 1] {
    ["127.0.0.1".parse().unwrap()]
}

fn closed_without_greeting(mut c: Client) {
    let mut buf = [0u8; 64];
    let n = c.ctl.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "got {:?}", String::from_utf8_lossy(&buf[..n]));
}

#[test]
fn the_client_behind_the_balancer_is_the_one_served() {
    for rt in [Rt::Tokio, Rt::Smol] {
        let server = start(rt, storage(), users(), options().proxy_protocol(trusted()));
        for v1 in [true, false] {
            let mut c = proxied(server.addr, "192.0.2.7:40000", v1);
            assert_eq!(c.reply().code().as_u16(), 220);
            assert_eq!(c.code("USER alice"), 331);
            assert_eq!(c.code("PASS wonderland"), 230);
            assert_eq!(c.code("TYPE I"), 200);
            // A data connection through the balancer for another client is refused (port
            // stealing); the real client's is served.
            let mut stolen = data_for(&mut c, "192.0.2.99:1234");
            let mut data = {
                let to = stolen.peer_addr().unwrap();
                let mut d = TcpStream::connect(to).unwrap();
                d.write_all(&v2("192.0.2.7:40001".parse().unwrap(), to))
                    .unwrap();
                d
            };
            let mut buf = [0u8; 16];
            assert_eq!(stolen.read(&mut buf).unwrap_or(0), 0, "closed");
            assert_eq!(c.code("RETR pub/readme.txt"), 150);
            let mut got = Vec::new();
            data.read_to_end(&mut got).unwrap();
            assert_eq!(got, b"line one\nline two\n");
            assert_eq!(c.reply().code().as_u16(), 226);
            // PORT is checked against the real client: to the balancer's address is a bounce.
            let code = c.code("PORT 127,0,0,1,200,10");
            assert!(matches!(code, 500 | 501 | 504), "{code}");
            assert_eq!(c.code("QUIT"), 221);
        }
    }
}

#[test]
fn only_trusted_balancers_with_a_header() {
    let server = start(
        Rt::Tokio,
        storage(),
        users(),
        options().proxy_protocol(trusted()),
    );
    // Not from a trusted address: closed, header or not.
    closed_without_greeting(Client::connect_from(
        "127.0.0.2".parse().unwrap(),
        server.addr,
    ));
    let mut c = Client::connect_from("127.0.0.2".parse().unwrap(), server.addr);
    c.send(&v2("192.0.2.7:1".parse().unwrap(), server.addr));
    closed_without_greeting(c);
    // From the balancer without a header: closed.
    let mut c = Client::over(TcpStream::connect(server.addr).unwrap());
    c.send(b"USER anonymous\r\n");
    closed_without_greeting(c);
    // A health check (v2 LOCAL) is the balancer's own connection.
    let mut ctl = TcpStream::connect(server.addr).unwrap();
    let local = ppp::v2::Builder::with_addresses(
        ppp::v2::Version::Two | ppp::v2::Command::Local,
        ppp::v2::Protocol::Unspecified,
        ppp::v2::Addresses::Unspecified,
    )
    .build()
    .unwrap();
    ctl.write_all(&local).unwrap();
    let mut c = Client::over(ctl);
    assert_eq!(c.reply().code().as_u16(), 220);
    // Direct data connections from the client still work (only the balancer's need a header).
    let mut c = proxied(server.addr, "127.0.0.3:5000", false);
    assert_eq!(c.reply().code().as_u16(), 220);
    assert_eq!(c.code("USER alice"), 331);
    assert_eq!(c.code("PASS wonderland"), 230);
    assert_eq!(c.code("TYPE I"), 200);
    let r = c.cmd("EPSV");
    let port = ftp_proto::address::parse_epsv_reply(r.first_line()).unwrap();
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 3], 0)).into())
        .unwrap();
    socket
        .connect(&SocketAddr::new(server.addr.ip(), port).into())
        .unwrap();
    let mut data: TcpStream = socket.into();
    assert_eq!(c.code("RETR pub/readme.txt"), 150);
    let mut got = Vec::new();
    data.read_to_end(&mut got).unwrap();
    assert_eq!((got.len(), c.reply().code().as_u16()), (18, 226));
}

#[test]
fn bans_fall_on_the_real_client_not_the_balancer() {
    let mut throttle = ftp_proto::server::ThrottleConfig::default();
    throttle
        .ban_after(3)
        .base_delay(Duration::from_millis(5))
        .max_delay(Duration::from_millis(10));
    let server = start(
        Rt::Tokio,
        storage(),
        users(),
        options().login_throttle(throttle).proxy_protocol(trusted()),
    );
    for _ in 0..3 {
        let mut c = proxied(server.addr, "192.0.2.66:1000", false);
        assert_eq!(c.reply().code().as_u16(), 220);
        assert_eq!(c.code("USER alice"), 331);
        assert_eq!(c.code("PASS wrong"), 530);
    }
    let mut banned = proxied(server.addr, "192.0.2.66:1001", false);
    assert_eq!(
        banned.reply().code().as_u16(),
        421,
        "the attacker is banned"
    );
    let mut other = proxied(server.addr, "192.0.2.67:1000", false);
    assert_eq!(other.reply().code().as_u16(), 220, "another client is not");
    assert_eq!(other.code("USER alice"), 331);
    assert_eq!(other.code("PASS wonderland"), 230);
}
