//! What a server knows about a file: the one metadata type every listing format is written
//! from (`LIST`, `NLST`, `MLSD`/`MLST`, `STAT path`), and that storage back-ends return.

use std::time::SystemTime;

use bytes::Bytes;

use super::FactSet;
use crate::path::VirtualPath;

/// The output form of a directory listing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ListFormat {
    /// `LIST`: `ls -l` lines (see [`format_list_line`](super::format_list_line)).
    Long,
    /// `NLST`: names only.
    Names,
    /// `MLSD`: RFC 3659 fact lines, with the facts given.
    Machine(FactSet),
}

/// What a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (listed, not followed).
    Symlink,
    /// Anything else: a FIFO, a socket, a device. Listed, never transferred, with no size to
    /// give (`SIZE` answers 550, where a FIFO's 0 would be taken for an empty file).
    Other,
}

/// Facts about one file or directory.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metadata {
    /// File, directory or link.
    pub kind: FileKind,
    /// Size in bytes (for directories, whatever the back-end reports).
    pub size: u64,
    /// Last modification time, if known.
    pub modified: Option<SystemTime>,
    /// Unix permission bits (`0o644`), if the back-end has them.
    pub mode: Option<u32>,
    /// Owner name for listings, if known.
    pub owner: Option<String>,
    /// Group name for listings, if known.
    pub group: Option<String>,
    /// Hard link count, if known.
    pub links: Option<u64>,
    /// The target of a symbolic link.
    pub symlink_target: Option<Bytes>,
    /// A value that names the file uniquely within the back-end (MLSx `unique` fact).
    pub unique: Option<String>,
}

impl Metadata {
    /// Metadata of the given kind and size; every optional field empty.
    pub fn new(kind: FileKind, size: u64) -> Self {
        Self {
            kind,
            size,
            modified: None,
            mode: None,
            owner: None,
            group: None,
            links: None,
            symlink_target: None,
            unique: None,
        }
    }

    /// Sets [`modified`](Self::modified).
    #[must_use]
    pub fn with_modified(mut self, time: SystemTime) -> Self {
        self.modified = Some(time);
        self
    }

    /// Sets [`mode`](Self::mode).
    #[must_use]
    pub fn with_mode(mut self, mode: u32) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == FileKind::Directory
    }

    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.kind == FileKind::File
    }
}

/// One entry of a directory listing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DirEntry {
    /// The entry's name (one path component, raw bytes).
    pub name: Bytes,
    /// Its metadata.
    pub metadata: Metadata,
}

impl DirEntry {
    /// An entry.
    pub fn new(name: impl Into<Bytes>, metadata: Metadata) -> Self {
        Self {
            name: name.into(),
            metadata,
        }
    }

    /// The one entry a listing of the non-directory `path` shows (`LIST file`, `STAT file`),
    /// named by its last component (`/` for the root).
    pub fn for_path(path: &VirtualPath, metadata: Metadata) -> Self {
        Self::new(
            Bytes::copy_from_slice(path.file_name().unwrap_or(b"/")),
            metadata,
        )
    }
}
