//! Commands: the typed form of every verb the workspace knows, a parser and an encoder.
//!
//! Grammar: RFC 959 §5.3 (commands and arguments), RFC 2228 §3 (AUTH, PBSZ, PROT, CCC),
//! RFC 2389 §3-4 (FEAT, OPTS), RFC 2428 §2-3 (EPRT, EPSV), RFC 2640 §4 (LANG),
//! RFC 3659 §3-7 (MDTM, SIZE, REST, MLST, MLSD), RFC 7151 §3 (HOST), and the MFMT draft
//! (draft-somers-ftp-mfxx). Verbs are case-insensitive; arguments stay raw bytes.

use std::fmt;
use std::net::{SocketAddr, SocketAddrV4};

use bytes::{BufMut, Bytes, BytesMut};
use nom::Parser;
use nom::bytes::complete::{tag, take_while1};
use nom::character::complete::{char, u8 as dec_u8, u16 as dec_u16, u64 as dec_u64};
use nom::combinator::{all_consuming, opt};
use nom::sequence::preceded;

use crate::address::{self, AddressError};
use crate::arg::{Arg, Secret};
use crate::framing::put_telnet_data;
use crate::time::Timestamp;

/// A command verb as received: printable ASCII, no spaces. Kept for unknown commands so a
/// server can name them in its reply.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Verb(Bytes);

impl Verb {
    /// Checks and wraps a verb: one or more printable ASCII bytes (33 to 126).
    pub fn new(bytes: impl Into<Bytes>) -> Option<Self> {
        let bytes = bytes.into();
        (!bytes.is_empty() && bytes.iter().all(u8::is_ascii_graphic)).then_some(Self(bytes))
    }

    /// The verb as received.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The verb as text (always ASCII).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Debug for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verb({})", self.as_str())
    }
}

impl fmt::Display for Verb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Format control for `TYPE A` and `TYPE E` (RFC 959 §3.1.1.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum FormatControl {
    /// `N`: no vertical format information (the default).
    #[default]
    NonPrint,
    /// `T`: Telnet format effectors.
    Telnet,
    /// `C`: ASA carriage control.
    Asa,
}

/// The representation type set by `TYPE` (RFC 959 §3.1.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransferType {
    /// `A`: ASCII, line ends are CRLF on the wire.
    Ascii(FormatControl),
    /// `E`: EBCDIC.
    Ebcdic(FormatControl),
    /// `I`: image (binary).
    Image,
    /// `L n`: local byte size `n` (`L 8` means the same as `I`).
    Local(u8),
}

/// File structure set by `STRU` (RFC 959 §3.1.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Structure {
    /// `F`: no record structure.
    File,
    /// `R`: record structure.
    Record,
    /// `P`: page structure.
    Page,
}

/// Transmission mode set by `MODE` (RFC 959 §3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TransferMode {
    /// `S`: stream.
    Stream,
    /// `B`: block.
    Block,
    /// `C`: compressed.
    Compressed,
}

/// Data channel protection level set by `PROT` (RFC 2228 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProtectionLevel {
    /// `C`: clear.
    Clear,
    /// `S`: safe (integrity only).
    Safe,
    /// `E`: confidential.
    Confidential,
    /// `P`: private (integrity and confidentiality; TLS).
    Private,
}

/// The argument of `EPSV` (RFC 2428 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EpsvArg {
    /// `EPSV ALL`: from now on only `EPSV` may set up data connections.
    All,
    /// `EPSV n`: a passive listener for network protocol `n` (1 IPv4, 2 IPv6).
    Protocol(u16),
}

/// `OPTS name [value]` (RFC 2389 §4).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Opts {
    /// The command whose options are set, such as `UTF8` or `MLST`; compare ignoring case.
    pub name: Verb,
    /// The option text after the name.
    pub value: Option<Arg>,
}

/// Arguments of `LIST` and `NLST`: `ls`-style flags, as clients send them, kept apart from the
/// path. A leading argument word that begins with `-` is a flag word (`LIST -la /pub`), the
/// convention of vsftpd, ProFTPD and Pure-FTPd; a path that starts with `-` must be written
/// `./-name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct ListArgs {
    /// The flag words, such as `-la` or `-l -a`.
    pub flags: Option<Arg>,
    /// The path, if any.
    pub path: Option<Arg>,
}

impl ListArgs {
    /// Whether the flags ask for entries whose names start with `.` (`-a` or `-A`).
    pub fn shows_hidden(&self) -> bool {
        self.flags
            .as_ref()
            .is_some_and(|f| f.as_bytes().iter().any(|&b| b == b'a' || b == b'A'))
    }
}

