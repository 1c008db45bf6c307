//! What a server writes for each entry of a listing: the `ls -l` style line of `LIST` and
//! `STAT path`, the name of `NLST`, the fact line of `MLSD` and `MLST`.

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};

use bytes::Bytes;

use super::unix::{MONTHS, PERMISSION_LETTERS};
use super::{
    DirEntry, EntryKind, FactType, Facts, FileKind, ListEntry, ListFormat, ListTime, Metadata,
    MlsxEntry, mode_text,
};
use crate::access::Permissions;
use crate::time::Timestamp;

/// About six months (365.2425 / 2 days), the age at which `ls` shows the year instead of the time.
const RECENT: i64 = 15_778_476;

/// Writes one listing line of `entry` in `format`, CRLF included: what a server sends for each
/// entry of `LIST`, `NLST` and `MLSD`. `now` places times in `LIST` lines (recent ones show the
/// time of day, older ones the year); `perms`, what the user may do, fills the MLSx `perm` fact.
pub fn write_entry(
    entry: &DirEntry,
    format: ListFormat,
    now: Timestamp,
    perms: Permissions,
    out: &mut BytesMut,
) {
    match format {
        ListFormat::Names => out.extend_from_slice(&entry.name),
        ListFormat::Machine(facts) => {
            mlsx_entry(entry.name.clone(), &entry.metadata, perms).encode(facts, out);
        }
        ListFormat::Long => format_list_line(&list_entry(entry), now, out),
    }
    out.extend_from_slice(b"\r\n");
}

/// The `LIST` view of an entry.
fn list_entry(entry: &DirEntry) -> ListEntry {
    let meta = &entry.metadata;
    let kind = match meta.kind {
        FileKind::Directory => EntryKind::Directory,
        FileKind::Symlink => EntryKind::Symlink,
        FileKind::File => EntryKind::File,
        FileKind::Other => EntryKind::Other,
    };
    let mut e = ListEntry::new(entry.name.clone(), kind)
        .with_size(meta.size)
        .with_links(meta.links.unwrap_or(1));
    if let Some(ts) = meta
        .modified
        .and_then(|t| Timestamp::from_system_time(t).ok())
    {
        e = e.with_modified(ListTime::Exact(ts));
    }
    if let Some(mode) = meta.mode {
        e = e.with_permissions(mode_text(mode));
    }
    if let Some(owner) = &meta.owner {
        e = e.with_owner(Bytes::copy_from_slice(owner.as_bytes()));
    }
    if let Some(group) = &meta.group {
        e = e.with_group(Bytes::copy_from_slice(group.as_bytes()));
    }
    if let Some(target) = &meta.symlink_target {
        e = e.with_symlink_target(target.clone());
    }
    e
}

/// The MLSx facts of a file (RFC 3659 §7.5): `type` (symbolic links as `OS.unix=slink`, with
/// the target when known, as ProFTPD writes them), `size` for all but directories, `modify` to
/// the second, `unique`, `UNIX.mode`, and `perm` (§7.5.5) from what `perms` grants: `el`, `c`,
/// `m`, `p` for directories, `r`, `a`, `w` for files, `d` and `f` for both.
pub fn mlsx_entry(name: Bytes, meta: &Metadata, perms: Permissions) -> MlsxEntry {
    let mut facts = Facts::default();
    let is_dir = meta.is_dir();
    facts.kind = Some(match (meta.kind, &meta.symlink_target) {
        (FileKind::Directory, _) => FactType::Dir,
        (FileKind::Symlink, Some(target)) => {
            FactType::OsSpecific(Bytes::from([&b"OS.unix=slink:"[..], target].concat()))
        }
        (FileKind::Symlink, None) => FactType::OsSpecific(Bytes::from_static(b"OS.unix=slink")),
        (FileKind::File, _) => FactType::File,
        (FileKind::Other, _) => FactType::OsSpecific(Bytes::from_static(b"OS.unix=special")),
    });
    if !is_dir {
        facts.size = Some(meta.size);
    }
    facts.modify = meta
        .modified
        .and_then(|t| Timestamp::from_system_time(t).ok())
        .map(|t| t.with_nanos(0).unwrap_or(t));
    let mut perm = Vec::new();
    let mut add = |on: bool, letters: &[u8]| {
        if on {
            perm.extend_from_slice(letters);
        }
    };
    if is_dir {
        add(perms.list, b"el");
        add(perms.write, b"c");
        add(perms.mkdir, b"m");
        add(perms.delete, b"p");
    } else {
        add(perms.read, b"r");
        add(perms.write, b"aw");
    }
    add(perms.delete, b"d");
    add(perms.rename, b"f");
    facts.perm = Some(Bytes::from(perm));
    facts.unique = meta
        .unique
        .as_ref()
        .map(|u| Bytes::copy_from_slice(u.as_bytes()));
    facts.unix_mode = meta.mode;
    MlsxEntry::new(facts, name)
}

