//! The command grammar: RFC 959 §5.3 and the extensions, one line at a time (nom 8 in
//! complete mode).

use std::net::SocketAddr;

use bytes::Bytes;
use nom::Parser;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, u8 as dec_u8, u16 as dec_u16, u64 as dec_u64};
use nom::combinator::{all_consuming, opt};
use nom::sequence::{preceded, separated_pair};

use super::{
    Command, EpsvArg, FormatControl, ListArgs, Opts, ParseError, ParseErrorKind, ProtectionLevel,
    Structure, TransferMode, TransferType, Verb, is_verb,
};
use crate::address::{self, AddressError};
use crate::arg::{Arg, Secret, check};
use crate::checksum::HashAlgorithm;
use crate::time::Timestamp;

/// The verb and argument of a line, before the verb is known.
struct Split<'a> {
    verb: &'a [u8],
    /// The argument and its offset in the line; `None` when nothing but spaces follows.
    arg: Option<(&'a [u8], usize)>,
}

type NomResult<'a, T> = nom::IResult<&'a [u8], T>;

/// `verb [SP argument]` (RFC 959 §5.3.1). The argument is everything after the first space.
fn split_line(line: &[u8]) -> Result<Split<'_>, ParseError> {
    if line.is_empty() {
        return Err(ParseError::new(ParseErrorKind::Empty, 0));
    }
    let verb: NomResult<'_, &[u8]> = take_while1(|b: u8| b.is_ascii_graphic()).parse(line);
    let Ok((rest, verb)) = verb else {
        return Err(ParseError::new(ParseErrorKind::InvalidVerb, 0));
    };
    let arg_start = verb.len() + 1;
    match rest.split_first() {
        None => Ok(Split { verb, arg: None }),
        Some((b' ', arg)) if arg.iter().all(|&b| b == b' ') => Ok(Split { verb, arg: None }),
        Some((b' ', arg)) => Ok(Split {
            verb,
            arg: Some((arg, arg_start)),
        }),
        Some(_) => Err(ParseError::new(ParseErrorKind::InvalidVerb, verb.len())),
    }
}

/// Where parsed arguments come from: [`Borrow`] borrows them from the line, [`Share`] slices
/// them out of the line's [`Bytes`].
trait Source<'l, 'o>: Copy {
    /// Wraps `raw`, a part of the line already checked for CR, LF and NUL.
    fn wrap(self, raw: &'l [u8]) -> Arg<'o>;
}

/// Arguments borrow the line: no reference count, no allocation.
#[derive(Clone, Copy)]
struct Borrow;

impl<'l> Source<'l, 'l> for Borrow {
    fn wrap(self, raw: &'l [u8]) -> Arg<'l> {
        Arg::borrowed_unchecked(raw)
    }
}

/// Arguments are slices of the line's `Bytes`: no copy, and no borrow left.
#[derive(Clone, Copy)]
struct Share<'l>(&'l Bytes);

impl<'l> Source<'l, 'static> for Share<'l> {
    fn wrap(self, raw: &'l [u8]) -> Arg<'static> {
        Arg::shared_unchecked(self.0.slice_ref(raw))
    }
}

/// A parser over one argument: where arguments come from, the argument and its offset.
struct ArgParser<'l, S> {
    src: S,
    arg: Option<(&'l [u8], usize)>,
    verb_end: usize,
}

impl<'l, 'o, S: Source<'l, 'o>> ArgParser<'l, S> {
    fn none(&self) -> Result<(), ParseError> {
        match self.arg {
            None => Ok(()),
            Some((_, at)) => Err(ParseError::new(ParseErrorKind::UnexpectedArgument, at)),
        }
    }

    fn required_raw(&self) -> Result<(&'l [u8], usize), ParseError> {
        self.arg.ok_or(ParseError::new(
            ParseErrorKind::MissingArgument,
            self.verb_end,
        ))
    }

    fn to_arg(&self, raw: &'l [u8], at: usize) -> Result<Arg<'o>, ParseError> {
        check(raw).map_err(|e| ParseError::new(ParseErrorKind::InvalidByte(e.byte), at + e.at))?;
        Ok(self.src.wrap(raw))
    }

    fn required(&self) -> Result<Arg<'o>, ParseError> {
        let (raw, at) = self.required_raw()?;
        self.to_arg(raw, at)
    }