/// A command, as sent on the control connection.
///
/// # Round trips
///
/// Every value [`Command::parse`] returns encodes with [`Command::encode`] to a line that
/// parses back to the same value (through a [`LineDecoder`](crate::LineDecoder), which undoes
/// the doubling of 0xFF bytes). A value built by hand round-trips if it is one `parse` could
/// have returned; these are not, and come back different or not at all:
///
/// - an empty or all-space argument where the verb needs one: `Retr(Arg::default())` encodes
///   as `RETR `, which is [`ParseErrorKind::MissingArgument`]; so are an empty `Acct` and an
///   empty `Mfmt` path (an empty `Pass` is fine: it is sent as `PASS` and read back empty);
/// - `Some` of an empty or all-space optional argument (of `Stou`, `Stat`, `Help`, `Lang`,
///   `Mlst`, `Mlsd` or `Unknown`) or [`Opts`] value, which parses back as `None`;
/// - [`ListArgs`] of a shape the parser does not produce: flags that are not words each
///   starting with `-` (`la`, `-l name`, `-l ` with a trailing space, an empty one), a path that
///   starts with `-` (read as flags), or one that starts with a space after flags;
/// - `Unknown` whose verb is a known one in any case (`Unknown { verb: "RETR", .. }` parses as
///   [`Command::Retr`]);
/// - `Eprt` with an IPv6 scope id or flow label, which the wire form cannot carry.
///
/// The property tests check both halves: parsed lines and generated values in the rules above
/// round-trip, and each exception comes back as documented.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command {
    /// `USER name`.
    User(Arg),
    /// `PASS password`; an empty password (often sent by anonymous clients) is accepted.
    Pass(Secret<Arg>),
    /// `ACCT account`.
    Acct(Secret<Arg>),
    /// `CWD path`.
    Cwd(Arg),
    /// `CDUP`.
    Cdup,
    /// `SMNT path`.
    Smnt(Arg),
    /// `REIN`.
    Rein,
    /// `QUIT`.
    Quit,
    /// `PORT h1,h2,h3,h4,p1,p2`.
    Port(SocketAddrV4),
    /// `PASV`.
    Pasv,
    /// `TYPE code`.
    Type(TransferType),
    /// `STRU code`.
    Stru(Structure),
    /// `MODE code`.
    Mode(TransferMode),
    /// `RETR path`.
    Retr(Arg),
    /// `STOR path`.
    Stor(Arg),
    /// `STOU [name]`.
    Stou(Option<Arg>),
    /// `APPE path`.
    Appe(Arg),
    /// `ALLO size [R record-size]`.
    Allo {
        /// Bytes to reserve.
        size: u64,
        /// Maximum record or page size.
        record: Option<u64>,
    },
    /// `REST offset` (RFC 3659 §5: a byte count in stream mode).
    Rest(u64),
    /// `RNFR path`.
    Rnfr(Arg),
    /// `RNTO path`.
    Rnto(Arg),
    /// `ABOR`.
    Abor,
    /// `DELE path`.
    Dele(Arg),
    /// `RMD path`.
    Rmd(Arg),
    /// `MKD path`.
    Mkd(Arg),
    /// `PWD`.
    Pwd,
    /// `LIST [flags] [path]`.
    List(ListArgs),
    /// `NLST [flags] [path]`.
    Nlst(ListArgs),
    /// `SITE command`.
    Site(Arg),
    /// `SYST`.
    Syst,
    /// `STAT [path]`.
    Stat(Option<Arg>),
    /// `HELP [topic]`.
    Help(Option<Arg>),
    /// `NOOP`.
    Noop,
    /// `AUTH mechanism` (RFC 2228, RFC 4217: `AUTH TLS`).
    Auth(Arg),
    /// `PBSZ size`.
    Pbsz(u64),
    /// `PROT level`.
    Prot(ProtectionLevel),
    /// `CCC`.
    Ccc,
    /// `FEAT`.
    Feat,
    /// `OPTS name [value]`.
    Opts(Opts),
    /// `EPRT |proto|address|port|`.
    Eprt(SocketAddr),
    /// `EPSV [ALL | proto]`.
    Epsv(Option<EpsvArg>),
    /// `LANG [tag]`.
    Lang(Option<Arg>),
    /// `SIZE path`.
    Size(Arg),
    /// `MDTM path`.
    Mdtm(Arg),
    /// `MLST [path]`.
    Mlst(Option<Arg>),
    /// `MLSD [path]`.
    Mlsd(Option<Arg>),
    /// `HOST name`.
    Host(Arg),
    /// `XPWD` (RFC 775), same as `PWD`.
    Xpwd,
    /// `XCWD path`, same as `CWD`.
    Xcwd(Arg),
    /// `XCUP`, same as `CDUP`.
    Xcup,
    /// `XMKD path`, same as `MKD`.
    Xmkd(Arg),
    /// `XRMD path`, same as `RMD`.
    Xrmd(Arg),
    /// `MFMT time path`: set the modification time.
    Mfmt {
        /// The new modification time (UTC).
        time: Timestamp,
        /// The file.
        path: Arg,
    },
    /// A verb this crate does not know, kept so a server can answer 500 or 502.
    Unknown {
        /// The verb as received.
        verb: Verb,
        /// Its argument, if any.
        arg: Option<Arg>,
    },
}

