//! MLSx entries and their facts (RFC 3659 §7), and the fact selection of `OPTS MLST` and `FEAT`.

use std::borrow::Cow;
use std::ops::BitOr;

use bytes::{BufMut, Bytes, BytesMut};
use nom::character::complete::u64;

use super::{EntryKind, ListEntry, ListError, ListTime, mode_text, octal, whole};
use crate::time::Timestamp;

/// One line of `MLSD` output, or the entry line of an `MLST` reply.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MlsxEntry {
    /// The facts given before the name.
    pub facts: Facts,
    /// The name: for `MLSD` usually relative, for `MLST` and `cdir` often a full path.
    pub name: Bytes,
}

/// The facts of an MLSx entry (RFC 3659 §7.5), each `None` when not given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Facts {
    /// `type`: what the entry is.
    pub kind: Option<FactType>,
    /// `size`: file size in bytes.
    pub size: Option<u64>,
    /// `sizd`: directory size in bytes.
    pub sizd: Option<u64>,
    /// `modify`: last modification time (UTC).
    pub modify: Option<Timestamp>,
    /// `create`: creation time (UTC).
    pub create: Option<Timestamp>,
    /// `perm`: what the client may do, as letters (`adfrw`, `flcdmpe`).
    pub perm: Option<Bytes>,
    /// `unique`: an identifier of the file or directory on the server.
    pub unique: Option<Bytes>,
    /// `lang`: language of the file's contents.
    pub lang: Option<Bytes>,
    /// `media-type`: IANA media type.
    pub media_type: Option<Bytes>,
    /// `charset`: character set of the file's contents.
    pub charset: Option<Bytes>,
    /// `UNIX.mode`: Unix permission bits (sent in octal).
    pub unix_mode: Option<u32>,
    /// `UNIX.owner`: owner name or number.
    pub unix_owner: Option<Bytes>,
    /// `UNIX.group`: group name or number.
    pub unix_group: Option<Bytes>,
    /// Any other fact as `(name, value)`, in the order received.
    pub other: Vec<(Bytes, Bytes)>,
}

/// The value of the `type` fact (RFC 3659 §7.5.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FactType {
    /// `file`.
    File,
    /// `dir`: a directory listed in its parent.
    Dir,
    /// `cdir`: the directory being listed.
    Cdir,
    /// `pdir`: the parent of the directory being listed.
    Pdir,
    /// Any other value, kept as sent, e.g. `OS.unix=slink:/home/bench/regular.txt`.
    OsSpecific(Bytes),
}

impl FactType {
    fn parse(value: &[u8]) -> Self {
        [
            (b"file" as &[u8], Self::File),
            (b"dir", Self::Dir),
            (b"cdir", Self::Cdir),
            (b"pdir", Self::Pdir),
        ]
        .into_iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(value))
        .map_or_else(
            || Self::OsSpecific(Bytes::copy_from_slice(value)),
            |(_, kind)| kind,
        )
    }

    fn as_bytes(&self) -> &[u8] {
        match self {
            Self::File => b"file",
            Self::Dir => b"dir",
            Self::Cdir => b"cdir",
            Self::Pdir => b"pdir",
            Self::OsSpecific(value) => value,
        }
    }
}

/// A set of the standard facts, for `OPTS MLST` and the `FEAT` line (RFC 3659 §7.8, §7.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FactSet(u16);