    fn optional(&self) -> Result<Option<Arg<'o>>, ParseError> {
        self.arg.map(|(raw, at)| self.to_arg(raw, at)).transpose()
    }

    /// Runs a nom parser over the whole (trimmed) argument.
    fn grammar<T>(
        &self,
        parser: impl Parser<&'l [u8], Output = T, Error = nom::error::Error<&'l [u8]>>,
    ) -> Result<T, ParseError> {
        let (raw, at) = self.required_raw()?;
        let trimmed = trim_end(raw);
        all_consuming(parser)
            .parse(trimmed)
            .map(|(_, v)| v)
            .map_err(|e| {
                let offset = match e {
                    nom::Err::Error(e) | nom::Err::Failure(e) => trimmed.len() - e.input.len(),
                    nom::Err::Incomplete(_) => trimmed.len(),
                };
                ParseError::new(ParseErrorKind::InvalidArgument, at + offset)
            })
    }

    /// A single-letter code, case-insensitive, mapped by `pick`; unknown letters are an
    /// unsupported parameter (504), anything longer a syntax error (501).
    fn letter<T>(&self, pick: impl Fn(u8) -> Option<T>) -> Result<T, ParseError> {
        let (raw, at) = self.required_raw()?;
        match trim_end(raw) {
            [c] => pick(c.to_ascii_uppercase())
                .ok_or(ParseError::new(ParseErrorKind::UnsupportedParameter, at)),
            _ => Err(ParseError::new(ParseErrorKind::InvalidArgument, at)),
        }
    }
}

fn trim_end(raw: &[u8]) -> &[u8] {
    let end = raw.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
    raw.get(..end).unwrap_or_default()
}

/// The verb in upper case as one big-endian word, space-padded, when it has at most four
/// letters (every known verb does). Matching words instead of byte arrays lets the compiler
/// turn the verb table into a binary search.
fn upper4(verb: &[u8]) -> Option<u32> {
    // Every known verb has three or four letters; shorter and longer ones are unknown.
    let bytes = match *verb {
        [a, b, c] => [a, b, c, b' '],
        [a, b, c, d] => [a, b, c, d],
        _ => return None,
    };
    Some(fold_case(u32::from_be_bytes(bytes)))
}

/// Clears bit 5 of every byte: a letter becomes upper case, and no other byte becomes a letter
/// (the bytes that map onto `A`..=`Z` are exactly the letters), so comparing folded words is
/// comparing verbs case-insensitively. The padding space becomes 0, which no verb byte (graphic
/// ASCII) can become.
const fn fold_case(word: u32) -> u32 {
    word & 0xDFDF_DFDF
}

/// The known verbs as [`upper4`] words.
mod verbs {
    pub(super) const USER: u32 = super::word(b"USER");
    pub(super) const PASS: u32 = super::word(b"PASS");
    pub(super) const ACCT: u32 = super::word(b"ACCT");
    pub(super) const CWD: u32 = super::word(b"CWD ");
    pub(super) const CDUP: u32 = super::word(b"CDUP");
    pub(super) const SMNT: u32 = super::word(b"SMNT");
    pub(super) const REIN: u32 = super::word(b"REIN");
    pub(super) const QUIT: u32 = super::word(b"QUIT");
    pub(super) const PORT: u32 = super::word(b"PORT");
    pub(super) const PASV: u32 = super::word(b"PASV");
    pub(super) const TYPE: u32 = super::word(b"TYPE");
    pub(super) const STRU: u32 = super::word(b"STRU");
    pub(super) const MODE: u32 = super::word(b"MODE");
    pub(super) const RETR: u32 = super::word(b"RETR");
    pub(super) const STOR: u32 = super::word(b"STOR");
    pub(super) const STOU: u32 = super::word(b"STOU");
    pub(super) const APPE: u32 = super::word(b"APPE");
    pub(super) const ALLO: u32 = super::word(b"ALLO");
    pub(super) const REST: u32 = super::word(b"REST");
    pub(super) const RNFR: u32 = super::word(b"RNFR");
    pub(super) const RNTO: u32 = super::word(b"RNTO");
    pub(super) const ABOR: u32 = super::word(b"ABOR");
    pub(super) const DELE: u32 = super::word(b"DELE");
    pub(super) const RMD: u32 = super::word(b"RMD ");
    pub(super) const MKD: u32 = super::word(b"MKD ");
    pub(super) const PWD: u32 = super::word(b"PWD ");
    pub(super) const LIST: u32 = super::word(b"LIST");
    pub(super) const NLST: u32 = super::word(b"NLST");
    pub(super) const SITE: u32 = super::word(b"SITE");
    pub(super) const SYST: u32 = super::word(b"SYST");
    pub(super) const STAT: u32 = super::word(b"STAT");
    pub(super) const HELP: u32 = super::word(b"HELP");
    pub(super) const NOOP: u32 = super::word(b"NOOP");
    pub(super) const AUTH: u32 = super::word(b"AUTH");
    pub(super) const PBSZ: u32 = super::word(b"PBSZ");
    pub(super) const PROT: u32 = super::word(b"PROT");
    pub(super) const CCC: u32 = super::word(b"CCC ");
    pub(super) const FEAT: u32 = super::word(b"FEAT");
    pub(super) const OPTS: u32 = super::word(b"OPTS");
    pub(super) const EPRT: u32 = super::word(b"EPRT");
    pub(super) const EPSV: u32 = super::word(b"EPSV");
    pub(super) const LANG: u32 = super::word(b"LANG");
    pub(super) const SIZE: u32 = super::word(b"SIZE");
    pub(super) const MDTM: u32 = super::word(b"MDTM");
    pub(super) const MLST: u32 = super::word(b"MLST");
    pub(super) const MLSD: u32 = super::word(b"MLSD");
    pub(super) const HOST: u32 = super::word(b"HOST");
    pub(super) const XPWD: u32 = super::word(b"XPWD");
    pub(super) const XCWD: u32 = super::word(b"XCWD");
    pub(super) const XCUP: u32 = super::word(b"XCUP");
    pub(super) const XMKD: u32 = super::word(b"XMKD");
    pub(super) const XRMD: u32 = super::word(b"XRMD");
    pub(super) const MFMT: u32 = super::word(b"MFMT");
    pub(super) const HASH: u32 = super::word(b"HASH");
    pub(super) const RANG: u32 = super::word(b"RANG");
    pub(super) const XCRC: u32 = super::word(b"XCRC");
    pub(super) const XMD5: u32 = super::word(b"XMD5");
}