/// What was wrong with a command line; [`ParseError::reply_code`] picks the reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The line was empty.
    Empty,
    /// The verb held a byte that no verb may hold.
    InvalidVerb,
    /// The command needs an argument and has none.
    MissingArgument,
    /// The command takes no argument and got one.
    UnexpectedArgument,
    /// The argument does not follow the command's grammar.
    InvalidArgument,
    /// The argument holds a byte no argument may hold (NUL, or a stray CR).
    InvalidByte(u8),
    /// The argument is well-formed but names a parameter this protocol does not define
    /// (`TYPE X`, `MODE Z`, `PROT Q`).
    UnsupportedParameter,
    /// `EPRT` named a network protocol other than 1 (IPv4) or 2 (IPv6).
    UnsupportedProtocol(u16),
}

/// A command line that could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct ParseError {
    /// What was wrong.
    pub kind: ParseErrorKind,
    /// Offset into the line where the problem was found.
    pub offset: usize,
}

impl ParseError {
    fn new(kind: ParseErrorKind, offset: usize) -> Self {
        Self { kind, offset }
    }

    /// The reply a server should give: 500 for a line that is no command, 501 for bad
    /// arguments, 504 for an unsupported parameter, 522 for an unsupported network protocol.
    pub fn reply_code(&self) -> crate::ReplyCode {
        use crate::ReplyCode;
        match self.kind {
            ParseErrorKind::Empty | ParseErrorKind::InvalidVerb => ReplyCode::SYNTAX_ERROR,
            ParseErrorKind::UnsupportedParameter => ReplyCode::PARAMETER_NOT_IMPLEMENTED,
            ParseErrorKind::UnsupportedProtocol(_) => ReplyCode::PROTOCOL_NOT_SUPPORTED,
            _ => ReplyCode::PARAMETER_SYNTAX_ERROR,
        }
    }

    fn describe(&self) -> String {
        let what = match self.kind {
            ParseErrorKind::Empty => "empty command line".to_owned(),
            ParseErrorKind::InvalidVerb => "invalid command verb".to_owned(),
            ParseErrorKind::MissingArgument => "missing argument".to_owned(),
            ParseErrorKind::UnexpectedArgument => "unexpected argument".to_owned(),
            ParseErrorKind::InvalidArgument => "invalid argument".to_owned(),
            ParseErrorKind::InvalidByte(b) => format!("invalid byte {b:#04x} in argument"),
            ParseErrorKind::UnsupportedParameter => "unsupported parameter".to_owned(),
            ParseErrorKind::UnsupportedProtocol(p) => format!("unsupported network protocol {p}"),
        };
        format!("{what} at offset {}", self.offset)
    }
}

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

/// A parser over one argument: the line (to slice [`Arg`]s from without copying), the argument
/// and its offset.
struct ArgParser<'a> {
    line: &'a Bytes,
    arg: Option<(&'a [u8], usize)>,
    verb_end: usize,
}

impl<'a> ArgParser<'a> {
    fn none(&self) -> Result<(), ParseError> {
        match self.arg {
            None => Ok(()),
            Some((_, at)) => Err(ParseError::new(ParseErrorKind::UnexpectedArgument, at)),
        }
    }

    fn required_raw(&self) -> Result<(&'a [u8], usize), ParseError> {
        self.arg.ok_or(ParseError::new(
            ParseErrorKind::MissingArgument,
            self.verb_end,
        ))
    }

    fn to_arg(&self, raw: &[u8], at: usize) -> Result<Arg, ParseError> {
        Arg::new(self.line.slice_ref(raw))
            .map_err(|e| ParseError::new(ParseErrorKind::InvalidByte(e.byte), at + e.at))
    }

    fn required(&self) -> Result<Arg, ParseError> {
        let (raw, at) = self.required_raw()?;
        self.to_arg(raw, at)
    }

    fn optional(&self) -> Result<Option<Arg>, ParseError> {
        self.arg.map(|(raw, at)| self.to_arg(raw, at)).transpose()
    }

