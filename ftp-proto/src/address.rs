//! Data-channel addresses: `PORT` and the `227` reply (RFC 959), `EPRT` and the `229` reply
//! (RFC 2428), for IPv4 and IPv6.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4};

use nom::Parser;
use nom::bytes::complete::tag;
use nom::character::complete::u8 as dec_u8;
use nom::combinator::all_consuming;

use crate::reply::{Reply, ReplyCode};

/// An address argument or reply that could not be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// Not in the expected form; `offset` is where reading stopped.
    #[error("malformed address at offset {offset}")]
    Malformed {
        /// Offset into the argument or text.
        offset: usize,
    },
    /// `EPRT` named a network protocol other than 1 (IPv4) and 2 (IPv6).
    #[error("unsupported network protocol {0}")]
    UnsupportedProtocol(u16),
}

/// Parses the argument of `PORT`: `h1,h2,h3,h4,p1,p2` (RFC 959 §4.1.2). On error, `offset` is
/// where the argument stops following that grammar (`6` in `1,2,3,256,5,6`).
pub fn parse_port(arg: &[u8]) -> Result<SocketAddrV4, AddressError> {
    all_consuming(port_arg)
        .parse(arg)
        .map(|(_, a)| a)
        .map_err(|e| AddressError::Malformed {
            offset: match e {
                nom::Err::Error(e) | nom::Err::Failure(e) => arg.len() - e.input.len(),
                nom::Err::Incomplete(_) => arg.len(),
            },
        })
}

/// Formats the argument of `PORT` (and the numbers of a `227` reply).
pub fn format_port(addr: SocketAddrV4) -> String {
    let [h1, h2, h3, h4] = addr.ip().octets();
    let [p1, p2] = addr.port().to_be_bytes();
    format!("{h1},{h2},{h3},{h4},{p1},{p2}")
}

/// Parses the argument of `EPRT`: `<d><net-prt><d><net-addr><d><tcp-port><d>` (RFC 2428 §2),
/// where 1 means IPv4 and 2 IPv6.
///
/// RFC 2428 lets `<d>` be any character in ASCII 33 to 126 (`|` by convention) but requires that
/// it not appear in the fields. Digits, letters, `.` and `:` can appear in a protocol number, an
/// IPv4 or IPv6 address or a port, so they are refused as delimiters (`1` would make
/// `11112.3.4.51121` unreadable); any other printable byte, such as `#` or `!`, is taken.
pub fn parse_eprt(arg: &[u8]) -> Result<SocketAddr, AddressError> {
    let malformed = |offset| AddressError::Malformed { offset };
    let Some((&d, body)) = arg.split_first() else {
        return Err(malformed(0));
    };
    if !d.is_ascii_graphic() || d.is_ascii_alphanumeric() || d == b'.' || d == b':' {
        return Err(malformed(0));
    }
    let mut fields = body.split(|&b| b == d);
    let (Some(proto), Some(host), Some(port), Some(b""), None) = (
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
        fields.next(),
    ) else {
        return Err(malformed(arg.len()));
    };
    let proto_num = decimal(proto).ok_or(malformed(1))?;
    let v6 = match proto_num {
        1 => false,
        2 => true,
        other => {
            return Err(AddressError::UnsupportedProtocol(
                u16::try_from(other).unwrap_or(u16::MAX),
            ));
        }
    };
    let host_at = 2 + proto.len();
    let ip = parse_ip(host, v6).ok_or(malformed(host_at))?;
    let port_at = host_at + host.len() + 1;
    // Port 0 is no port to connect to: a syntax error (501), not a refused address (504).
    let port = decimal(port)
        .and_then(|p| u16::try_from(p).ok())
        .filter(|&p| p != 0)
        .ok_or(malformed(port_at))?;
    Ok(SocketAddr::new(ip, port))
}

/// Formats the argument of `EPRT` with `|` delimiters.
pub fn format_eprt(addr: SocketAddr) -> String {
    match addr.ip() {
        IpAddr::V4(ip) => format!("|1|{ip}|{}|", addr.port()),
        IpAddr::V6(ip) => format!("|2|{ip}|{}|", addr.port()),
    }
}

