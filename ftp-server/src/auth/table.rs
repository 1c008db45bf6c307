//! A fixed table of users with Argon2id password hashes.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Condvar, Mutex, OnceLock, PoisonError};

use argon2::{Algorithm, Argon2, Block, Params, PasswordHash, PasswordHasher, Version};
use async_trait::async_trait;
use ftp_proto::{Permissions, VirtualPath};

use super::cache::{CredentialCache, CredentialCacheConfig};
use super::{AnonymousPolicy, AuthError, Authenticator, Credentials, Principal};

/// Hashes a password with Argon2id (the crate's default, OWASP-recommended parameters) and a
/// fresh random salt, as a PHC string (`$argon2id$v=19$...`) to keep in a configuration file.
///
/// # Panics
///
/// If the operating system's random number generator fails, as
/// `password_hash::generate_salt` does: there is no safe way to go on without a salt.
pub fn hash_password(password: &[u8]) -> String {
    match Argon2::default().hash_password(password) {
        Ok(hash) => hash.to_string(),
        Err(e) => panic!("cannot hash a password: {e}"),
    }
}

/// What is wrong with a line of a users file ([`UserTable::with_users_file`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct UsersFileError {
    /// The line, counted from 1.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// Reads the permissions field of a users file: `ro` (list and read), `rw` (everything), or
/// a comma-separated list of `list`, `read`, `write`, `delete`, `mkdir`, `rename`.
pub fn parse_permissions(text: &str) -> Result<Permissions, String> {
    match text {
        "ro" => return Ok(Permissions::READ_ONLY),
        "rw" => return Ok(Permissions::ALL),
        _ => {}
    }
    let mut p = Permissions::NONE;
    for word in text.split(',') {
        match word.trim() {
            "list" => p.list = true,
            "read" => p.read = true,
            "write" => p.write = true,
            "delete" => p.delete = true,
            "mkdir" => p.mkdir = true,
            "rename" => p.rename = true,
            other => {
                return Err(format!(
                    "unknown permission {other:?} (ro, rw, or a list of list, read, write, \
                     delete, mkdir, rename)"
                ));
            }
        }
    }
    Ok(p)
}

/// A string that is not an Argon2 PHC hash.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an Argon2 PHC password hash")]
pub struct InvalidHash;

struct Account {
    /// An Argon2 PHC string; the plaintext is never kept.
    hash: Arc<str>,
    home: VirtualPath,
    permissions: Permissions,
    /// This user's own TLS policy: TLS for the login, `PROT P` for the data.
    require_tls: bool,
    require_protected_data: bool,
}

/// An [`Authenticator`] for a fixed set of users, plus an [`AnonymousPolicy`].
///
/// When anonymous access is on, the names `anonymous` and `ftp` (any case) are reserved for it;
/// when it is off they are looked up like any other name.
pub struct UserTable {
    users: HashMap<String, Account>,
    anonymous: AnonymousPolicy,
    anonymous_home: VirtualPath,
    /// Passwords verified lately; `None`: every login runs Argon2.
    cache: Option<CredentialCache>,
    /// Argon2 checks run for this table's users, for the tests.
    #[cfg(test)]
    argon2_runs: std::sync::atomic::AtomicU64,
}

impl Default for UserTable {
    fn default() -> Self {
        Self {
            users: HashMap::new(),
            anonymous: AnonymousPolicy::default(),
            anonymous_home: VirtualPath::default(),
            cache: Some(CredentialCache::new(CredentialCacheConfig::default())),
            #[cfg(test)]
            argon2_runs: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl fmt::Debug for UserTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.users.keys().collect();
        names.sort();
        f.debug_struct("UserTable")
            .field("users", &names)
            .field("anonymous", &self.anonymous)
            .finish()
    }
}

impl UserTable {
    /// An empty table: nobody can log in. The verified-credentials cache is on with
    /// [`CredentialCacheConfig::default`]; see [`credential_cache`](Self::credential_cache).
    pub fn new() -> Self {
        Self::default()
    }

    /// The verified-credentials cache: after a password passed its Argon2 check, the same
    /// user with the same password logs in without another one for `config.ttl` (a keyed
    /// MAC of the password is kept, never the password; failures are never cached; an entry
    /// stops matching when the user's stored hash changes). `None` turns it off: every login
    /// then pays the full hash. The first login of every user always does.
    #[must_use]
    pub fn credential_cache(mut self, config: Option<CredentialCacheConfig>) -> Self {
        self.cache = config.map(CredentialCache::new);
        self
    }

