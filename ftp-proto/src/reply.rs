//! Replies: codes, text, the RFC 959 §4.2 multi-line form, an encoder and an incremental decoder.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::framing::{DecodeError, LineDecoder, put_telnet_data};

/// A reply code: three digits, 100 to 599 (RFC 959 §4.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReplyCode(u16);

/// The class of a reply, given by its first digit (RFC 959 §4.2.1). Complete by definition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReplyClass {
    /// 1yz: the action is starting; expect another reply before the next command.
    Preliminary,
    /// 2yz: the action completed.
    Completion,
    /// 3yz: accepted, but more information is needed (`PASS` after `USER`, `RNTO` after `RNFR`).
    Intermediate,
    /// 4yz: not done, but the same command may work later.
    TransientNegative,
    /// 5yz: not done, and repeating it as-is will not help.
    PermanentNegative,
}

macro_rules! codes {
    ($($(#[$doc:meta])* $name:ident = $value:literal;)*) => {
        impl ReplyCode {
            $($(#[$doc])* pub const $name: Self = Self($value);)*
        }
    };
}

codes! {
    /// 110 Restart marker reply.
    RESTART_MARKER = 110;
    /// 120 Service ready in nnn minutes.
    SERVICE_READY_LATER = 120;
    /// 125 Data connection already open; transfer starting.
    DATA_ALREADY_OPEN = 125;
    /// 150 File status okay; about to open data connection.
    FILE_STATUS_OK = 150;
    /// 200 Command okay.
    OK = 200;
    /// 202 Command not implemented, superfluous at this site.
    SUPERFLUOUS = 202;
    /// 211 System status, or system help reply.
    SYSTEM_STATUS = 211;
    /// 212 Directory status.
    DIRECTORY_STATUS = 212;
    /// 213 File status.
    FILE_STATUS = 213;
    /// 214 Help message.
    HELP = 214;
    /// 215 NAME system type.
    SYSTEM_TYPE = 215;
    /// 220 Service ready for new user.
    SERVICE_READY = 220;
    /// 221 Service closing control connection.
    CLOSING = 221;
    /// 225 Data connection open; no transfer in progress.
    DATA_OPEN_NO_TRANSFER = 225;
    /// 226 Closing data connection; requested file action successful.
    CLOSING_DATA = 226;
    /// 227 Entering Passive Mode (h1,h2,h3,h4,p1,p2).
    PASSIVE_MODE = 227;
    /// 229 Entering Extended Passive Mode (|||port|) (RFC 2428).
    EXTENDED_PASSIVE_MODE = 229;
    /// 230 User logged in, proceed.
    LOGGED_IN = 230;
    /// 234 Security data exchange complete (RFC 2228, `AUTH TLS` accepted).
    AUTH_OK = 234;
    /// 250 Requested file action okay, completed.
    FILE_ACTION_OK = 250;
    /// 257 "PATHNAME" created.
    PATH_CREATED = 257;
    /// 331 User name okay, need password.
    NEED_PASSWORD = 331;
    /// 332 Need account for login.
    NEED_ACCOUNT = 332;
    /// 350 Requested file action pending further information.
    FILE_ACTION_PENDING = 350;
    /// 421 Service not available, closing control connection.
    SERVICE_NOT_AVAILABLE = 421;
    /// 425 Can't open data connection.
    CANT_OPEN_DATA = 425;
    /// 426 Connection closed; transfer aborted.
    TRANSFER_ABORTED = 426;
    /// 450 Requested file action not taken (file unavailable, busy).
    FILE_UNAVAILABLE = 450;
    /// 451 Requested action aborted: local error in processing.
    LOCAL_ERROR = 451;
    /// 452 Requested action not taken: insufficient storage.
    INSUFFICIENT_STORAGE = 452;
    /// 500 Syntax error, command unrecognized.
    SYNTAX_ERROR = 500;
    /// 501 Syntax error in parameters or arguments.
    PARAMETER_SYNTAX_ERROR = 501;
    /// 502 Command not implemented.
    NOT_IMPLEMENTED = 502;
    /// 503 Bad sequence of commands.
    BAD_SEQUENCE = 503;
    /// 504 Command not implemented for that parameter.
    PARAMETER_NOT_IMPLEMENTED = 504;
    /// 521 Data connection cannot be opened with this PROT setting (RFC 4217 §9).
    DATA_PROT_REFUSED = 521;
    /// 522 Network protocol not supported (RFC 2428).
    PROTOCOL_NOT_SUPPORTED = 522;
    /// 530 Not logged in.
    NOT_LOGGED_IN = 530;
    /// 532 Need account for storing files.
    NEED_ACCOUNT_TO_STORE = 532;
    /// 534 Request denied for policy reasons (RFC 2228).
    DENIED_FOR_POLICY = 534;
    /// 536 Requested PROT level not supported by mechanism (RFC 2228).
    PROT_NOT_SUPPORTED = 536;
    /// 550 Requested action not taken: file unavailable (not found, no access).
    FILE_NOT_FOUND = 550;
    /// 551 Requested action aborted: page type unknown (RANG outside `TYPE I`,
    /// draft-bryan-ftp-range §3.2).
    REQUEST_ABORTED_PAGE_TYPE = 551;
    /// 552 Requested file action aborted: exceeded storage allocation.
    EXCEEDED_STORAGE = 552;
    /// 553 Requested action not taken: file name not allowed.
    NAME_NOT_ALLOWED = 553;
    /// 556 Checksum refused by the server's policy, permanently (draft-bryan-ftpext-hash §3.5:
    /// the file is over the size the server hashes).
    HASH_POLICY_REFUSED = 556;
}

impl ReplyCode {
    /// A code from its value; `None` outside 100 to 599.
    pub const fn new(value: u16) -> Option<Self> {
        if value >= 100 && value <= 599 {
            Some(Self(value))
        } else {
            None
        }
    }

    /// The numeric value.
    pub const fn as_u16(self) -> u16 {
        self.0
    }

    /// The class given by the first digit.
    pub const fn class(self) -> ReplyClass {
        match self.0 / 100 {
            1 => ReplyClass::Preliminary,
            2 => ReplyClass::Completion,
            3 => ReplyClass::Intermediate,
            4 => ReplyClass::TransientNegative,
            _ => ReplyClass::PermanentNegative,
        }
    }

    /// 1yz.
    pub const fn is_preliminary(self) -> bool {
        self.0 / 100 == 1
    }
    /// 2yz.
    pub const fn is_completion(self) -> bool {
        self.0 / 100 == 2
    }
    /// 3yz.
    pub const fn is_intermediate(self) -> bool {
        self.0 / 100 == 3
    }
    /// 4yz.
    pub const fn is_transient(self) -> bool {
        self.0 / 100 == 4
    }
    /// 5yz.
    pub const fn is_permanent(self) -> bool {
        self.0 / 100 == 5
    }
    /// 4yz or 5yz.
    pub const fn is_negative(self) -> bool {
        self.0 >= 400
    }

    /// The three ASCII digits.
    pub const fn digits(self) -> [u8; 3] {
        // Each value is below 10, so the casts keep it.
        [
            b'0' + (self.0 / 100) as u8,
            b'0' + (self.0 / 10 % 10) as u8,
            b'0' + (self.0 % 10) as u8,
        ]
    }
}

impl fmt::Display for ReplyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A reply text line that held a CR or LF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("reply text holds a line end at offset {at}")]
pub struct InvalidReplyText {
    /// Offset of the CR or LF in its line.
    pub at: usize,
}

/// A reply: a code and one or more lines of text (RFC 959 §4.2).
///
/// Single-line replies have only `first`. A multi-line reply is written
/// `CODE-first`, the inner lines, then `CODE last`. Text never holds CR or LF.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Reply {
    code: ReplyCode,
    first: Bytes,
    rest: Vec<Bytes>,
}

impl Reply {
    /// A single-line reply.
    pub fn new(code: ReplyCode, text: impl Into<Bytes>) -> Result<Self, InvalidReplyText> {
        let first = checked(text.into())?;
        Ok(Self {
            code,
            first,
            rest: Vec::new(),
        })
    }

    /// A single-line reply from static text; for constant replies whose text is known good.
    ///
    /// Text holding a line end is cut at the first CR or LF rather than sent.
    pub fn from_static(code: ReplyCode, text: &'static str) -> Self {
        let bytes = text.as_bytes();
        let end = bytes
            .iter()
            .position(|&b| b == b'\r' || b == b'\n')
            .unwrap_or(bytes.len());
        let text = bytes.get(..end).unwrap_or_default();
        Self {
            code,
            first: Bytes::from_static(text),
            rest: Vec::new(),
        }
    }

    /// A reply of one or more lines. An inner line that begins with a digit is padded with a
    /// space, as RFC 959 §4.2 asks, so that no reader mistakes it for the end of the reply.
    /// An empty `lines` gives a single empty line.
    pub fn multiline<I, L>(code: ReplyCode, lines: I) -> Result<Self, InvalidReplyText>
    where
        I: IntoIterator<Item = L>,
        L: Into<Bytes>,
    {
        let mut lines = lines.into_iter().map(|l| checked(l.into()));
        let first = lines.next().transpose()?.unwrap_or_default();
        let mut rest = lines.collect::<Result<Vec<_>, _>>()?;
        let inner = rest.len().saturating_sub(1);
        for line in rest.iter_mut().take(inner) {
            if line.first().is_some_and(u8::is_ascii_digit) {
                let mut padded = BytesMut::with_capacity(line.len() + 1);
                padded.put_u8(b' ');
                padded.extend_from_slice(line);
                *line = padded.freeze();
            }
        }
        Ok(Self { code, first, rest })
    }

    /// The reply code.
    pub fn code(&self) -> ReplyCode {
        self.code
    }

    /// The text of the first line (after `CODE ` or `CODE-`).
    pub fn first_line(&self) -> &Bytes {
        &self.first
    }

    /// Every text line, first to last. For a multi-line reply the last is the text after
    /// `CODE `; inner lines are as received.
    pub fn lines(&self) -> impl Iterator<Item = &Bytes> + '_ {
        std::iter::once(&self.first).chain(self.rest.iter())
    }

    /// Whether the reply has more than one line.
    pub fn is_multiline(&self) -> bool {
        !self.rest.is_empty()
    }

    /// The text of all lines joined by `\n`, invalid UTF-8 replaced; for messages and logs.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (i, line) in self.lines().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&String::from_utf8_lossy(line));
        }
        out
    }

    /// Writes the reply in wire form, CRLF after every line (0xFF bytes doubled, RFC 854).
    pub fn encode(&self, out: &mut BytesMut) {
        let digits = self.code.digits();
        let size: usize = self.lines().map(|l| l.len() + 6).sum();
        out.reserve(size);
        out.extend_from_slice(&digits);
        match self.rest.split_last() {
            None => {
                out.put_u8(b' ');
                put_telnet_data(out, &self.first);
            }
            Some((last, inner)) => {
                out.put_u8(b'-');
                put_telnet_data(out, &self.first);
                out.extend_from_slice(b"\r\n");
                for line in inner {
                    put_telnet_data(out, line);
                    out.extend_from_slice(b"\r\n");
                }
                out.extend_from_slice(&digits);
                out.put_u8(b' ');
                put_telnet_data(out, last);
            }
        }
        out.extend_from_slice(b"\r\n");
    }

    /// The wire form as a new buffer.
    pub fn to_bytes(&self) -> Bytes {
        let mut out = BytesMut::new();
        self.encode(&mut out);
        out.freeze()
    }
}