    /// Runs a nom parser over the whole (trimmed) argument.
    fn grammar<T>(
        &self,
        parser: impl Parser<&'a [u8], Output = T, Error = nom::error::Error<&'a [u8]>>,
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
}

/// A verb as the word [`upper4`] makes of it.
const fn word(verb: &[u8; 4]) -> u32 {
    fold_case(u32::from_be_bytes(*verb))
}

impl Command {
    /// Parses one command line, without its line end (see [`crate::LineDecoder`]).
    ///
    /// Arguments are slices of `line`, so a `Bytes` line is parsed without copying.
    pub fn parse(line: impl Into<Bytes>) -> Result<Self, ParseError> {
        let line = line.into();
        let split = split_line(&line)?;
        let p = ArgParser {
            line: &line,
            arg: split.arg,
            verb_end: split.verb.len(),
        };
        let Some(verb) = upper4(split.verb) else {
            return p.unknown(split.verb);
        };
        Ok(match verb {
            verbs::USER => Self::User(p.required()?),
            verbs::PASS => Self::Pass(Secret::new(p.optional()?.unwrap_or_default())),
            verbs::ACCT => Self::Acct(Secret::new(p.required()?)),
            verbs::CWD => Self::Cwd(p.required()?),
            verbs::CDUP => p.none().map(|()| Self::Cdup)?,
            verbs::SMNT => Self::Smnt(p.required()?),
            verbs::REIN => p.none().map(|()| Self::Rein)?,
            verbs::QUIT => p.none().map(|()| Self::Quit)?,
            verbs::PORT => Self::Port(p.grammar(address::host_port)?),
            verbs::PASV => p.none().map(|()| Self::Pasv)?,
            verbs::TYPE => Self::Type(p.type_code()?),
            verbs::STRU => Self::Stru(p.letter(|c| match c {
                b'F' => Some(Structure::File),
                b'R' => Some(Structure::Record),
                b'P' => Some(Structure::Page),
                _ => None,
            })?),
            verbs::MODE => Self::Mode(p.letter(|c| match c {
                b'S' => Some(TransferMode::Stream),
                b'B' => Some(TransferMode::Block),
                b'C' => Some(TransferMode::Compressed),
                _ => None,
            })?),
            verbs::RETR => Self::Retr(p.required()?),
            verbs::STOR => Self::Stor(p.required()?),
            verbs::STOU => Self::Stou(p.optional()?),
            verbs::APPE => Self::Appe(p.required()?),
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
                Self::Allo { size, record }
            }
            verbs::REST => Self::Rest(p.grammar(dec_u64)?),
            verbs::RNFR => Self::Rnfr(p.required()?),
            verbs::RNTO => Self::Rnto(p.required()?),
            verbs::ABOR => p.none().map(|()| Self::Abor)?,
            verbs::DELE => Self::Dele(p.required()?),
            verbs::RMD => Self::Rmd(p.required()?),
            verbs::MKD => Self::Mkd(p.required()?),
            verbs::PWD => p.none().map(|()| Self::Pwd)?,
            verbs::LIST => Self::List(p.list_args()?),
            verbs::NLST => Self::Nlst(p.list_args()?),
            verbs::SITE => Self::Site(p.required()?),
            verbs::SYST => p.none().map(|()| Self::Syst)?,
            verbs::STAT => Self::Stat(p.optional()?),
            verbs::HELP => Self::Help(p.optional()?),
            verbs::NOOP => p.none().map(|()| Self::Noop)?,
            verbs::AUTH => Self::Auth(p.required()?),
            verbs::PBSZ => Self::Pbsz(p.grammar(dec_u64)?),
            verbs::PROT => Self::Prot(p.letter(|c| match c {
                b'C' => Some(ProtectionLevel::Clear),
                b'S' => Some(ProtectionLevel::Safe),
                b'E' => Some(ProtectionLevel::Confidential),
                b'P' => Some(ProtectionLevel::Private),
                _ => None,
            })?),
            verbs::CCC => p.none().map(|()| Self::Ccc)?,
            verbs::FEAT => p.none().map(|()| Self::Feat)?,
            verbs::OPTS => Self::Opts(p.opts()?),
            verbs::EPRT => Self::Eprt(p.eprt()?),
            verbs::EPSV => Self::Epsv(p.epsv()?),
            verbs::LANG => Self::Lang(p.optional()?),
            verbs::SIZE => Self::Size(p.required()?),
            verbs::MDTM => Self::Mdtm(p.required()?),
            verbs::MLST => Self::Mlst(p.optional()?),
            verbs::MLSD => Self::Mlsd(p.optional()?),
            verbs::HOST => Self::Host(p.required()?),
            verbs::XPWD => p.none().map(|()| Self::Xpwd)?,
            verbs::XCWD => Self::Xcwd(p.required()?),
            verbs::XCUP => p.none().map(|()| Self::Xcup)?,
            verbs::XMKD => Self::Xmkd(p.required()?),
            verbs::XRMD => Self::Xrmd(p.required()?),
            verbs::MFMT => p.mfmt()?,
            _ => return p.unknown(split.verb),
        })
    }