/// A verb as the word [`upper4`] makes of it.
const fn word(verb: &[u8; 4]) -> u32 {
    fold_case(u32::from_be_bytes(*verb))
}

impl<'a> Command<'a> {
    /// Parses one command line, without its line end (see [`crate::LineDecoder`]). The
    /// arguments borrow `line`: parsing counts no references and allocates nothing.
    /// [`Command::into_owned`] or [`Command::parse_owned`] give a command that outlives it.
    pub fn parse(line: &'a (impl AsRef<[u8]> + ?Sized)) -> Result<Self, ParseError> {
        parse_with(line.as_ref(), Borrow)
    }
}

impl Command<'static> {
    /// Parses one command line like [`Command::parse`], into a command that keeps no borrow:
    /// its arguments are slices of `line`, so a `Bytes` line is parsed without copying.
    pub fn parse_owned(line: impl Into<Bytes>) -> Result<Self, ParseError> {
        let line = line.into();
        parse_with(&line, Share(&line))
    }
}

/// The grammar, over arguments from `src`.
fn parse_with<'l, 'o, S: Source<'l, 'o>>(
    line: &'l [u8],
    src: S,
) -> Result<Command<'o>, ParseError> {
    let split = split_line(line)?;
    let p = ArgParser {
        src,
        arg: split.arg,
        verb_end: split.verb.len(),
    };
    let Some(verb) = upper4(split.verb) else {
        // The legacy checksum verbs are the only known ones longer than four letters.
        if let Some(algorithm) = HashAlgorithm::from_x_verb(split.verb) {
            return p.x_checksum(algorithm);
        }
        return p.unknown(split.verb);
    };
    Ok(match verb {
        verbs::USER => Command::User(p.required()?),
        verbs::PASS => Command::Pass(Secret::new(p.optional()?.unwrap_or_default())),
        verbs::ACCT => Command::Acct(Secret::new(p.required()?)),
        verbs::CWD => Command::Cwd(p.required()?),
        verbs::CDUP => p.none().map(|()| Command::Cdup)?,
        verbs::SMNT => Command::Smnt(p.required()?),
        verbs::REIN => p.none().map(|()| Command::Rein)?,
        verbs::QUIT => p.none().map(|()| Command::Quit)?,
        verbs::PORT => Command::Port(p.grammar(address::port_arg)?),
        verbs::PASV => p.none().map(|()| Command::Pasv)?,
        verbs::TYPE => Command::Type(p.type_code()?),
        verbs::STRU => Command::Stru(p.letter(|c| match c {
            b'F' => Some(Structure::File),
            b'R' => Some(Structure::Record),
            b'P' => Some(Structure::Page),
            _ => None,
        })?),
        verbs::MODE => Command::Mode(p.letter(|c| match c {
            b'S' => Some(TransferMode::Stream),
            b'B' => Some(TransferMode::Block),
            b'C' => Some(TransferMode::Compressed),
            _ => None,
        })?),
        verbs::RETR => Command::Retr(p.required()?),
        verbs::STOR => Command::Stor(p.required()?),
        verbs::STOU => Command::Stou(p.optional()?),
        verbs::APPE => Command::Appe(p.required()?),
        verbs::ALLO => {
            let (size, record) = p.grammar((
                dec_u64,
                opt(preceded(
                    (
                        tag(&b" "[..]),
                        nom::character::complete::one_of("Rr"),
                        tag(&b" "[..]),
                    ),
                    dec_u64,
                )),
            ))?;
            Command::Allo { size, record }
        }
        verbs::REST => Command::Rest(p.grammar(dec_u64)?),
        verbs::RNFR => Command::Rnfr(p.required()?),
        verbs::RNTO => Command::Rnto(p.required()?),
        verbs::ABOR => p.none().map(|()| Command::Abor)?,
        verbs::DELE => Command::Dele(p.required()?),
        verbs::RMD => Command::Rmd(p.required()?),
        verbs::MKD => Command::Mkd(p.required()?),
        verbs::PWD => p.none().map(|()| Command::Pwd)?,
        verbs::LIST => Command::List(p.list_args()?),
        verbs::NLST => Command::Nlst(p.list_args()?),
        verbs::SITE => Command::Site(p.required()?),
        verbs::SYST => p.none().map(|()| Command::Syst)?,
        verbs::STAT => Command::Stat(p.optional()?),
        verbs::HELP => Command::Help(p.optional()?),
        verbs::NOOP => p.none().map(|()| Command::Noop)?,
        verbs::AUTH => Command::Auth(p.required()?),
        verbs::PBSZ => Command::Pbsz(p.grammar(dec_u64)?),
        verbs::PROT => Command::Prot(p.letter(|c| match c {
            b'C' => Some(ProtectionLevel::Clear),
            b'S' => Some(ProtectionLevel::Safe),
            b'E' => Some(ProtectionLevel::Confidential),
            b'P' => Some(ProtectionLevel::Private),
            _ => None,
        })?),
        verbs::CCC => p.none().map(|()| Command::Ccc)?,
        verbs::FEAT => p.none().map(|()| Command::Feat)?,
        verbs::OPTS => Command::Opts(p.opts()?),
        verbs::EPRT => Command::Eprt(p.eprt()?),
        verbs::EPSV => Command::Epsv(p.epsv()?),
        verbs::LANG => Command::Lang(p.optional()?),
        verbs::SIZE => Command::Size(p.required()?),
        verbs::MDTM => Command::Mdtm(p.required()?),
        verbs::MLST => Command::Mlst(p.optional()?),
        verbs::MLSD => Command::Mlsd(p.optional()?),
        verbs::HOST => Command::Host(p.required()?),
        verbs::XPWD => p.none().map(|()| Command::Xpwd)?,
        verbs::XCWD => Command::Xcwd(p.required()?),
        verbs::XCUP => p.none().map(|()| Command::Xcup)?,
        verbs::XMKD => Command::Xmkd(p.required()?),
        verbs::XRMD => Command::Xrmd(p.required()?),
        verbs::MFMT => p.mfmt()?,
        verbs::HASH => Command::Hash(p.required()?),
        verbs::XCRC => p.x_checksum(HashAlgorithm::Crc32)?,
        verbs::XMD5 => p.x_checksum(HashAlgorithm::Md5)?,
        verbs::RANG => {
            let (start, end) = p.grammar(separated_pair(dec_u64, char(' '), dec_u64))?;
            Command::Rang { start, end }
        }
        _ => return p.unknown(split.verb),
    })
}