// POSIX `ls -l` long format (XCU "ls", STDOUT), with the column widths vsftpd and ProFTPD use:
//   <type><perms> <links:>4> <owner:<8> <group:<8> <size:>12> <Mon> <DD> <HH:MM| YYYY> <name>
/// Writes `entry` as an `ls -l` line, without a line end, e.g.
/// `-rw-r--r--    1 ftp      ftp                45 Nov 24 08:28 regular.txt`.
///
/// The time shows as `Nov 24 08:28` when it lies at most about six months before `now` and at
/// most one day after it, else as `Nov 24  2024`; its year is resolved against `now` and seconds
/// are dropped. Missing fields get defaults: permissions `rw-r--r--` (files and others),
/// `rwxr-xr-x` (directories) or `rwxrwxrwx` (symbolic links), 1 link, owner and group `ftp`, size
/// 0, and 1970-01-01 as the time. Permissions that are not nine `ls` letters, and owners or
/// groups that are empty or hold blanks or control characters, are replaced by the defaults so
/// that the line stays parseable. [`EntryKind::Other`] is written with the type letter `?`, as GNU
/// `ls` does for unknown types. Symbolic links get ` -> target` when the target is known.
///
/// [`parse_list_line`](super::parse_list_line) reads the line back to the same name, kind, size,
/// target and time (to the minute or day shown), provided the name holds no CR or LF and, for a
/// symbolic link, no ` -> `.
pub fn format_list_line(entry: &ListEntry, now: Timestamp, out: &mut BytesMut) {
    let (letter, default_permissions) = match entry.kind {
        EntryKind::Directory => (b'd', b"rwxr-xr-x"),
        EntryKind::Symlink => (b'l', b"rwxrwxrwx"),
        EntryKind::File => (b'-', b"rw-r--r--"),
        _ => (b'?', b"rw-r--r--"),
    };
    out.put_u8(letter);
    let permissions = entry
        .permissions
        .as_deref()
        .filter(|p| p.len() == 9 && p.iter().all(|b| PERMISSION_LETTERS.contains(b)));
    out.put_slice(permissions.unwrap_or(default_permissions));
    // Writing to a BytesMut cannot fail.
    let _ = write!(out, " {:>4} ", entry.links.unwrap_or(1));
    for id in [&entry.owner, &entry.group] {
        let id = id
            .as_deref()
            .filter(|id| !id.is_empty() && !id.iter().any(|b| *b <= b' ' || *b == 0x7f));
        let id = id.unwrap_or(b"ftp");
        out.put_slice(id);
        out.put_bytes(b' ', 9usize.saturating_sub(id.len()).max(1));
    }
    let _ = write!(out, "{:>12} ", entry.size.unwrap_or(0));

    match entry.modified.and_then(|time| time.resolve(now)) {
        Some(time) => {
            let month = MONTHS
                .get(usize::from(time.month()).saturating_sub(1))
                .copied()
                .unwrap_or(b"Jan");
            out.put_slice(month);
            let age = now.unix_seconds() - time.unix_seconds();
            let _ = if (-86_400..=RECENT).contains(&age) {
                write!(
                    out,
                    " {:>2} {:02}:{:02} ",
                    time.day(),
                    time.hour(),
                    time.minute()
                )
            } else {
                write!(out, " {:>2}  {:04} ", time.day(), time.year())
            };
        }
        None => out.put_slice(b"Jan  1  1970 "),
    }

    out.put_slice(&entry.name);
    if let (EntryKind::Symlink, Some(target)) = (entry.kind, &entry.symlink_target) {
        out.put_slice(b" -> ");
        out.put_slice(target);
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use proptest::prelude::*;

    use super::super::{ListTime, parse_list_line};
    use super::*;

    fn ts(text: &str) -> Timestamp {
        Timestamp::parse(text.as_bytes()).unwrap()
    }

    fn line(entry: &ListEntry, now: &str) -> String {
        let mut out = BytesMut::new();
        format_list_line(entry, ts(now), &mut out);
        String::from_utf8(out.to_vec()).unwrap()
    }

    #[test]
    fn writes_ls_columns() {
        let now = "20261124120000";
        let regular = ListEntry::new(Bytes::from_static(b"regular.txt"), EntryKind::File)
            .with_size(45)
            .with_modified(ListTime::Exact(ts("20261124082839")))
            .with_owner(Bytes::from_static(b"bench"))
            .with_group(Bytes::from_static(b"users"));
        assert_eq!(
            line(&regular, now),
            "-rw-r--r--    1 bench    users              45 Nov 24 08:28 regular.txt"
        );
        let old = ListEntry::new(Bytes::from_static(b"old.txt"), EntryKind::File)
            .with_modified(ListTime::Date {
                year: 2024,
                month: 1,
                day: 5,
            })
            .with_links(12_345)
            .with_owner(Bytes::from_static(b"a-very-long-owner"))
            .with_group(Bytes::from_static(b"bad group"))
            .with_permissions(Bytes::from_static(b"rw-------"));
        assert_eq!(
            line(&old, now),
            "-rw------- 12345 a-very-long-owner ftp                 0 Jan  5  2024 old.txt"
        );
        let dir = ListEntry::new(Bytes::from_static(b"sub dir"), EntryKind::Directory)
            .with_permissions(Bytes::from_static(b"rw-r--r--+"));
        assert_eq!(
            line(&dir, now),
            "drwxr-xr-x    1 ftp      ftp                 0 Jan  1  1970 sub dir"
        );
        let link = ListEntry::new(Bytes::from_static(b"link"), EntryKind::Symlink)
            .with_symlink_target(Bytes::from_static(b"regular.txt"))
            .with_modified(ListTime::MonthDayTime {
                month: 11,
                day: 25,
                hour: 9,
                minute: 0,
            });
        assert_eq!(
            line(&link, now),
            "lrwxrwxrwx    1 ftp      ftp                 0 Nov 25 09:00 link -> regular.txt"
        );
        let device = ListEntry::new(Bytes::from_static(b"null"), EntryKind::Other);
        assert!(line(&device, now).starts_with("?rw-r--r--"));
        assert_eq!(
            parse_list_line(line(&device, now).as_bytes()).unwrap().kind,
            EntryKind::Other
        );
    }

    #[test]
    fn recent_means_six_months_back_to_one_day_ahead() {
        let now = ts("20261124120000");
        let shown = |time: &str| {
            let entry = ListEntry::new(Bytes::from_static(b"x"), EntryKind::File)
                .with_modified(ListTime::Exact(ts(time)));
            let mut out = BytesMut::new();
            format_list_line(&entry, now, &mut out);
            String::from_utf8(out[47..59].to_vec()).unwrap()
        };
        assert_eq!(shown("20261125120000"), "Nov 25 12:00");
        assert_eq!(shown("20261125120001"), "Nov 25  2026");
        assert_eq!(shown("20260526000000"), "May 26 00:00");
        assert_eq!(shown("20260525000000"), "May 25  2026");
        assert_eq!(shown("09990101000000"), "Jan  1  0999");
    }

    fn name() -> impl Strategy<Value = String> {
        "[a-zA-Z0-9 ._éü€-]{1,24}"
    }

    proptest! {
        #[test]
        fn format_then_parse(
            kind in prop_oneof![Just(EntryKind::File), Just(EntryKind::Directory), Just(EntryKind::Symlink), Just(EntryKind::Other)],
            name in name(),
            target in proptest::option::of(name()),
            size in proptest::option::of(any::<u64>()),
            links in proptest::option::of(any::<u64>()),
            owner in proptest::option::of("[a-z_][a-z0-9_-]{0,12}"),
            mode in proptest::option::of(0u32..0o7777),
            secs in proptest::option::of(0u64..4_102_444_800),
            now in 0u64..4_102_444_800,
        ) {
            let now = Timestamp::from_unix(now, 0).unwrap();
            let mut entry = ListEntry::new(Bytes::from(name), kind);
            entry.size = size;
            entry.links = links;
            entry.owner = owner.map(Bytes::from);
            entry.permissions = mode.map(mode_text);
            entry.modified = secs.map(|s| ListTime::Exact(Timestamp::from_unix(s, 0).unwrap()));
            entry.symlink_target = target.map(Bytes::from);

            let mut out = BytesMut::new();
            format_list_line(&entry, now, &mut out);
            let parsed = parse_list_line(&out).unwrap();
            prop_assert_eq!(&parsed.name, &entry.name);
            prop_assert_eq!(parsed.kind, kind);
            prop_assert_eq!(parsed.size, Some(size.unwrap_or(0)));
            prop_assert_eq!(parsed.links, Some(links.unwrap_or(1)));
            prop_assert_eq!(parsed.owner.unwrap(), entry.owner.clone().unwrap_or(Bytes::from_static(b"ftp")));
            prop_assert_eq!(parsed.group.unwrap(), Bytes::from_static(b"ftp"));
            if let Some(permissions) = entry.permissions.clone() {
                prop_assert_eq!(parsed.permissions.unwrap(), permissions);
            }
            let expected_target = if kind == EntryKind::Symlink { entry.symlink_target.clone() } else { None };
            prop_assert_eq!(parsed.symlink_target, expected_target);

            // The time comes back to the minute (recent) or the day, and resolves to its year;
            // no time is written as 1970-01-01.
            let time = entry.modified.and_then(|t| t.resolve(now));
            let time = time.unwrap_or(ts("19700101000000"));
            let (month, day) = (time.month(), time.day());
            let age = now.unix_seconds() - time.unix_seconds();
            let expected = if entry.modified.is_some() && (-86_400..=RECENT).contains(&age) {
                ListTime::MonthDayTime { month, day, hour: time.hour(), minute: time.minute() }
            } else {
                ListTime::Date { year: time.year(), month, day }
            };
            prop_assert_eq!(parsed.modified, Some(expected));
            prop_assert_eq!(expected.resolve(now).map(|t| t.year()), Some(time.year()));
        }
    }
}