    /// The verb as the encoder writes it (upper case), or the unknown verb as received.
    pub fn verb(&self) -> &str {
        match self {
            Self::User(_) => "USER",
            Self::Pass(_) => "PASS",
            Self::Acct(_) => "ACCT",
            Self::Cwd(_) => "CWD",
            Self::Cdup => "CDUP",
            Self::Smnt(_) => "SMNT",
            Self::Rein => "REIN",
            Self::Quit => "QUIT",
            Self::Port(_) => "PORT",
            Self::Pasv => "PASV",
            Self::Type(_) => "TYPE",
            Self::Stru(_) => "STRU",
            Self::Mode(_) => "MODE",
            Self::Retr(_) => "RETR",
            Self::Stor(_) => "STOR",
            Self::Stou(_) => "STOU",
            Self::Appe(_) => "APPE",
            Self::Allo { .. } => "ALLO",
            Self::Rest(_) => "REST",
            Self::Rnfr(_) => "RNFR",
            Self::Rnto(_) => "RNTO",
            Self::Abor => "ABOR",
            Self::Dele(_) => "DELE",
            Self::Rmd(_) => "RMD",
            Self::Mkd(_) => "MKD",
            Self::Pwd => "PWD",
            Self::List(_) => "LIST",
            Self::Nlst(_) => "NLST",
            Self::Site(_) => "SITE",
            Self::Syst => "SYST",
            Self::Stat(_) => "STAT",
            Self::Help(_) => "HELP",
            Self::Noop => "NOOP",
            Self::Auth(_) => "AUTH",
            Self::Pbsz(_) => "PBSZ",
            Self::Prot(_) => "PROT",
            Self::Ccc => "CCC",
            Self::Feat => "FEAT",
            Self::Opts(_) => "OPTS",
            Self::Eprt(_) => "EPRT",
            Self::Epsv(_) => "EPSV",
            Self::Lang(_) => "LANG",
            Self::Size(_) => "SIZE",
            Self::Mdtm(_) => "MDTM",
            Self::Mlst(_) => "MLST",
            Self::Mlsd(_) => "MLSD",
            Self::Host(_) => "HOST",
            Self::Xpwd => "XPWD",
            Self::Xcwd(_) => "XCWD",
            Self::Xcup => "XCUP",
            Self::Xmkd(_) => "XMKD",
            Self::Xrmd(_) => "XRMD",
            Self::Mfmt { .. } => "MFMT",
            Self::Unknown { verb, .. } => verb.as_str(),
        }
    }

    /// Writes the command in wire form, CRLF included. A 0xFF byte in an argument is written
    /// twice, as Telnet requires (RFC 854); [`crate::LineDecoder`] undoes that.
    pub fn encode(&self, out: &mut BytesMut) {
        out.extend_from_slice(self.verb().as_bytes());
        let mut arg = |bytes: &[u8]| {
            out.put_u8(b' ');
            put_telnet_data(out, bytes);
        };
        match self {
            Self::User(a)
            | Self::Cwd(a)
            | Self::Smnt(a)
            | Self::Retr(a)
            | Self::Stor(a)
            | Self::Appe(a)
            | Self::Rnfr(a)
            | Self::Rnto(a)
            | Self::Dele(a)
            | Self::Rmd(a)
            | Self::Mkd(a)
            | Self::Site(a)
            | Self::Auth(a)
            | Self::Size(a)
            | Self::Mdtm(a)
            | Self::Host(a)
            | Self::Xcwd(a)
            | Self::Xmkd(a)
            | Self::Xrmd(a) => arg(a.as_bytes()),
            Self::Pass(s) | Self::Acct(s) if !s.expose_secret().is_empty() => {
                arg(s.expose_secret().as_bytes())
            }
            Self::Stou(Some(a))
            | Self::Stat(Some(a))
            | Self::Help(Some(a))
            | Self::Lang(Some(a))
            | Self::Mlst(Some(a))
            | Self::Mlsd(Some(a))
            | Self::Unknown { arg: Some(a), .. } => arg(a.as_bytes()),
            Self::Port(addr) => arg(address::format_port(*addr).as_bytes()),
            Self::Eprt(addr) => arg(address::format_eprt(*addr).as_bytes()),
            Self::Type(t) => arg(type_code_text(*t).as_bytes()),
            Self::Stru(s) => arg(match s {
                Structure::File => b"F",
                Structure::Record => b"R",
                Structure::Page => b"P",
            }),
            Self::Mode(m) => arg(match m {
                TransferMode::Stream => b"S",
                TransferMode::Block => b"B",
                TransferMode::Compressed => b"C",
            }),
            Self::Prot(p) => arg(match p {
                ProtectionLevel::Clear => b"C",
                ProtectionLevel::Safe => b"S",
                ProtectionLevel::Confidential => b"E",
                ProtectionLevel::Private => b"P",
            }),
            Self::Allo { size, record: None } => arg(size.to_string().as_bytes()),
            Self::Allo {
                size,
                record: Some(r),
            } => arg(format!("{size} R {r}").as_bytes()),
            Self::Rest(n) | Self::Pbsz(n) => arg(n.to_string().as_bytes()),
            Self::List(l) | Self::Nlst(l) => {
                let parts = [&l.flags, &l.path];
                for a in parts.into_iter().flatten() {
                    arg(a.as_bytes());
                }
            }
            Self::Opts(o) => {
                arg(o.name.as_bytes());
                if let Some(v) = &o.value {
                    arg(v.as_bytes());
                }
            }
            Self::Epsv(Some(EpsvArg::All)) => arg(b"ALL"),
            Self::Epsv(Some(EpsvArg::Protocol(n))) => arg(n.to_string().as_bytes()),
            Self::Mfmt { time, path } => {
                arg(time.to_string().as_bytes());
                arg(path.as_bytes());
            }
            _ => {}
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

/// The command as it would be sent, with the arguments of `PASS` and `ACCT` redacted: safe for
/// logs.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pass(_) | Self::Acct(_) => write!(f, "{} <redacted>", self.verb()),
            _ => {
                let wire = self.to_bytes();
                let text = String::from_utf8_lossy(&wire);
                f.write_str(text.trim_end_matches("\r\n"))
            }
        }
    }
}

