//! The control connection: bytes to and from the server through ftp-proto's client machine.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf, BytesMut};
use ftp_proto::{ClientConnection, ClientSession, Progress, ReplyDecoderConfig};
use ftp_runtime::tls::MaybeTls;
use futures_io::{AsyncRead, AsyncWrite};

use crate::error::Error;

/// How much is read from the control connection at a time.
const READ_CHUNK: usize = 4096;
/// Reads one `poll_progress` makes without a reply before it lets the futures racing it (the
/// reply timeout) run.
const READS_PER_POLL: usize = 16;

/// The control stream and the protocol machine, driven by polling so that both the async
/// methods of the client and the `poll_*` methods of its transfer streams can use it.
#[derive(Debug)]
pub(crate) struct Control<S> {
    stream: MaybeTls<S>,
    conn: ClientConnection,
    input: BytesMut,
    output: BytesMut,
    needs_flush: bool,
    eof: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Control<S> {
    pub(crate) fn new(stream: MaybeTls<S>, replies: ReplyDecoderConfig) -> Self {
        Self {
            stream,
            conn: ClientConnection::new(replies),
            input: BytesMut::new(),
            output: BytesMut::new(),
            needs_flush: false,
            eof: false,
        }
    }

    /// Writes every queued command, then waits for what the next reply did.
    ///
    /// A server that sends faster than this reads (an endless reply, say) never leaves the
    /// socket empty: after a bounded number of reads without a reply, this yields (waking
    /// itself), so that the reply timeout racing it gets polled and can end the wait.
    pub(crate) fn poll_progress(&mut self, cx: &mut Context<'_>) -> Poll<Result<Progress, Error>> {
        for _ in 0..READS_PER_POLL {
            ready!(self.poll_send(cx))?;
            if let Some(progress) = self.conn.poll_progress() {
                return Poll::Ready(Ok(progress));
            }
            if self.eof {
                return Poll::Ready(Err(Error::Closed(None)));
            }
            let mut chunk = [0u8; READ_CHUNK];
            let n = ready!(Pin::new(&mut self.stream).poll_read(cx, &mut chunk))?;
            match chunk.get(..n) {
                Some([]) | None => {
                    self.eof = true;
                    self.conn.handle_eof(&mut self.input)?;
                }
                Some(bytes) => {
                    self.input.extend_from_slice(bytes);
                    self.conn.handle_input(&mut self.input)?;
                }
            }
        }
        cx.waker().wake_by_ref();
        Poll::Pending
    }

    /// Writes and flushes every queued command.
    pub(crate) fn poll_send(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.conn.poll_transmit(&mut self.output) {
            self.needs_flush = true;
        }
        while !self.output.is_empty() {
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.output))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.output.advance(n);
        }
        if self.needs_flush {
            ready!(Pin::new(&mut self.stream).poll_flush(cx))?;
            self.needs_flush = false;
        }
        Poll::Ready(Ok(()))
    }

    /// Closes the control stream (after `QUIT`).
    pub(crate) fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_close(cx)
    }
}

impl<S> Control<S> {
    /// The stream, for the TLS upgrade after `234`.
    pub(crate) fn stream_mut(&mut self) -> &mut MaybeTls<S> {
        &mut self.stream
    }

    /// The protocol machine, to look at.
    pub(crate) fn session_ref(&self) -> &ClientSession {
        self.conn.session_ref()
    }

    /// Whether TLS protects the control connection.
    pub(crate) fn is_tls(&self) -> bool {
        self.stream.is_tls()
    }

    /// Whether bytes arrived that the machine has not taken (after `234` nothing may).
    pub(crate) fn has_unread_input(&self) -> bool {
        !self.input.is_empty()
    }

    /// The protocol machine (also from `Drop` impls, which cannot name the stream's bounds).
    pub(crate) fn session(&mut self) -> &mut ClientSession {
        self.conn.session()
    }
}
