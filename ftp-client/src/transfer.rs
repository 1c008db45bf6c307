//! Streaming transfers: a download as an `AsyncRead`, an upload as an `AsyncWrite`.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use ftp_proto::listing::{ListEntry, MlsxEntry, parse_listing, parse_mlsd};
use ftp_proto::{AsciiDecoder, AsciiEncoder, Command, OpId, Reply, TransferType};
use ftp_runtime::{Runtime, TcpStream, Timer};

use crate::client::DataStream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::AsyncReadExt;

use crate::client::{Client, Event, Opened, arg, list_args, opt_arg};
use crate::error::{Error, Result, Stage};

/// A timer armed only while an I/O call waits: one timer per transfer, made at its first wait
/// and moved (not replaced) at each later one, so a transfer that keeps moving allocates none.
struct Stall {
    timer: Option<Box<dyn Timer>>,
    armed: bool,
    limit: Duration,
}

impl Stall {
    fn new(limit: Duration) -> Self {
        Self {
            timer: None,
            armed: false,
            limit,
        }
    }

    /// Call after an I/O call returned `Pending`: `Ready` when the time ran out.
    fn poll_expired(&mut self, runtime: &dyn Runtime, cx: &mut Context<'_>) -> Poll<()> {
        if !self.armed {
            self.armed = true;
            let deadline = Instant::now() + self.limit;
            match &mut self.timer {
                Some(timer) => timer.reset(deadline),
                None => self.timer = Some(runtime.timer(deadline)),
            }
        }
        match &mut self.timer {
            Some(timer) => Pin::new(timer).poll(cx),
            None => Poll::Pending,
        }
    }

    /// Progress was made: the next wait counts from its own start.
    fn reset(&mut self) {
        self.armed = false;
    }
}

fn timed_out(stage: Stage) -> io::Error {
    Error::Timeout(stage).into()
}

impl Error {
    /// Recovers the client's error from an `io::Error` its streams returned.
    pub(crate) fn from_io(e: io::Error) -> Self {
        if e.get_ref().is_some_and(|inner| inner.is::<Self>()) {
            if let Some(inner) = e.into_inner() {
                if let Ok(error) = inner.downcast::<Self>() {
                    return *error;
                }
            }
            return Self::Broken;
        }
        Self::Io(e)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadState {
    /// Data flows.
    Data,
    /// The data ended; the final reply is awaited.
    Finishing,
    /// The final reply arrived (or an error ended the transfer).
    Done,
}

/// ASCII-mode download state: wire bytes in, local line ends out.
struct AsciiIn {
    decoder: AsciiDecoder,
    wire: Vec<u8>,
    decoded: BytesMut,
}

/// A download in progress, from [`Client::retr`]. Read it to its end: the final read (the one
/// that returns 0) also takes the server's final reply, and fails when the server says the
/// transfer failed. Dropping it before the end aborts the transfer before the client's next
/// command.
pub struct DataReader<'a, S = TcpStream> {
    client: &'a mut Client<S>,
    stream: Option<DataStream>,
    op: OpId,
    state: ReadState,
    final_reply: Option<Reply>,
    ascii: Option<AsciiIn>,
    stall: Stall,
    reply_wait: Stall,
    transferred: u64,
    settled: bool,
    /// The TLS data connection ended without close_notify: whatever the final reply says,
    /// the data may be cut short.
    truncated: Option<io::Error>,
}

impl<S> std::fmt::Debug for DataReader<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataReader")
            .field("state", &self.state)
            .field("ascii", &self.ascii.is_some())
            .field("transferred", &self.transferred)
            .finish_non_exhaustive()
    }
}

