//! Control-connection framing: bytes into lines (RFC 959 §4.1, RFC 854 for Telnet).
//!
//! [`LineDecoder`] cuts a byte stream into lines without copying in the common case. It accepts
//! CRLF and bare LF (many scripts send LF alone), removes Telnet commands (`IAC IP`, `IAC DM`,
//! option negotiation, whole `IAC SB ... IAC SE` subnegotiations), turns `IAC IAC` into one
//! `0xFF` byte, and enforces a maximum line length:
//! an over-long line yields one [`DecodeError::LineTooLong`], the rest of it is skipped up to the
//! next line end, and decoding carries on. Memory stays bounded by the limit, whatever arrives.

use bytes::{Buf, Bytes, BytesMut};

const CR: u8 = b'\r';
const LF: u8 = b'\n';
/// Telnet "interpret as command".
const IAC: u8 = 255;
/// Telnet WILL, WONT, DO and DONT take one option byte after them.
const WILL: u8 = 251;
const DONT: u8 = 254;
/// The lowest Telnet command byte (SE): ends a subnegotiation.
const SE: u8 = 240;
/// Telnet SB: begins a subnegotiation, which runs to `IAC SE` (RFC 854, RFC 855).
const SB: u8 = 250;

/// Errors from [`LineDecoder`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// A line was longer than the configured limit; it was skipped up to its line end.
    #[error("line longer than {limit} bytes")]
    LineTooLong {
        /// The limit in bytes, line end excluded.
        limit: usize,
    },
    /// The stream ended inside a line.
    #[error("stream ended inside a line")]
    UnexpectedEof,
}

/// Appends `bytes` to `out` as Telnet data: each 0xFF byte is doubled (`IAC IAC`) and each CR
/// sent as `CR NUL` (RFC 854), so that [`LineDecoder`] on the other side gives back exactly
/// `bytes`.
pub(crate) fn put_telnet_data(out: &mut BytesMut, bytes: &[u8]) {
    // Two memchr scans beat one byte-by-byte scan for both.
    if !bytes.contains(&IAC) && !bytes.contains(&CR) {
        out.extend_from_slice(bytes);
        return;
    }
    for chunk in bytes.split_inclusive(|&b| b == IAC || b == CR) {
        out.extend_from_slice(chunk);
        match chunk.last() {
            Some(&IAC) => out.extend_from_slice(&[IAC]),
            Some(&CR) => out.extend_from_slice(&[0]),
            _ => {}
        }
    }
}

/// An incremental line decoder for the control connection (RFC 959 §4.1, RFC 854).
///
/// It cuts a byte stream into lines without copying in the common case. It accepts CRLF and
/// bare LF (many scripts send LF alone), removes Telnet commands (`IAC IP`, `IAC DM`, option
/// negotiation), turns `IAC IAC` into one `0xFF` byte, and enforces a maximum line length: an
/// over-long line yields one [`DecodeError::LineTooLong`], the rest of it is skipped up to the
/// next line end, and decoding carries on. Memory stays bounded by the limit.
///
/// A subnegotiation (`IAC SB` option parameters `IAC SE`, RFC 855) is dropped whole, its
/// parameters included; an LF among them is a parameter byte, not a line end, and `IAC IAC`
/// there is an escaped parameter byte. Another `IAC` command inside one ends it and is read as
/// that command. The raw bytes of a subnegotiation count towards the line they sit in, so one
/// that never ends is an over-long line: reported once and skipped, with memory bounded.
#[derive(Debug, Clone)]
pub struct LineDecoder {
    max_len: usize,
    /// Skipping the rest of an over-long line.
    discarding: bool,
    /// Where a Telnet command stood at the end of the bytes skipped so far, so that a line end
    /// inside a command (`IAC DO LF`) is not taken for the end of the line while skipping.
    discard_state: Telnet,
    /// Bytes at the front of the buffer already known to hold no line end and no IAC.
    scanned: usize,
}

