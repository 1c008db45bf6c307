//! Directory listings: the `LIST` formats servers send (Unix `ls -l`, MS-DOS/IIS, EPLF), the
//! machine-readable MLSx format of RFC 3659 §7, and, for servers, every listing line written
//! from one file-metadata type, [`Metadata`] ([`write_entry`], [`mlsx_entry`]).
//!
//! Everything works on one line of a data-connection payload at a time; names stay bytes.

mod dos;
mod eplf;
mod format;
mod metadata;
mod mlsx;
mod unix;

pub use format::{format_list_line, mlsx_entry, write_entry};
pub use metadata::{DirEntry, FileKind, ListFormat, Metadata};
pub use mlsx::{FactSet, FactType, Facts, MlsxEntry, parse_mlsd, parse_mlsx_line};

use bytes::Bytes;
use nom::Parser;
use nom::bytes::complete::take_while_m_n;
use nom::combinator::{all_consuming, map_opt};

use crate::time::Timestamp;

/// One entry of a `LIST` reply, whatever format the server used.
///
/// Fields the format does not carry are `None`. Build one with [`ListEntry::new`] and the
/// `with_*` setters to feed [`format_list_line`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListEntry {
    /// The name, exactly as sent (not necessarily UTF-8). Includes `.` and `..` when listed.
    pub name: Bytes,
    /// What the entry is.
    pub kind: EntryKind,
    /// Size in bytes (`None` for device files and where the format has none).
    pub size: Option<u64>,
    /// Modification time, with as much precision as the format gave.
    pub modified: Option<ListTime>,
    /// Where a symbolic link points, when the server said.
    pub symlink_target: Option<Bytes>,
    /// Permissions text: for Unix listings the nine letters after the type, e.g. `rw-r--r--`.
    pub permissions: Option<Bytes>,
    /// Owner name or number.
    pub owner: Option<Bytes>,
    /// Group name or number.
    pub group: Option<Bytes>,
    /// Hard link count.
    pub links: Option<u64>,
}

impl ListEntry {
    /// An entry with only a name and a kind.
    pub fn new(name: Bytes, kind: EntryKind) -> Self {
        Self {
            name,
            kind,
            size: None,
            modified: None,
            symlink_target: None,
            permissions: None,
            owner: None,
            group: None,
            links: None,
        }
    }

    /// Sets the size in bytes.
    #[must_use]
    pub fn with_size(self, size: u64) -> Self {
        Self {
            size: Some(size),
            ..self
        }
    }

    /// Sets the modification time.
    #[must_use]
    pub fn with_modified(self, modified: ListTime) -> Self {
        Self {
            modified: Some(modified),
            ..self
        }
    }

    /// Sets the symbolic link target.
    #[must_use]
    pub fn with_symlink_target(self, target: Bytes) -> Self {
        Self {
            symlink_target: Some(target),
            ..self
        }
    }

    /// Sets the permissions text (for [`format_list_line`]: nine letters such as `rwxr-x---`).
    #[must_use]
    pub fn with_permissions(self, permissions: Bytes) -> Self {
        Self {
            permissions: Some(permissions),
            ..self
        }
    }

    /// Sets the owner.
    #[must_use]
    pub fn with_owner(self, owner: Bytes) -> Self {
        Self {
            owner: Some(owner),
            ..self
        }
    }

    /// Sets the group.
    #[must_use]
    pub fn with_group(self, group: Bytes) -> Self {
        Self {
            group: Some(group),
            ..self
        }
    }

    /// Sets the hard link count.
    #[must_use]
    pub fn with_links(self, links: u64) -> Self {
        Self {
            links: Some(links),
            ..self
        }
    }
}

/// What a listed entry is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EntryKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// Anything else (devices, sockets, pipes) or a kind the server did not give.
    Other,
}