impl<'a, S> DataReader<'a, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    pub(crate) fn new(client: &'a mut Client<S>, opened: Opened<DataStream>, ascii: bool) -> Self {
        let stall = Stall::new(client.options.data_timeout);
        let reply_wait = Stall::new(client.options.reply_timeout);
        let ascii = ascii.then(|| AsciiIn {
            decoder: AsciiDecoder::new(),
            wire: vec![0; client.options.buffer_size.max(512)],
            decoded: BytesMut::new(),
        });
        Self {
            client,
            stream: Some(opened.stream),
            op: opened.op,
            state: ReadState::Data,
            final_reply: opened.done,
            ascii,
            stall,
            reply_wait,
            transferred: 0,
            settled: false,
            truncated: None,
        }
    }

    /// Bytes received on the data connection so far (before ASCII conversion).
    pub fn transferred(&self) -> u64 {
        self.transferred
    }

    /// The server's final reply, once the last read returned 0.
    pub fn final_reply(&self) -> Option<&Reply> {
        self.final_reply
            .as_ref()
            .filter(|_| self.state == ReadState::Done)
    }

    /// Reads and discards what is left, then gives the server's final reply.
    pub async fn finish(mut self) -> Result<Reply> {
        use futures_util::AsyncReadExt;
        let mut sink = vec![0u8; 16 << 10];
        while self.read(&mut sink).await.map_err(Error::from_io)? > 0 {}
        self.settled = true;
        self.final_reply.take().ok_or(Error::Broken)
    }

    /// Cuts the transfer short (`ABOR`) and waits until the server has answered, so the client
    /// is ready for its next command.
    pub async fn abort(mut self) -> Result<()> {
        self.settled = true;
        let stream = self.stream.take();
        match self.state {
            _ if self.final_reply.is_some() => Ok(()),
            // The data had ended: only the final reply is owed.
            ReadState::Finishing | ReadState::Done => self.client.finish(self.op).await.map(drop),
            ReadState::Data => self.client.abort_op(self.op, stream).await,
        }
    }

    fn poll_read_data(&mut self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        let Some(stream) = self.stream.as_mut() else {
            return Poll::Ready(Ok(0));
        };
        let target = match self.ascii.as_mut() {
            Some(ascii) => ascii.wire.as_mut_slice(),
            None => buf,
        };
        match Pin::new(stream).poll_read(cx, target) {
            Poll::Pending => {
                ready!(self.stall.poll_expired(&*self.client.runtime, cx));
                Poll::Ready(Err(timed_out(Stage::Data)))
            }
            Poll::Ready(result) => {
                self.stall.reset();
                Poll::Ready(result)
            }
        }
    }

    /// Waits for the final reply of the transfer.
    fn poll_final(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.final_reply.is_some() {
            return Poll::Ready(Ok(()));
        }
        loop {
            let progress = match self.client.control.poll_progress(cx) {
                Poll::Ready(Ok(progress)) => progress,
                Poll::Ready(Err(e)) => {
                    self.client.broken = true;
                    return Poll::Ready(Err(e.into()));
                }
                Poll::Pending => {
                    ready!(self.reply_wait.poll_expired(&*self.client.runtime, cx));
                    self.client.broken = true;
                    return Poll::Ready(Err(timed_out(Stage::Reply)));
                }
            };
            self.reply_wait.reset();
            match self.client.classify(self.op, progress) {
                Some(Ok(Event::Done(reply))) => {
                    self.final_reply = Some(reply);
                    return Poll::Ready(Ok(()));
                }
                Some(Err(e)) => return Poll::Ready(Err(e.into())),
                Some(Ok(_)) | None => continue,
            }
        }
    }
}

impl<S> AsyncRead for DataReader<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        loop {
            if let Some(ascii) = this.ascii.as_mut().filter(|a| !a.decoded.is_empty()) {
                let n = buf.len().min(ascii.decoded.len());
                if let (Some(dst), Some(src)) = (buf.get_mut(..n), ascii.decoded.get(..n)) {
                    dst.copy_from_slice(src);
                }
                ascii.decoded.advance(n);
                return Poll::Ready(Ok(n));
            }
            match this.state {
                ReadState::Done => return Poll::Ready(Ok(0)),
                ReadState::Finishing => {
                    let result = ready!(this.poll_final(cx));
                    this.state = ReadState::Done;
                    // A refusal (the server's 425 for a data connection it would not take)
                    // says more than the cut connection; a 226 cannot vouch for data that
                    // arrived without close_notify.
                    return Poll::Ready(match (result, this.truncated.take()) {
                        (Err(refused), _) => Err(refused),
                        (Ok(()), Some(cut)) => Err(cut),
                        (Ok(()), None) => Ok(0),
                    });
                }
                ReadState::Data => {}
            }
            if buf.is_empty() {
                return Poll::Ready(Ok(0));
            }
            let n = match ready!(this.poll_read_data(cx, buf)) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    // Only TLS says this: the data connection ended without close_notify.
                    // The final reply tells whether the server refused the connection.
                    this.truncated = Some(e);
                    this.stream = None;
                    this.state = ReadState::Finishing;
                    continue;
                }
                Err(e) => return Poll::Ready(Err(e)),
            };
            this.transferred += n as u64;
            if n == 0 {
                this.stream = None;
                this.stall.reset();
                this.state = ReadState::Finishing;
                if let Some(ascii) = this.ascii.as_mut() {
                    ascii.decoder.finish(&mut ascii.decoded);
                }
                continue;
            }
            match this.ascii.as_mut() {
                Some(ascii) => {
                    let wire = ascii.wire.get(..n).unwrap_or_default();
                    ascii.decoder.decode(wire, &mut ascii.decoded);
                }
                None => return Poll::Ready(Ok(n)),
            }
        }
    }
}