impl FactSet {
    /// No facts.
    pub const EMPTY: Self = Self(0);
    /// `type`.
    pub const TYPE: Self = Self(1);
    /// `size`.
    pub const SIZE: Self = Self(1 << 1);
    /// `sizd`.
    pub const SIZD: Self = Self(1 << 2);
    /// `modify`.
    pub const MODIFY: Self = Self(1 << 3);
    /// `create`.
    pub const CREATE: Self = Self(1 << 4);
    /// `perm`.
    pub const PERM: Self = Self(1 << 5);
    /// `unique`.
    pub const UNIQUE: Self = Self(1 << 6);
    /// `lang`.
    pub const LANG: Self = Self(1 << 7);
    /// `media-type`.
    pub const MEDIA_TYPE: Self = Self(1 << 8);
    /// `charset`.
    pub const CHARSET: Self = Self(1 << 9);
    /// `UNIX.mode`.
    pub const UNIX_MODE: Self = Self(1 << 10);
    /// `UNIX.owner`.
    pub const UNIX_OWNER: Self = Self(1 << 11);
    /// `UNIX.group`.
    pub const UNIX_GROUP: Self = Self(1 << 12);
    /// Every fact above.
    pub const ALL: Self = Self((1 << 13) - 1);
    /// What a server shows before any `OPTS MLST`: `type`, `size`, `modify`, `perm` and
    /// `unique`, the facts RFC 3659's examples enable.
    pub const DEFAULT: Self =
        Self(Self::TYPE.0 | Self::SIZE.0 | Self::MODIFY.0 | Self::PERM.0 | Self::UNIQUE.0);

    /// Whether every fact of `other` is in `self`.
    pub const fn contains(self, other: Self) -> bool {
        self.0 & other.0 == other.0
    }

    /// The facts in either set.
    pub const fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// The facts in both sets.
    pub const fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// Whether the set has no fact.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The facts named in the argument of `OPTS MLST` (`type;size;`), case-insensitively;
    /// unknown names are ignored and an empty argument selects no fact (RFC 3659 §7.9).
    pub fn parse_opts(value: &[u8]) -> Self {
        value
            .split(|&b| b == b';')
            .filter_map(|name| Self::named(name.trim_ascii()))
            .fold(Self::EMPTY, Self::union)
    }

    /// Writes the facts list of the `FEAT` line's ` MLST ` feature: every fact in `supported`,
    /// marked `*` when it is in `self` (enabled), e.g. `type*;size*;modify*;UNIX.mode;`.
    pub fn write_feat(self, supported: Self, out: &mut BytesMut) {
        for &(fact, name) in &FACTS {
            if supported.contains(fact) {
                out.put_slice(name.as_bytes());
                if self.contains(fact) {
                    out.put_u8(b'*');
                }
                out.put_u8(b';');
            }
        }
    }

    /// Writes the facts list for the `200 MLST OPTS ` reply to `OPTS MLST`, e.g. `type;size;`.
    pub fn write_opts(self, out: &mut BytesMut) {
        Self::EMPTY.write_feat(self, out);
    }

    fn named(name: &[u8]) -> Option<Self> {
        FACTS
            .iter()
            .find(|(_, known)| known.as_bytes().eq_ignore_ascii_case(name))
            .map(|&(fact, _)| fact)
    }
}

impl BitOr for FactSet {
    type Output = Self;

    fn bitor(self, other: Self) -> Self {
        self.union(other)
    }
}

/// The standard facts in the order they are written, with their names as RFC 3659 spells them.
const FACTS: [(FactSet, &str); 13] = [
    (FactSet::TYPE, "type"),
    (FactSet::SIZE, "size"),
    (FactSet::SIZD, "sizd"),
    (FactSet::MODIFY, "modify"),
    (FactSet::CREATE, "create"),
    (FactSet::PERM, "perm"),
    (FactSet::UNIQUE, "unique"),
    (FactSet::LANG, "lang"),
    (FactSet::MEDIA_TYPE, "media-type"),
    (FactSet::CHARSET, "charset"),
    (FactSet::UNIX_MODE, "UNIX.mode"),
    (FactSet::UNIX_OWNER, "UNIX.owner"),
    (FactSet::UNIX_GROUP, "UNIX.group"),
];