/// A modification time as precise as the listing format allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListTime {
    /// A UTC time (EPLF, MLSx, or a caller's input to the formatter).
    Exact(Timestamp),
    /// Date and time in the server's local time zone, which the listing does not give (IIS).
    Unzoned(Timestamp),
    /// Unix `Nov 24 08:28`: a recent time whose year is left out.
    MonthDayTime {
        /// Month, 1 to 12.
        month: u8,
        /// Day of the month, 1 to 31.
        day: u8,
        /// Hour, 0 to 23.
        hour: u8,
        /// Minute, 0 to 59.
        minute: u8,
    },
    /// Unix `Jan 15  2024`: an older time given to the day.
    Date {
        /// Year, 1 to 9999.
        year: u16,
        /// Month, 1 to 12.
        month: u8,
        /// Day of the month, 1 to 31.
        day: u8,
    },
}

impl ListTime {
    /// A calendar time for this value, taking `now` as the present (no clock is read).
    ///
    /// [`MonthDayTime`](Self::MonthDayTime) gets the latest year that puts it at most one day
    /// after `now`, as `ls` assumes when it leaves the year out; [`Date`](Self::Date) gives
    /// midnight; [`Unzoned`](Self::Unzoned) is taken as if it were UTC. `None` when no such time
    /// exists (a February 29 with no leap year within eight years).
    pub fn resolve(&self, now: Timestamp) -> Option<Timestamp> {
        match *self {
            Self::Exact(time) | Self::Unzoned(time) => Some(time),
            Self::Date { year, month, day } => Timestamp::new(year, month, day, 0, 0, 0).ok(),
            Self::MonthDayTime {
                month,
                day,
                hour,
                minute,
            } => {
                let limit = now.unix_seconds() + 86_400;
                // Eight years back reaches the previous February 29 even across 2100.
                (now.year().saturating_sub(8)..=now.year().saturating_add(1))
                    .rev()
                    .filter_map(|year| Timestamp::new(year, month, day, hour, minute, 0).ok())
                    .find(|time| time.unix_seconds() <= limit)
            }
        }
    }
}

/// Why a listing line gave no entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// A line that is not about an entry: blank, or `ls`'s `total 12`.
    #[error("line is not a directory entry")]
    NotAnEntry,
    /// The line matches none of the known listing formats.
    #[error("unrecognized listing line")]
    Unrecognized,
    /// An MLSx fact without `=`, or a known fact with a value that does not parse.
    #[error("invalid fact in mlsx entry")]
    InvalidFact,
    /// An MLSx line with no name after the facts.
    #[error("mlsx entry has no name")]
    MissingName,
}

/// Parses one `LIST` line (without its line end; a trailing CR is ignored), trying Unix `ls -l`,
/// then MS-DOS/IIS, then EPLF.
///
/// Blank lines and `total N` give [`ListError::NotAnEntry`].
pub fn parse_list_line(line: &[u8]) -> Result<ListEntry, ListError> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.trim_ascii().is_empty() || unix::is_total(line) {
        return Err(ListError::NotAnEntry);
    }
    unix::parse(line)
        .or_else(|| dos::parse(line))
        .or_else(|| eplf::parse(line))
        .ok_or(ListError::Unrecognized)
}

/// Parses a whole `LIST` payload: lines end in LF (or CRLF); lines that are not entries
/// ([`ListError::NotAnEntry`]) are skipped.
pub fn parse_listing(body: &[u8]) -> impl Iterator<Item = Result<ListEntry, ListError>> {
    body.split(|&b| b == b'\n')
        .map(parse_list_line)
        .filter(|entry| !matches!(entry, Err(ListError::NotAnEntry)))
}

/// nom's error type, kept inside this module.
type NomError<'a> = nom::error::Error<&'a [u8]>;

/// Runs `parser` at the start of complete `input`, giving the rest and the output.
fn prefix<'a, O>(
    mut parser: impl Parser<&'a [u8], Output = O, Error = NomError<'a>>,
    input: &'a [u8],
) -> Option<(&'a [u8], O)> {
    parser.parse_complete(input).ok()
}

/// Runs `parser` over all of `input`.
fn whole<'a, O>(
    parser: impl Parser<&'a [u8], Output = O, Error = NomError<'a>>,
    input: &'a [u8],
) -> Option<O> {
    prefix(all_consuming(parser), input).map(|(_, out)| out)
}