impl Default for LineDecoder {
    fn default() -> Self {
        Self::new(Self::DEFAULT_MAX_LINE_LEN)
    }
}

impl LineDecoder {
    /// The default line limit: room for a verb and a long path (Linux `PATH_MAX` is 4096).
    pub const DEFAULT_MAX_LINE_LEN: usize = 8192;

    /// A decoder that refuses lines longer than `max_line_len` bytes (line end excluded).
    pub fn new(max_line_len: usize) -> Self {
        Self {
            max_len: max_line_len,
            discarding: false,
            discard_state: Telnet::Data,
            scanned: 0,
        }
    }

    /// The configured limit.
    pub fn max_line_len(&self) -> usize {
        self.max_len
    }

    /// Whether the decoder is skipping the rest of an over-long line.
    pub fn is_discarding(&self) -> bool {
        self.discarding
    }

    /// Takes the next line from the front of `buf`, without its line end.
    ///
    /// `None`: more bytes are needed. Removes what it returns (and what it skips) from `buf`;
    /// bytes of an incomplete line stay in `buf`, never more than the limit plus a few.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Option<Result<Bytes, DecodeError>> {
        if self.discarding {
            let mut state = self.discard_state;
            let mut used = 1;
            let end = buf.iter().position(|&b| {
                let (next, step) = state.step(b);
                state = next;
                used = usize::from(step == Step::End);
                matches!(step, Step::End | Step::EndBefore)
            });
            match end {
                Some(pos) => {
                    buf.advance(pos + used);
                    self.discarding = false;
                }
                None => {
                    self.discard_state = state;
                    buf.clear();
                    return None;
                }
            }
        }
        // Fast path: one scan for the line end, a CR or a Telnet command; no IAC means no copy.
        let start = self.scanned.min(buf.len());
        let found = buf
            .get(start..)?
            .iter()
            .position(|&b| b == LF || b == CR || b == IAC)
            .map(|i| i + start);
        let Some(pos) = found else {
            self.scanned = buf.len();
            return self.check_overflow(buf, Telnet::Data);
        };
        // The line's length and how many bytes its end takes.
        let (len, end) = match (buf.get(pos), buf.get(pos + 1)) {
            (Some(&LF), _) => (pos, 1),
            (Some(&CR), Some(&LF)) => (pos, 2),
            (Some(&CR), None) => {
                // The LF (or NUL) may still be in flight.
                self.scanned = pos;
                return self.check_overflow(buf, Telnet::Cr);
            }
            // `CR NUL` (a CR in data), `CR CR ... LF` and Telnet commands.
            (Some(&CR), Some(&0 | &CR)) | (Some(&IAC), _) => return self.decode_telnet(buf),
            // A CR followed by anything else ends the line (RFC 854 allows only CR LF and
            // CR NUL): this is what is left of `ABOR CR LF` when the LF went as urgent data and
            // the kernel took it out of the stream, with the next command right behind.
            _ => (pos, 1),
        };
        self.scanned = 0;
        if len > self.max_len {
            buf.advance(pos + end);
            return Some(Err(self.too_long()));
        }
        let mut line = buf.split_to(pos + end);
        line.truncate(len);
        Some(Ok(line.freeze()))
    }

    /// Like [`decode`](Self::decode), for when the stream has ended: a partial line left in
    /// `buf` gives [`DecodeError::UnexpectedEof`] (a command cut off by a dropped connection is
    /// not run) and is removed.
    pub fn decode_eof(&mut self, buf: &mut BytesMut) -> Option<Result<Bytes, DecodeError>> {
        if let Some(line) = self.decode(buf) {
            return Some(line);
        }
        self.scanned = 0;
        if self.discarding {
            self.discarding = false;
            self.discard_state = Telnet::Data;
            buf.clear();
            return None;
        }
        if buf.is_empty() {
            return None;
        }
        buf.clear();
        Some(Err(DecodeError::UnexpectedEof))
    }

    fn too_long(&self) -> DecodeError {
        DecodeError::LineTooLong {
            limit: self.max_len,
        }
    }

    /// No line end yet: fail once the partial line cannot fit any more. `state` is where a
    /// Telnet command stands at the end of `buf`.
    fn check_overflow(
        &mut self,
        buf: &mut BytesMut,
        state: Telnet,
    ) -> Option<Result<Bytes, DecodeError>> {
        // +1: the CR of a CRLF may already be here while its LF is still in flight.
        if buf.len() > self.max_len + 1 {
            buf.clear();
            self.scanned = 0;
            self.discarding = true;
            self.discard_state = state;
            return Some(Err(self.too_long()));
        }
        None
    }

    /// Slow path, taken only when the buffer holds an IAC (or a `CR NUL`) before the next line
    /// end: walk the bytes, dropping Telnet commands, until a line end that is not itself an
    /// option byte.
    fn decode_telnet(&mut self, buf: &mut BytesMut) -> Option<Result<Bytes, DecodeError>> {
        self.scanned = 0;
        let mut line = BytesMut::new();
        let mut state = Telnet::Data;
        // Where the subnegotiation under way began (its `IAC SB`).
        let mut sub_start = None;
        for (i, &b) in buf.iter().enumerate() {
            let (next, step) = state.step(b);
            match (state, next) {
                (Telnet::Iac, Telnet::Sub) => sub_start = Some(i - 1),
                (_, Telnet::Sub | Telnet::SubIac) => {}
                _ => {
                    if step != Step::End {
                        sub_start = None;
                    }
                }
            }
            state = next;
            match step {
                Step::Byte(b) => line.extend_from_slice(&[b]),
                Step::Skip => {}
                Step::End | Step::EndBefore => {
                    let (raw_len, used) = match step {
                        Step::EndBefore => (i, i),
                        _ if i > 0 && buf.get(i - 1) == Some(&CR) => (i - 1, i + 1),
                        _ => (i, i + 1),
                    };
                    // A line end inside a subnegotiation: it was none, but data with a 0xFF
                    // its client did not double (`IAC SB` is `ÿú` in Latin-1). Its bytes are
                    // the rest of the line, so the line is answered and the next one read.
                    if let Some(from) = sub_start {
                        line.extend_from_slice(buf.get(from..raw_len).unwrap_or_default());
                    }
                    buf.advance(used);
                    if raw_len > self.max_len {
                        return Some(Err(self.too_long()));
                    }
                    // No CR of a line end is in `line` (the state machine skips it): a CR
                    // last in it came as `CR NUL`, data, and stays (a fuzzer found it dropped).
                    return Some(Ok(line.freeze()));
                }
            }
        }
        // No line end yet (or a command still in flight): keep the bytes, walk again later.
        self.check_overflow(buf, state)
    }
}