impl Facts {
    fn set(&mut self, name: &[u8], value: &[u8]) -> Result<(), ListError> {
        let text = || Some(Bytes::copy_from_slice(value));
        let number = || whole(u64, value).ok_or(ListError::InvalidFact);
        let time = || Timestamp::parse(value).map_err(|_| ListError::InvalidFact);
        match FactSet::named(name) {
            Some(FactSet::TYPE) => self.kind = Some(FactType::parse(value)),
            Some(FactSet::SIZE) => self.size = Some(number()?),
            Some(FactSet::SIZD) => self.sizd = Some(number()?),
            Some(FactSet::MODIFY) => self.modify = Some(time()?),
            Some(FactSet::CREATE) => self.create = Some(time()?),
            Some(FactSet::PERM) => self.perm = text(),
            Some(FactSet::UNIQUE) => self.unique = text(),
            Some(FactSet::LANG) => self.lang = text(),
            Some(FactSet::MEDIA_TYPE) => self.media_type = text(),
            Some(FactSet::CHARSET) => self.charset = text(),
            Some(FactSet::UNIX_MODE) => {
                self.unix_mode = Some(octal(value).ok_or(ListError::InvalidFact)?)
            }
            Some(FactSet::UNIX_OWNER) => self.unix_owner = text(),
            Some(FactSet::UNIX_GROUP) => self.unix_group = text(),
            _ if name.is_empty() => return Err(ListError::InvalidFact),
            _ => self
                .other
                .push((Bytes::copy_from_slice(name), Bytes::copy_from_slice(value))),
        }
        Ok(())
    }

    /// The value of one standard fact as written on the wire.
    fn value(&self, fact: FactSet) -> Option<Cow<'_, [u8]>> {
        fn text(value: Option<&Bytes>) -> Option<Cow<'_, [u8]>> {
            value.map(|v| Cow::Borrowed(v.as_ref()))
        }
        fn owned(value: String) -> Cow<'static, [u8]> {
            Cow::Owned(value.into_bytes())
        }
        match fact {
            FactSet::TYPE => self
                .kind
                .as_ref()
                .map(|kind| Cow::Borrowed(kind.as_bytes())),
            FactSet::SIZE => self.size.map(|n| owned(n.to_string())),
            FactSet::SIZD => self.sizd.map(|n| owned(n.to_string())),
            FactSet::MODIFY => self.modify.map(|t| owned(t.to_string())),
            FactSet::CREATE => self.create.map(|t| owned(t.to_string())),
            FactSet::PERM => text(self.perm.as_ref()),
            FactSet::UNIQUE => text(self.unique.as_ref()),
            FactSet::LANG => text(self.lang.as_ref()),
            FactSet::MEDIA_TYPE => text(self.media_type.as_ref()),
            FactSet::CHARSET => text(self.charset.as_ref()),
            FactSet::UNIX_MODE => self.unix_mode.map(|mode| owned(format!("{mode:04o}"))),
            FactSet::UNIX_OWNER => text(self.unix_owner.as_ref()),
            FactSet::UNIX_GROUP => text(self.unix_group.as_ref()),
            _ => None,
        }
    }
}

impl MlsxEntry {
    /// An entry with the given facts and name.
    pub fn new(facts: Facts, name: Bytes) -> Self {
        Self { facts, name }
    }

    /// Writes the entry as `fact=value;...; name`, without a line end (RFC 3659 §7.2).
    ///
    /// The standard facts come in a fixed order (`type`, `size`, `sizd`, `modify`, `create`,
    /// `perm`, `unique`, `lang`, `media-type`, `charset`, `UNIX.mode`, `UNIX.owner`,
    /// `UNIX.group`), each only when in `selected` and present; then every fact of
    /// [`Facts::other`]. A fact whose name or value is empty or holds `;`, a space, CR or LF (or
    /// `=` in the name) would break the line and is left out. The name is written as is: it
    /// must not contain CR or LF.
    pub fn encode(&self, selected: FactSet, out: &mut BytesMut) {
        for &(fact, name) in &FACTS {
            if let Some(value) = self.facts.value(fact).filter(|_| selected.contains(fact)) {
                write_fact(name.as_bytes(), &value, out);
            }
        }
        for (name, value) in &self.facts.other {
            if !name.contains(&b'=') {
                write_fact(name, value, out);
            }
        }
        out.put_u8(b' ');
        out.put_slice(&self.name);
    }