/// `min` to `max` (at most 9) decimal digits, as a `T`.
fn dec<'a, T: TryFrom<u32>>(
    min: usize,
    max: usize,
) -> impl Parser<&'a [u8], Output = T, Error = NomError<'a>> {
    map_opt(
        take_while_m_n(min, max, |b: u8| b.is_ascii_digit()),
        |digits: &[u8]| {
            T::try_from(
                digits
                    .iter()
                    .fold(0, |acc, &d| acc * 10 + u32::from(d - b'0')),
            )
            .ok()
        },
    )
}

/// Octal digits (at least one) as a number, `None` on overflow.
fn octal(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u32, |acc, &d| match d {
        b'0'..=b'7' => acc.checked_mul(8)?.checked_add(u32::from(d - b'0')),
        _ => None,
    })
}

/// The nine `ls` permission letters for a Unix mode, with setuid, setgid and sticky bits.
pub(crate) fn mode_text(mode: u32) -> Bytes {
    let mut text = *b"rwxrwxrwx";
    for (i, letter) in text.iter_mut().enumerate() {
        if mode & (0o400 >> i) == 0 {
            *letter = b'-';
        }
    }
    for (bit, i, set) in [(0o4000, 2, b's'), (0o2000, 5, b's'), (0o1000, 8, b't')] {
        if let Some(letter) = text.get_mut(i).filter(|_| mode & bit != 0) {
            *letter = if *letter == b'x' {
                set
            } else {
                set.to_ascii_uppercase()
            };
        }
    }
    Bytes::copy_from_slice(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The non-comment blocks of `other-formats.txt`, each a list of lines.
    pub(super) fn other_format_blocks() -> Vec<Vec<&'static [u8]>> {
        let text: &'static [u8] = include_bytes!("../../tests/fixtures/listings/other-formats.txt");
        let mut blocks = vec![Vec::new()];
        for line in text.split(|&b| b == b'\n') {
            if line.is_empty() {
                if blocks.last().is_some_and(|b: &Vec<_>| !b.is_empty()) {
                    blocks.push(Vec::new());
                }
            } else if !line.starts_with(b"#") {
                blocks.last_mut().unwrap().push(line);
            }
        }
        blocks.retain(|b| !b.is_empty());
        assert_eq!(
            blocks.len(),
            5,
            "DOS, DOS with 4-digit years, EPLF, two MLSD blocks"
        );
        blocks
    }

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text.as_bytes()).unwrap()
    }

    struct Server {
        name: &'static str,
        list: &'static [u8],
        list_la: &'static [u8],
        owner: &'static str,
        group: &'static str,
    }

    const SERVERS: [Server; 5] = [
        Server {
            name: "vsftpd",
            list: include_bytes!("../../tests/fixtures/servers/vsftpd-3.0.3/list.txt"),
            list_la: include_bytes!("../../tests/fixtures/servers/vsftpd-3.0.3/list-la.txt"),
            owner: "999",
            group: "995",
        },
        Server {
            name: "pure-ftpd",
            list: include_bytes!("../../tests/fixtures/servers/pure-ftpd-1.0.50/list.txt"),
            list_la: include_bytes!("../../tests/fixtures/servers/pure-ftpd-1.0.50/list-la.txt"),
            owner: "999",
            group: "bench",
        },
        Server {
            name: "proftpd",
            list: include_bytes!("../../tests/fixtures/servers/proftpd-1.3.8/list.txt"),
            list_la: include_bytes!("../../tests/fixtures/servers/proftpd-1.3.8/list-la.txt"),
            owner: "bench",
            group: "bench",
        },
        Server {
            name: "pyftpdlib",
            list: include_bytes!("../../tests/fixtures/servers/pyftpdlib-2.2.0/list.txt"),
            list_la: include_bytes!("../../tests/fixtures/servers/pyftpdlib-2.2.0/list-la.txt"),
            owner: "bench",
            group: "bench",
        },
        Server {
            name: "libunftp",
            list: include_bytes!("../../tests/fixtures/servers/libunftp-0.24/list.txt"),
            list_la: include_bytes!("../../tests/fixtures/servers/libunftp-0.24/list-la.txt"),
            owner: "999",
            group: "995",
        },
    ];

    fn find<'a>(entries: &'a [ListEntry], name: &str) -> &'a ListEntry {
        entries
            .iter()
            .find(|e| e.name == name.as_bytes())
            .unwrap_or_else(|| panic!("no entry {name:?}"))
    }

    #[test]
    fn captured_unix_listings_parse_fully() {
        for server in &SERVERS {
            for (payload, la) in [(server.list, false), (server.list_la, true)] {
                let entries: Vec<ListEntry> = parse_listing(payload)
                    .collect::<Result<_, _>>()
                    .unwrap_or_else(|e| panic!("{}: {e}", server.name));
                let lines = payload
                    .split(|&b| b == b'\n')
                    .filter(|l| !l.is_empty())
                    .count();
                assert_eq!(entries.len(), lines, "{}", server.name);

                for e in &entries {
                    assert_eq!(e.owner.as_deref(), Some(server.owner.as_bytes()));
                    assert_eq!(e.group.as_deref(), Some(server.group.as_bytes()));
                }
                let regular = find(&entries, "regular.txt");
                assert_eq!(regular.kind, EntryKind::File);
                assert_eq!(regular.size, Some(45));
                assert_eq!(regular.links, Some(1));
                assert_eq!(regular.permissions.as_deref(), Some(&b"rw-r--r--"[..]));
                assert_eq!(
                    regular.modified,
                    Some(ListTime::MonthDayTime {
                        month: 11,
                        day: 24,
                        hour: 8,
                        minute: 28
                    })
                );
                let old = find(&entries, "old.txt");
                assert_eq!(
                    old.modified,
                    Some(ListTime::Date {
                        year: 2024,
                        month: 1,
                        day: 15
                    })
                );
                assert_eq!(old.size, Some(17));
                assert_eq!(find(&entries, "big-sparse.bin").size, Some(5_368_709_120));
                assert_eq!(find(&entries, "empty.txt").size, Some(0));
                assert_eq!(find(&entries, "today.txt").size, Some(12));
                assert_eq!(find(&entries, "with spaces.txt").size, Some(29));
                assert_eq!(find(&entries, "résumé ünï.txt").size, Some(27));
                let link = find(&entries, "link-to-regular.txt");
                assert_eq!(link.kind, EntryKind::Symlink);
                assert_eq!(link.symlink_target.as_deref(), Some(&b"regular.txt"[..]));
                assert_eq!(link.permissions.as_deref(), Some(&b"rwxrwxrwx"[..]));
                assert_eq!(link.size, Some(11));
                let subdir = find(&entries, "subdir");
                assert_eq!(subdir.kind, EntryKind::Directory);
                assert_eq!((subdir.size, subdir.links), (Some(60), Some(2)));
                assert_eq!(subdir.permissions.as_deref(), Some(&b"rwxr-xr-x"[..]));

                // Which servers show dot files and `.`/`..` is part of the captured behaviour.
                let hidden = entries.iter().any(|e| e.name == ".hidden");
                let dots = entries.iter().any(|e| e.name == "." || e.name == "..");
                let (want_hidden, want_dots) = match server.name {
                    "pyftpdlib" | "libunftp" => (true, false),
                    _ => (la, la),
                };
                assert_eq!(
                    (hidden, dots),
                    (want_hidden, want_dots),
                    "{} la={la}",
                    server.name
                );
                if dots {
                    let parent = find(&entries, "..");
                    assert_eq!(
                        (parent.kind, parent.size),
                        (EntryKind::Directory, Some(240))
                    );
                }
                if hidden {
                    assert_eq!(find(&entries, ".hidden").size, Some(15));
                }
            }
        }
    }

    #[test]
    fn other_format_list_blocks_parse() {
        let blocks = other_format_blocks();
        for block in blocks.get(..3).unwrap() {
            for line in block {
                assert!(
                    parse_list_line(line).is_ok(),
                    "{}",
                    String::from_utf8_lossy(line)
                );
            }
        }
    }

    #[test]
    fn blank_and_total_lines_are_not_entries() {
        for line in [
            &b""[..],
            b"\r",
            b"   ",
            b"total 12",
            b"total 0\r",
            b"total  4096",
        ] {
            assert_eq!(
                parse_list_line(line),
                Err(ListError::NotAnEntry),
                "{line:?}"
            );
        }
        for line in [
            &b"hello"[..],
            b"12-01-2026",
            b"+",
            b"-rw-r--r-- 1 a b 1 Nov 24 08:28",
        ] {
            assert_eq!(
                parse_list_line(line),
                Err(ListError::Unrecognized),
                "{line:?}"
            );
        }
        let body = b"total 8\r\n-rw-r--r-- 1 a b 3 Nov 24 08:28 x\r\n\r\n";
        let names: Vec<_> = parse_listing(body).map(|e| e.unwrap().name).collect();
        assert_eq!(names, ["x"]);
    }

    #[test]
    fn resolve_uses_the_year_before_when_needed() {
        let now = ts("20270110120000");
        let dec = ListTime::MonthDayTime {
            month: 12,
            day: 24,
            hour: 8,
            minute: 28,
        };
        assert_eq!(dec.resolve(now), Some(ts("20261224082800")));
        let jan = ListTime::MonthDayTime {
            month: 1,
            day: 10,
            hour: 18,
            minute: 0,
        };
        assert_eq!(jan.resolve(now), Some(ts("20270110180000")));
        // More than a day ahead of `now` means last year.
        let later = ListTime::MonthDayTime {
            month: 1,
            day: 11,
            hour: 12,
            minute: 1,
        };
        assert_eq!(later.resolve(now), Some(ts("20260111120100")));
        // Just after New Year's Eve: tomorrow's Jan 1 is next year.
        let new_year = ListTime::MonthDayTime {
            month: 1,
            day: 1,
            hour: 0,
            minute: 10,
        };
        assert_eq!(
            new_year.resolve(ts("20261231230000")),
            Some(ts("20270101001000"))
        );
        let leap = ListTime::MonthDayTime {
            month: 2,
            day: 29,
            hour: 0,
            minute: 0,
        };
        assert_eq!(leap.resolve(now), Some(ts("20240229000000")));
        let date = ListTime::Date {
            year: 2024,
            month: 1,
            day: 15,
        };
        assert_eq!(date.resolve(now), Some(ts("20240115000000")));
        assert_eq!(
            ListTime::Date {
                year: 2023,
                month: 2,
                day: 29
            }
            .resolve(now),
            None
        );
        let exact = ts("20261124082839.5");
        assert_eq!(ListTime::Exact(exact).resolve(now), Some(exact));
        assert_eq!(ListTime::Unzoned(exact).resolve(now), Some(exact));
    }

    #[test]
    fn mode_text_shows_special_bits() {
        assert_eq!(mode_text(0o644), "rw-r--r--");
        assert_eq!(mode_text(0o755), "rwxr-xr-x");
        assert_eq!(mode_text(0o4755), "rwsr-xr-x");
        assert_eq!(mode_text(0o2644), "rw-r-Sr--");
        assert_eq!(mode_text(0o1777), "rwxrwxrwt");
        assert_eq!(mode_text(0o1000), "--------T");
        assert_eq!(octal(b"0755"), Some(0o755));
        assert_eq!(octal(b""), None);
        assert_eq!(octal(b"8"), None);
        assert_eq!(octal(b"77777777777777"), None);
    }

    proptest::proptest! {
        #[test]
        fn list_parsing_never_panics(line in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            let _ = parse_list_line(&line);
            let _ = parse_listing(&line).count();
        }

        #[test]
        fn unix_like_lines_never_panic(line in "[-dlcbps?][rwxsStT-]{9}[+.@]? {1,3}[0-9a-z ,:]{0,60}") {
            let _ = parse_list_line(line.as_bytes());
        }
    }
}
