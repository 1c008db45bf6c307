//! Password guessing across connections: failed logins counted per client address over a
//! time window, a delay that grows with each failure, and then a temporary ban.
//!
//! The per-connection rules ([`ServerConfig::max_login_failures`](super::ServerConfig),
//! the failed-login delay) do not stop a guesser who opens a new connection for every few
//! tries; this table, shared by all of a server's sessions, does. Like the session machine it
//! reads no clock: the driver passes `now`. Memory is bounded: at most
//! [`ThrottleConfig::max_tracked`] addresses are remembered; when the table is full, expired
//! entries are swept, and if none expired a new address is not tracked (never an old one
//! forgotten: a guesser cannot flush its own record by cycling addresses). IPv6 addresses
//! count by their /64, which one host usually holds whole.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

/// The throttle's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ThrottleConfig {
    /// Failed logins from one address within [`window`](Self::window) that ban it; `0`
    /// turns the throttle off.
    pub ban_after: u32,
    /// How far back failures count.
    pub window: Duration,
    /// How long a ban lasts.
    pub ban: Duration,
    /// The extra delay after the second failure; it doubles with each one after, up to
    /// [`max_delay`](Self::max_delay). (The first failure gets only the session's own
    /// failed-login delay.)
    pub base_delay: Duration,
    /// The longest extra delay.
    pub max_delay: Duration,
    /// Most addresses remembered at once.
    pub max_tracked: usize,
}

impl Default for ThrottleConfig {
    /// 10 failures in 10 minutes ban an address for 15 minutes; delays from 0.5 s up to 8 s.
    fn default() -> Self {
        Self {
            ban_after: 10,
            window: Duration::from_secs(600),
            ban: Duration::from_secs(900),
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_tracked: 65_536,
        }
    }
}

impl ThrottleConfig {
    /// Sets [`ban_after`](Self::ban_after).
    pub fn ban_after(&mut self, value: u32) -> &mut Self {
        self.ban_after = value;
        self
    }
    /// Sets [`window`](Self::window).
    pub fn window(&mut self, value: Duration) -> &mut Self {
        self.window = value;
        self
    }
    /// Sets [`ban`](Self::ban).
    pub fn ban(&mut self, value: Duration) -> &mut Self {
        self.ban = value;
        self
    }
    /// Sets [`base_delay`](Self::base_delay).
    pub fn base_delay(&mut self, value: Duration) -> &mut Self {
        self.base_delay = value;
        self
    }
    /// Sets [`max_delay`](Self::max_delay).
    pub fn max_delay(&mut self, value: Duration) -> &mut Self {
        self.max_delay = value;
        self
    }
    /// Sets [`max_tracked`](Self::max_tracked).
    pub fn max_tracked(&mut self, value: usize) -> &mut Self {
        self.max_tracked = value;
        self
    }
}

/// What a failed login means for its address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Failure {
    /// Failures counted in the window, this one included.
    pub count: u32,
    /// How long to wait, beyond the session's own failed-login delay, before answering.
    pub delay: Duration,
    /// Set when this failure banned the address: until when.
    pub banned_until: Option<Instant>,
}

#[derive(Clone, Copy, Debug)]
struct Entry {
    /// When the first failure still counted happened.
    since: Instant,
    count: u32,
    banned_until: Option<Instant>,
}

/// The table of failed logins per address, shared by all of a server's sessions: a guesser
/// who opens a new connection for every few tries is slowed down, then banned. Like the
/// session machine it reads no clock. Memory is bounded by [`ThrottleConfig::max_tracked`]:
/// when full, expired entries are swept, and a new address is then not tracked rather than an
/// old record dropped. IPv6 addresses count by their /64.
#[derive(Debug)]
pub struct LoginThrottle {
    config: ThrottleConfig,
    entries: HashMap<IpAddr, Entry>,
}