fn checked(text: Bytes) -> Result<Bytes, InvalidReplyText> {
    match text.iter().position(|&b| b == b'\r' || b == b'\n') {
        Some(at) => Err(InvalidReplyText { at }),
        None => Ok(text),
    }
}

impl fmt::Debug for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reply")
            .field("code", &self.code)
            .field("text", &self.text())
            .finish()
    }
}

/// The code and the text, its lines joined by `\n`, control characters within a line escaped
/// ([`LogSafe`](crate::LogSafe)): a server's text cannot drive the terminal it is shown on.
impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ", self.code)?;
        for (i, line) in self.lines().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            crate::LogSafe(&String::from_utf8_lossy(line)).fmt(f)?;
        }
        Ok(())
    }
}

/// Errors from [`ReplyDecoder`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplyError {
    /// A line could not be framed (too long, or the stream ended inside it).
    #[error("reply framing failed")]
    Framing(#[from] DecodeError),
    /// A line where a reply should start does not begin with a code and a space or hyphen.
    #[error("malformed reply line")]
    Malformed {
        /// The offending line, as received (at most the line limit).
        line: Bytes,
    },
    /// A multi-line reply grew past the configured number of lines or bytes.
    #[error("multi-line reply longer than {limit_lines} lines or {limit_bytes} bytes")]
    TooLong {
        /// The line limit.
        limit_lines: usize,
        /// The byte limit.
        limit_bytes: usize,
    },
}

