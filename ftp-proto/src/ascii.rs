//! `TYPE A` line-end conversion (RFC 959 §3.1.1.1): the wire carries CRLF, the file holds the
//! local convention (LF here). Streaming and stateful, so chunks may split a CRLF anywhere.

use bytes::BytesMut;

/// Converts stored bytes to the wire form: every bare LF becomes CRLF; an existing CRLF is
/// left alone, so a file that already uses CRLF is not doubled.
#[derive(Debug, Default, Clone)]
pub struct AsciiEncoder {
    last_was_cr: bool,
}

impl AsciiEncoder {
    /// A fresh encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the converted form of `input` to `out`.
    pub fn encode(&mut self, input: &[u8], out: &mut BytesMut) {
        out.reserve(input.len() + input.len() / 32 + 1);
        let mut start = 0;
        for (i, &b) in input.iter().enumerate() {
            if b == b'\n' && !self.prev_is_cr(input, i) {
                out.extend_from_slice(input.get(start..i).unwrap_or_default());
                out.extend_from_slice(b"\r\n");
                start = i + 1;
            }
        }
        out.extend_from_slice(input.get(start..).unwrap_or_default());
        if let Some(&last) = input.last() {
            self.last_was_cr = last == b'\r';
        }
    }

    fn prev_is_cr(&self, input: &[u8], i: usize) -> bool {
        match i.checked_sub(1) {
            Some(j) => input.get(j) == Some(&b'\r'),
            None => self.last_was_cr,
        }
    }
}

/// Converts wire bytes to the stored form: CRLF becomes LF. A CR that is not followed by LF is
/// kept; a CR at the end of a chunk waits for the next chunk (or [`finish`](Self::finish)).
#[derive(Debug, Default, Clone)]
pub struct AsciiDecoder {
    pending_cr: bool,
}

impl AsciiDecoder {
    /// A fresh decoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends the converted form of `input` to `out`.
    pub fn decode(&mut self, input: &[u8], out: &mut BytesMut) {
        out.reserve(input.len() + 1);
        let mut rest = input;
        if self.pending_cr && !rest.is_empty() {
            self.pending_cr = false;
            if rest.first() != Some(&b'\n') {
                out.extend_from_slice(b"\r");
            }
        }
        while let Some(pos) = rest.iter().position(|&b| b == b'\r') {
            out.extend_from_slice(rest.get(..pos).unwrap_or_default());
            match rest.get(pos + 1) {
                Some(b'\n') => {} // CRLF: the LF goes out with the next run
                Some(_) => out.extend_from_slice(b"\r"),
                None => self.pending_cr = true,
            }
            rest = rest.get(pos + 1..).unwrap_or_default();
        }
        out.extend_from_slice(rest);
    }

    /// Flushes a CR held back at the end of the stream.
    pub fn finish(&mut self, out: &mut BytesMut) {
        if std::mem::take(&mut self.pending_cr) {
            out.extend_from_slice(b"\r");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_split(input: &[u8], cut: usize) -> Vec<u8> {
        let mut enc = AsciiEncoder::new();
        let mut out = BytesMut::new();
        enc.encode(&input[..cut], &mut out);
        enc.encode(&input[cut..], &mut out);
        out.to_vec()
    }

    fn decode_split(input: &[u8], cut: usize) -> Vec<u8> {
        let mut dec = AsciiDecoder::new();
        let mut out = BytesMut::new();
        dec.decode(&input[..cut], &mut out);
        dec.decode(&input[cut..], &mut out);
        dec.finish(&mut out);
        out.to_vec()
    }

    #[test]
    fn converts_at_every_split() {
        let stored = b"line one\nline two\r\nbare\rcr\n\nend";
        let wire = b"line one\r\nline two\r\nbare\rcr\r\n\r\nend";
        for cut in 0..=stored.len() {
            assert_eq!(encode_split(stored, cut), wire, "encode cut {cut}");
        }
        let back = b"line one\nline two\nbare\rcr\n\nend";
        for cut in 0..=wire.len() {
            assert_eq!(decode_split(wire, cut), back, "decode cut {cut}");
        }
        assert_eq!(decode_split(b"a\r", 2), b"a\r");
        assert_eq!(decode_split(b"a\r\r\n", 2), b"a\r\n");
    }
}