/// The key an address counts under: IPv4 (IPv4-mapped IPv6 included) as it is, IPv6 by /64.
fn key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl LoginThrottle {
    /// An empty table.
    pub fn new(config: ThrottleConfig) -> Self {
        Self {
            config,
            entries: HashMap::new(),
        }
    }

    /// The settings.
    pub fn config(&self) -> &ThrottleConfig {
        &self.config
    }

    /// Until when `ip` is banned, if it is (a connection from it gets `421` at once).
    pub fn banned_until(&self, ip: IpAddr, now: Instant) -> Option<Instant> {
        self.entries
            .get(&key(ip))
            .and_then(|e| e.banned_until)
            .filter(|&until| until > now)
    }

    /// A login from `ip` failed at `now`.
    pub fn failed(&mut self, ip: IpAddr, now: Instant) -> Failure {
        let quiet = Failure {
            count: 1,
            delay: Duration::ZERO,
            banned_until: None,
        };
        if self.config.ban_after == 0 {
            return quiet;
        }
        let k = key(ip);
        if !self.entries.contains_key(&k) && self.entries.len() >= self.config.max_tracked {
            self.sweep(now);
            if self.entries.len() >= self.config.max_tracked {
                return quiet;
            }
        }
        let window = self.config.window;
        let entry = self.entries.entry(k).or_insert(Entry {
            since: now,
            count: 0,
            banned_until: None,
        });
        if let Some(until) = entry.banned_until {
            if until > now {
                return Failure {
                    count: entry.count,
                    delay: self.config.max_delay,
                    banned_until: None,
                };
            }
            // The ban is over: a fresh start.
            *entry = Entry {
                since: now,
                count: 0,
                banned_until: None,
            };
        }
        if now.saturating_duration_since(entry.since) > window {
            entry.since = now;
            entry.count = 0;
        }
        entry.count = entry.count.saturating_add(1);
        let count = entry.count;
        let banned_until = (count >= self.config.ban_after).then(|| now + self.config.ban);
        entry.banned_until = banned_until;
        // 0, base, 2 base, 4 base, ... up to the maximum.
        let delay = match count {
            0 | 1 => Duration::ZERO,
            n => self
                .config
                .base_delay
                .saturating_mul(1u32 << (n - 2).min(16))
                .min(self.config.max_delay),
        };
        Failure {
            count,
            delay,
            banned_until,
        }
    }

    /// A login from `ip` succeeded: its failures are forgotten (a user behind the same NAT
    /// who mistyped is not held to them), unless it is banned.
    pub fn succeeded(&mut self, ip: IpAddr, now: Instant) {
        let k = key(ip);
        if self.banned_until(ip, now).is_none() {
            self.entries.remove(&k);
        }
    }

    /// Addresses remembered (for metrics and tests).
    pub fn tracked(&self) -> usize {
        self.entries.len()
    }

    /// Forgets what no longer counts: failures older than the window, bans that ended.
    pub fn sweep(&mut self, now: Instant) {
        let window = self.config.window;
        self.entries.retain(|_, e| match e.banned_until {
            Some(until) => until > now,
            None => now.saturating_duration_since(e.since) <= window,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(ban_after: u32) -> LoginThrottle {
        let mut c = ThrottleConfig::default();
        c.ban_after(ban_after)
            .window(Duration::from_secs(60))
            .ban(Duration::from_secs(300))
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(350))
            .max_tracked(4);
        LoginThrottle::new(c)
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn delays_grow_then_the_address_is_banned() {
        let mut t = throttle(5);
        let now = Instant::now();
        let a = ip("192.0.2.1");
        let delays: Vec<u64> = (0..4)
            .map(|i| t.failed(a, now + Duration::from_secs(i)).delay.as_millis() as u64)
            .collect();
        assert_eq!(delays, [0, 100, 200, 350]);
        assert_eq!(t.banned_until(a, now + Duration::from_secs(4)), None);
        let f = t.failed(a, now + Duration::from_secs(5));
        assert_eq!(f.count, 5);
        let until = f.banned_until.unwrap();
        assert_eq!(until, now + Duration::from_secs(305));
        assert_eq!(t.banned_until(a, now + Duration::from_secs(6)), Some(until));
        // Another address is not affected; the ban ends on time.
        assert_eq!(t.banned_until(ip("192.0.2.2"), now), None);
        assert_eq!(t.banned_until(a, until), None);
        // A success during the ban does not lift it.
        t.succeeded(a, now + Duration::from_secs(10));
        assert_eq!(
            t.banned_until(a, now + Duration::from_secs(10)),
            Some(until)
        );
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let mut t = throttle(3);
        let now = Instant::now();
        let a = ip("192.0.2.1");
        t.failed(a, now);
        t.failed(a, now + Duration::from_secs(10));
        // Past the window: counting starts again.
        let f = t.failed(a, now + Duration::from_secs(71));
        assert_eq!((f.count, f.banned_until), (1, None));
        // A success forgets the failures.
        t.failed(a, now + Duration::from_secs(72));
        t.succeeded(a, now + Duration::from_secs(73));
        assert_eq!(t.failed(a, now + Duration::from_secs(74)).count, 1);
    }

    #[test]
    fn ipv6_counts_by_64_and_mapped_ipv4_as_ipv4() {
        let mut t = throttle(2);
        let now = Instant::now();
        t.failed(ip("2001:db8:1:2::10"), now);
        let f = t.failed(ip("2001:db8:1:2:ffff::99"), now);
        assert!(f.banned_until.is_some(), "one /64");
        assert!(t.banned_until(ip("2001:db8:1:2::1"), now).is_some());
        assert!(t.banned_until(ip("2001:db8:1:3::1"), now).is_none());
        t.failed(ip("::ffff:192.0.2.7"), now);
        assert!(t.failed(ip("192.0.2.7"), now).banned_until.is_some());
    }

    #[test]
    fn memory_is_bounded_and_records_are_never_flushed() {
        let mut t = throttle(3);
        let now = Instant::now();
        for i in 0..4 {
            t.failed(ip(&format!("192.0.2.{i}")), now);
        }
        assert_eq!(t.tracked(), 4);
        // Full: a fifth address is not tracked, the others stay.
        assert_eq!(t.failed(ip("198.51.100.1"), now).count, 1);
        assert_eq!(t.tracked(), 4);
        assert_eq!(t.failed(ip("192.0.2.0"), now).count, 2);
        // Once the old entries expire, they make room.
        let later = now + Duration::from_secs(120);
        t.failed(ip("198.51.100.1"), later);
        assert_eq!(t.tracked(), 1);
        assert_eq!(t.failed(ip("198.51.100.1"), later).count, 2);
    }

    #[test]
    fn off() {
        let mut t = throttle(0);
        let now = Instant::now();
        for _ in 0..100 {
            let f = t.failed(ip("192.0.2.1"), now);
            assert_eq!((f.delay, f.banned_until), (Duration::ZERO, None));
        }
        assert_eq!(t.tracked(), 0);
    }
}
