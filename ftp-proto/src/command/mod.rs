//! Commands: the typed form of every verb the workspace knows, a parser and an encoder.
//!
//! Grammar: RFC 959 §5.3 (commands and arguments), RFC 2228 §3 (AUTH, PBSZ, PROT, CCC),
//! RFC 2389 §3-4 (FEAT, OPTS), RFC 2428 §2-3 (EPRT, EPSV), RFC 2640 §4 (LANG),
//! RFC 3659 §3-7 (MDTM, SIZE, REST, MLST, MLSD), RFC 7151 §3 (HOST), and the MFMT draft
//! (draft-somers-ftp-mfxx). Verbs are case-insensitive; arguments stay raw bytes.

use std::fmt;
use std::net::{SocketAddr, SocketAddrV4};

use bytes::{BufMut, Bytes, BytesMut};

use crate::address;
use crate::arg::{Arg, Secret};
use crate::checksum::HashAlgorithm;
use crate::framing::put_telnet_data;
use crate::time::Timestamp;

mod parse;
#[cfg(test)]
mod tests;

/// A command verb as received: printable ASCII, no spaces. Kept for unknown commands so a
/// server can name them in its reply. Like [`Arg`], it borrows its line or shares it.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Verb<'a>(Arg<'a>);

fn is_verb(bytes: &[u8]) -> bool {
    !bytes.is_empty() && bytes.iter().all(u8::is_ascii_graphic)
}

impl Verb<'static> {
    /// Checks and wraps a verb: one or more printable ASCII bytes (33 to 126).
    pub fn new(bytes: impl Into<Bytes>) -> Option<Self> {
        let bytes = bytes.into();
        // Printable ASCII holds no CR, LF or NUL, so the bytes are a valid `Arg`.
        is_verb(&bytes).then(|| Self(Arg::shared_unchecked(bytes)))
    }
}

impl<'a> Verb<'a> {
    /// Checks and borrows a verb, like [`Verb::new`].
    pub fn borrowed(bytes: &'a [u8]) -> Option<Self> {
        is_verb(bytes).then(|| Self(Arg::borrowed_unchecked(bytes)))
    }

    /// Wraps an argument the caller has checked with `is_verb`.
    fn from_checked(arg: Arg<'a>) -> Self {
        Self(arg)
    }

    /// The verb as received.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The verb as text (always ASCII).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(self.0.as_bytes()).unwrap_or_default()
    }

    /// The verb with no borrow left.
    pub fn into_owned(self) -> Verb<'static> {
        Verb(self.0.into_owned())
    }
}

impl fmt::Debug for Verb<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Verb({})", self.as_str())
    }
}

impl fmt::Display for Verb<'_> {
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
pub struct Opts<'a> {
    /// The command whose options are set, such as `UTF8` or `MLST`; compare ignoring case.
    pub name: Verb<'a>,
    /// The option text after the name.
    pub value: Option<Arg<'a>>,
}

impl Opts<'_> {
    /// The options with no borrow left.
    pub fn into_owned(self) -> Opts<'static> {
        Opts {
            name: self.name.into_owned(),
            value: self.value.map(Arg::into_owned),
        }
    }
}

/// Arguments of `LIST` and `NLST`: `ls`-style flags, as clients send them, kept apart from the
/// path. A leading argument word that begins with `-` is a flag word (`LIST -la /pub`), the
/// convention of vsftpd, ProFTPD and Pure-FTPd; a path that starts with `-` must be written
/// `./-name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct ListArgs<'a> {
    /// The flag words, such as `-la` or `-l -a`.
    pub flags: Option<Arg<'a>>,
    /// The path, if any.
    pub path: Option<Arg<'a>>,
}

impl ListArgs<'_> {
    /// The arguments with no borrow left.
    pub fn into_owned(self) -> ListArgs<'static> {
        ListArgs {
            flags: self.flags.map(Arg::into_owned),
            path: self.path.map(Arg::into_owned),
        }
    }

    /// Whether the flags ask for entries whose names start with `.` (`-a` or `-A`).
    pub fn shows_hidden(&self) -> bool {
        self.flags
            .as_ref()
            .is_some_and(|f| f.as_bytes().iter().any(|&b| b == b'a' || b == b'A'))
    }
}