impl<S> Drop for DataReader<'_, S> {
    fn drop(&mut self) {
        if !self.settled && self.final_reply.is_none() {
            let data_ended = self.state != ReadState::Data;
            let session = self.client.control.session();
            session.abandon_transfer(self.op, data_ended);
        }
    }
}

/// An upload in progress, from [`Client::stor`], [`Client::appe`] or [`Client::stou`]. Write
/// the bytes, then call [`finish`](Self::finish): it closes the data connection, which tells
/// the server the file is complete, and gives the server's final reply. Dropping it without
/// `finish` aborts the transfer before the client's next command (the server may keep what it
/// received).
pub struct DataWriter<'a, S = TcpStream> {
    client: &'a mut Client<S>,
    stream: Option<DataStream>,
    op: OpId,
    preliminary: Option<Reply>,
    final_reply: Option<Reply>,
    ascii: Option<(AsciiEncoder, BytesMut)>,
    stall: Stall,
    transferred: u64,
    settled: bool,
}

impl<S> std::fmt::Debug for DataWriter<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataWriter")
            .field("ascii", &self.ascii.is_some())
            .field("transferred", &self.transferred)
            .finish_non_exhaustive()
    }
}

impl<'a, S> DataWriter<'a, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    pub(crate) fn new(client: &'a mut Client<S>, opened: Opened<DataStream>, ascii: bool) -> Self {
        let stall = Stall::new(client.options.data_timeout);
        Self {
            client,
            stream: Some(opened.stream),
            op: opened.op,
            preliminary: opened.preliminary,
            final_reply: opened.done,
            ascii: ascii.then(|| (AsciiEncoder::new(), BytesMut::new())),
            stall,
            transferred: 0,
            settled: false,
        }
    }

    /// The server's preliminary reply (`150`); for `STOU` it names the file.
    pub fn preliminary(&self) -> Option<&Reply> {
        self.preliminary.as_ref()
    }

    /// Bytes written to the data connection so far (after ASCII conversion).
    pub fn transferred(&self) -> u64 {
        self.transferred
    }

    /// Ends the upload: closes the data connection and gives the server's final reply.
    pub async fn finish(mut self) -> Result<Reply> {
        // Under TLS this sends close_notify, which tells the server the file is complete.
        let closed = std::future::poll_fn(|cx| self.poll_close_data(cx)).await;
        self.settled = true;
        // The socket stays open (its sending side shut) until the final reply: a server may
        // have sent TLS session tickets on it that nobody read, and closing a socket with
        // unread input resets the connection, which can cost the server the end of the
        // upload (curl#6149, pyftpdlib#602).
        let mut stream = self.stream.take();
        if let Some(tls) = stream.as_mut().filter(|s| s.is_tls()) {
            // Read what the server sends until it closes: the session tickets it sent for
            // the next data connection (RFC 9149), then its close_notify. Bounded by the
            // data timeout; what it finds matters less than the final reply.
            let limit = self.client.options.data_timeout;
            let drain = async {
                use futures_util::AsyncReadExt;
                let mut sink = [0u8; 512];
                while matches!(tls.read(&mut sink).await, Ok(n) if n > 0) {}
            };
            let _ = ftp_runtime::timeout(&*self.client.runtime, limit, drain).await;
        }
        if let Some(reply) = self.final_reply.take() {
            drop(stream);
            closed?;
            return Ok(reply);
        }
        let reply = self.client.finish(self.op).await;
        drop(stream);
        // A close error (the server reset the connection) matters less than its reply.
        let reply = reply?;
        closed?;
        Ok(reply)
    }

    /// Cuts the upload short (`ABOR`) and waits until the server has answered.
    pub async fn abort(mut self) -> Result<()> {
        self.settled = true;
        if self.final_reply.is_some() {
            return Ok(());
        }
        // ABOR goes out while the data connection is still open, so the server does not take
        // its closing for the end of a complete file.
        let stream = self.stream.take();
        self.client.abort_op(self.op, stream).await
    }

    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let Some((_, pending)) = self.ascii.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        while !pending.is_empty() {
            let Some(stream) = self.stream.as_mut() else {
                return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
            };
            match Pin::new(stream).poll_write(cx, pending) {
                Poll::Pending => {
                    ready!(self.stall.poll_expired(&*self.client.runtime, cx));
                    return Poll::Ready(Err(timed_out(Stage::Data)));
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    self.stall.reset();
                    self.transferred += n as u64;
                    pending.advance(n);
                }
            }
        }
        Poll::Ready(Ok(()))
    }

    fn poll_close_data(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        let Some(stream) = self.stream.as_mut() else {
            return Poll::Ready(Ok(()));
        };
        match Pin::new(stream).poll_close(cx) {
            Poll::Pending => {
                ready!(self.stall.poll_expired(&*self.client.runtime, cx));
                Poll::Ready(Err(timed_out(Stage::Data)))
            }
            Poll::Ready(result) => {
                self.stall.reset();
                Poll::Ready(result)
            }
        }
    }
}

