//! The PROXY protocol (v1 and v2, HAProxy's), on control and passive data connections from
//! trusted load balancers: the header says who the client really is, and every rule that
//! looks at the client's address (limits per address, bans, bounce and port-stealing checks,
//! logs) then sees that address.
//!
//! Parsing is the `ppp` crate's; this module reads exactly the header's bytes off the
//! connection (nothing of the FTP stream after it), bounded in size and, by the caller, in
//! time.

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use futures_io::AsyncRead;
use futures_util::io::AsyncReadExt;

/// A network a trusted proxy connects from: an address and a prefix length.
///
/// ```
/// use ftp_server::TrustedProxy;
///
/// let net: TrustedProxy = "10.1.0.0/16".parse().unwrap();
/// assert!(net.contains("10.1.2.3".parse().unwrap()));
/// assert!(!net.contains("10.2.0.1".parse().unwrap()));
/// let one: TrustedProxy = "::1".parse().unwrap();
/// assert!(one.contains("::1".parse().unwrap()));
/// assert!("10.0.0.0/33".parse::<TrustedProxy>().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrustedProxy {
    addr: IpAddr,
    prefix: u8,
}

impl TrustedProxy {
    /// `addr/prefix`.
    ///
    /// # Errors
    /// When `prefix` is longer than the address (32 bits for IPv4, 128 for IPv6).
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, InvalidProxyNet> {
        let bits = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > bits {
            return Err(InvalidProxyNet);
        }
        Ok(Self { addr, prefix })
    }

    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        match (self.addr.to_canonical(), ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for TrustedProxy {
    type Err = InvalidProxyNet;

    /// `ADDR` (one address) or `ADDR/PREFIX`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (addr, prefix) = match s.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| InvalidProxyNet)?;
        let prefix = match prefix {
            Some(p) => p.parse().map_err(|_| InvalidProxyNet)?,
            None if addr.is_ipv4() => 32,
            None => 128,
        };
        Self::new(addr, prefix)
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Not an `ADDR[/PREFIX]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("expected ADDR or ADDR/PREFIX")]
pub struct InvalidProxyNet;

/// Whether `ip` is one of `trusted`.
pub(crate) fn trusted(trusted: &[TrustedProxy], ip: IpAddr) -> bool {
    trusted.iter().any(|net| net.contains(ip))
}

/// How long a balancer has to send its PROXY header.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// The client behind a trusted balancer's connection from `peer`: the address its header
/// names (`peer` itself for a `LOCAL` one), or `None`, logged under `ftp_server::audit`, when
/// no valid header comes in time.
pub(crate) async fn client_behind<C: AsyncRead + Unpin>(
    runtime: &dyn ftp_runtime::Runtime,
    stream: &mut C,
    peer: SocketAddr,
) -> Option<SocketAddr> {
    match ftp_runtime::timeout(runtime, HEADER_TIMEOUT, read_header(stream)).await {
        Some(Ok(Some(client))) => {
            tracing::debug!(%peer, %client, "proxied connection");
            Some(client)
        }
        Some(Ok(None)) => Some(peer),
        Some(Err(e)) => {
            tracing::warn!(target: "ftp_server::audit", %peer, error = %e, "refused: bad PROXY header");
            None
        }
        None => {
            tracing::warn!(target: "ftp_server::audit", %peer, "refused: no PROXY header in time");
            None
        }
    }
}

/// A v1 header is at most 107 bytes, its line end included.
const V1_MAX: usize = 107;
/// The v2 header's fixed part.
const V2_FIXED: usize = 16;
/// The most a v2 header may carry after its fixed part: the addresses (216 bytes for UNIX
/// sockets) and TLVs that balancers add (HAProxy's are short).
const V2_MAX_PAYLOAD: usize = 1024;
const V2_SIGNATURE: &[u8; 12] = b"\r\n\r\n\0\r\nQUIT\n";

/// Reads one PROXY header (v1 or v2) off `stream`, and nothing after it. `Ok(Some(source))`
/// for a proxied TCP connection; `Ok(None)` for a v2 `LOCAL` one or a v1 `UNKNOWN` one
/// (the balancer's own, such as a health check: the connection's own address stands).
pub(crate) async fn read_header<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> io::Result<Option<SocketAddr>> {
    let invalid = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    let mut head = [0u8; 6];
    stream.read_exact(&mut head).await?;
    if &head == b"PROXY " {
        let mut line = head.to_vec();
        while !line.ends_with(b"\r\n") {
            if line.len() == V1_MAX {
                return Err(invalid("PROXY v1 header too long"));
            }
            let mut byte = [0u8];
            stream.read_exact(&mut byte).await?;
            line.push(byte[0]);
        }
        let header = ppp::v1::Header::try_from(&line[..])
            .map_err(|e| invalid(&format!("PROXY v1 header: {e}")))?;
        return Ok(match header.addresses {
            ppp::v1::Addresses::Tcp4(a) => {
                Some(SocketAddr::from((a.source_address, a.source_port)))
            }
            ppp::v1::Addresses::Tcp6(a) => {
                Some(SocketAddr::from((a.source_address, a.source_port)))
            }
            ppp::v1::Addresses::Unknown => None,
        });
    }
    if head[..] != V2_SIGNATURE[..6] {
        return Err(invalid("no PROXY header"));
    }
    let mut fixed = [0u8; V2_FIXED];
    fixed[..6].copy_from_slice(&head);
    stream.read_exact(&mut fixed[6..]).await?;
    let len = usize::from(u16::from_be_bytes([fixed[14], fixed[15]]));
    if len > V2_MAX_PAYLOAD {
        return Err(invalid("PROXY v2 header too long"));
    }
    let mut whole = fixed.to_vec();
    whole.resize(V2_FIXED + len, 0);
    stream.read_exact(&mut whole[V2_FIXED..]).await?;
    let header = ppp::v2::Header::try_from(&whole[..])
        .map_err(|e| invalid(&format!("PROXY v2 header: {e}")))?;
    if header.command == ppp::v2::Command::Local {
        return Ok(None);
    }
    Ok(match header.addresses {
        ppp::v2::Addresses::IPv4(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
        ppp::v2::Addresses::IPv6(a) => Some(SocketAddr::from((a.source_address, a.source_port))),
        // A proxied connection must say where it came from.
        _ => return Err(invalid("PROXY v2 header without an IP source")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_lite::future::block_on;

    fn read(bytes: &[u8]) -> (io::Result<Option<SocketAddr>>, Vec<u8>) {
        let mut cursor = futures_util::io::Cursor::new(bytes.to_vec());
        let result = block_on(read_header(&mut cursor));
        let pos = usize::try_from(cursor.position()).unwrap();
        (result, bytes[pos..].to_vec())
    }

    #[test]
    fn v1_header_then_the_ftp_stream_untouched() {
        let (addr, rest) = read(b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 21\r\nUSER a\r\n");
        assert_eq!(addr.unwrap(), Some("192.0.2.7:40000".parse().unwrap()));
        assert_eq!(rest, b"USER a\r\n");
        let (addr, _) = read(b"PROXY TCP6 2001:db8::7 2001:db8::1 40000 21\r\n");
        assert_eq!(addr.unwrap(), Some("[2001:db8::7]:40000".parse().unwrap()));
        let (addr, rest) = read(b"PROXY UNKNOWN\r\nX");
        assert_eq!((addr.unwrap(), rest), (None, b"X".to_vec()));
    }

    #[test]
    fn v2_header_then_the_ftp_stream_untouched() {
        let src: SocketAddr = "192.0.2.9:5000".parse().unwrap();
        let dst: SocketAddr = "198.51.100.1:21".parse().unwrap();
        let mut header = ppp::v2::Builder::with_addresses(
            ppp::v2::Version::Two | ppp::v2::Command::Proxy,
            ppp::v2::Protocol::Stream,
            (src, dst),
        )
        .write_tlv(ppp::v2::Type::NoOp, b"pad")
        .unwrap()
        .build()
        .unwrap();
        header.extend_from_slice(b"QUIT\r\n");
        let (addr, rest) = read(&header);
        assert_eq!(addr.unwrap(), Some(src));
        assert_eq!(rest, b"QUIT\r\n");
        let local = ppp::v2::Builder::with_addresses(
            ppp::v2::Version::Two | ppp::v2::Command::Local,
            ppp::v2::Protocol::Unspecified,
            ppp::v2::Addresses::Unspecified,
        )
        .build()
        .unwrap();
        assert_eq!(read(&local).0.unwrap(), None);
    }

    #[test]
    fn bad_headers_are_refused_within_bounds() {
        for bad in [
            &b"USER anonymous\r\n"[..],
            b"PROXY TCP4 not-an-address 198.51.100.1 1 2\r\n",
            b"PROXY TCP4 192.0.2.7 198.51.100.1 40000 21 and more and more and more and more and more and more and more\r\n",
            b"\r\n\r\n\0\r\nQUIT\n\x21\x11\xff\xff",
            b"\r\n\r\n\0\r\nQUIT\n\x21\x11\x00\x0c\x01\x02",
            b"PROXY ",
        ] {
            assert!(read(bad).0.is_err(), "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn networks() {
        let nets: Vec<TrustedProxy> = ["127.0.0.1", "10.0.0.0/8", "fd00::/8"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        for (ip, expected) in [
            ("127.0.0.1", true),
            ("127.0.0.2", false),
            ("10.200.1.1", true),
            ("::ffff:10.0.0.1", true),
            ("fd12::1", true),
            ("fe80::1", false),
        ] {
            assert_eq!(trusted(&nets, ip.parse().unwrap()), expected, "{ip}");
        }
        assert!(
            "0.0.0.0/0"
                .parse::<TrustedProxy>()
                .unwrap()
                .contains("8.8.8.8".parse().unwrap())
        );
        assert!("nonsense".parse::<TrustedProxy>().is_err());
    }
}