/// Settings of a [`ReplyDecoder`]. Strict by default; each leniency names the peer that needs it.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ReplyDecoderConfig {
    /// Longest line, line end excluded.
    pub max_line_len: usize,
    /// Most lines in one multi-line reply.
    pub max_lines: usize,
    /// Most text bytes in one multi-line reply.
    pub max_reply_bytes: usize,
    /// Accept any `DDD ` line as the end of a multi-line reply, not only the opening code.
    /// glFTPd closes some multi-line replies with a different code (suppaftp issue #168).
    pub lenient_end_code: bool,
}

impl Default for ReplyDecoderConfig {
    fn default() -> Self {
        Self {
            max_line_len: LineDecoder::DEFAULT_MAX_LINE_LEN,
            max_lines: 100_000,
            max_reply_bytes: 16 * 1024 * 1024,
            lenient_end_code: false,
        }
    }
}

impl ReplyDecoderConfig {
    /// Sets [`max_line_len`](Self::max_line_len).
    pub fn max_line_len(&mut self, value: usize) -> &mut Self {
        self.max_line_len = value;
        self
    }
    /// Sets [`max_lines`](Self::max_lines).
    pub fn max_lines(&mut self, value: usize) -> &mut Self {
        self.max_lines = value;
        self
    }
    /// Sets [`max_reply_bytes`](Self::max_reply_bytes).
    pub fn max_reply_bytes(&mut self, value: usize) -> &mut Self {
        self.max_reply_bytes = value;
        self
    }
    /// Sets [`lenient_end_code`](Self::lenient_end_code).
    pub fn lenient_end_code(&mut self, value: bool) -> &mut Self {
        self.lenient_end_code = value;
        self
    }
}