/// Where a Telnet command stands (RFC 854): in data, after a CR, after IAC, after IAC
/// WILL/WONT/DO/DONT, or inside a subnegotiation (after `IAC SB`, RFC 855), and there after an
/// IAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Telnet {
    Data,
    Cr,
    Iac,
    Option,
    Sub,
    SubIac,
}

/// What one byte of the stream is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    Byte(u8),
    Skip,
    /// The line ends with this byte.
    End,
    /// The line ended with the byte before (a lone CR); this one begins the next line.
    EndBefore,
}

impl Telnet {
    fn step(self, b: u8) -> (Self, Step) {
        match (self, b) {
            (Self::Data, LF) => (Self::Data, Step::End),
            (Self::Data, CR) => (Self::Cr, Step::Skip),
            (Self::Data, IAC) => (Self::Iac, Step::Skip),
            (Self::Data, b) => (Self::Data, Step::Byte(b)),
            (Self::Cr, LF) => (Self::Data, Step::End),
            // `CR CR LF` (a doubled CR, as some Windows software writes line ends) is one line
            // end, not an empty line after this one.
            (Self::Cr, CR) => (Self::Cr, Step::Skip),
            // `CR NUL` is a CR in data (RFC 854).
            (Self::Cr, 0) => (Self::Data, Step::Byte(CR)),
            // Anything else after a CR: the line ended at the CR (see `decode`).
            (Self::Cr, _) => (Self::Data, Step::EndBefore),
            (Self::Iac, IAC) => (Self::Data, Step::Byte(IAC)),
            (Self::Iac, WILL..=DONT) => (Self::Option, Step::Skip),
            (Self::Iac, SB) => (Self::Sub, Step::Skip),
            (Self::Iac, SE..) => (Self::Data, Step::Skip),
            // Not a Telnet command: a lone IAC. Drop just the IAC so that a following verb
            // survives, e.g. when `IAC DM` went out as TCP urgent data and only `IAC IP IAC`
            // reached the stream before `ABOR`.
            (Self::Iac, b) => Self::Data.step(b),
            (Self::Option, _) => (Self::Data, Step::Skip),
            // Option parameters up to IAC SE; a line end ends a subnegotiation too, so that one
            // never closed cannot swallow the commands after it (see `decode_telnet`).
            (Self::Sub | Self::SubIac, LF) => (Self::Data, Step::End),
            (Self::Sub, IAC) => (Self::SubIac, Step::Skip),
            (Self::Sub, _) => (Self::Sub, Step::Skip),
            (Self::SubIac, SE) => (Self::Data, Step::Skip),
            (Self::SubIac, IAC) => (Self::Sub, Step::Skip),
            // RFC 855 allows nothing else here: the subnegotiation was cut off, and this is a
            // command of its own.
            (Self::SubIac, b) => Self::Iac.step(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(dec: &mut LineDecoder, input: &[u8]) -> Vec<Result<Bytes, DecodeError>> {
        let mut buf = BytesMut::from(input);
        std::iter::from_fn(|| dec.decode(&mut buf)).collect()
    }

    fn lines(input: &[u8]) -> Vec<Vec<u8>> {
        decode_all(&mut LineDecoder::default(), input)
            .into_iter()
            .map(|r| r.unwrap().to_vec())
            .collect()
    }

    #[test]
    fn crlf_and_bare_lf() {
        assert_eq!(
            lines(b"USER a\r\nPASS b\nNOOP\r\nPART"),
            [&b"USER a"[..], b"PASS b", b"NOOP"]
        );
        // CR NUL is a CR in data (RFC 854); a CR followed by anything else ends the line.
        assert_eq!(lines(b"a\r\0b\r\n"), [&b"a\rb"[..]]);
        assert_eq!(lines(b"a\r\0\r\nb\r\0\n"), [&b"a\r"[..], b"b\r"]);
        assert_eq!(lines(b"a\rb\r\n"), [&b"a"[..], b"b"]);
        // A doubled CR before the LF is one line end.
        assert_eq!(lines(b"NOOP\r\r\nPWD\r\n"), [&b"NOOP"[..], b"PWD"]);
        assert_eq!(lines(b"\r\n\n"), [&b""[..], b""]);
    }

    #[test]
    fn telnet_commands_are_stripped() {
        // IAC IP IAC DM before ABOR, as RFC 959 §4.1.3 describes.
        assert_eq!(lines(b"\xff\xf4\xff\xf2ABOR\r\n"), [&b"ABOR"[..]]);
        // Only IAC IP IAC reached the stream (DM went as urgent data).
        assert_eq!(lines(b"\xff\xf4\xffABOR\r\n"), [&b"ABOR"[..]]);
        // IAC IAC is one 0xFF data byte.
        assert_eq!(lines(b"RETR a\xff\xffb\r\n"), [&b"RETR a\xffb"[..]]);
        // Option negotiation: the option byte may even be LF (10) and is not a line end.
        assert_eq!(lines(b"\xff\xfd\x0aNOOP\r\nX\r\n"), [&b"NOOP"[..], b"X"]);
        assert_eq!(lines(b"NO\xff\xfb\x01OP\n"), [&b"NOOP"[..]]);
    }

    #[test]
    fn subnegotiations_are_dropped_whole() {
        // IAC SB TERMINAL-TYPE IS "xterm" IAC SE (RFC 1091).
        assert_eq!(
            lines(b"\xff\xfa\x18\x00xterm\xff\xf0NOOP\r\n"),
            [&b"NOOP"[..]]
        );
        // In the middle of a line; an escaped 0xFF among the parameters.
        assert_eq!(
            lines(b"NO\xff\xfa\x18ab\xff\xffc\xff\xf0OP\r\nX\r\n"),
            [&b"NOOP"[..], b"X"]
        );
        // Cut off by another command: that command is read, the data after it kept.
        assert_eq!(lines(b"\xff\xfa\x18ab\xff\xf4ABOR\r\n"), [&b"ABOR"[..]]);
    }

    /// A Latin-1 name with `ÿú` (FF FA) that its client did not double: the "subnegotiation"
    /// ends with the line, its bytes are the name's, and the commands after it are read.
    #[test]
    fn unclosed_subnegotiation_ends_with_the_line() {
        assert_eq!(
            lines(b"RETR caf\xff\xfa.txt\r\nNOOP\r\nPWD\n"),
            [&b"RETR caf\xff\xfa.txt"[..], b"NOOP", b"PWD"]
        );
        assert_eq!(
            lines(b"DELE \xff\xfa\xff\xff\nQUIT\r\n"),
            [&b"DELE \xff\xfa\xff\xff"[..], b"QUIT"]
        );
    }

    #[test]
    fn lone_cr_ends_a_line() {
        // `ABOR CR LF` sent with MSG_OOB, the LF taken out of the stream as urgent data.
        assert_eq!(lines(b"ABOR\rNOOP\r\n"), [&b"ABOR"[..], b"NOOP"]);
        assert_eq!(
            lines(b"\xff\xf4\xff\xf2ABOR\r\xff\xf4STAT\r\n"),
            [&b"ABOR"[..], b"STAT"]
        );
        // A CR at the end of what has arrived waits for the byte after it.
        let mut dec = LineDecoder::default();
        let mut buf = BytesMut::from(&b"ABOR\r"[..]);
        assert_eq!(dec.decode(&mut buf), None);
        buf.extend_from_slice(b"\n");
        assert_eq!(dec.decode(&mut buf), Some(Ok(Bytes::from_static(b"ABOR"))));
        assert!(buf.is_empty());
    }

    #[test]
    fn endless_subnegotiation_keeps_memory_bounded() {
        let mut dec = LineDecoder::new(16);
        let mut buf = BytesMut::from(&b"\xff\xfa\x18"[..]);
        let mut got = Vec::new();
        for _ in 0..1000 {
            buf.extend_from_slice(b"abcd\rcd");
            while let Some(r) = dec.decode(&mut buf) {
                got.push(r);
            }
            assert!(buf.len() <= 17 + 6, "buffer grew to {}", buf.len());
        }
        assert_eq!(got, [Err(DecodeError::LineTooLong { limit: 16 })]);
        buf.extend_from_slice(b" rest\r\nQUIT\r\n");
        assert_eq!(dec.decode(&mut buf), Some(Ok(Bytes::from_static(b"QUIT"))));
    }

    #[test]
    fn split_anywhere_gives_the_same_lines() {
        let input = b"USER a\r\n\xff\xf4\xff\xf2ABOR\r\nRETR x\xff\xffy\r\n\xff\xfd\x0aNOOP\n\
            \xff\xfa\x18\n\xff\xff\xff\xf0PWD\r\nA\rB\r\0C\r\nQ\r\r\n";
        let whole = lines(input);
        for cut in 0..=input.len() {
            for cut2 in cut..=input.len() {
                let mut dec = LineDecoder::default();
                let mut buf = BytesMut::new();
                let mut got = Vec::new();
                for part in [&input[..cut], &input[cut..cut2], &input[cut2..]] {
                    buf.extend_from_slice(part);
                    while let Some(line) = dec.decode(&mut buf) {
                        got.push(line.unwrap().to_vec());
                    }
                }
                assert_eq!(got, whole, "cuts at {cut} and {cut2}");
            }
        }
    }

    #[test]
    fn overlong_line_is_reported_once_and_skipped() {
        let mut dec = LineDecoder::new(8);
        let mut buf = BytesMut::from(&b"12345678\r\n123456789\r\nNOOP\r\n"[..]);
        assert_eq!(
            dec.decode(&mut buf),
            Some(Ok(Bytes::from_static(b"12345678")))
        );
        assert_eq!(
            dec.decode(&mut buf),
            Some(Err(DecodeError::LineTooLong { limit: 8 }))
        );
        assert_eq!(dec.decode(&mut buf), Some(Ok(Bytes::from_static(b"NOOP"))));
        assert_eq!(dec.decode(&mut buf), None);
    }

    #[test]
    fn endless_line_keeps_memory_bounded() {
        let mut dec = LineDecoder::new(16);
        let mut buf = BytesMut::new();
        let mut errors = 0;
        for _ in 0..1000 {
            buf.extend_from_slice(&[b'A'; 7]);
            while let Some(r) = dec.decode(&mut buf) {
                assert_eq!(r, Err(DecodeError::LineTooLong { limit: 16 }));
                errors += 1;
            }
            assert!(buf.len() <= 17 + 7, "buffer grew to {}", buf.len());
        }
        assert_eq!(errors, 1);
        assert!(dec.is_discarding());
        buf.extend_from_slice(b"tail\r\nQUIT\r\n");
        assert_eq!(dec.decode(&mut buf), Some(Ok(Bytes::from_static(b"QUIT"))));
        // An endless line of IACs is bounded too.
        let mut dec = LineDecoder::new(16);
        let mut buf = BytesMut::from(&[IAC; 200][..]);
        assert_eq!(
            dec.decode(&mut buf),
            Some(Err(DecodeError::LineTooLong { limit: 16 }))
        );
        assert!(buf.is_empty());
    }

    /// Found by the `framing` fuzz target: while skipping an over-long line, an LF that is the
    /// option byte of `IAC DO` ended the skipping early, so chunked input decoded differently
    /// from whole input.
    #[test]
    fn skipping_an_overlong_line_respects_telnet_commands() {
        let input = b"0123456789abcdefghij\xff\xfd\x0aSTILL THE LONG LINE\r\nNOOP\r\n";
        for chunk in 1..=input.len() {
            let mut dec = LineDecoder::new(8);
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            for part in input.chunks(chunk) {
                buf.extend_from_slice(part);
                while let Some(line) = dec.decode(&mut buf) {
                    got.push(line);
                }
            }
            assert_eq!(
                got,
                [
                    Err(DecodeError::LineTooLong { limit: 8 }),
                    Ok(Bytes::from_static(b"NOOP"))
                ],
                "chunks of {chunk}"
            );
        }
    }

    #[test]
    fn eof_inside_a_line() {
        let mut dec = LineDecoder::default();
        let mut buf = BytesMut::from(&b"NOOP\r\nDELE a"[..]);
        assert_eq!(
            dec.decode_eof(&mut buf),
            Some(Ok(Bytes::from_static(b"NOOP")))
        );
        assert_eq!(
            dec.decode_eof(&mut buf),
            Some(Err(DecodeError::UnexpectedEof))
        );
        assert_eq!(dec.decode_eof(&mut buf), None);
    }
}
