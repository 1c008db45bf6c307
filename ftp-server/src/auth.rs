//! Authentication: who may log in, where their files are, and what they may do.
//!
//! The protocol machine never sees or stores a password beyond handing it to the
//! [`Authenticator`], which returns a [`Principal`]. [`UserTable`] is a ready authenticator for
//! a fixed set of users whose passwords are stored only as Argon2id hashes, with an
//! [`AnonymousPolicy`].

use std::net::IpAddr;

use async_trait::async_trait;
use ftp_proto::{Permissions, Secret, VirtualPath};

/// What the client sent to log in.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Credentials {
    /// The name from `USER` (raw bytes; usually UTF-8).
    pub user: Vec<u8>,
    /// The password from `PASS`.
    pub password: Secret<Vec<u8>>,
    /// The virtual host from `HOST`, if any.
    pub host: Option<Vec<u8>>,
    /// The client's address.
    pub peer: IpAddr,
}

impl Credentials {
    /// Credentials for `user` with `password` from `peer`.
    pub fn new(user: impl Into<Vec<u8>>, password: impl Into<Vec<u8>>, peer: IpAddr) -> Self {
        Self {
            user: user.into(),
            password: Secret::new(password.into()),
            host: None,
            peer,
        }
    }
}

/// A logged-in user as the server sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Principal {
    /// The user name (for logs and listings).
    pub name: String,
    /// The user's root inside the storage namespace: what the user sees as `/`.
    pub home: VirtualPath,
    /// What the user may do anywhere.
    pub permissions: Permissions,
    /// A directory (in the user's own view) where the user may upload but not list or read,
    /// in addition to [`permissions`](Self::permissions): the anonymous "incoming" directory.
    pub upload_only: Option<VirtualPath>,
    /// Whether this is an anonymous login.
    pub anonymous: bool,
    /// This user logs in only over TLS, whatever the server's policy.
    pub require_tls: bool,
    /// This user's transfers need `PROT P`, whatever the server's policy.
    pub require_protected_data: bool,
}

impl Principal {
    /// A user named `name` whose root is `home`, with `permissions`.
    pub fn new(name: impl Into<String>, home: VirtualPath, permissions: Permissions) -> Self {
        Self {
            name: name.into(),
            home,
            permissions,
            upload_only: None,
            anonymous: false,
            require_tls: false,
            require_protected_data: false,
        }
    }
}

/// Why a login failed. The client gets the same `530` for every reason but
/// [`Busy`](Self::Busy), so that it cannot tell which user names exist.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// Unknown user or wrong password.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// The authenticator could not decide (a back-end down, say).
    #[error("authentication back-end failed")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// Too many logins at once to take this one (the password-hashing queue is full): the
    /// client gets `421` and the connection closes, and it is no failed login.
    #[error("too many logins at once")]
    Busy,
}

/// Decides who may log in. Slow hashes belong off the executor (see [`blocking::unblock`]).
#[async_trait]
pub trait Authenticator: Send + Sync + 'static {
    /// Checks `credentials` and returns the principal to serve.
    async fn authenticate(&self, credentials: &Credentials) -> Result<Principal, AuthError>;
}

/// Who may log in without a password.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AnonymousPolicy {
    /// No anonymous access (the default).
    #[default]
    Off,
    /// `anonymous` and `ftp` may list and download, with any password.
    ReadOnly,
    /// As [`ReadOnly`](Self::ReadOnly), plus uploads (only) into this directory.
    ReadOnlyWithUpload(VirtualPath),
}

mod cache;
mod table;
pub use cache::CredentialCacheConfig;
pub use table::{InvalidHash, UserTable, UsersFileError, hash_password, parse_permissions};

#[async_trait]
impl<A: Authenticator + ?Sized> Authenticator for std::sync::Arc<A> {
    async fn authenticate(&self, credentials: &Credentials) -> Result<Principal, AuthError> {
        (**self).authenticate(credentials).await
    }
}

/// An authenticator that can be swapped while the server runs: new logins are checked by the
/// one in place at that moment, and sessions already logged in keep what they were given
/// (`ftpd` reloads its users on `SIGHUP` so). Share it as `Arc<Reloadable<A>>`: one clone to
/// the server, one to whoever replaces it.
#[derive(Debug)]
pub struct Reloadable<A> {
    current: std::sync::RwLock<std::sync::Arc<A>>,
}

impl<A> Reloadable<A> {
    /// Starts with `auth`.
    pub fn new(auth: A) -> Self {
        Self {
            current: std::sync::RwLock::new(std::sync::Arc::new(auth)),
        }
    }

    /// Puts `auth` in place for the logins that follow.
    pub fn replace(&self, auth: A) {
        let auth = std::sync::Arc::new(auth);
        *self
            .current
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = auth;
    }

    /// The one in place now.
    pub fn current(&self) -> std::sync::Arc<A> {
        std::sync::Arc::clone(
            &self
                .current
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
    }
}

#[async_trait]
impl<A: Authenticator> Authenticator for Reloadable<A> {
    async fn authenticate(&self, credentials: &Credentials) -> Result<Principal, AuthError> {
        // The lock is held only to take the Arc: a slow check never blocks a reload.
        let current = self.current();
        current.authenticate(credentials).await
    }
}