/// An incremental reply decoder: feed it any chunks (split anywhere, even inside CRLF) and it
/// returns whole replies, following RFC 959 §4.2 exactly.
///
/// A reply starts with `DDD ` (single line) or `DDD-` (multi-line). Inside a multi-line reply
/// every line is text, including lines that begin with digits or with `DDD-` and a bare `DDD`;
/// only a line beginning with the same code and a space ends it. Outside one, a bare `DDD` line
/// is read leniently as a single-line reply without text (some servers send a lone `200`). Memory is bounded by the configured limits;
/// past them the reply is skipped to its end and reported as [`ReplyError::TooLong`].
#[derive(Debug)]
pub struct ReplyDecoder {
    lines: LineDecoder,
    config: ReplyDecoderConfig,
    open: Option<Open>,
}

#[derive(Debug)]
struct Open {
    code: ReplyCode,
    first: Bytes,
    rest: Vec<Bytes>,
    bytes: usize,
    overflowed: bool,
}

impl Default for ReplyDecoder {
    fn default() -> Self {
        Self::new(ReplyDecoderConfig::default())
    }
}

impl ReplyDecoder {
    /// A decoder with the given settings.
    pub fn new(config: ReplyDecoderConfig) -> Self {
        Self {
            lines: LineDecoder::new(config.max_line_len),
            config,
            open: None,
        }
    }