fn type_code_text(t: TransferType) -> String {
    let form = |f: FormatControl| match f {
        FormatControl::NonPrint => "",
        FormatControl::Telnet => " T",
        FormatControl::Asa => " C",
    };
    match t {
        TransferType::Ascii(f) => format!("A{}", form(f)),
        TransferType::Ebcdic(f) => format!("E{}", form(f)),
        TransferType::Image => "I".to_owned(),
        TransferType::Local(n) => format!("L {n}"),
    }
}

impl<'a> ArgParser<'a> {
    fn unknown(&self, verb: &[u8]) -> Result<Command, ParseError> {
        // split_line only accepts printable ASCII verbs.
        let verb = Verb::new(self.line.slice_ref(verb))
            .ok_or(ParseError::new(ParseErrorKind::InvalidVerb, 0))?;
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

    fn list_args(&self) -> Result<ListArgs, ParseError> {
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

    fn opts(&self) -> Result<Opts, ParseError> {
        let (raw, at) = self.required_raw()?;
        let (name, value) = match raw.iter().position(|&b| b == b' ') {
            Some(i) => (
                raw.get(..i).unwrap_or_default(),
                raw.get(i + 1..).filter(|v| !trim_end(v).is_empty()),
            ),
            None => (raw, None),
        };
        let name = Verb::new(self.line.slice_ref(name))
            .ok_or(ParseError::new(ParseErrorKind::InvalidArgument, at))?;
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
    fn mfmt(&self) -> Result<Command, ParseError> {
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

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    fn arg(s: &str) -> Arg {
        Arg::try_from(s).unwrap()
    }

    fn parse(s: &[u8]) -> Result<Command, ParseError> {
        Command::parse(Bytes::copy_from_slice(s))
    }

    fn kind(s: &[u8]) -> ParseErrorKind {
        parse(s).unwrap_err().kind
    }

    /// Known answers both ways: the line parses to the value, and the value encodes to the line.
    #[test]
    fn known_answers() {
        let v4 = |a, b, c, d, p| SocketAddrV4::new(Ipv4Addr::new(a, b, c, d), p);
        let table: Vec<(&[u8], Command)> = vec![
            (b"USER bench", Command::User(arg("bench"))),
            (
                b"PASS hunter 2",
                Command::Pass(Secret::new(arg("hunter 2"))),
            ),
            (b"ACCT acme", Command::Acct(Secret::new(arg("acme")))),
            (
                b"CWD /pub/with spaces ",
                Command::Cwd(arg("/pub/with spaces ")),
            ),
            (b"CDUP", Command::Cdup),
            (b"SMNT /mnt", Command::Smnt(arg("/mnt"))),
            (b"REIN", Command::Rein),
            (b"QUIT", Command::Quit),
            (
                b"PORT 127,0,0,1,82,98",
                Command::Port(v4(127, 0, 0, 1, 21090)),
            ),
            (b"PASV", Command::Pasv),
            (
                b"TYPE A",
                Command::Type(TransferType::Ascii(FormatControl::NonPrint)),
            ),
            (
                b"TYPE A T",
                Command::Type(TransferType::Ascii(FormatControl::Telnet)),
            ),
            (
                b"TYPE E C",
                Command::Type(TransferType::Ebcdic(FormatControl::Asa)),
            ),
            (b"TYPE I", Command::Type(TransferType::Image)),
            (b"TYPE L 8", Command::Type(TransferType::Local(8))),
            (b"STRU F", Command::Stru(Structure::File)),
            (b"STRU R", Command::Stru(Structure::Record)),
            (b"MODE S", Command::Mode(TransferMode::Stream)),
            (b"MODE B", Command::Mode(TransferMode::Block)),
            (
                b"RETR r\xc3\xa9sum\xc3\xa9 \xc3\xbcn\xc3\xaf.txt",
                Command::Retr(arg("résumé ünï.txt")),
            ),
            (b"STOR a b", Command::Stor(arg("a b"))),
            (b"STOU", Command::Stou(None)),
            (b"STOU base", Command::Stou(Some(arg("base")))),
            (b"APPE log", Command::Appe(arg("log"))),
            (
                b"ALLO 1024",
                Command::Allo {
                    size: 1024,
                    record: None,
                },
            ),
            (
                b"ALLO 1024 R 80",
                Command::Allo {
                    size: 1024,
                    record: Some(80),
                },
            ),
            (b"REST 18446744073709551615", Command::Rest(u64::MAX)),
            (b"RNFR old", Command::Rnfr(arg("old"))),
            (b"RNTO new", Command::Rnto(arg("new"))),
            (b"ABOR", Command::Abor),
            (b"DELE x", Command::Dele(arg("x"))),
            (b"RMD d", Command::Rmd(arg("d"))),
            (b"MKD d", Command::Mkd(arg("d"))),
            (b"PWD", Command::Pwd),
            (b"LIST", Command::List(ListArgs::default())),
            (
                b"LIST -la",
                Command::List(ListArgs {
                    flags: Some(arg("-la")),
                    path: None,
                }),
            ),
            (
                b"LIST -l -a /pub",
                Command::List(ListArgs {
                    flags: Some(arg("-l -a")),
                    path: Some(arg("/pub")),
                }),
            ),
            (
                b"LIST pub dir",
                Command::List(ListArgs {
                    flags: None,
                    path: Some(arg("pub dir")),
                }),
            ),
            (
                b"NLST -a x",
                Command::Nlst(ListArgs {
                    flags: Some(arg("-a")),
                    path: Some(arg("x")),
                }),
            ),
            (b"SITE CHMOD 644 x", Command::Site(arg("CHMOD 644 x"))),
            (b"SYST", Command::Syst),
            (b"STAT", Command::Stat(None)),
            (b"STAT /pub", Command::Stat(Some(arg("/pub")))),
            (b"HELP", Command::Help(None)),
            (b"HELP RETR", Command::Help(Some(arg("RETR")))),
            (b"NOOP", Command::Noop),
            (b"AUTH TLS", Command::Auth(arg("TLS"))),
            (b"PBSZ 0", Command::Pbsz(0)),
            (b"PROT P", Command::Prot(ProtectionLevel::Private)),
            (b"PROT C", Command::Prot(ProtectionLevel::Clear)),
            (b"CCC", Command::Ccc),
            (b"FEAT", Command::Feat),
            (
                b"OPTS UTF8 ON",
                Command::Opts(Opts {
                    name: Verb::new("UTF8").unwrap(),
                    value: Some(arg("ON")),
                }),
            ),
            (
                b"OPTS MLST type;size;",
                Command::Opts(Opts {
                    name: Verb::new("MLST").unwrap(),
                    value: Some(arg("type;size;")),
                }),
            ),
            (
                b"EPRT |1|132.235.1.2|6275|",
                Command::Eprt("132.235.1.2:6275".parse().unwrap()),
            ),
            (
                b"EPRT |2|1080::8:800:200c:417a|5282|",
                Command::Eprt("[1080::8:800:200c:417a]:5282".parse().unwrap()),
            ),
            (b"EPSV", Command::Epsv(None)),
            (b"EPSV ALL", Command::Epsv(Some(EpsvArg::All))),
            (b"EPSV 2", Command::Epsv(Some(EpsvArg::Protocol(2)))),
            (b"LANG", Command::Lang(None)),
            (b"LANG fr-FR", Command::Lang(Some(arg("fr-FR")))),
            (b"SIZE big-sparse.bin", Command::Size(arg("big-sparse.bin"))),
            (b"MDTM old.txt", Command::Mdtm(arg("old.txt"))),
            (b"MLST", Command::Mlst(None)),
            (b"MLST subdir", Command::Mlst(Some(arg("subdir")))),
            (b"MLSD", Command::Mlsd(None)),
            (
                b"HOST ftp.example.com",
                Command::Host(arg("ftp.example.com")),
            ),
            (b"XPWD", Command::Xpwd),
            (b"XCWD a", Command::Xcwd(arg("a"))),
            (b"XCUP", Command::Xcup),
            (b"XMKD a", Command::Xmkd(arg("a"))),
            (b"XRMD a", Command::Xrmd(arg("a"))),
            (
                b"MFMT 20261124082839 with spaces.txt",
                Command::Mfmt {
                    time: Timestamp::parse(b"20261124082839").unwrap(),
                    path: arg("with spaces.txt"),
                },
            ),
            (
                b"XYZZY plugh",
                Command::Unknown {
                    verb: Verb::new("XYZZY").unwrap(),
                    arg: Some(arg("plugh")),
                },
            ),
            (
                b"CLNT",
                Command::Unknown {
                    verb: Verb::new("CLNT").unwrap(),
                    arg: None,
                },
            ),
        ];
        for (line, cmd) in table {
            assert_eq!(
                parse(line).as_ref(),
                Ok(&cmd),
                "parsing {}",
                String::from_utf8_lossy(line)
            );
            let mut wire = line.to_vec();
            wire.extend_from_slice(b"\r\n");
            assert_eq!(
                String::from_utf8_lossy(&cmd.to_bytes()),
                String::from_utf8_lossy(&wire),
                "encoding {cmd:?}"
            );
        }
    }

    #[test]
    fn verbs_are_case_insensitive_and_trailing_spaces_ignored() {
        assert_eq!(parse(b"user bench"), Ok(Command::User(arg("bench"))));
        assert_eq!(parse(b"pAsV "), Ok(Command::Pasv));
        assert_eq!(parse(b"type i"), Ok(Command::Type(TransferType::Image)));
        assert_eq!(parse(b"TYPE L8"), Ok(Command::Type(TransferType::Local(8))));
        assert_eq!(parse(b"epsv all"), Ok(Command::Epsv(Some(EpsvArg::All))));
        assert_eq!(parse(b"PASS"), Ok(Command::Pass(Secret::default())));
        assert_eq!(
            parse(b"EPRT !1!10.0.0.1!2121!"),
            Ok(Command::Eprt("10.0.0.1:2121".parse().unwrap()))
        );
        assert_eq!(parse(b"xyzzy").unwrap().verb(), "xyzzy");
    }

    #[test]
    fn errors_pick_the_right_reply() {
        let code = |s: &[u8]| parse(s).unwrap_err().reply_code().as_u16();
        assert_eq!(kind(b""), ParseErrorKind::Empty);
        assert_eq!(code(b""), 500);
        assert_eq!(kind(b" USER"), ParseErrorKind::InvalidVerb);
        assert_eq!(kind(b"US\x00ER a"), ParseErrorKind::InvalidVerb);
        assert_eq!(code(b"\xffUSER"), 500);
        assert_eq!(kind(b"RETR"), ParseErrorKind::MissingArgument);
        assert_eq!(kind(b"RETR   "), ParseErrorKind::MissingArgument);
        assert_eq!(kind(b"PWD now"), ParseErrorKind::UnexpectedArgument);
        assert_eq!(
            parse(b"RETR a\x00b").unwrap_err(),
            ParseError {
                kind: ParseErrorKind::InvalidByte(0),
                offset: 6
            }
        );
        assert_eq!(code(b"RETR a\rb"), 501);
        assert_eq!(code(b"PORT 1,2,3"), 501);
        assert_eq!(code(b"PORT 127,0,0,1,256,1"), 501);
        assert_eq!(code(b"REST -1"), 501);
        assert_eq!(code(b"REST 99999999999999999999"), 501);
        assert_eq!(code(b"TYPE X"), 504);
        assert_eq!(code(b"TYPE A Q"), 504);
        assert_eq!(code(b"TYPE AB"), 501);
        assert_eq!(code(b"TYPE L"), 501);
        assert_eq!(code(b"MODE Z"), 504);
        assert_eq!(code(b"STRU FF"), 501);
        assert_eq!(code(b"PROT Q"), 504);
        assert_eq!(code(b"EPRT |3|x|1|"), 522);
        assert_eq!(code(b"EPRT |1|::1|21|"), 501);
        assert_eq!(code(b"EPSV x"), 501);
        assert_eq!(code(b"MFMT 2026 x"), 501);
        assert_eq!(code(b"MFMT 20261124082839"), 501);
    }

    #[test]
    fn display_redacts_passwords() {
        let cmd = parse(b"PASS hunter2").unwrap();
        assert_eq!(cmd.to_string(), "PASS <redacted>");
        assert!(!format!("{cmd:?}").contains("hunter2"));
        assert_eq!(parse(b"RETR a b").unwrap().to_string(), "RETR a b");
    }

    #[test]
    fn arguments_share_the_line_buffer() {
        let line = Bytes::from_static(b"RETR some/long/path.bin");
        let Ok(Command::Retr(a)) = Command::parse(line.clone()) else {
            panic!()
        };
        assert_eq!(a.as_bytes().as_ptr(), line[5..].as_ptr());
    }
}