impl<'l, 'o, S: Source<'l, 'o>> ArgParser<'l, S> {
    fn unknown(&self, verb: &'l [u8]) -> Result<Command<'o>, ParseError> {
        // split_line only accepts printable ASCII verbs.
        let verb = Verb::from_checked(self.src.wrap(verb));
        Ok(Command::Unknown {
            verb,
            arg: self.optional()?,
        })
    }

    /// `type-code ::= A [SP form-code] | E [SP form-code] | I | L SP byte-size`
    /// (RFC 959 §5.3.2). `L8` without the space is accepted too.
    fn type_code(&self) -> Result<TransferType, ParseError> {
        let (raw, at) = self.required_raw()?;
        let raw = trim_end(raw);
        let Some((&code, rest)) = raw.split_first() else {
            return Err(ParseError::new(ParseErrorKind::MissingArgument, at));
        };
        let syntax = || ParseError::new(ParseErrorKind::InvalidArgument, at + 1);
        let form = |rest: &[u8]| -> Result<FormatControl, ParseError> {
            match rest {
                [] => Ok(FormatControl::NonPrint),
                [b' ', f] => match f.to_ascii_uppercase() {
                    b'N' => Ok(FormatControl::NonPrint),
                    b'T' => Ok(FormatControl::Telnet),
                    b'C' => Ok(FormatControl::Asa),
                    _ => Err(ParseError::new(
                        ParseErrorKind::UnsupportedParameter,
                        at + 2,
                    )),
                },
                _ => Err(syntax()),
            }
        };
        match code.to_ascii_uppercase() {
            b'A' => Ok(TransferType::Ascii(form(rest)?)),
            b'E' => Ok(TransferType::Ebcdic(form(rest)?)),
            b'I' if rest.is_empty() => Ok(TransferType::Image),
            b'L' => {
                let size: NomResult<'_, u8> =
                    all_consuming(preceded(opt(char(' ')), dec_u8)).parse(rest);
                size.map(|(_, n)| TransferType::Local(n))
                    .map_err(|_| syntax())
            }
            b'I' => Err(syntax()),
            _ => Err(ParseError::new(ParseErrorKind::UnsupportedParameter, at)),
        }
    }

    fn list_args(&self) -> Result<ListArgs<'o>, ParseError> {
        let Some((raw, at)) = self.arg else {
            return Ok(ListArgs::default());
        };
        if raw.first() != Some(&b'-') {
            return Ok(ListArgs {
                flags: None,
                path: Some(self.to_arg(raw, at)?),
            });
        }
        // Flag words: each starts with '-'; they end at the first word that does not.
        let mut end = 0;
        loop {
            let word_end = raw
                .get(end..)
                .and_then(|r| r.iter().position(|&b| b == b' '))
                .map_or(raw.len(), |i| end + i);
            end = word_end;
            let next = raw
                .get(end..)
                .map_or(end, |r| end + r.iter().take_while(|&&b| b == b' ').count());
            if raw.get(next) != Some(&b'-') || next == raw.len() {
                let flags = self.to_arg(raw.get(..end).unwrap_or_default(), at)?;
                let path = match raw.get(next..) {
                    Some(p) if !p.is_empty() => Some(self.to_arg(p, at + next)?),
                    _ => None,
                };
                return Ok(ListArgs {
                    flags: Some(flags),
                    path,
                });
            }
            end = next;
        }
    }

    fn opts(&self) -> Result<Opts<'o>, ParseError> {
        let (raw, at) = self.required_raw()?;
        let (name, value) = match raw.iter().position(|&b| b == b' ') {
            Some(i) => (
                raw.get(..i).unwrap_or_default(),
                raw.get(i + 1..).filter(|v| !trim_end(v).is_empty()),
            ),
            None => (raw, None),
        };
        if !is_verb(name) {
            return Err(ParseError::new(ParseErrorKind::InvalidArgument, at));
        }
        let name = Verb::from_checked(self.src.wrap(name));
        let value = value
            .map(|v| self.to_arg(v, at + name.as_bytes().len() + 1))
            .transpose()?;
        Ok(Opts { name, value })
    }

    /// `EPRT <d><net-prt><d><net-addr><d><tcp-port><d>` (RFC 2428 §2); `<d>` is any printable
    /// ASCII byte, `|` by convention.
    fn eprt(&self) -> Result<SocketAddr, ParseError> {
        let (raw, at) = self.required_raw()?;
        address::parse_eprt(trim_end(raw)).map_err(|e| address_error(e, at))
    }

    /// `EPSV [<SP> (net-prt | "ALL")]` (RFC 2428 §3).
    fn epsv(&self) -> Result<Option<EpsvArg>, ParseError> {
        let Some((raw, _)) = self.arg else {
            return Ok(None);
        };
        if trim_end(raw).eq_ignore_ascii_case(b"ALL") {
            return Ok(Some(EpsvArg::All));
        }
        self.grammar(dec_u16).map(|n| Some(EpsvArg::Protocol(n)))
    }

    /// `MFMT <SP> time-val <SP> pathname` (draft-somers-ftp-mfxx-04 §3).
    fn mfmt(&self) -> Result<Command<'o>, ParseError> {
        let (raw, at) = self.required_raw()?;
        let Some(space) = raw.iter().position(|&b| b == b' ') else {
            return Err(ParseError::new(
                ParseErrorKind::MissingArgument,
                at + raw.len(),
            ));
        };
        let time = Timestamp::parse(raw.get(..space).unwrap_or_default())
            .map_err(|_| ParseError::new(ParseErrorKind::InvalidArgument, at))?;
        let path = raw.get(space + 1..).unwrap_or_default();
        if path.is_empty() {
            return Err(ParseError::new(
                ParseErrorKind::MissingArgument,
                at + space + 1,
            ));
        }
        Ok(Command::Mfmt {
            time,
            path: self.to_arg(path, at + space + 1)?,
        })
    }
}