/// The `227` reply for a passive listener at `addr`.
pub fn pasv_reply(addr: SocketAddrV4) -> Reply {
    let text = format!("Entering Passive Mode ({}).", format_port(addr));
    Reply::new(ReplyCode::PASSIVE_MODE, text)
        .unwrap_or_else(|_| Reply::from_static(ReplyCode::PASSIVE_MODE, "Entering Passive Mode."))
}

/// Reads the address of a `227` reply. Servers word the text differently (some drop the
/// parentheses, some add text after), so this finds the first run of exactly six
/// comma-separated numbers `h1,h2,h3,h4,p1,p2` anywhere in the first line, as curl, lftp and
/// Python's ftplib look for six numbers anywhere; numbers before it (`PASV 2026 ok (...)`)
/// are skipped.
///
/// A run is a number, then more numbers each after a comma; spaces may follow a comma
/// (`(10, 0, 0, 5, 4, 1)`, which lftp's `sscanf` accepts too). Where those clients take the
/// first six numbers of a longer run, this refuses the run: a run of more than six numbers
/// (`1,2,3,4,5,6,7`), a number over 255 or over three digits, or a space inside a number
/// (`(192,168,1,2,195,80 5)`, which is neither port 50000 nor 805 for sure) make the run
/// ambiguous, and connecting to a guessed port is worse than failing. Scanning then goes on
/// after the run.
pub fn parse_pasv_reply(text: &[u8]) -> Result<SocketAddrV4, AddressError> {
    let mut at = 0;
    while let Some(b) = text.get(at) {
        // A run starts at a digit that is not inside a longer number.
        let after_digit = at
            .checked_sub(1)
            .and_then(|p| text.get(p))
            .is_some_and(u8::is_ascii_digit);
        let starts_run = b.is_ascii_digit() && !after_digit;
        if !starts_run {
            at += 1;
            continue;
        }
        let (numbers, end) = number_run(text, at);
        if let Some([h1, h2, h3, h4, p1, p2]) = numbers {
            let ip = Ipv4Addr::new(h1, h2, h3, h4);
            return Ok(SocketAddrV4::new(ip, u16::from_be_bytes([p1, p2])));
        }
        at = end.max(at + 1);
    }
    Err(AddressError::Malformed { offset: text.len() })
}