    /// Adds a user, hashing `password` at once (see [`hash_password`]).
    #[must_use]
    pub fn with_user(
        mut self,
        name: impl Into<String>,
        password: &[u8],
        home: VirtualPath,
        permissions: Permissions,
    ) -> Self {
        let hash = Arc::from(hash_password(password));
        self.users.insert(
            name.into(),
            Account {
                hash,
                home,
                permissions,
                require_tls: false,
                require_protected_data: false,
            },
        );
        self
    }

    /// Adds a user whose password is given as a PHC hash (from [`hash_password`]).
    pub fn with_user_hash(
        mut self,
        name: impl Into<String>,
        hash: impl Into<String>,
        home: VirtualPath,
        permissions: Permissions,
    ) -> Result<Self, InvalidHash> {
        let hash = hash.into();
        let parsed = PasswordHash::new(&hash).map_err(|_| InvalidHash)?;
        if !parsed.algorithm.as_str().starts_with("argon2") {
            return Err(InvalidHash);
        }
        self.users.insert(
            name.into(),
            Account {
                hash: Arc::from(hash),
                home,
                permissions,
                require_tls: false,
                require_protected_data: false,
            },
        );
        Ok(self)
    }

    /// Adds the users of a users file: one `name:PHC-hash[:root[:permissions]]` per line
    /// (the hash from [`hash_password`]; `root` a directory inside the server's root, `/` by
    /// default; `permissions` as `ro`, `rw` or a list such as `list,read,write`, `default`
    /// when not given), blank lines and lines starting with `#` skipped. The passwords never
    /// appear on a command line, so they stay out of the process list. Fails on the first
    /// line that is wrong, naming it.
    pub fn with_users_file(
        mut self,
        text: &str,
        default: Permissions,
    ) -> Result<Self, UsersFileError> {
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let fail = |reason: String| UsersFileError {
                line: i + 1,
                reason,
            };
            let mut fields = line.splitn(4, ':');
            let (Some(name), Some(hash)) = (fields.next(), fields.next()) else {
                return Err(fail("expected name:PHC-hash[:root[:permissions]]".into()));
            };
            if name.is_empty() || name.chars().any(|c| c.is_control() || c == ' ') {
                return Err(fail(format!("user name {name:?} is empty or has blanks")));
            }
            if self.users.contains_key(name) {
                return Err(fail(format!("user {name:?} is listed twice")));
            }
            let home = match fields.next().filter(|r| !r.is_empty()) {
                Some(root) if !root.starts_with('/') => {
                    return Err(fail(format!("root {root:?} must start with /")));
                }
                Some(root) => VirtualPath::root().resolve(root.as_bytes()),
                None => VirtualPath::root(),
            };
            let permissions = match fields.next().filter(|p| !p.is_empty()) {
                Some(text) => parse_permissions(text).map_err(fail)?,
                None => default,
            };
            self = self
                .with_user_hash(name, hash, home, permissions)
                .map_err(|_| {
                    fail("not an Argon2 PHC hash (make one with `ftpd hash-password`)".into())
                })?;
        }
        Ok(self)
    }

    /// Gives the user `name` (added before) a TLS policy of its own, stricter than the
    /// server's: its login needs a TLS control connection, and with `protected_data` its
    /// transfers need `PROT P`. Unknown names are ignored.
    #[must_use]
    pub fn require_tls_for(mut self, name: &str, protected_data: bool) -> Self {
        if let Some(account) = self.users.get_mut(name) {
            account.require_tls = true;
            account.require_protected_data = protected_data;
        }
        self
    }

    /// Sets the anonymous policy and the anonymous users' root.
    #[must_use]
    pub fn with_anonymous(mut self, policy: AnonymousPolicy, home: VirtualPath) -> Self {
        self.anonymous = policy;
        self.anonymous_home = home;
        self
    }