    /// Whether a multi-line reply has started and not yet ended.
    pub fn is_inside_reply(&self) -> bool {
        self.open.is_some()
    }

    /// Takes the next whole reply from the front of `buf`. `None`: more bytes are needed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Result<Reply, ReplyError>> {
        loop {
            let line = match self.lines.decode(buf)? {
                Ok(line) => line,
                Err(e) => {
                    self.open = None;
                    return Some(Err(e.into()));
                }
            };
            if let Some(done) = self.feed(line) {
                return Some(done);
            }
        }
    }

    /// Like [`decode`](Self::decode) once the stream has ended: an unfinished reply or line
    /// gives an error.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Option<Result<Reply, ReplyError>> {
        if let Some(reply) = self.decode(buf) {
            return Some(reply);
        }
        if let Some(Err(e)) = self.lines.decode_eof(buf) {
            self.open = None;
            return Some(Err(e.into()));
        }
        self.open
            .take()
            .map(|_| Err(DecodeError::UnexpectedEof.into()))
    }

    fn feed(&mut self, line: Bytes) -> Option<Result<Reply, ReplyError>> {
        let Some(open) = &mut self.open else {
            return match split_code(&line) {
                // A bare `DDD` line outside a multi-line reply is taken as a whole reply with
                // no text: some servers send a lone `200`, and nothing else could be meant.
                Some((code, Separator::Space | Separator::Bare)) => Some(Ok(Reply {
                    code,
                    first: text_after(&line),
                    rest: Vec::new(),
                })),
                Some((code, Separator::Hyphen)) => {
                    let first = text_after(&line);
                    self.open = Some(Open {
                        code,
                        bytes: first.len(),
                        first,
                        rest: Vec::new(),
                        overflowed: false,
                    });
                    None
                }
                None => Some(Err(ReplyError::Malformed { line })),
            };
        };
        // RFC 959 §4.2: only `DDD<space>` ends a multi-line reply. A bare `DDD` here is text,
        // like any other inner line: reading it as the end would cut the reply short and take
        // its remaining lines for replies of their own.
        let ends = match split_code(&line) {
            Some((code, Separator::Space)) => code == open.code || self.config.lenient_end_code,
            _ => false,
        };
        let text = if ends { text_after(&line) } else { line };
        open.bytes += text.len();
        if open.rest.len() + 1 >= self.config.max_lines || open.bytes > self.config.max_reply_bytes
        {
            // Keep skipping to the end of this reply, holding nothing more.
            open.overflowed = true;
            open.rest.clear();
        }
        if !open.overflowed {
            open.rest.push(text);
        }
        if !ends {
            return None;
        }
        let open = self.open.take()?;
        if open.overflowed {
            return Some(Err(ReplyError::TooLong {
                limit_lines: self.config.max_lines,
                limit_bytes: self.config.max_reply_bytes,
            }));
        }
        Some(Ok(Reply {
            code: open.code,
            first: open.first,
            rest: open.rest,
        }))
    }
}

/// What follows the three digits that start a reply line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Separator {
    /// `DDD text`: a single-line reply, or the last line of a multi-line one.
    Space,
    /// `DDD-text`: the first line of a multi-line reply.
    Hyphen,
    /// `DDD` and nothing more: not in RFC 959; `ReplyDecoder::feed` decides what it means.
    Bare,
}

