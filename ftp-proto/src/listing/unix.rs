//! Unix `ls -l` lines, as most FTP servers send them for `LIST`.

use bytes::Bytes;
use nom::bytes::complete::{tag, take_while_m_n};
use nom::character::complete::{char, digit1, one_of, space1, u64};
use nom::combinator::{map, opt};
use nom::sequence::{separated_pair, terminated};

use super::{EntryKind, ListEntry, ListTime, dec, prefix, whole};
use crate::time::{Timestamp, days_in_month};

/// English month abbreviations, as `ls` writes them in the C locale.
pub(super) const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Letters allowed in the nine permission positions.
pub(super) const PERMISSION_LETTERS: &[u8] = b"rwxsStTlL-";

/// `total 12`, the block count `ls -l` prints first.
pub(super) fn is_total(line: &[u8]) -> bool {
    prefix((tag("total"), space1, digit1), line).is_some()
}

// POSIX `ls -l` (XCU "ls", STDOUT, long format), as FTP servers emulate it:
//   <type><9 perms>[+.@] [links] <owner> [group] <size | major, minor> <Mon> <DD> <HH:MM | YYYY> <name>
// Columns are separated by runs of blanks, except that the name starts after exactly one space,
// so names keep leading spaces. The date is the first month/day/time-or-year triple that makes a
// whole entry, which lets the link count and the group column be missing. With two columns
// before the size, a number first is the link count (no group), else owner and group.
pub(super) fn parse(line: &[u8]) -> Option<ListEntry> {
    // The type letter, nine permission letters, an ACL/xattr/SELinux marker, blanks.
    let kind = map(one_of("-dlcbps?"), |letter| match letter {
        '-' => EntryKind::File,
        'd' => EntryKind::Directory,
        'l' => EntryKind::Symlink,
        _ => EntryKind::Other,
    });
    let permissions = take_while_m_n(9, 9, |b| PERMISSION_LETTERS.contains(&b));
    let mode = terminated((kind, permissions), (opt(one_of("+.@")), space1));
    let (rest, (kind, permissions)) = prefix(mode, line)?;
    // At most links, owner, group, major, minor, then the three date columns. A fixed array:
    // no allocation until the entry is known.
    let mut found = [(0, &b""[..]); 8];
    let mut count = 0;
    for (slot, token) in found.iter_mut().zip(tokens(rest)) {
        *slot = token;
        count += 1;
    }
    let tokens = found.get(..count)?;
    (1..tokens.len()).find_map(|i| {
        let (before, after) = tokens.split_at_checked(i)?;
        entry(line, rest, kind, permissions, before, after)
    })
}

/// The entry whose date starts `after` and whose size (or device numbers) ends `before`.
fn entry(
    line: &[u8],
    rest: &[u8],
    kind: EntryKind,
    permissions: &[u8],
    before: &[(usize, &[u8])],
    after: &[(usize, &[u8])],
) -> Option<ListEntry> {
    let modified = date(after)?;
    let &[_, _, (start, last), ..] = after else {
        return None;
    };
    let (size, ids) = match before {
        [ids @ .., (_, major), (_, minor)]
            if kind == EntryKind::Other && is_device(major, Some(minor)) =>
        {
            (None, ids)
        }
        [ids @ .., (_, both)] if kind == EntryKind::Other && is_device(both, None) => (None, ids),
        [ids @ .., (_, size)] => (Some(whole(u64, size)?), ids),
        [] => return None,
    };
    let (links, owner, group) = match *ids {
        [(_, links), (_, owner), (_, group)] => (Some(whole(u64, links)?), owner, Some(group)),
        [(_, first), (_, second)] => match whole(u64, first) {
            Some(links) => (Some(links), second, None),
            None => (None, first, Some(second)),
        },
        [(_, owner)] => (None, owner, None),
        _ => return None,
    };

    let name = rest.get(start + last.len()..)?.strip_prefix(b" ")?;
    let (name, symlink_target) = match name.windows(4).position(|w| w == b" -> ") {
        Some(arrow) if kind == EntryKind::Symlink => {
            let (name, target) = name.split_at_checked(arrow)?;
            (name, target.get(4..).filter(|t| !t.is_empty()))
        }
        _ => (name, None),
    };
    if name.is_empty() {
        return None;
    }
    // One copy of the line; every field is a slice of it.
    let owned = Bytes::copy_from_slice(line);
    let share = |part: &[u8]| share(&owned, line, part);
    Some(ListEntry {
        name: share(name),
        kind,
        size,
        modified: Some(modified),
        symlink_target: symlink_target.map(share),
        permissions: Some(share(permissions)),
        owner: Some(share(owner)),
        group: group.map(share),
        links,
    })
}