/// A command, as sent on the control connection.
///
/// # Borrowed and owned
///
/// The arguments of a `Command<'a>` are [`Arg<'a>`]s. [`Command::parse`] borrows them from the
/// line, which costs no reference counting and no allocation (about 1.4 times the rate of the
/// owning parse in `benches/benches/parse.rs`); [`Command::parse_owned`] slices them out of
/// the line's `Bytes`, and gives a `Command<'static>` that a session can keep, as pipelined
/// commands wait in its queue. [`Command::into_owned`] turns one into the other, copying only
/// borrowed arguments.
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
/// - `Eprt` with an IPv6 scope id or flow label, which the wire form cannot carry;
/// - `XChecksum` whose path holds a `"` and must be quoted (it starts with a quote, or its
///   last two words are numbers): the quote ends the quoted path.
///
/// The property tests check both halves: parsed lines and generated values in the rules above
/// round-trip, and each exception comes back as documented.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Command<'a> {
    /// `USER name`.
    User(Arg<'a>),
    /// `PASS password`; an empty password (often sent by anonymous clients) is accepted.
    Pass(Secret<Arg<'a>>),
    /// `ACCT account`.
    Acct(Secret<Arg<'a>>),
    /// `CWD path`.
    Cwd(Arg<'a>),
    /// `CDUP`.
    Cdup,
    /// `SMNT path`.
    Smnt(Arg<'a>),
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
    Retr(Arg<'a>),
    /// `STOR path`.
    Stor(Arg<'a>),
    /// `STOU [name]`.
    Stou(Option<Arg<'a>>),
    /// `APPE path`.
    Appe(Arg<'a>),
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
    Rnfr(Arg<'a>),
    /// `RNTO path`.
    Rnto(Arg<'a>),
    /// `ABOR`.
    Abor,
    /// `DELE path`.
    Dele(Arg<'a>),
    /// `RMD path`.
    Rmd(Arg<'a>),
    /// `MKD path`.
    Mkd(Arg<'a>),
    /// `PWD`.
    Pwd,
    /// `LIST [flags] [path]`.
    List(ListArgs<'a>),
    /// `NLST [flags] [path]`.
    Nlst(ListArgs<'a>),
    /// `SITE command`.
    Site(Arg<'a>),
    /// `SYST`.
    Syst,
    /// `STAT [path]`.
    Stat(Option<Arg<'a>>),
    /// `HELP [topic]`.
    Help(Option<Arg<'a>>),
    /// `NOOP`.
    Noop,
    /// `AUTH mechanism` (RFC 2228, RFC 4217: `AUTH TLS`).
    Auth(Arg<'a>),
    /// `PBSZ size`.
    Pbsz(u64),
    /// `PROT level`.
    Prot(ProtectionLevel),
    /// `CCC`.
    Ccc,
    /// `FEAT`.
    Feat,
    /// `OPTS name [value]`.
    Opts(Opts<'a>),
    /// `EPRT |proto|address|port|`.
    Eprt(SocketAddr),
    /// `EPSV [ALL | proto]`.
    Epsv(Option<EpsvArg>),
    /// `LANG [tag]`.
    Lang(Option<Arg<'a>>),
    /// `SIZE path`.
    Size(Arg<'a>),
    /// `MDTM path`.
    Mdtm(Arg<'a>),
    /// `MLST [path]`.
    Mlst(Option<Arg<'a>>),
    /// `MLSD [path]`.
    Mlsd(Option<Arg<'a>>),
    /// `HOST name`.
    Host(Arg<'a>),
    /// `XPWD` (RFC 775), same as `PWD`.
    Xpwd,
    /// `XCWD path`, same as `CWD`.
    Xcwd(Arg<'a>),
    /// `XCUP`, same as `CDUP`.
    Xcup,
    /// `XMKD path`, same as `MKD`.
    Xmkd(Arg<'a>),
    /// `XRMD path`, same as `RMD`.
    Xrmd(Arg<'a>),
    /// `MFMT time path`: set the modification time.
    Mfmt {
        /// The new modification time (UTC).
        time: Timestamp,
        /// The file.
        path: Arg<'a>,
    },
    /// `HASH path` (draft-bryan-ftpext-hash): the checksum of a file (or of the range set by
    /// `RANG`), in the algorithm chosen with `OPTS HASH`.
    Hash(Arg<'a>),
    /// `RANG start end` (draft-bryan-ftp-range): the byte range, both ends included, of the
    /// next `HASH`. `RANG 1 0` clears it.
    Rang {
        /// The first byte.
        start: u64,
        /// The last byte.
        end: u64,
    },
    /// `XCRC`, `XMD5`, `XSHA1`, `XSHA256`, `XSHA512 path [[start] end]`: the legacy checksum
    /// commands (FlashFXP, Serv-U, GlobalSCAPE, ProFTPD's mod_digest), answered `250 HEX`.
    XChecksum {
        /// Which of the commands.
        algorithm: HashAlgorithm,
        /// The file.
        path: Arg<'a>,
        /// The first byte and the byte after the last (ProFTPD's and GlobalSCAPE's reading;
        /// one number alone is the end, from 0); the whole file when absent.
        range: Option<(u64, u64)>,
    },
    /// A verb this crate does not know, kept so a server can answer 500 or 502.
    Unknown {
        /// The verb as received.
        verb: Verb<'a>,
        /// Its argument, if any.
        arg: Option<Arg<'a>>,
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

impl Command<'_> {
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
            Self::Hash(_) => "HASH",
            Self::Rang { .. } => "RANG",
            Self::XChecksum { algorithm, .. } => algorithm.x_verb(),
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
            | Self::Xrmd(a)
            | Self::Hash(a) => arg(a.as_bytes()),
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
            Self::Rang { start, end } => arg(format!("{start} {end}").as_bytes()),
            Self::XChecksum { path, range, .. } => x_checksum_args(path, *range, arg),
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

impl<'a> Command<'a> {
    /// The command with no borrow left: borrowed arguments are copied, shared ones move. A
    /// session that keeps commands (pipelined ones wait in a queue) needs this form.
    pub fn into_owned(self) -> Command<'static> {
        match self {
            Self::User(a) => Command::User(a.into_owned()),
            Self::Pass(a) => Command::Pass(Secret::new(a.into_inner().into_owned())),
            Self::Acct(a) => Command::Acct(Secret::new(a.into_inner().into_owned())),
            Self::Cwd(a) => Command::Cwd(a.into_owned()),
            Self::Smnt(a) => Command::Smnt(a.into_owned()),
            Self::Retr(a) => Command::Retr(a.into_owned()),
            Self::Stor(a) => Command::Stor(a.into_owned()),
            Self::Stou(a) => Command::Stou(a.map(Arg::into_owned)),
            Self::Appe(a) => Command::Appe(a.into_owned()),
            Self::Rnfr(a) => Command::Rnfr(a.into_owned()),
            Self::Rnto(a) => Command::Rnto(a.into_owned()),
            Self::Dele(a) => Command::Dele(a.into_owned()),
            Self::Rmd(a) => Command::Rmd(a.into_owned()),
            Self::Mkd(a) => Command::Mkd(a.into_owned()),
            Self::List(a) => Command::List(a.into_owned()),
            Self::Nlst(a) => Command::Nlst(a.into_owned()),
            Self::Site(a) => Command::Site(a.into_owned()),
            Self::Stat(a) => Command::Stat(a.map(Arg::into_owned)),
            Self::Help(a) => Command::Help(a.map(Arg::into_owned)),
            Self::Auth(a) => Command::Auth(a.into_owned()),
            Self::Opts(a) => Command::Opts(a.into_owned()),
            Self::Lang(a) => Command::Lang(a.map(Arg::into_owned)),
            Self::Size(a) => Command::Size(a.into_owned()),
            Self::Mdtm(a) => Command::Mdtm(a.into_owned()),
            Self::Mlst(a) => Command::Mlst(a.map(Arg::into_owned)),
            Self::Mlsd(a) => Command::Mlsd(a.map(Arg::into_owned)),
            Self::Host(a) => Command::Host(a.into_owned()),
            Self::Xcwd(a) => Command::Xcwd(a.into_owned()),
            Self::Xmkd(a) => Command::Xmkd(a.into_owned()),
            Self::Xrmd(a) => Command::Xrmd(a.into_owned()),
            Self::Hash(a) => Command::Hash(a.into_owned()),
            Self::Mfmt { time, path } => Command::Mfmt {
                time,
                path: path.into_owned(),
            },
            Self::XChecksum {
                algorithm,
                path,
                range,
            } => Command::XChecksum {
                algorithm,
                path: path.into_owned(),
                range,
            },
            Self::Unknown { verb, arg } => Command::Unknown {
                verb: verb.into_owned(),
                arg: arg.map(Arg::into_owned),
            },
            Self::Cdup => Command::Cdup,
            Self::Rein => Command::Rein,
            Self::Quit => Command::Quit,
            Self::Port(a) => Command::Port(a),
            Self::Pasv => Command::Pasv,
            Self::Type(t) => Command::Type(t),
            Self::Stru(t) => Command::Stru(t),
            Self::Mode(t) => Command::Mode(t),
            Self::Allo { size, record } => Command::Allo { size, record },
            Self::Rest(n) => Command::Rest(n),
            Self::Abor => Command::Abor,
            Self::Pwd => Command::Pwd,
            Self::Syst => Command::Syst,
            Self::Noop => Command::Noop,
            Self::Pbsz(n) => Command::Pbsz(n),
            Self::Prot(p) => Command::Prot(p),
            Self::Ccc => Command::Ccc,
            Self::Feat => Command::Feat,
            Self::Eprt(a) => Command::Eprt(a),
            Self::Epsv(e) => Command::Epsv(e),
            Self::Xpwd => Command::Xpwd,
            Self::Xcup => Command::Xcup,
            Self::Rang { start, end } => Command::Rang { start, end },
        }
    }
}

/// The command as it would be sent, with the arguments of `PASS` and `ACCT` redacted: safe for
/// logs.
impl fmt::Display for Command<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Pass(_) | Self::Acct(_) => write!(f, "{} <redacted>", self.verb()),
            // A verb we do not know may be a mistyped PASS (`PASSS secret`): its argument is
            // never shown.
            Self::Unknown {
                verb,
                arg: Some(arg),
            } => write!(
                f,
                "{} <{} bytes not shown>",
                crate::LogSafe(verb.as_str()),
                arg.as_bytes().len()
            ),
            _ => {
                let wire = self.to_bytes();
                let text = String::from_utf8_lossy(&wire);
                crate::LogSafe(text.trim_end_matches("\r\n")).fmt(f)
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

/// The arguments of a legacy checksum command: the path as it is when it reads back so (it
/// does not start with a quote, and the words after it are read as the range they are), else
/// quoted; then the range.
fn x_checksum_args(path: &Arg<'_>, range: Option<(u64, u64)>, mut arg: impl FnMut(&[u8])) {
    let bytes = path.as_bytes();
    // An all-space argument reads back as no argument, so such a path is quoted too.
    let plain = bytes.first() != Some(&b'"')
        && !bytes.iter().all(|&b| b == b' ')
        && (range.is_some() || parse::unquoted_range_at(bytes).is_none());
    if plain {
        arg(bytes);
    } else {
        arg(&[b"\"", bytes, b"\""].concat());
    }
    if let Some((start, end)) = range {
        arg(start.to_string().as_bytes());
        arg(end.to_string().as_bytes());
    }
}