impl<'l, 'o, S: Source<'l, 'o>> ArgParser<'l, S> {
    /// `XCRC path`, `XCRC "path" [[start] end]` or `XCRC path start end` (and the same for
    /// the other legacy checksum verbs). FlashFXP quotes a path with spaces; ProFTPD's
    /// mod_digest takes an unquoted path followed by two numbers. An unquoted argument is read
    /// as a path and a range only when its last two words are numbers, so a plain name with
    /// spaces stays a name.
    fn x_checksum(&self, algorithm: HashAlgorithm) -> Result<Command<'o>, ParseError> {
        let (raw, at) = self.required_raw()?;
        // Two numbers are the start and the end; one alone is the end (GlobalSCAPE).
        let numbers = |rest: &[u8], off: usize| -> Result<Option<(u64, u64)>, ParseError> {
            let rest = trim_end(rest);
            if rest.is_empty() {
                return Ok(None);
            }
            let range: NomResult<'_, (u64, Option<u64>)> = all_consuming((
                preceded(char(' '), dec_u64),
                opt(preceded(char(' '), dec_u64)),
            ))
            .parse(rest);
            range
                .map(|(_, (a, b))| Some(b.map_or((0, a), |b| (a, b))))
                .map_err(|_| ParseError::new(ParseErrorKind::InvalidArgument, off))
        };
        let (path, path_at, range) = if let Some(quoted) = raw.strip_prefix(b"\"") {
            let Some(close) = quoted.iter().position(|&b| b == b'"') else {
                return Err(ParseError::new(ParseErrorKind::InvalidArgument, at));
            };
            let path = quoted.get(..close).unwrap_or_default();
            let rest = quoted.get(close + 1..).unwrap_or_default();
            (path, at + 1, numbers(rest, at + close + 2)?)
        } else {
            match unquoted_range_at(raw) {
                Some(len) => {
                    let path = raw.get(..len).unwrap_or_default();
                    (
                        path,
                        at,
                        numbers(raw.get(len..).unwrap_or_default(), at + len)?,
                    )
                }
                None => (raw, at, None),
            }
        };
        if path.is_empty() {
            return Err(ParseError::new(ParseErrorKind::MissingArgument, at));
        }
        Ok(Command::XChecksum {
            algorithm,
            path: self.to_arg(path, path_at)?,
            range,
        })
    }
}

/// Where the path ends in an unquoted legacy checksum argument that ends in a range: its last
/// two words are numbers and something not blank comes before them. `None`: all of it is the
/// path. The encoder asks the same question, so that what it writes reads back.
pub(super) fn unquoted_range_at(arg: &[u8]) -> Option<usize> {
    let trimmed = trim_end(arg);
    let number = |w: &[u8]| !w.is_empty() && w.iter().all(u8::is_ascii_digit);
    let mut words = trimmed.rsplitn(3, |&b| b == b' ');
    match (words.next(), words.next(), words.next()) {
        (Some(end), Some(start), Some(path))
            if number(start) && number(end) && !trim_end(path).is_empty() =>
        {
            Some(path.len())
        }
        _ => None,
    }
}

/// An address argument that failed to read at offset `at` of the line, as a parse error.
fn address_error(e: AddressError, at: usize) -> ParseError {
    match e {
        AddressError::Malformed { offset } => ParseError {
            kind: ParseErrorKind::InvalidArgument,
            offset: at + offset,
        },
        AddressError::UnsupportedProtocol(p) => ParseError {
            kind: ParseErrorKind::UnsupportedProtocol(p),
            offset: at,
        },
    }
}