/// `part` (a slice of `line`) as a slice of `owned` (a copy of `line`).
fn share(owned: &Bytes, line: &[u8], part: &[u8]) -> Bytes {
    let offset = (part.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize);
    match offset.checked_add(part.len()) {
        Some(end) if end <= owned.len() => owned.slice(offset..end),
        // Not a slice of `line` after all: copy it.
        _ => Bytes::copy_from_slice(part),
    }
}

/// Blank-separated tokens with their offsets in `text`.
fn tokens(text: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        let rest = text.get(pos..)?;
        let start = pos + rest.iter().position(|b| !b.is_ascii_whitespace())?;
        let token = text.get(start..)?;
        let len = token
            .iter()
            .position(u8::is_ascii_whitespace)
            .unwrap_or(token.len());
        pos = start + len;
        Some((start, token.get(..len)?))
    })
}

/// A device's `major, minor` (two tokens) or `major,minor` (one token).
fn is_device(major: &[u8], minor: Option<&[u8]>) -> bool {
    match minor {
        Some(minor) => {
            whole((digit1, char(',')), major).is_some() && whole(digit1, minor).is_some()
        }
        None => whole((digit1, char(','), digit1), major).is_some(),
    }
}

/// `Mon DD HH:MM` or `Mon DD YYYY` from the first three of `tokens`.
fn date(tokens: &[(usize, &[u8])]) -> Option<ListTime> {
    let &[(_, month), (_, day), (_, last), ..] = tokens else {
        return None;
    };
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))?;
    let month = u8::try_from(month + 1).ok()?;
    let day: u8 = whole(dec(1, 2), day)?;
    // Any year: February 29 must stay possible for `MonthDayTime`.
    if day == 0 || day > days_in_month(2000, month) {
        return None;
    }
    if let Some(year) = whole(dec(4, 4), last) {
        Timestamp::new(year, month, day, 0, 0, 0).ok()?;
        return Some(ListTime::Date { year, month, day });
    }
    let (hour, minute) = whole(separated_pair(dec(1, 2), char(':'), dec(2, 2)), last)?;
    (hour < 24 && minute < 60).then_some(ListTime::MonthDayTime {
        month,
        day,
        hour,
        minute,
    })
}

#[cfg(test)]
mod tests {
    use super::super::parse_list_line;
    use super::*;

    fn entry(line: &str) -> ListEntry {
        parse_list_line(line.as_bytes()).unwrap_or_else(|e| panic!("{line:?}: {e}"))
    }

    #[test]
    fn without_group_column() {
        let e = entry("-rw-r--r--   1 ftp          1234 Mar  3 12:00 notes.txt");
        assert_eq!(e.owner.as_deref(), Some(&b"ftp"[..]));
        assert_eq!((e.group, e.links, e.size), (None, Some(1), Some(1234)));
        assert_eq!(e.name, "notes.txt");
        let e = entry("drwxr-xr-x folder        0 Nov 24  2025 pub");
        assert_eq!(
            (e.links, e.owner.as_deref(), e.group.as_deref()),
            (None, Some(&b"folder"[..]), None)
        );
        let e = entry("drwxr-xr-x owner group 0 Nov 24  2025 pub");
        assert_eq!((e.links, e.group.as_deref()), (None, Some(&b"group"[..])));
    }

