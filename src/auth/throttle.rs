//! Failed-login throttling (spec §6): each failure slows the next answer a
//! little, and `max_failures` failures within `lockout` lock a user name or a
//! client address until the oldest of them is `lockout` old.
//!
//! An attempt is counted when it *begins*, before the password is checked, in
//! one step under one lock: so concurrent guesses cannot all slip in before the
//! first failure is recorded — at most `max_failures` are ever evaluated. Each
//! failure expires by itself after `lockout` (a typo a day never adds up). A
//! success clears that user's failures only, and takes back its own count at
//! the address; another user's success never clears an address.
//!
//! Memory is bounded: at most `max_failures` instants per key, keys of at most
//! 64 characters, and expired keys are dropped when the table grows.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct ThrottleConfig {
    pub max_failures: u32,
    pub lockout: Duration,
}

/// When each recent failure (or attempt still being checked) began, oldest first.
type Failures = VecDeque<Instant>;

struct Table {
    keys: HashMap<String, Failures>,
    /// The table is swept of expired keys when it grows past this.
    sweep_above: usize,
}

pub struct LoginThrottle {
    config: ThrottleConfig,
    table: Mutex<Table>,
}

/// Expired keys are swept once the table holds more than this many.
const SWEEP_ABOVE: usize = 10_000;

/// User names are counted case-insensitively, so `Admin` and `admin` share one;
/// no valid user name is longer than 64 characters.
fn user_key(username: &str) -> String {
    let name: String = username.chars().take(64).collect();
    format!("user:{}", name.to_lowercase())
}

fn client_key(client: &str) -> String {
    format!("client:{client}")
}

impl LoginThrottle {
    pub fn new(config: ThrottleConfig) -> Self {
        LoginThrottle {
            config,
            table: Mutex::new(Table {
                keys: HashMap::new(),
                sweep_above: SWEEP_ABOVE,
            }),
        }
    }

    fn expire(&self, f: &mut Failures) {
        while f
            .front()
            .is_some_and(|t| t.elapsed() >= self.config.lockout)
        {
            f.pop_front();
        }
    }

    /// Starts an attempt: `false` (nothing counted) when the user name or the
    /// client address is locked out now; otherwise the attempt is counted as a
    /// failure until [`Self::succeeded`] or [`Self::cancelled`] says otherwise.
    pub fn begin(&self, username: &str, client: &str) -> bool {
        let mut table = self.table.lock().expect("throttle lock");
        if table.keys.len() > table.sweep_above {
            let lockout = self.config.lockout;
            table
                .keys
                .retain(|_, f| f.back().is_some_and(|t| t.elapsed() < lockout));
            table.sweep_above = SWEEP_ABOVE.max(2 * table.keys.len());
        }
        let max = self.config.max_failures as usize;
        let keys = [user_key(username), client_key(client)];
        for k in &keys {
            if let Some(f) = table.keys.get_mut(k) {
                self.expire(f);
                if f.len() >= max {
                    return false;
                }
            }
        }
        let now = Instant::now();
        for k in keys {
            table.keys.entry(k).or_default().push_back(now);
        }
        true
    }

    /// The attempt failed (it stays counted); returns how long to wait before
    /// answering: 100 ms per recent failure, at most 2 s.
    pub fn failed(&self, username: &str, client: &str) -> Duration {
        let table = self.table.lock().expect("throttle lock");
        let worst = [user_key(username), client_key(client)]
            .iter()
            .filter_map(|k| table.keys.get(k).map(VecDeque::len))
            .max()
            .unwrap_or(1);
        Duration::from_millis((100 * worst as u64).min(2_000))
    }

    /// The attempt succeeded: the user's failures are cleared, and the address
    /// loses only this attempt's count.
    pub fn succeeded(&self, username: &str, client: &str) {
        let mut table = self.table.lock().expect("throttle lock");
        table.keys.remove(&user_key(username));
        uncount(&mut table.keys, &client_key(client));
    }

    /// The attempt was never decided (the server was too busy to check it).
    pub fn cancelled(&self, username: &str, client: &str) {
        let mut table = self.table.lock().expect("throttle lock");
        uncount(&mut table.keys, &user_key(username));
        uncount(&mut table.keys, &client_key(client));
    }
}

/// Takes back the newest count of `key`.
fn uncount(keys: &mut HashMap<String, Failures>, key: &str) {
    if let Some(f) = keys.get_mut(key) {
        f.pop_back();
        if f.is_empty() {
            keys.remove(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn throttle(max: u32, lockout_ms: u64) -> LoginThrottle {
        LoginThrottle::new(ThrottleConfig {
            max_failures: max,
            lockout: Duration::from_millis(lockout_ms),
        })
    }

    #[test]
    fn locks_after_the_configured_failures_and_unlocks_later() {
        let t = throttle(3, 50);
        for _ in 0..3 {
            assert!(t.begin("u", "1.2.3.4"));
            t.failed("u", "1.2.3.4");
        }
        assert!(
            !t.begin("u", "9.9.9.9"),
            "the user name is locked from any address"
        );
        assert!(!t.begin("U", "9.9.9.9"), "in any letter case");
        assert!(
            !t.begin("other", "1.2.3.4"),
            "the address is locked for any user name"
        );
        std::thread::sleep(Duration::from_millis(60));
        assert!(t.begin("u", "1.2.3.4"));
    }

    #[test]
    fn attempts_in_flight_count_before_their_password_is_checked() {
        let t = throttle(5, 60_000);
        let admitted = (0..40).filter(|_| t.begin("u", "1.2.3.4")).count();
        assert_eq!(admitted, 5);
    }

    #[test]
    fn a_success_clears_only_its_own_user() {
        let t = throttle(3, 60_000);
        for user in ["a", "b"] {
            assert!(t.begin(user, "1.2.3.4"));
            t.failed(user, "1.2.3.4");
        }
        assert!(t.begin("c", "1.2.3.4"));
        t.succeeded("c", "1.2.3.4");
        // Two failures remain at the address: one more locks it.
        assert!(t.begin("d", "1.2.3.4"));
        t.failed("d", "1.2.3.4");
        assert!(!t.begin("c", "1.2.3.4"));
    }

    #[test]
    fn a_users_success_clears_that_user_from_any_address() {
        let t = throttle(2, 60_000);
        assert!(t.begin("a", "1.1.1.1"));
        t.failed("a", "1.1.1.1");
        assert!(t.begin("a", "2.2.2.2"));
        t.succeeded("a", "2.2.2.2");
        // One failure more would lock `a` had the success not cleared it.
        assert!(t.begin("a", "3.3.3.3"));
        t.failed("a", "3.3.3.3");
        assert!(t.begin("a", "4.4.4.4"));
    }

    #[test]
    fn each_failure_expires_by_itself() {
        let t = throttle(2, 600);
        assert!(t.begin("u", "1.2.3.4"));
        t.failed("u", "1.2.3.4");
        std::thread::sleep(Duration::from_millis(300));
        assert!(t.begin("u", "1.2.3.4"));
        t.failed("u", "1.2.3.4");
        assert!(!t.begin("u", "1.2.3.4"), "two within the window lock");
        std::thread::sleep(Duration::from_millis(350));
        // The first failure has expired, the second not: one more is allowed.
        assert!(t.begin("u", "1.2.3.4"));
    }
}
