//! What a logged-in user may do, and where: [`Permissions`] for the whole tree, plus an optional
//! upload-only directory ([`UserAccess::upload_only`]) such as the anonymous "incoming"
//! directory of vsftpd (`anon_upload_enable` with a write-only directory) and Pure-FTPd. The
//! server machine checks every path a command names against it before any action reaches the
//! driver, and refuses with 550.

use crate::path::VirtualPath;

/// What a logged-in user may do. The machine refuses what is not granted with 550 before any
/// action reaches the driver; a back-end may still refuse more, path by path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Permissions {
    /// List directories, read metadata, change directory.
    pub list: bool,
    /// Download files.
    pub read: bool,
    /// Upload, append, set modification times.
    pub write: bool,
    /// Delete files and remove directories.
    pub delete: bool,
    /// Create directories.
    pub mkdir: bool,
    /// Rename files and directories.
    pub rename: bool,
}

impl Permissions {
    /// Everything.
    pub const ALL: Self = Self {
        list: true,
        read: true,
        write: true,
        delete: true,
        mkdir: true,
        rename: true,
    };
    /// List and read only: the default for anonymous users.
    pub const READ_ONLY: Self = Self {
        list: true,
        read: true,
        write: false,
        delete: false,
        mkdir: false,
        rename: false,
    };
    /// Nothing at all.
    pub const NONE: Self = Self {
        list: false,
        read: false,
        write: false,
        delete: false,
        mkdir: false,
        rename: false,
    };
}

/// Everything the machine needs to know about a logged-in user's rights: the verdict of a
/// successful login ([`Outcome::LoggedIn`](crate::Outcome::LoggedIn)).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct UserAccess {
    /// What the user may do anywhere.
    pub permissions: Permissions,
    /// A directory (in the user's own view) where the user may upload new files but neither
    /// list nor read them, in addition to [`permissions`](Self::permissions). With one set,
    /// uploads go only there, only as new files (never over an existing one), and nothing is
    /// created, deleted or renamed anywhere.
    pub upload_only: Option<VirtualPath>,
    /// An anonymous login: under [`ControlTls::PasswordLogins`](crate::server::ControlTls)
    /// it may stay plain.
    pub anonymous: bool,
    /// This user must log in over TLS whatever the server's policy (`530` otherwise).
    pub require_tls: bool,
    /// This user's transfers need `PROT P` whatever the server's policy (`521` otherwise).
    pub require_protected_data: bool,
}

impl UserAccess {
    /// Access with `permissions` everywhere and no upload-only directory.
    pub fn new(permissions: Permissions) -> Self {
        Self {
            permissions,
            upload_only: None,
            anonymous: false,
            require_tls: false,
            require_protected_data: false,
        }
    }

    /// Sets [`upload_only`](Self::upload_only).
    #[must_use]
    pub fn with_upload_only(mut self, dir: VirtualPath) -> Self {
        self.upload_only = Some(dir);
        self
    }

    /// Whether `path` may be used for `use_`, as far as the upload-only directory goes (the
    /// [`Permissions`] are checked apart, command by command).
    ///
    /// Inside the upload-only directory nothing is listed or read and only the directory
    /// itself can be looked at (so that `CWD incoming` and `SIZE incoming` work as clients
    /// expect); it can be entered and uploaded into; and a user who has one changes nothing
    /// anywhere (no `MKD`, `DELE`, `RNFR`, `MFMT`).
    pub fn allows(&self, path: &VirtualPath, use_: PathUse) -> bool {
        let Some(upload) = &self.upload_only else {
            return true;
        };
        let inside = path.starts_with(upload);
        match use_ {
            PathUse::Look => !inside || path == upload,
            PathUse::Read => !inside,
            PathUse::Enter => true,
            PathUse::Change => false,
        }
    }

    /// Whether a file may be uploaded to `path`, and how: `None` when not; `Some(true)` when
    /// only as a new file (the upload-only directory: anonymous uploads never overwrite).
    pub fn upload(&self, path: &VirtualPath) -> Option<bool> {
        match &self.upload_only {
            Some(upload) => (path.starts_with(upload) && path != upload).then_some(true),
            None => self.permissions.write.then_some(false),
        }
    }
}

impl From<Permissions> for UserAccess {
    fn from(permissions: Permissions) -> Self {
        Self::new(permissions)
    }
}

/// What a command does with a path, for [`UserAccess::allows`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PathUse {
    /// Metadata of one path (`SIZE`, `MDTM`, `MLST`).
    Look,
    /// The contents of a file or directory (`RETR`, `LIST`, `NLST`, `MLSD`, `STAT path`).
    Read,
    /// Changing into a directory (`CWD`), or uploading into one.
    Enter,
    /// Creating, deleting, renaming, or setting times (`MKD`, `RMD`, `DELE`, `RNFR`, `RNTO`,
    /// `MFMT`).
    Change,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> VirtualPath {
        VirtualPath::root().resolve(s.as_bytes())
    }

    #[test]
    fn upload_only_directory() {
        let access = UserAccess::new(Permissions::READ_ONLY).with_upload_only(p("/incoming"));
        let table = [
            ("/pub/a", PathUse::Look, true),
            ("/pub/a", PathUse::Read, true),
            ("/pub/a", PathUse::Change, false),
            ("/incoming", PathUse::Look, true),
            ("/incoming", PathUse::Read, false),
            ("/incoming", PathUse::Enter, true),
            ("/incoming/f", PathUse::Look, false),
            ("/incoming/f", PathUse::Read, false),
            ("/incoming/f", PathUse::Change, false),
            ("/incomingx", PathUse::Read, true),
        ];
        for (path, use_, allowed) in table {
            assert_eq!(access.allows(&p(path), use_), allowed, "{path} {use_:?}");
        }
        assert_eq!(access.upload(&p("/incoming/f")), Some(true));
        assert_eq!(access.upload(&p("/incoming/d/f")), Some(true));
        assert_eq!(access.upload(&p("/incoming")), None);
        assert_eq!(access.upload(&p("/pub/f")), None);
    }

    #[test]
    fn plain_permissions() {
        let all = UserAccess::from(Permissions::ALL);
        assert!(all.allows(&p("/x"), PathUse::Change));
        assert_eq!(all.upload(&p("/x")), Some(false));
        let ro = UserAccess::from(Permissions::READ_ONLY);
        assert!(ro.allows(&p("/x"), PathUse::Read));
        assert_eq!(ro.upload(&p("/x")), None);
    }
}
