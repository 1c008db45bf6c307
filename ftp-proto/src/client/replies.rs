//! Replies that carry a value the client wants: the pathname of a `257`, the size or time of a
//! `213`, the entry of an `MLST`'s `250`.

use bytes::Bytes;

use crate::listing::{MlsxEntry, parse_mlsx_line};
use crate::reply::Reply;
use crate::time::Timestamp;

/// The pathname a `257` reply names (`PWD`, `MKD`): the text between the first `"` and the
/// next lone one, `""` standing for one `"` (RFC 959 Appendix II).
pub fn parse_pathname(reply: &Reply) -> Option<Bytes> {
    let text = reply.first_line();
    let start = text.iter().position(|&b| b == b'"')? + 1;
    let mut name = Vec::new();
    let mut rest = text.get(start..)?.iter().copied().peekable();
    while let Some(b) = rest.next() {
        if b == b'"' {
            if rest.peek() == Some(&b'"') {
                rest.next();
            } else {
                return Some(name.into());
            }
        }
        name.push(b);
    }
    None
}

/// The text of a single-value reply, `213 1234` or `213 20240101120000`, trimmed.
fn reply_value(reply: &Reply) -> Option<&[u8]> {
    let line = reply.first_line().trim_ascii();
    (!line.is_empty()).then_some(line)
}

/// The size a `213` reply to `SIZE` gives, in bytes (RFC 3659 §4.2).
pub fn parse_size(reply: &Reply) -> Option<u64> {
    std::str::from_utf8(reply_value(reply)?).ok()?.parse().ok()
}

/// The time a `213` reply to `MDTM` gives, in UTC (RFC 3659 §3.2).
pub fn parse_modified(reply: &Reply) -> Option<Timestamp> {
    Timestamp::parse(reply_value(reply)?).ok()
}

/// The entry of a `250` reply to `MLST`: the line between the first and the last that starts
/// with one space (RFC 3659 §7.2).
pub fn parse_mlst(reply: &Reply) -> Option<MlsxEntry> {
    reply
        .lines()
        .skip(1)
        .find_map(|line| parse_mlsx_line(line.strip_prefix(b" ")?).ok())
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::*;
    use crate::reply::ReplyDecoder;

    fn reply(wire: &str) -> Reply {
        let mut buf = BytesMut::from(wire);
        ReplyDecoder::default().decode(&mut buf).unwrap().unwrap()
    }
    #[test]
    fn replies_that_carry_a_value() {
        let pwd = reply("257 \"/home/a\"\"b\" is current directory\r\n");
        assert_eq!(parse_pathname(&pwd).as_deref(), Some(&b"/home/a\"b"[..]));
        assert_eq!(
            parse_pathname(&reply("257 \"/\"\r\n")).as_deref(),
            Some(&b"/"[..])
        );
        assert_eq!(parse_pathname(&reply("257 no quotes\r\n")), None);
        assert_eq!(parse_pathname(&reply("257 \"unterminated\r\n")), None);
        assert_eq!(
            parse_size(&reply("213 5368709120\r\n")),
            Some(5_368_709_120)
        );
        assert_eq!(parse_size(&reply("213 12 bytes\r\n")), None);
        let t = parse_modified(&reply("213 20261124082839.5\r\n")).unwrap();
        assert_eq!(t, Timestamp::parse(b"20261124082839.5").unwrap());
        assert_eq!(parse_modified(&reply("213 yesterday\r\n")), None);
        let mlst = reply("250-Listing f\r\n type=file;size=3; /f\r\n250 End\r\n");
        let entry = parse_mlst(&mlst).unwrap();
        assert_eq!(
            (entry.name.as_ref(), entry.facts.size),
            (&b"/f"[..], Some(3))
        );
        assert_eq!(parse_mlst(&reply("250 no entry\r\n")), None);
    }
}