    fn anonymous_principal(&self, user: &[u8]) -> Option<Principal> {
        let upload_only = match &self.anonymous {
            AnonymousPolicy::Off => return None,
            AnonymousPolicy::ReadOnly => None,
            AnonymousPolicy::ReadOnlyWithUpload(dir) => Some(dir.clone()),
        };
        if !(user.eq_ignore_ascii_case(b"anonymous") || user.eq_ignore_ascii_case(b"ftp")) {
            return None;
        }
        let mut p = Principal::new(
            "anonymous",
            self.anonymous_home.clone(),
            Permissions::READ_ONLY,
        );
        p.upload_only = upload_only;
        p.anonymous = true;
        Some(p)
    }
}

/// Verifies on the hashing pool (see [`HashPool`]): `None` when its queue is full.
async fn verify(hash: Arc<str>, password: Vec<u8>) -> Option<bool> {
    let (done, verdict) = futures_channel::oneshot::channel();
    HashPool::get().submit(Job {
        hash,
        password,
        done,
    })?;
    // A worker that died (it cannot: verification does not panic) counts as a refusal.
    Some(verdict.await.unwrap_or(false))
}

/// Checks `password` against the PHC string `hash`, with `blocks` as Argon2's working memory
/// (grown to the hash's memory cost when needed). As `PasswordVerifier` does, with the output
/// compared in constant time.
fn verify_in(blocks: &mut Vec<Block>, hash: &str, password: &[u8]) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm.as_str()) else {
        return false;
    };
    let Ok(version) = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from)
    else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    let needed = params.block_count();
    if blocks.len() < needed {
        // Room for more than 32 MiB: glibc serves that from a mapping of its own whatever
        // its dynamic threshold says (it stops at 32 MiB), so the memory goes back to the
        // system when the worker drops the buffer; untouched capacity costs no memory.
        // (19 MiB asked for after a free of as much come from the heap, and stay there.)
        let mut fresh = Vec::with_capacity(needed.max(ALWAYS_MAPPED_BLOCKS));
        fresh.resize(needed, Block::default());
        *blocks = fresh;
    }
    let mut out = vec![0u8; expected.len()];
    let Some(memory) = blocks.get_mut(..needed) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params);
    if argon2
        .hash_password_into_with_memory(password, salt, &mut out, memory)
        .is_err()
    {
        return false;
    }
    // Constant time: no early exit on the first differing byte.
    let difference = out
        .iter()
        .zip(expected.as_bytes())
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    difference == 0 && out.len() == expected.len()
}

/// Argon2 blocks (1 KiB each) in an allocation that glibc always maps on its own: above
/// its largest dynamic mmap threshold (32 MiB).
const ALWAYS_MAPPED_BLOCKS: usize = (33 << 20) / size_of::<Block>();

/// One password to check.
struct Job {
    hash: Arc<str>,
    password: Vec<u8>,
    done: futures_channel::oneshot::Sender<bool>,
}

/// Password hashing on threads of its own, apart from the blocking threads that serve storage:
/// Argon2 costs tens of milliseconds of CPU and 19 MiB of memory by design, and a flood of
/// logins must not starve file operations (nor spawn a blocking thread per login, as it did:
/// 900 logins at once left 503 threads). At most one worker per CPU, each with one reusable
/// working-memory buffer; a bounded queue, past which a login is refused at once
/// ([`AuthError::Busy`], `421`). A worker drops its buffer after [`RELEASE_AFTER`] without
/// work and ends after [`RETIRE_AFTER`], so a burst's threads and memory go away with it.
struct HashPool {
    state: Mutex<PoolState>,
    work: Condvar,
    workers: usize,
    capacity: usize,
}

struct PoolState {
    queue: std::collections::VecDeque<Job>,
    live: usize,
    idle: usize,
}

/// How long an idle worker keeps its 19 MiB buffer.
const RELEASE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);
/// How long an idle worker lives on.
const RETIRE_AFTER: std::time::Duration = std::time::Duration::from_secs(10);
/// Logins queued per worker before more are refused.
const QUEUED_PER_WORKER: usize = 16;