impl<S> AsyncWrite for DataWriter<'_, S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.ascii.is_some() {
            // Take new bytes only once the converted ones before them are out: the buffer
            // never holds more than one write's worth.
            ready!(this.poll_drain(cx))?;
            if let Some((encoder, pending)) = this.ascii.as_mut() {
                encoder.encode(buf, pending);
            }
            return Poll::Ready(Ok(buf.len()));
        }
        let Some(stream) = this.stream.as_mut() else {
            return Poll::Ready(Err(io::ErrorKind::NotConnected.into()));
        };
        match Pin::new(stream).poll_write(cx, buf) {
            Poll::Pending => {
                ready!(this.stall.poll_expired(&*this.client.runtime, cx));
                Poll::Ready(Err(timed_out(Stage::Data)))
            }
            Poll::Ready(result) => {
                this.stall.reset();
                if let Ok(n) = result {
                    this.transferred += n as u64;
                }
                Poll::Ready(result)
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_drain(cx))?;
        match this.stream.as_mut() {
            Some(stream) => Pin::new(stream).poll_flush(cx),
            None => Poll::Ready(Ok(())),
        }
    }

    /// Closes the data connection only; [`DataWriter::finish`] also reads the final reply.
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_close_data(cx)
    }
}

impl<S> Drop for DataWriter<'_, S> {
    fn drop(&mut self) {
        if !self.settled && self.final_reply.is_none() {
            // An upload not finished is never complete: abort it.
            self.client
                .control
                .session()
                .abandon_transfer(self.op, false);
        }
    }
}
/// The transfer commands: each opens its data connection and gives a stream, or (listings)
/// reads it whole, bounded.
impl<S> Client<S>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    /// Downloads `path` from byte `offset` on (`REST`, to resume; 0 for the whole file): a
    /// stream of the file's bytes. Reading it to its end also reads the server's final reply
    /// (a failed transfer ends in an error, not in a short file). Dropping it early aborts the
    /// transfer before the next command; [`DataReader::abort`] does so at once.
    pub async fn retr(&mut self, path: impl AsRef<[u8]>, offset: u64) -> Result<DataReader<'_, S>> {
        let cmd = Command::Retr(arg(path)?);
        let ascii = self.is_ascii();
        let opened = self.open_data(cmd, offset, true).await?;
        Ok(DataReader::new(self, opened, ascii))
    }

    /// Uploads to `path` (`STOR`), from byte `offset` on (`REST`, to resume; 0 creates or
    /// truncates): a stream to write the bytes to, then [`DataWriter::finish`] for the final
    /// reply.
    pub async fn stor(&mut self, path: impl AsRef<[u8]>, offset: u64) -> Result<DataWriter<'_, S>> {
        let cmd = Command::Stor(arg(path)?);
        self.writer(cmd, offset).await
    }

    /// Appends to `path` (`APPE`), creating it when missing.
    pub async fn appe(&mut self, path: impl AsRef<[u8]>) -> Result<DataWriter<'_, S>> {
        let cmd = Command::Appe(arg(path)?);
        self.writer(cmd, 0).await
    }

    /// Uploads under a name the server picks (`STOU`); the name is in the preliminary reply
    /// ([`DataWriter::preliminary`]).
    pub async fn stou(&mut self) -> Result<DataWriter<'_, S>> {
        self.writer(Command::Stou(None), 0).await
    }

    async fn writer(&mut self, cmd: Command<'_>, offset: u64) -> Result<DataWriter<'_, S>> {
        let ascii = self.is_ascii();
        let opened = self.open_data(cmd, offset, true).await?;
        Ok(DataWriter::new(self, opened, ascii))
    }

    pub(crate) fn is_ascii(&self) -> bool {
        matches!(self.transfer_type, TransferType::Ascii(_))
    }

    /// Collects a listing into memory, up to [`ClientOptions::max_listing_bytes`].
    async fn collect_listing(&mut self, cmd: Command<'_>) -> Result<Vec<u8>> {
        let max = self.options.max_listing_bytes;
        let opened = self.open_data(cmd, 0, false).await?;
        let mut reader = DataReader::new(self, opened, false);
        let mut body = Vec::new();
        let mut chunk = vec![0u8; 16 << 10];
        loop {
            let n = reader.read(&mut chunk).await.map_err(Error::from_io)?;
            let Some(data) = chunk.get(..n).filter(|d| !d.is_empty()) else {
                return Ok(body);
            };
            if body.len() + data.len() > max {
                reader.abort().await?;
                return Err(Error::ListingTooLarge(max));
            }
            body.extend_from_slice(data);
        }
    }

    /// Collects the listing of `path` as curl, lftp and wget do: changes into it, lists with no
    /// argument, and changes back. Servers disagree on a path argument: Pure-FTPd and
    /// inetutils ftpd split it at spaces (a directory named `a b` lists as nothing), and
    /// vsftpd answers 226 with an empty listing for a directory that does not exist. Where
    /// changing into `path` is refused (a file, or a server that allows listing only), the
    /// path form is sent; if that lists nothing either, the refusal of the `CWD` is the
    /// answer, so a missing directory is an error and not an empty one.
    async fn collect_listing_of(&mut self, kind: ListKind, path: &[u8]) -> Result<Vec<u8>> {
        if path.is_empty() {
            return self.collect_listing(kind.command(b"")?).await;
        }
        let home = self.pwd().await?;
        match self.cwd(path).await {
            Ok(_) => {
                let listed = self.collect_listing(kind.command(b"")?).await;
                let back = self.cwd(&home).await;
                let body = listed?;
                back?;
                Ok(body)
            }
            // The path form; where it lists no entry or is refused too (ProFTPD answers 450
            // for a missing path, inetutils ftpd sends `ls`'s complaint as the listing), the
            // CWD's refusal says what is wrong.
            Err(refused @ Error::Server(_)) => {
                match self.collect_listing(kind.command(path)?).await {
                    Ok(body) if kind.has_entry(&body) => Ok(body),
                    Ok(_) | Err(Error::Server(_)) => Err(refused),
                    Err(e) => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The raw lines of a `LIST` (the server's `ls -l` style output), line ends removed. An
    /// empty `path` lists the working directory, here and in the other listings; any other
    /// is listed from inside it (see [`list`](Self::list)).
    pub async fn list_lines(&mut self, path: impl AsRef<[u8]>) -> Result<Vec<Bytes>> {
        let body = self
            .collect_listing_of(ListKind::List, path.as_ref())
            .await?;
        Ok(split_lines(body))
    }

    /// A `LIST`, parsed (Unix, DOS/IIS and EPLF formats); lines that are no entry (`total 12`)
    /// or that no parser understands are left out ([`list_checked`](Self::list_checked)
    /// refuses those).
    ///
    /// A directory is listed as curl, lftp and wget do: `CWD` into it, `LIST` with no
    /// argument, `CWD` back (servers split a path argument at spaces, or list a missing
    /// directory as empty). Where the `CWD` is refused, `LIST path` is sent; a missing path
    /// is an error.
    pub async fn list(&mut self, path: impl AsRef<[u8]>) -> Result<Vec<ListEntry>> {
        let body = self
            .collect_listing_of(ListKind::List, path.as_ref())
            .await?;
        Ok(parse_listing(&body).filter_map(Result::ok).collect())
    }

    /// Like [`list`](Self::list), failing with [`Error::UnparsableListing`] on a line that no
    /// parser understands: for mirrors, which must not report success with entries missing.
    pub async fn list_checked(&mut self, path: impl AsRef<[u8]>) -> Result<Vec<ListEntry>> {
        let body = self
            .collect_listing_of(ListKind::List, path.as_ref())
            .await?;
        checked_lines(&body, ftp_proto::listing::parse_list_line)
    }

    /// The names in a directory (`NLST`), listed from inside it as [`list`](Self::list) does.
    pub async fn nlst(&mut self, path: impl AsRef<[u8]>) -> Result<Vec<Bytes>> {
        let body = self
            .collect_listing_of(ListKind::Nlst, path.as_ref())
            .await?;
        Ok(split_lines(body))
    }

    /// The names in a directory: `NLST`, or where the server does not implement it (the
    /// aioftp server answers 502) the names of a `LIST`.
    pub async fn list_names(&mut self, path: impl AsRef<[u8]>) -> Result<Vec<Bytes>> {
        let path = path.as_ref();
        match self.nlst(path).await {
            Err(e) if matches!(e.code(), Some(500 | 502 | 504)) => Ok(self
                .list(path)
                .await?
                .into_iter()
                .map(|entry| entry.name)
                .filter(|name| name.as_ref() != b"." && name.as_ref() != b"..")
                .collect()),
            other => other,
        }
    }

    /// A machine-readable listing (`MLSD`, RFC 3659), parsed; malformed lines are left out.
    /// Listed from inside the directory as [`list`](Self::list) does.
    pub async fn mlsd(&mut self, path: impl AsRef<[u8]>) -> Result<Vec<MlsxEntry>> {
        let body = self
            .collect_listing_of(ListKind::Mlsd, path.as_ref())
            .await?;
        Ok(parse_mlsd(&body).filter_map(Result::ok).collect())
    }

    /// Like [`mlsd`](Self::mlsd), failing with [`Error::UnparsableListing`] on a malformed
    /// line.
    pub async fn mlsd_checked(&mut self, path: impl AsRef<[u8]>) -> Result<Vec<MlsxEntry>> {
        let body = self
            .collect_listing_of(ListKind::Mlsd, path.as_ref())
            .await?;
        checked_lines(&body, ftp_proto::listing::parse_mlsx_line)
    }
}

/// Every entry of a listing, lines that are none (blank, `total 12`) skipped; a line that
/// does not parse fails the whole listing, naming it.
fn checked_lines<T>(
    body: &[u8],
    parse: impl Fn(&[u8]) -> Result<T, ftp_proto::listing::ListError>,
) -> Result<Vec<T>> {
    let mut out = Vec::new();
    for line in body.split(|&b| b == b'\n') {
        match parse(line) {
            Ok(entry) => out.push(entry),
            Err(ftp_proto::listing::ListError::NotAnEntry) => {}
            Err(_) => {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                return Err(Error::UnparsableListing(
                    String::from_utf8_lossy(line).into_owned(),
                ));
            }
        }
    }
    Ok(out)
}

/// Which listing command.
#[derive(Clone, Copy, Debug)]
enum ListKind {
    List,
    Nlst,
    Mlsd,
}

impl ListKind {
    /// Whether a listing holds at least one entry.
    fn has_entry(self, body: &[u8]) -> bool {
        let mut lines = body.split(|&b| b == b'\n');
        match self {
            Self::List => lines.any(|l| ftp_proto::listing::parse_list_line(l).is_ok()),
            Self::Mlsd => lines.any(|l| ftp_proto::listing::parse_mlsx_line(l).is_ok()),
            Self::Nlst => !body.iter().all(u8::is_ascii_whitespace),
        }
    }

    fn command(self, path: &[u8]) -> Result<Command<'_>> {
        Ok(match self {
            Self::List => Command::List(list_args(path)?),
            Self::Nlst => Command::Nlst(list_args(path)?),
            Self::Mlsd => Command::Mlsd(opt_arg(path)?),
        })
    }
}

/// Lines of a listing, CR LF or LF removed, empty lines dropped.
fn split_lines(body: Vec<u8>) -> Vec<Bytes> {
    let body = Bytes::from(body);
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, &b) in body.iter().enumerate() {
        if b == b'\n' {
            let mut line = body.slice(start..i);
            if line.ends_with(b"\r") {
                line.truncate(line.len() - 1);
            }
            if !line.is_empty() {
                lines.push(line);
            }
            start = i + 1;
        }
    }
    let tail = body.slice(start..);
    if !tail.is_empty() {
        lines.push(tail);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_lines_split_on_crlf_and_lf() {
        let lines = split_lines(b"a\r\nb\n\r\nlast".to_vec());
        assert_eq!(lines, [&b"a"[..], b"b", b"last"]);
        assert!(split_lines(Vec::new()).is_empty());
    }
}