/// `DDD` followed by a space or hyphen, or a bare `DDD` line.
fn split_code(line: &[u8]) -> Option<(ReplyCode, Separator)> {
    let (digits, tail) = line.split_at_checked(3)?;
    let sep = match tail.first() {
        None => Separator::Bare,
        Some(b' ') => Separator::Space,
        Some(b'-') => Separator::Hyphen,
        Some(_) => return None,
    };
    if !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = digits
        .iter()
        .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    Some((ReplyCode::new(value)?, sep))
}

fn text_after(line: &Bytes) -> Bytes {
    line.slice(line.len().min(4)..)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Vec<Result<Reply, ReplyError>> {
        let mut dec = ReplyDecoder::default();
        let mut buf = BytesMut::from(input);
        std::iter::from_fn(|| dec.decode(&mut buf)).collect()
    }

    fn one(input: &[u8]) -> Reply {
        let mut all = decode_all(input);
        assert_eq!(all.len(), 1, "{all:?}");
        all.remove(0).unwrap()
    }

    #[test]
    fn classes() {
        let c = |v| ReplyCode::new(v).unwrap();
        assert_eq!(c(150).class(), ReplyClass::Preliminary);
        assert_eq!(c(226).class(), ReplyClass::Completion);
        assert_eq!(c(350).class(), ReplyClass::Intermediate);
        assert_eq!(c(425).class(), ReplyClass::TransientNegative);
        assert_eq!(c(550).class(), ReplyClass::PermanentNegative);
        assert!(c(421).is_transient() && c(421).is_negative() && !c(421).is_permanent());
        assert_eq!(ReplyCode::new(99), None);
        assert_eq!(ReplyCode::new(600), None);
        assert_eq!(c(257).digits(), *b"257");
    }

    #[test]
    fn rfc959_multiline_example() {
        // RFC 959 §4.2: inner lines may start with digits; only "123 " ends the reply.
        let r = one(b"123-First line\r\nSecond line\r\n  234 A line beginning with numbers\r\n123 The last line\r\n");
        assert_eq!(r.code().as_u16(), 123);
        let lines: Vec<_> = r.lines().map(|l| l.to_vec()).collect();
        assert_eq!(
            lines,
            [
                &b"First line"[..],
                b"Second line",
                b"  234 A line beginning with numbers",
                b"The last line"
            ]
        );
        // Inner lines in the `CODE-` form are text too.
        let r = one(b"211-Features:\r\n211-MDTM\r\n211 End\r\n");
        assert_eq!(r.lines().nth(1).unwrap().as_ref(), b"211-MDTM");
        // A line with another code and a space does not end it (strict by default).
        let all = decode_all(b"230-Welcome\r\n220 not the end\r\n230 Done\r\n");
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].as_ref().unwrap().lines().count(), 3);
    }

    #[test]
    fn bare_code_inside_a_multiline_reply_is_text() {
        let all = decode_all(b"211-Status\r\n211\r\n more\r\n211 End\r\n200 next\r\n");
        assert_eq!(all.len(), 2, "{all:?}");
        let r = all[0].as_ref().unwrap();
        let lines: Vec<_> = r.lines().map(|l| l.to_vec()).collect();
        assert_eq!(lines, [&b"Status"[..], b"211", b" more", b"End"]);
        assert_eq!(all[1].as_ref().unwrap().code(), ReplyCode::OK);
        // Not even with the lenient end code.
        let mut config = ReplyDecoderConfig::default();
        config.lenient_end_code(true);
        let mut dec = ReplyDecoder::new(config);
        let mut buf = BytesMut::from(&b"230-Welcome\r\n230\r\n220 end\r\n"[..]);
        let r = dec.decode(&mut buf).unwrap().unwrap();
        assert_eq!((r.code().as_u16(), r.lines().count()), (230, 3));
    }

    #[test]
    fn lenient_end_code_for_glftpd() {
        let mut config = ReplyDecoderConfig::default();
        config.lenient_end_code(true);
        let mut dec = ReplyDecoder::new(config);
        let mut buf = BytesMut::from(&b"230-Welcome\r\n220 end\r\n"[..]);
        let r = dec.decode(&mut buf).unwrap().unwrap();
        assert_eq!((r.code().as_u16(), r.lines().count()), (230, 2));
    }

    #[test]
    fn split_at_every_position() {
        let input: &[u8] = b"220 hi\r\n211-Features:\r\n EPSV\r\n211 End\r\n227 Entering Passive Mode (127,0,0,1,82,98).\n";
        let whole: Vec<_> = decode_all(input).into_iter().map(Result::unwrap).collect();
        assert_eq!(whole.len(), 3);
        for cut in 0..=input.len() {
            let mut dec = ReplyDecoder::default();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for part in [&input[..cut], &input[cut..]] {
                buf.extend_from_slice(part);
                while let Some(r) = dec.decode(&mut buf) {
                    got.push(r.unwrap());
                }
            }
            assert_eq!(got, whole, "cut at {cut}");
        }
    }

    #[test]
    fn encodes_single_and_multiline() {
        let r = Reply::new(ReplyCode::OK, "Command okay.").unwrap();
        assert_eq!(r.to_bytes().as_ref(), b"200 Command okay.\r\n");
        let r = Reply::multiline(
            ReplyCode::SYSTEM_STATUS,
            ["Features:", " EPSV", "123 inner", "End"],
        )
        .unwrap();
        assert_eq!(
            r.to_bytes().as_ref(),
            b"211-Features:\r\n EPSV\r\n 123 inner\r\n211 End\r\n"
        );
        assert_eq!(one(&r.to_bytes()), r);
        assert_eq!(
            Reply::new(ReplyCode::OK, "a\r\nb"),
            Err(InvalidReplyText { at: 1 })
        );
        assert_eq!(
            Reply::from_static(ReplyCode::OK, "x\ny")
                .to_bytes()
                .as_ref(),
            b"200 x\r\n"
        );
    }

    #[test]
    fn malformed_and_bare_codes() {
        let all = decode_all(b"hello\r\n2x0 no\r\n220\r\n600 too big\r\n");
        assert!(
            matches!(&all[0], Err(ReplyError::Malformed { line }) if line.as_ref() == b"hello")
        );
        assert!(matches!(&all[1], Err(ReplyError::Malformed { .. })));
        let bare = all[2].as_ref().unwrap();
        assert_eq!(
            (bare.code().as_u16(), bare.first_line().as_ref()),
            (220, &b""[..])
        );
        assert!(matches!(&all[3], Err(ReplyError::Malformed { .. })));
    }

    #[test]
    fn endless_multiline_is_bounded() {
        let mut config = ReplyDecoderConfig::default();
        config.max_lines(10);
        let mut dec = ReplyDecoder::new(config);
        let mut buf = BytesMut::new();
        buf.extend_from_slice(b"211-start\r\n");
        for _ in 0..1000 {
            buf.extend_from_slice(b" more text\r\n");
            assert!(dec.decode(&mut buf).is_none());
        }
        assert!(dec.open.as_ref().unwrap().rest.is_empty());
        buf.extend_from_slice(b"211 End\r\n200 next\r\n");
        assert!(matches!(
            dec.decode(&mut buf),
            Some(Err(ReplyError::TooLong {
                limit_lines: 10,
                ..
            }))
        ));
        assert_eq!(dec.decode(&mut buf).unwrap().unwrap().code(), ReplyCode::OK);
    }

    #[test]
    fn eof_inside_reply() {
        let mut dec = ReplyDecoder::default();
        let mut buf = BytesMut::from(&b"211-start\r\n more\r\n"[..]);
        assert!(dec.decode(&mut buf).is_none());
        assert!(dec.is_inside_reply());
        assert_eq!(
            dec.decode_eof(&mut buf),
            Some(Err(ReplyError::Framing(DecodeError::UnexpectedEof)))
        );
    }
}