impl HashPool {
    fn get() -> &'static Self {
        static POOL: OnceLock<HashPool> = OnceLock::new();
        POOL.get_or_init(|| {
            let workers = std::thread::available_parallelism().map_or(2, usize::from);
            Self {
                state: Mutex::new(PoolState {
                    queue: std::collections::VecDeque::new(),
                    live: 0,
                    idle: 0,
                }),
                work: Condvar::new(),
                workers,
                capacity: workers * QUEUED_PER_WORKER,
            }
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job`; `None` when the queue is full.
    fn submit(&'static self, job: Job) -> Option<()> {
        let mut state = self.lock();
        if state.queue.len() >= self.capacity {
            return None;
        }
        state.queue.push_back(job);
        if state.idle == 0 && state.live < self.workers {
            let spawned = std::thread::Builder::new()
                .name("ftp-hash".into())
                .spawn(move || self.work_loop());
            if spawned.is_ok() {
                state.live += 1;
            }
        }
        drop(state);
        self.work.notify_one();
        // No worker at all (threads could not be made): refuse rather than wait for ever.
        let mut state = self.lock();
        if state.live == 0 {
            state.queue.clear();
            return None;
        }
        Some(())
    }

    fn work_loop(&'static self) {
        let mut blocks: Vec<Block> = Vec::new();
        let mut state = self.lock();
        let mut idle_since = std::time::Instant::now();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                let ok = verify_in(&mut blocks, &job.hash, &job.password);
                let _ = job.done.send(ok);
                state = self.lock();
                idle_since = std::time::Instant::now();
                continue;
            }
            let idle = idle_since.elapsed();
            if idle >= RETIRE_AFTER {
                state.live -= 1;
                return;
            }
            if idle >= RELEASE_AFTER && !blocks.is_empty() {
                // Back to the system: a large allocation is its own mapping.
                blocks = Vec::new();
            }
            let wait = if blocks.is_empty() {
                RETIRE_AFTER - idle
            } else {
                RELEASE_AFTER.saturating_sub(idle)
            };
            state.idle += 1;
            state = self
                .work
                .wait_timeout(state, wait)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            state.idle -= 1;
        }
    }
}

/// A hash to check unknown users against, so that their answer takes as long as a known
/// user's and timing does not tell which names exist.
fn dummy_hash() -> Arc<str> {
    static DUMMY: OnceLock<Arc<str>> = OnceLock::new();
    Arc::clone(DUMMY.get_or_init(|| Arc::from(hash_password(b"no user has this password"))))
}

#[async_trait]
impl Authenticator for UserTable {
    async fn authenticate(&self, credentials: &Credentials) -> Result<Principal, AuthError> {
        if let Some(principal) = self.anonymous_principal(&credentials.user) {
            tracing::debug!(peer = %credentials.peer, "anonymous login");
            return Ok(principal);
        }
        let password = credentials.password.expose_secret().clone();
        let account = std::str::from_utf8(&credentials.user)
            .ok()
            .and_then(|name| self.users.get_key_value(name));
        let Some((name, account)) = account else {
            // As long as a known user's check, so that timing tells no names; as busy too.
            verify(dummy_hash(), password)
                .await
                .ok_or(AuthError::Busy)?;
            tracing::debug!(peer = %credentials.peer, "login for an unknown user refused");
            return Err(AuthError::InvalidCredentials);
        };
        let now = std::time::Instant::now();
        let cached = self
            .cache
            .as_ref()
            .is_some_and(|cache| cache.verified(name, &account.hash, &password, now));
        let verified = if cached {
            tracing::debug!(peer = %credentials.peer, user = %name, "password verified lately (cached)");
            true
        } else {
            #[cfg(test)]
            self.argon2_runs
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            verify(Arc::clone(&account.hash), password.clone())
                .await
                .ok_or(AuthError::Busy)?
        };
        if verified {
            if let (false, Some(cache)) = (cached, &self.cache) {
                cache.remember(name, &account.hash, &password, std::time::Instant::now());
            }
            let mut principal =
                Principal::new(name.clone(), account.home.clone(), account.permissions);
            principal.require_tls = account.require_tls;
            principal.require_protected_data = account.require_protected_data;
            Ok(principal)
        } else {
            tracing::debug!(peer = %credentials.peer, user = %name, "wrong password");
            Err(AuthError::InvalidCredentials)
        }
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn other_argon2_variants_and_costs_verify_in_reused_memory() {
        use argon2::PasswordHasher;
        let small = Params::new(1024, 2, 1, Some(32)).unwrap();
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, small)
            .hash_password(b"pw")
            .unwrap()
            .to_string();
        assert!(argon2i.starts_with("$argon2i$v=19$m=1024,t=2,p=1$"));
        let mut blocks = Vec::new();
        // A large default-cost hash first, so the small one runs in a bigger buffer.
        assert!(verify_in(&mut blocks, &hash_password(b"big"), b"big"));
        let grown = blocks.len();
        assert!(verify_in(&mut blocks, &argon2i, b"pw"));
        assert!(!verify_in(&mut blocks, &argon2i, b"pw "));
        assert_eq!(blocks.len(), grown, "the buffer is reused, not regrown");
        for broken in [
            "",
            "$argon2id$",
            "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ",
            "plain",
        ] {
            assert!(!verify_in(&mut blocks, broken, b"pw"), "{broken:?}");
        }
    }

    use super::*;
    use futures_lite::future::block_on;

    use ftp_proto::Secret;

    /// A swapped table answers the next login; a principal given before stays valid.
    #[test]
    fn reloadable_tables_answer_the_next_login() {
        let creds = |user: &str, pw: &str| Credentials {
            user: user.as_bytes().to_vec(),
            password: Secret::new(pw.as_bytes().to_vec()),
            host: None,
            peer: "127.0.0.1".parse().unwrap(),
        };
        let table = |name: &str| {
            UserTable::new().with_user(name, b"pw", VirtualPath::root(), Permissions::READ_ONLY)
        };
        let auth = Arc::new(crate::auth::Reloadable::new(table("alice")));
        let alice = block_on(auth.authenticate(&creds("alice", "pw"))).unwrap();
        assert!(block_on(auth.authenticate(&creds("carol", "pw"))).is_err());
        auth.replace(table("carol"));
        assert!(block_on(auth.authenticate(&creds("alice", "pw"))).is_err());
        assert_eq!(
            block_on(auth.authenticate(&creds("carol", "pw")))
                .unwrap()
                .name,
            "carol"
        );
        assert_eq!(alice.name, "alice");
    }

    fn creds(user: &[u8], password: &[u8]) -> Credentials {
        Credentials::new(user, password, "127.0.0.1".parse().unwrap())
    }

    fn home() -> VirtualPath {
        VirtualPath::root().resolve(b"alice")
    }

    #[test]
    fn hashes_are_salted_argon2id() {
        let a = hash_password(b"pw");
        let b = hash_password(b"pw");
        assert!(a.starts_with("$argon2id$") && a != b);
        for h in [&a, &b] {
            assert_eq!(
                block_on(verify(Arc::from(h.as_str()), b"pw".to_vec())),
                Some(true)
            );
            assert_eq!(
                block_on(verify(Arc::from(h.as_str()), b"pW".to_vec())),
                Some(false)
            );
        }
    }

    #[test]
    fn repeated_logins_skip_argon2_failures_never() {
        use std::sync::atomic::Ordering::Relaxed;
        let table = UserTable::new()
            .with_user("alice", b"wonderland", home(), Permissions::ALL)
            .with_user("bob", b"builder", home(), Permissions::READ_ONLY);
        for _ in 0..3 {
            let p = block_on(table.authenticate(&creds(b"alice", b"wonderland"))).unwrap();
            assert_eq!(
                (p.name.as_str(), p.permissions),
                ("alice", Permissions::ALL)
            );
        }
        assert_eq!(
            table.argon2_runs.load(Relaxed),
            1,
            "one Argon2 run for three logins"
        );
        for _ in 0..2 {
            assert!(matches!(
                block_on(table.authenticate(&creds(b"alice", b"wonderlanD"))),
                Err(AuthError::InvalidCredentials)
            ));
        }
        assert_eq!(
            table.argon2_runs.load(Relaxed),
            3,
            "every failure pays the hash"
        );
        block_on(table.authenticate(&creds(b"bob", b"builder"))).unwrap();
        assert_eq!(
            table.argon2_runs.load(Relaxed),
            4,
            "another user's first login too"
        );
        block_on(table.authenticate(&creds(b"alice", b"wonderland"))).unwrap();
        assert_eq!(
            table.argon2_runs.load(Relaxed),
            4,
            "alice is still remembered"
        );

        let off = UserTable::new()
            .with_user("alice", b"wonderland", home(), Permissions::ALL)
            .credential_cache(None);
        for _ in 0..2 {
            block_on(off.authenticate(&creds(b"alice", b"wonderland"))).unwrap();
        }
        assert_eq!(off.argon2_runs.load(Relaxed), 2, "off: every login hashes");
    }

    #[test]
    fn users_log_in_with_their_password_only() {
        let table = UserTable::new().with_user("alice", b"wonderland", home(), Permissions::ALL);
        let p = block_on(table.authenticate(&creds(b"alice", b"wonderland"))).unwrap();
        assert_eq!(
            (p.name.as_str(), &p.home, p.permissions, p.anonymous),
            ("alice", &home(), Permissions::ALL, false)
        );
        for (user, pw) in [
            (&b"alice"[..], &b"wrong"[..]),
            (b"bob", b"wonderland"),
            (b"\xff\xfe", b"x"),
            (b"Alice", b"wonderland"),
        ] {
            assert!(matches!(
                block_on(table.authenticate(&creds(user, pw))),
                Err(AuthError::InvalidCredentials)
            ));
        }
    }

    #[test]
    fn stored_hashes() {
        let hash = hash_password(b"secret");
        let table = UserTable::new()
            .with_user_hash("carol", hash, home(), Permissions::READ_ONLY)
            .unwrap();
        assert!(block_on(table.authenticate(&creds(b"carol", b"secret"))).is_ok());
        assert_eq!(
            UserTable::new()
                .with_user_hash("x", "plain", home(), Permissions::ALL)
                .unwrap_err(),
            InvalidHash
        );
        let sha = "$5$rounds=1000$salt$hash";
        assert!(
            UserTable::new()
                .with_user_hash("x", sha, home(), Permissions::ALL)
                .is_err()
        );
    }

    #[test]
    fn users_files() {
        let hash = hash_password(b"secret");
        let text = format!(
            "# users\n\ncarol:{hash}\ndave:{hash}:/home/dave:list,read,write\n  erin:{hash}::ro\n"
        );
        let table = UserTable::new()
            .with_users_file(&text, Permissions::ALL)
            .unwrap();
        let dave = block_on(table.authenticate(&creds(b"dave", b"secret"))).unwrap();
        assert_eq!(dave.home.as_bytes(), b"/home/dave");
        assert!(dave.permissions.write && !dave.permissions.delete);
        let carol = block_on(table.authenticate(&creds(b"carol", b"secret"))).unwrap();
        assert_eq!(carol.permissions, Permissions::ALL);
        let erin = block_on(table.authenticate(&creds(b"erin", b"secret"))).unwrap();
        assert_eq!(erin.permissions, Permissions::READ_ONLY);
        assert!(block_on(table.authenticate(&creds(b"carol", b"wrong"))).is_err());
        for (bad, line, says) in [
            (format!("ok:{hash}\nno-hash\n"), 2, "expected name:PHC-hash"),
            ("x:plain\n".to_owned(), 1, "not an Argon2 PHC hash"),
            (format!("x:{hash}:home\n"), 1, "must start with /"),
            (format!("x:{hash}:/:fly\n"), 1, "unknown permission \"fly\""),
            (format!("x:{hash}\n\nx:{hash}\n"), 3, "listed twice"),
        ] {
            let err = UserTable::new()
                .with_users_file(&bad, Permissions::ALL)
                .unwrap_err();
            assert_eq!(err.line, line, "{bad}");
            assert!(err.to_string().contains(says), "{err}");
        }
    }

    #[test]
    fn anonymous_policies() {
        let off = UserTable::new();
        assert!(block_on(off.authenticate(&creds(b"anonymous", b""))).is_err());
        let ro = UserTable::new().with_anonymous(AnonymousPolicy::ReadOnly, VirtualPath::root());
        for name in [&b"anonymous"[..], b"FTP", b"Anonymous"] {
            let p = block_on(ro.authenticate(&creds(name, b""))).unwrap();
            assert!(p.anonymous && p.upload_only.is_none());
            assert_eq!(p.permissions, Permissions::READ_ONLY);
        }
        let incoming = VirtualPath::root().resolve(b"incoming");
        let up = UserTable::new().with_anonymous(
            AnonymousPolicy::ReadOnlyWithUpload(incoming.clone()),
            VirtualPath::root(),
        );
        let p = block_on(up.authenticate(&creds(b"ftp", b"me@example.com"))).unwrap();
        assert_eq!(p.upload_only, Some(incoming));
    }

    #[test]
    fn debug_shows_no_secrets() {
        let table = UserTable::new().with_user("alice", b"wonderland", home(), Permissions::ALL);
        let text = format!("{table:?}");
        assert!(
            text.contains("alice") && !text.contains("wonderland") && !text.contains("argon2"),
            "{text}"
        );
    }
}