    #[test]
    fn device_files_have_no_size() {
        let e = entry("crw-rw-rw- 1 root root 1, 3 Nov 24 08:28 null");
        assert_eq!(
            (e.kind, e.size, e.name.as_ref()),
            (EntryKind::Other, None, &b"null"[..])
        );
        let e = entry("brw-rw----   1 root  disk   8,0 Jan  5  2025 sda");
        assert_eq!(
            (e.kind, e.size, e.name.as_ref()),
            (EntryKind::Other, None, &b"sda"[..])
        );
        assert_eq!(
            e.modified,
            Some(ListTime::Date {
                year: 2025,
                month: 1,
                day: 5
            })
        );
        let e = entry("prw-r--r-- 1 root root 0 Nov 24 08:28 fifo");
        assert_eq!((e.kind, e.size), (EntryKind::Other, Some(0)));
        let e = entry("srwxrwxrwx 1 root root 0 Nov 24 08:28 sock");
        assert_eq!(e.kind, EntryKind::Other);
        // Only device files may have `major, minor`.
        assert!(parse_list_line(b"-rw-r--r-- 1 root root 1, 3 Nov 24 08:28 x").is_err());
    }

    #[test]
    fn acl_markers_and_numeric_owners() {
        for marker in ["+", ".", "@"] {
            let e = entry(&format!("-rw-r-----{marker} 1 1000 100 5 Nov 24 08:28 acl"));
            assert_eq!(e.permissions.as_deref(), Some(&b"rw-r-----"[..]));
            assert_eq!(
                (e.owner.as_deref(), e.group.as_deref()),
                (Some(&b"1000"[..]), Some(&b"100"[..]))
            );
        }
        let e = entry("drwsr-sr-t 2 0 0 4096 Nov 24 08:28 sticky");
        assert_eq!(e.permissions.as_deref(), Some(&b"rwsr-sr-t"[..]));
    }

    #[test]
    fn names_keep_spaces_and_bytes() {
        let e = entry("-rw-r--r-- 1 a b 1 Nov 24 08:28  leading and trailing  ");
        assert_eq!(e.name, " leading and trailing  ");
        let e = entry("-rw-r--r-- 1 a b 1 Nov 24 08:28 Nov 24 08:28 x\r");
        assert_eq!(e.name, "Nov 24 08:28 x");
        let e = parse_list_line(b"-rw-r--r-- 1 a b 1 Nov 24 08:28 \xff\xfe").unwrap();
        assert_eq!(e.name, &b"\xff\xfe"[..]);
        // ` -> ` only separates a target for symbolic links.
        let e = entry("-rw-r--r-- 1 a b 1 Nov 24 08:28 a -> b");
        assert_eq!((e.name.as_ref(), e.symlink_target), (&b"a -> b"[..], None));
        let e = entry("lrwxrwxrwx 1 a b 1 Nov 24 08:28 a -> b -> c");
        assert_eq!(e.name, "a");
        assert_eq!(e.symlink_target.as_deref(), Some(&b"b -> c"[..]));
    }

    #[test]
    fn dates() {
        let e = entry("-rw-r--r-- 1 a b 1 feb 29 9:05 leap");
        assert_eq!(
            e.modified,
            Some(ListTime::MonthDayTime {
                month: 2,
                day: 29,
                hour: 9,
                minute: 5
            })
        );
        for bad in [
            "-rw-r--r-- 1 a b 1 Feb 30 09:05 x",
            "-rw-r--r-- 1 a b 1 Feb 29  2023 x",
            "-rw-r--r-- 1 a b 1 Nov 24 24:00 x",
            "-rw-r--r-- 1 a b 1 Nov 24 08:60 x",
            "-rw-r--r-- 1 a b 1 Nov 0 08:00 x",
            "-rw-r--r-- 1 a b 1 Nov 24 08:28",
            "-rw-r--r-- 1 a b 1 Nov 24 08:28\tx",
            "-rw-r--r-- 1 a b 99999999999999999999 Nov 24 08:28 x",
        ] {
            assert!(parse_list_line(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}