    /// The entry as a [`ListEntry`]: `dir`, `cdir` and `pdir` are directories,
    /// `OS.unix=slink:TARGET` (or `OS.unix=symlink`) a symbolic link, `size` (else `sizd`) the
    /// size, `modify` an exact time, `UNIX.mode` the permissions, `UNIX.owner` and `UNIX.group`
    /// the owner and group. Without a `type` fact the kind is [`EntryKind::Other`].
    pub fn to_list_entry(&self) -> ListEntry {
        let facts = &self.facts;
        let (kind, symlink_target) = match &facts.kind {
            Some(FactType::File) => (EntryKind::File, None),
            Some(FactType::Dir | FactType::Cdir | FactType::Pdir) => (EntryKind::Directory, None),
            Some(FactType::OsSpecific(value)) => symlink(value)
                .map_or((EntryKind::Other, None), |target| {
                    (EntryKind::Symlink, target)
                }),
            None => (EntryKind::Other, None),
        };
        ListEntry {
            size: facts.size.or(facts.sizd),
            modified: facts.modify.map(ListTime::Exact),
            symlink_target,
            permissions: facts.unix_mode.map(mode_text),
            owner: facts.unix_owner.clone(),
            group: facts.unix_group.clone(),
            ..ListEntry::new(self.name.clone(), kind)
        }
    }
}

/// `Some(target)` for a symbolic link type: `OS.unix=slink:TARGET` (the form RFC 3659 §7.5.1's
/// OS-specific types suggest, used by pure-ftpd) or proftpd's `OS.unix=symlink`.
fn symlink(value: &[u8]) -> Option<Option<Bytes>> {
    let (os, rest) = value.split_at_checked(8)?;
    if !os.eq_ignore_ascii_case(b"OS.unix=") {
        return None;
    }
    let mut parts = rest.splitn(2, |&b| b == b':');
    let word = parts.next()?;
    (word.eq_ignore_ascii_case(b"slink") || word.eq_ignore_ascii_case(b"symlink")).then(|| {
        parts
            .next()
            .filter(|t| !t.is_empty())
            .map(Bytes::copy_from_slice)
    })
}

fn write_fact(name: &[u8], value: &[u8], out: &mut BytesMut) {
    let fits = |text: &[u8]| !text.is_empty() && !text.iter().any(|b| b" ;\r\n".contains(b));
    if fits(name) && fits(value) {
        out.put_slice(name);
        out.put_u8(b'=');
        out.put_slice(value);
        out.put_u8(b';');
    }
}

// RFC 3659 §7.2: entry = [facts] SP pathname; facts = 1*(factname "=" value ";"). Fact names
// are case-insensitive; the name is everything after the first space, `;` and spaces included.
// A missing `;` after the last fact is tolerated.
/// Parses one MLSx entry line (without its line end; a trailing CR is ignored). For an `MLST`
/// reply, pass the entry line without the space that starts it.
///
/// An empty line gives [`ListError::NotAnEntry`]; a known fact with a bad value (`size=x`)
/// gives [`ListError::InvalidFact`].
pub fn parse_mlsx_line(line: &[u8]) -> Result<MlsxEntry, ListError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Err(ListError::NotAnEntry);
    }
    let space = line
        .iter()
        .position(|&b| b == b' ')
        .ok_or(ListError::MissingName)?;
    let (text, name) = line.split_at_checked(space).ok_or(ListError::MissingName)?;
    let name = name
        .get(1..)
        .filter(|name| !name.is_empty())
        .ok_or(ListError::MissingName)?;
    let mut facts = Facts::default();
    for fact in text.split(|&b| b == b';').filter(|fact| !fact.is_empty()) {
        let mut parts = fact.splitn(2, |&b| b == b'=');
        let (Some(name), Some(value)) = (parts.next(), parts.next()) else {
            return Err(ListError::InvalidFact);
        };
        facts.set(name, value)?;
    }
    Ok(MlsxEntry {
        facts,
        name: Bytes::copy_from_slice(name),
    })
}