/// Reads the run of comma-separated numbers starting at `start` (a digit). Returns the six
/// numbers if the run is exactly six numbers of at most three digits and 255, and where the run
/// ends either way.
fn number_run(text: &[u8], start: usize) -> (Option<[u8; 6]>, usize) {
    let digits_at = |i: usize| {
        text.get(i..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let mut numbers = [0u8; 6];
    let mut count = 0;
    let mut valid = true;
    let mut at = start;
    loop {
        let len = digits_at(at);
        let value = text.get(at..at + len).and_then(decimal);
        match (
            value.and_then(|v| u8::try_from(v).ok()),
            numbers.get_mut(count),
        ) {
            (Some(v), Some(slot)) if len <= 3 => *slot = v,
            _ => valid = false,
        }
        count += 1;
        at += len;
        let spaces = |i: usize| {
            text.get(i..)
                .unwrap_or_default()
                .iter()
                .take_while(|&&b| b == b' ')
                .count()
        };
        match text.get(at) {
            Some(b',') => {
                let next = at + 1 + spaces(at + 1);
                if digits_at(next) == 0 {
                    break; // A trailing comma ends the run.
                }
                at = next;
            }
            Some(b' ') if digits_at(at + spaces(at)) > 0 => {
                // A space inside a number: `80 5`.
                valid = false;
                at += spaces(at);
            }
            _ => break,
        }
    }
    ((valid && count == 6).then_some(numbers), at)
}

/// The `229` reply for a passive listener on `port` (RFC 2428 §3).
pub fn epsv_reply(port: u16) -> Reply {
    let text = format!("Entering Extended Passive Mode (|||{port}|)");
    Reply::new(ReplyCode::EXTENDED_PASSIVE_MODE, text).unwrap_or_else(|_| {
        Reply::from_static(
            ReplyCode::EXTENDED_PASSIVE_MODE,
            "Entering Extended Passive Mode",
        )
    })
}

/// Reads the port of a `229` reply: `(<d><d><d>port<d>)` anywhere in the text, with any
/// delimiter character (RFC 2428 §3).
pub fn parse_epsv_reply(text: &[u8]) -> Result<u16, AddressError> {
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.iter().position(|&b| b == b'(') {
        let after = rest.get(open + 1..).unwrap_or_default();
        if let [d1, d2, d3, tail @ ..] = after {
            if d1 == d2 && d2 == d3 && !d1.is_ascii_digit() {
                let digits = tail.iter().take_while(|b| b.is_ascii_digit()).count();
                let close = tail.get(digits..).unwrap_or_default();
                if close.first() == Some(d1) && close.get(1) == Some(&b')') {
                    if let Some(port) = decimal(tail.get(..digits).unwrap_or_default())
                        .and_then(|p| u16::try_from(p).ok())
                    {
                        return Ok(port);
                    }
                }
            }
        }
        offset += open + 1;
        rest = after;
    }
    Err(AddressError::Malformed {
        offset: offset.max(text.len()),
    })
}

/// Picks the address to connect to for a `227` reply, as curl and lftp do: a server behind NAT
/// often announces its private or unspecified address, which the client cannot reach; then the
/// control connection's peer is used with the announced port. With `trust_announced`, the
/// announced address is used whenever it is specified.
pub fn resolve_pasv_address(
    announced: SocketAddrV4,
    control_peer: IpAddr,
    trust_announced: bool,
) -> SocketAddr {
    let ip = *announced.ip();
    let unusable = ip.is_unspecified()
        || (!trust_announced
            && !is_same_ip(IpAddr::V4(ip), control_peer)
            && is_local_scope(ip)
            && !is_local_scope_ip(control_peer));
    if unusable {
        SocketAddr::new(control_peer, announced.port())
    } else {
        SocketAddr::V4(announced)
    }
}

/// Whether two addresses are the same host, seeing through IPv4-mapped IPv6.
pub fn is_same_ip(a: IpAddr, b: IpAddr) -> bool {
    a.to_canonical() == b.to_canonical()
}

fn is_local_scope(ip: Ipv4Addr) -> bool {
    ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.octets()[0] == 100 && (ip.octets()[1] & 0xC0) == 64
}

fn is_local_scope_ip(ip: IpAddr) -> bool {
    match ip.to_canonical() {
        IpAddr::V4(v4) => is_local_scope(v4),
        IpAddr::V6(v6) => v6.is_loopback() || v6.is_unique_local() || v6.is_unicast_link_local(),
    }
}

fn decimal(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(
        digits
            .iter()
            .fold(0u64, |acc, &d| acc * 10 + u64::from(d - b'0')),
    )
}

/// The argument of `PORT`: a [`host_port`] whose port is not 0 (no port to connect to: a
/// syntax error, 501, as in `EPRT`).
pub(crate) fn port_arg(i: &[u8]) -> nom::IResult<&[u8], SocketAddrV4> {
    nom::combinator::verify(host_port, |a: &SocketAddrV4| a.port() != 0).parse(i)
}

/// `host-port ::= h1,h2,h3,h4,p1,p2`, each a decimal number 0 to 255 (RFC 959 §5.3.2).
pub(crate) fn host_port(i: &[u8]) -> nom::IResult<&[u8], SocketAddrV4> {
    let comma = || tag(&b","[..]);
    let (i, (h1, _, h2, _, h3, _, h4, _, p1, _, p2)) = (
        dec_u8,
        comma(),
        dec_u8,
        comma(),
        dec_u8,
        comma(),
        dec_u8,
        comma(),
        dec_u8,
        comma(),
        dec_u8,
    )
        .parse(i)?;
    let ip = Ipv4Addr::new(h1, h2, h3, h4);
    Ok((i, SocketAddrV4::new(ip, u16::from_be_bytes([p1, p2]))))
}

/// The whole of `i` as `h1,h2,h3,h4,p1,p2`; the error is the offset where reading stopped.
fn parse_ip(text: &[u8], v6: bool) -> Option<IpAddr> {
    let text = std::str::from_utf8(text).ok()?;
    if v6 {
        text.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
    } else {
        text.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_zero_is_malformed() {
        assert!(matches!(
            parse_eprt(b"|1|127.0.0.1|0|"),
            Err(AddressError::Malformed { .. })
        ));
        assert!(matches!(
            parse_port(b"127,0,0,1,0,0"),
            Err(AddressError::Malformed { .. })
        ));
        assert!(parse_port(b"127,0,0,1,0,1").is_ok());
    }

    #[test]
    fn port_round_trip() {
        let addr = parse_port(b"127,0,0,1,82,98").unwrap();
        assert_eq!(addr, "127.0.0.1:21090".parse().unwrap());
        assert_eq!(format_port(addr), "127,0,0,1,82,98");
        assert!(parse_port(b"1,2,3").is_err());
        assert!(parse_port(b"127,0,0,1,256,1").is_err());
        assert!(parse_port(b"127,0,0,1,1,1,1").is_err());
        // The offset is where the grammar stops holding.
        assert_eq!(
            parse_port(b"1,2,3,256,5,6"),
            Err(AddressError::Malformed { offset: 6 })
        );
        assert_eq!(
            parse_port(b"127,0,0,1,1,1,1"),
            Err(AddressError::Malformed { offset: 13 })
        );
        assert_eq!(
            parse_port(b"1,2,3"),
            Err(AddressError::Malformed { offset: 5 })
        );
    }

    #[test]
    fn pasv_replies_of_real_servers() {
        let cases: [(&[u8], &str); 6] = [
            (
                b"Entering Passive Mode (127,0,0,1,82,98).",
                "127.0.0.1:21090",
            ), // vsftpd
            (
                b"Entering passive mode (127,0,0,1,117,48)",
                "127.0.0.1:30000",
            ), // pyftpdlib
            (b"Entering Passive Mode 127,0,0,1,195,80", "127.0.0.1:50000"), // no parentheses
            (
                b"Entering Passive Mode (10,0,0,5,4,1) Port 1025",
                "10.0.0.5:1025",
            ), // trailing text
            (b"=127,0,0,1,195,81", "127.0.0.1:50001"),                      // some Windows servers
            (b"PASV 2026 ok (192,168,1,2,7,208)", "192.168.1.2:2000"),      // decoy number first
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_pasv_reply(text),
                Ok(want.parse().unwrap()),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        assert!(parse_pasv_reply(b"Entering Passive Mode (1,2,3,4,5)").is_err());
        // Spaces after the commas are allowed, as lftp allows them.
        assert_eq!(
            parse_pasv_reply(b"Entering Passive Mode (10, 0, 0, 5, 4, 1)"),
            Ok("10.0.0.5:1025".parse().unwrap())
        );
        // Ambiguous runs are no address, and scanning goes on after them.
        for text in [
            &b"Entering Passive Mode (192,168,1,2,195,80 5)"[..],
            b"Entering Passive Mode (192,168,1,2,195,8 05)",
            b"Entering Passive Mode (1,2,3,4,5,6,7)",
            b"Entering Passive Mode (1234,5,6,7,8,9)",
            b"Entering Passive Mode (0127,0,0,1,4,1)",
            b"Entering Passive Mode (127,0,0,1,256,1)",
        ] {
            assert_eq!(
                parse_pasv_reply(text),
                Err(AddressError::Malformed { offset: text.len() }),
                "{}",
                String::from_utf8_lossy(text)
            );
        }
        assert_eq!(
            parse_pasv_reply(b"1,2,3,4,5,6,7 then (127,0,0,1,4,1)"),
            Ok("127.0.0.1:1025".parse().unwrap())
        );
        let reply = pasv_reply("127.0.0.1:21090".parse().unwrap());
        assert_eq!(
            reply.to_bytes().as_ref(),
            b"227 Entering Passive Mode (127,0,0,1,82,98).\r\n"
        );
    }

    #[test]
    fn eprt_and_epsv() {
        assert_eq!(
            parse_eprt(b"|1|132.235.1.2|6275|"),
            Ok("132.235.1.2:6275".parse().unwrap())
        );
        assert_eq!(
            parse_eprt(b"|2|::1|5282|"),
            Ok("[::1]:5282".parse().unwrap())
        );
        assert_eq!(
            parse_eprt(b"#2#::1#5282#"),
            Ok("[::1]:5282".parse().unwrap())
        );
        assert_eq!(
            parse_eprt(b"|3|x|1|"),
            Err(AddressError::UnsupportedProtocol(3))
        );
        assert!(parse_eprt(b"|1|1.2.3.4|70000|").is_err());
        assert!(parse_eprt(b"|1|1.2.3.4|21").is_err());
        assert!(parse_eprt(b"|1|1.2.3.4|21||").is_err());
        assert!(parse_eprt(b"").is_err());
        // Delimiters that can appear in the fields are refused (RFC 2428 §2).
        for arg in [
            &b"111112.3.4151001"[..],
            b"a1a1.2.3.4a5000a",
            b".1.1.2.3.4.5000.",
            b":2:::1:5000:",
            b" 1 1.2.3.4 5000 ",
        ] {
            assert_eq!(
                parse_eprt(arg),
                Err(AddressError::Malformed { offset: 0 }),
                "{}",
                String::from_utf8_lossy(arg)
            );
        }
        assert_eq!(
            parse_eprt(b"!1!1.2.3.4!5000!"),
            Ok("1.2.3.4:5000".parse().unwrap())
        );
        for addr in ["1.2.3.4:21", "[fe80::1]:65535"] {
            let addr: SocketAddr = addr.parse().unwrap();
            assert_eq!(parse_eprt(format_eprt(addr).as_bytes()), Ok(addr));
        }
        assert_eq!(
            parse_epsv_reply(b"Entering Extended Passive Mode (|||21799|)"),
            Ok(21799)
        );
        assert_eq!(
            parse_epsv_reply(b"Entering extended passive mode (!!!6446!)."),
            Ok(6446)
        );
        assert_eq!(parse_epsv_reply(b"Ok (x) then (|||80|)"), Ok(80));
        assert!(parse_epsv_reply(b"Entering Extended Passive Mode (|||99999|)").is_err());
        assert!(parse_epsv_reply(b"Entering Extended Passive Mode (||21799|)").is_err());
        assert_eq!(
            epsv_reply(21799).to_bytes().as_ref(),
            b"229 Entering Extended Passive Mode (|||21799|)\r\n"
        );
    }

    #[test]
    fn private_pasv_address_falls_back_to_the_peer() {
        let public: IpAddr = "203.0.113.7".parse().unwrap();
        let announced: SocketAddrV4 = "10.1.2.3:5000".parse().unwrap();
        assert_eq!(
            resolve_pasv_address(announced, public, false),
            "203.0.113.7:5000".parse().unwrap()
        );
        assert_eq!(
            resolve_pasv_address(announced, public, true),
            "10.1.2.3:5000".parse().unwrap()
        );
        let zero: SocketAddrV4 = "0.0.0.0:5000".parse().unwrap();
        assert_eq!(
            resolve_pasv_address(zero, public, true),
            "203.0.113.7:5000".parse().unwrap()
        );
        // A private peer (a LAN server) keeps the private address it announces.
        let lan: IpAddr = "10.1.2.9".parse().unwrap();
        assert_eq!(
            resolve_pasv_address(announced, lan, false),
            "10.1.2.3:5000".parse().unwrap()
        );
        assert!(is_same_ip(
            "::ffff:127.0.0.1".parse().unwrap(),
            "127.0.0.1".parse().unwrap()
        ));
    }
}
