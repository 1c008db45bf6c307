//! TLS for both drivers (FTPS, RFC 4217): the crypto provider, and one stream type that is
//! plain TCP or TLS on either side, so that a control or data connection keeps one type when
//! `AUTH TLS` or `PROT P` secures it.
//!
//! rustls and futures-rustls are re-exported so that programs name the same versions the
//! drivers use.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use futures_io::{AsyncRead, AsyncWrite};
pub use futures_rustls;
pub use rustls;
use rustls::crypto::CryptoProvider;

/// The crypto provider the drivers build their configurations with: aws-lc-rs with the
/// `aws-lc-rs` feature, else ring with `ring`, else the process default.
///
/// # Errors
/// When no feature chose a provider and none was installed as the process default.
pub fn provider() -> io::Result<Arc<CryptoProvider>> {
    #[cfg(feature = "aws-lc-rs")]
    {
        Ok(Arc::new(rustls::crypto::aws_lc_rs::default_provider()))
    }
    #[cfg(all(feature = "ring", not(feature = "aws-lc-rs")))]
    {
        Ok(Arc::new(rustls::crypto::ring::default_provider()))
    }
    #[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
    {
        CryptoProvider::get_default().cloned().ok_or_else(|| {
            io::Error::other(
                "no TLS crypto provider: enable the `ring` or `aws-lc-rs` feature, or install a process default",
            )
        })
    }
}

/// A stream that gives `prefix` before what `inner` reads: the bytes that arrived together
/// with `AUTH TLS`, which belong to the TLS handshake and must reach it (none may be lost,
/// none read as a command).
#[derive(Debug)]
pub struct Rewind<S> {
    prefix: Bytes,
    inner: S,
}

impl<S> Rewind<S> {
    /// `inner`, with `prefix` read first.
    pub fn new(prefix: Bytes, inner: S) -> Self {
        Self { prefix, inner }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewind<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if !self.prefix.is_empty() {
            let n = self.prefix.len().min(buf.len());
            if let (Some(to), Some(from)) = (buf.get_mut(..n), self.prefix.get(..n)) {
                to.copy_from_slice(from);
            }
            self.prefix.advance(n);
            return Poll::Ready(Ok(n));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewind<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// A connection that is plain, or TLS as the server or as the client. Closing a TLS one sends
/// close_notify first; reading one that ends without close_notify fails with
/// [`io::ErrorKind::UnexpectedEof`] (a transfer cut short, not a complete file).
#[derive(Debug)]
#[non_exhaustive]
pub enum MaybeTls<S> {
    /// No TLS.
    Plain(S),
    /// TLS, this end the server (the server's control connection after `AUTH TLS`, and
    /// every protected data connection of the server, whoever connected).
    Server(Box<futures_rustls::server::TlsStream<Rewind<S>>>),
    /// TLS, this end the client.
    Client(Box<futures_rustls::client::TlsStream<S>>),
    /// Taken apart by a failed upgrade: every operation fails.
    Gone,
}

impl<S> MaybeTls<S> {
    /// Whether TLS protects the connection.
    pub fn is_tls(&self) -> bool {
        matches!(self, Self::Server(_) | Self::Client(_))
    }

    /// The plain stream, for an upgrade; leaves [`MaybeTls::Gone`] behind. `None` when the
    /// connection is not plain.
    pub fn take_plain(&mut self) -> Option<S> {
        match std::mem::replace(self, Self::Gone) {
            Self::Plain(s) => Some(s),
            other => {
                *self = other;
                None
            }
        }
    }

    /// The server side's rustls connection, when this is one.
    pub fn server_connection(&self) -> Option<&rustls::ServerConnection> {
        match self {
            Self::Server(s) => Some(s.get_ref().1),
            _ => None,
        }
    }

    /// The client side's rustls connection, when this is one.
    pub fn client_connection(&self) -> Option<&rustls::ClientConnection> {
        match self {
            Self::Client(s) => Some(s.get_ref().1),
            _ => None,
        }
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "the TLS upgrade failed")
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTls<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Server(s) => Pin::new(&mut **s).poll_read(cx, buf),
            Self::Client(s) => Pin::new(&mut **s).poll_read(cx, buf),
            Self::Gone => Poll::Ready(Err(gone())),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTls<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Server(s) => Pin::new(&mut **s).poll_write(cx, buf),
            Self::Client(s) => Pin::new(&mut **s).poll_write(cx, buf),
            Self::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Server(s) => Pin::new(&mut **s).poll_flush(cx),
            Self::Client(s) => Pin::new(&mut **s).poll_flush(cx),
            Self::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_close(cx),
            Self::Server(s) => Pin::new(&mut **s).poll_close(cx),
            Self::Client(s) => Pin::new(&mut **s).poll_close(cx),
            Self::Gone => Poll::Ready(Ok(())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::io::{AsyncReadExt, Cursor};

    #[test]
    fn rewind_gives_the_prefix_first() {
        let mut r = Rewind::new(
            Bytes::from_static(b"hello "),
            Cursor::new(b"world".to_vec()),
        );
        let mut out = Vec::new();
        futures_util::future::FutureExt::now_or_never(r.read_to_end(&mut out))
            .unwrap()
            .unwrap();
        assert_eq!(out, b"hello world");
    }
}