/// Parses a whole `MLSD` payload: lines end in LF (or CRLF); empty lines are skipped.
pub fn parse_mlsd(body: &[u8]) -> impl Iterator<Item = Result<MlsxEntry, ListError>> {
    body.split(|&b| b == b'\n')
        .map(parse_mlsx_line)
        .filter(|entry| !matches!(entry, Err(ListError::NotAnEntry)))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::super::tests::other_format_blocks;
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text.as_bytes()).unwrap()
    }

    fn find<'a>(entries: &'a [MlsxEntry], name: &str) -> &'a MlsxEntry {
        entries
            .iter()
            .find(|e| e.name == name.as_bytes())
            .unwrap_or_else(|| panic!("no {name:?}"))
    }

    const PAYLOADS: [(&str, &[u8]); 4] = [
        (
            "pure-ftpd",
            include_bytes!("../../tests/fixtures/servers/pure-ftpd-1.0.50/mlsd.txt"),
        ),
        (
            "proftpd",
            include_bytes!("../../tests/fixtures/servers/proftpd-1.3.8/mlsd.txt"),
        ),
        (
            "pyftpdlib",
            include_bytes!("../../tests/fixtures/servers/pyftpdlib-2.2.0/mlsd.txt"),
        ),
        (
            "libunftp",
            include_bytes!("../../tests/fixtures/servers/libunftp-0.24/mlsd.txt"),
        ),
    ];

    #[test]
    fn captured_mlsd_payloads() {
        let recent = ts("20261124082839");
        for (server, payload) in PAYLOADS {
            let entries: Vec<MlsxEntry> = parse_mlsd(payload)
                .collect::<Result<_, _>>()
                .unwrap_or_else(|e| panic!("{server}: {e}"));
            let with_dots = matches!(server, "pure-ftpd" | "proftpd");
            assert_eq!(entries.len(), if with_dots { 12 } else { 10 }, "{server}");

            let regular = find(&entries, "regular.txt");
            assert_eq!(regular.facts.kind, Some(FactType::File));
            assert_eq!(
                (regular.facts.size, regular.facts.modify),
                (Some(45), Some(recent))
            );
            assert_eq!(
                find(&entries, "old.txt").facts.modify,
                Some(ts("20240115000000"))
            );
            assert_eq!(
                find(&entries, "big-sparse.bin").facts.size,
                Some(5_368_709_120)
            );
            assert_eq!(find(&entries, "with spaces.txt").facts.size, Some(29));
            assert_eq!(find(&entries, "résumé ünï.txt").facts.size, Some(27));
            assert_eq!(find(&entries, ".hidden").facts.size, Some(15));
            let subdir = find(&entries, "subdir");
            assert_eq!(subdir.facts.kind, Some(FactType::Dir));
            assert_eq!(subdir.to_list_entry().kind, EntryKind::Directory);
            if with_dots {
                assert_eq!(find(&entries, ".").facts.kind, Some(FactType::Cdir));
                assert_eq!(find(&entries, "..").facts.kind, Some(FactType::Pdir));
                assert_eq!(
                    find(&entries, "..").facts.modify,
                    Some(ts("20261124082843"))
                );
                assert_eq!(regular.facts.unix_mode, Some(0o644));
                assert_eq!(
                    regular.to_list_entry().permissions.as_deref(),
                    Some(&b"rw-r--r--"[..])
                );
            }
            let link = find(&entries, "link-to-regular.txt").to_list_entry();
            let link_kind = if with_dots {
                EntryKind::Symlink
            } else {
                EntryKind::File
            };
            assert_eq!(
                (link.kind, link.symlink_target),
                (link_kind, None),
                "{server}"
            );
        }

        let proftpd = parse_mlsd(PAYLOADS[1].1).next().unwrap().unwrap();
        assert_eq!(proftpd.facts.perm.as_deref(), Some(&b"flcdmpe"[..]));
        assert_eq!(proftpd.facts.unique.as_deref(), Some(&b"1BU1FE33"[..]));
        assert_eq!(proftpd.facts.unix_owner.as_deref(), Some(&b"999"[..]));
        assert_eq!(proftpd.facts.unix_group.as_deref(), Some(&b"995"[..]));
        let other: Vec<(&[u8], &[u8])> = proftpd
            .facts
            .other
            .iter()
            .map(|(n, v)| (&n[..], &v[..]))
            .collect();
        assert_eq!(
            other,
            [
                (&b"UNIX.groupname"[..], &b"bench"[..]),
                (b"UNIX.ownername", b"bench")
            ]
        );
        let pure = parse_mlsd(PAYLOADS[0].1).next().unwrap().unwrap();
        assert_eq!(pure.facts.sizd, Some(240));
        assert_eq!(pure.to_list_entry().size, Some(240));
        let libunftp = parse_mlsd(PAYLOADS[3].1).next().unwrap().unwrap();
        assert_eq!(
            libunftp.facts.other[0],
            (Bytes::from_static(b"unix.uid"), Bytes::from_static(b"999"))
        );
    }

    #[test]
    fn hand_written_mlsd_blocks() {
        let blocks = other_format_blocks();
        let entries: Vec<MlsxEntry> = blocks[3]
            .iter()
            .map(|l| parse_mlsx_line(l).unwrap())
            .collect();
        assert_eq!(entries.len(), 11);
        assert_eq!(
            (entries[0].name.as_ref(), &entries[0].facts.kind),
            (&b"/home/bench"[..], &Some(FactType::Cdir))
        );
        assert_eq!(entries[0].facts.sizd, Some(4096));
        assert_eq!(entries[1].facts.kind, Some(FactType::Pdir));
        assert_eq!(entries[1].facts.modify, Some(ts("20260301120000")));
        assert_eq!(entries[1].to_list_entry().kind, EntryKind::Directory);
        assert_eq!(entries[3].facts.perm.as_deref(), Some(&b"adfrw"[..]));
        assert_eq!(entries[3].facts.unique.as_deref(), Some(&b"801g4"[..]));
        assert_eq!(entries[5].facts.modify, Some(ts("20261124082839.123")));
        assert_eq!(entries[6].name, "résumé ünï.txt".as_bytes());
        assert_eq!(entries[8].facts.size, Some(5_368_709_120));
        let link = &entries[9];
        assert_eq!(
            link.facts.kind,
            Some(FactType::OsSpecific(Bytes::from_static(
                b"OS.unix=slink:/home/bench/regular.txt"
            )))
        );
        let link = link.to_list_entry();
        assert_eq!(
            (link.name.as_ref(), link.kind),
            (&b"link-to-regular.txt"[..], EntryKind::Symlink)
        );
        assert_eq!(
            link.symlink_target.as_deref(),
            Some(&b"/home/bench/regular.txt"[..])
        );
        assert_eq!(link.modified, Some(ListTime::Exact(ts("20261124082839"))));
        assert_eq!(entries[10].name, "name;with=semicolons.txt");
        assert_eq!(entries[10].facts.size, Some(12));

        let entries: Vec<MlsxEntry> = blocks[4]
            .iter()
            .map(|l| parse_mlsx_line(l).unwrap())
            .collect();
        assert_eq!(
            (entries[0].name.as_ref(), &entries[0].facts.kind),
            (&b"pub"[..], &Some(FactType::Cdir))
        );
        assert_eq!(entries[0].facts.perm.as_deref(), Some(&b"el"[..]));
        assert_eq!(entries[2].facts.kind, Some(FactType::Dir));
        assert_eq!(
            (entries[3].facts.size, entries[3].facts.modify),
            (Some(45), Some(ts("20261124082839")))
        );
        assert_eq!(
            (entries[4].name.as_ref(), &entries[4].facts),
            (&b"no-facts.txt"[..], &Facts::default())
        );
    }

    #[test]
    fn malformed_lines() {
        assert_eq!(parse_mlsx_line(b"\r"), Err(ListError::NotAnEntry));
        for (line, error) in [
            (&b"type=file;size=1;"[..], ListError::MissingName),
            (b"type=file; ", ListError::MissingName),
            (b" ", ListError::MissingName),
            (b"size=x; a", ListError::InvalidFact),
            (b"size=-1; a", ListError::InvalidFact),
            (b"modify=2026; a", ListError::InvalidFact),
            (b"UNIX.mode=0789; a", ListError::InvalidFact),
            (b"type; a", ListError::InvalidFact),
            (b"=x; a", ListError::InvalidFact),
            (b"-rw-r--r-- 1 a b 1 Nov 24 08:28 x", ListError::InvalidFact),
        ] {
            assert_eq!(
                parse_mlsx_line(line),
                Err(error),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
        let e = parse_mlsx_line(b"type=file;perm=; x").unwrap();
        assert_eq!(e.facts.perm.as_deref(), Some(&b""[..]));
        let e = parse_mlsx_line(b"TYPE=DIR;x.y=a=b;SIZE=1 a ").unwrap();
        assert_eq!(
            (e.facts.kind, e.facts.size, e.name.as_ref()),
            (Some(FactType::Dir), Some(1), &b"a "[..])
        );
        assert_eq!(
            e.facts.other,
            [(Bytes::from_static(b"x.y"), Bytes::from_static(b"a=b"))]
        );
    }

    #[test]
    fn encodes_in_fixed_order() {
        let facts = Facts {
            kind: Some(FactType::File),
            size: Some(45),
            modify: Some(ts("20261124082839.5")),
            perm: Some(Bytes::from_static(b"adfrw")),
            unique: Some(Bytes::from_static(b"801g4")),
            unix_mode: Some(0o644),
            unix_owner: Some(Bytes::from_static(b"bench")),
            other: vec![
                (Bytes::from_static(b"x.a"), Bytes::from_static(b"1")),
                (Bytes::from_static(b"x b"), Bytes::from_static(b"2")),
            ],
            lang: Some(Bytes::from_static(b"bad value")),
            ..Facts::default()
        };
        let entry = MlsxEntry::new(facts, Bytes::from_static(b"regular.txt"));
        let mut out = BytesMut::new();
        entry.encode(FactSet::ALL, &mut out);
        assert_eq!(
            &out[..],
            b"type=file;size=45;modify=20261124082839.5;perm=adfrw;unique=801g4;UNIX.mode=0644;UNIX.owner=bench;x.a=1; regular.txt"
        );
        out.clear();
        entry.encode(
            FactSet::TYPE | FactSet::UNIX_OWNER | FactSet::CREATE,
            &mut out,
        );
        assert_eq!(&out[..], b"type=file;UNIX.owner=bench;x.a=1; regular.txt");
        out.clear();
        MlsxEntry::new(Facts::default(), Bytes::from_static(b" x")).encode(FactSet::ALL, &mut out);
        assert_eq!(&out[..], b"  x");
        assert_eq!(parse_mlsx_line(&out).unwrap().name, " x");
    }

    #[test]
    fn fact_sets() {
        assert_eq!(
            FactSet::parse_opts(b"type;Size;UNIX.MODE;bogus;;"),
            FactSet::TYPE | FactSet::SIZE | FactSet::UNIX_MODE
        );
        assert_eq!(
            FactSet::parse_opts(b" modify ; media-type;\r"),
            FactSet::MODIFY | FactSet::MEDIA_TYPE
        );
        assert!(FactSet::parse_opts(b"").is_empty());
        assert!(FactSet::ALL.contains(FactSet::DEFAULT));
        assert!(!FactSet::DEFAULT.contains(FactSet::SIZD));
        let mut out = BytesMut::new();
        FactSet::DEFAULT.write_feat(FactSet::ALL, &mut out);
        assert_eq!(
            &out[..],
            b"type*;size*;sizd;modify*;create;perm*;unique*;lang;media-type;charset;UNIX.mode;UNIX.owner;UNIX.group;"
        );
        out.clear();
        FactSet::ALL.write_feat(FactSet::TYPE | FactSet::SIZE, &mut out);
        assert_eq!(&out[..], b"type*;size*;");
        out.clear();
        (FactSet::UNIX_GROUP | FactSet::TYPE).write_opts(&mut out);
        assert_eq!(&out[..], b"type;UNIX.group;");
        assert_eq!(
            FactSet::parse_opts(&out),
            FactSet::UNIX_GROUP | FactSet::TYPE
        );
    }

    fn text() -> impl Strategy<Value = Option<Bytes>> {
        proptest::option::of("[^; \r\n]{1,12}".prop_map(Bytes::from))
    }

    fn time() -> impl Strategy<Value = Option<Timestamp>> {
        proptest::option::of(
            (0u64..253_402_300_800, 0u32..1_000_000_000)
                .prop_map(|(s, n)| Timestamp::from_unix(s, n).unwrap()),
        )
    }

    fn facts() -> impl Strategy<Value = Facts> {
        let kind = proptest::option::of(prop_oneof![
            Just(FactType::File),
            Just(FactType::Dir),
            Just(FactType::Cdir),
            Just(FactType::Pdir),
            "OS\\.unix=(slink:[a-z/.]{0,10}|chr-[0-9]/[0-9])"
                .prop_map(|t| FactType::OsSpecific(t.into())),
        ]);
        let numbers = (
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u64>()),
            proptest::option::of(any::<u32>()),
        );
        let texts = (text(), text(), text(), text(), text(), text(), text());
        let other =
            proptest::collection::vec(("x\\.[a-z]{1,8}", "[^; \r\n]{1,8}"), 0..3).prop_map(|v| {
                v.into_iter()
                    .map(|(n, v)| (Bytes::from(n), Bytes::from(v)))
                    .collect()
            });
        (kind, numbers, time(), time(), texts, other).prop_map(
            |(
                kind,
                (size, sizd, unix_mode),
                modify,
                create,
                (perm, unique, lang, media_type, charset, unix_owner, unix_group),
                other,
            )| Facts {
                kind,
                size,
                sizd,
                modify,
                create,
                perm,
                unique,
                lang,
                media_type,
                charset,
                unix_mode,
                unix_owner,
                unix_group,
                other,
            },
        )
    }

    proptest! {
        #[test]
        fn mlsx_parsing_never_panics(line in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = parse_mlsx_line(&line);
            let _ = parse_mlsd(&line).count();
            let _ = FactSet::parse_opts(&line);
        }

        #[test]
        fn fact_like_lines_never_panic(line in "([a-zA-Z.]{0,6}(=[^ ;]{0,20})?;){0,5} ?.{0,10}") {
            if let Ok(entry) = parse_mlsx_line(line.as_bytes()) {
                let _ = entry.to_list_entry();
            }
        }

        // Names may be anything but CR and LF (leading spaces included).
        #[test]
        fn encode_then_parse(facts in facts(), name in proptest::collection::vec(any::<u8>().prop_filter("line end", |b| !b"\r\n".contains(b)), 1..30)) {
            let entry = MlsxEntry::new(facts, Bytes::from(name));
            let mut out = BytesMut::new();
            entry.encode(FactSet::ALL, &mut out);
            prop_assert_eq!(parse_mlsx_line(&out), Ok(entry));
        }
    }
}
