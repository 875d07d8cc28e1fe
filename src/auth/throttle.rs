//! Failed-login throttling (spec §6): each failure slows the next answer a
//! little, and past a configured count a user name or a client address is
//! locked out for a while.
//!
//! An attempt is counted when it *begins*, before the password is checked, in
//! one step under one lock: so concurrent guesses cannot all slip in before the
//! first failure is recorded — at most `max_failures` are ever evaluated. A
//! success clears that user's count only, and takes back its own count at the
//! address; another user's success never clears an address.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct ThrottleConfig {
    pub max_failures: u32,
    pub lockout: Duration,
}

#[derive(Default)]
struct Failures {
    /// Failures plus attempts still being checked.
    count: u32,
    last: Option<Instant>,
}

pub struct LoginThrottle {
    config: ThrottleConfig,
    failures: Mutex<HashMap<String, Failures>>,
}

/// Above this many tracked names and addresses, expired entries are dropped.
const PRUNE_ABOVE: usize = 10_000;

/// User names are counted case-insensitively, so `Admin` and `admin` share one.
fn user_key(username: &str) -> String {
    format!("user:{}", username.to_lowercase())
}

fn client_key(client: &str) -> String {
    format!("client:{client}")
}

impl LoginThrottle {
    pub fn new(config: ThrottleConfig) -> Self {
        LoginThrottle {
            config,
            failures: Mutex::new(HashMap::new()),
        }
    }

    fn locked_now(&self, f: &Failures) -> bool {
        f.count >= self.config.max_failures
            && f.last.is_some_and(|t| t.elapsed() < self.config.lockout)
    }

    /// Starts an attempt: `false` (nothing counted) when the user name or the
    /// client address is locked out now; otherwise the attempt is counted as a
    /// failure until [`Self::succeeded`] or [`Self::cancelled`] says otherwise.
    pub fn begin(&self, username: &str, client: &str) -> bool {
        let mut map = self.failures.lock().expect("throttle lock");
        if map.len() > PRUNE_ABOVE {
            let lockout = self.config.lockout;
            map.retain(|_, f| f.last.is_some_and(|t| t.elapsed() < lockout));
        }
        let keys = [user_key(username), client_key(client)];
        if keys
            .iter()
            .any(|k| map.get(k).is_some_and(|f| self.locked_now(f)))
        {
            return false;
        }
        let now = Instant::now();
        for k in keys {
            let f = map.entry(k).or_default();
            if f.last.is_some_and(|t| t.elapsed() >= self.config.lockout) {
                f.count = 0; // an old lockout has run out
            }
            f.count += 1;
            f.last = Some(now);
        }
        true
    }

    /// The attempt failed (it stays counted); returns how long to wait before
    /// answering: 100 ms per failure so far, at most 2 s.
    pub fn failed(&self, username: &str, client: &str) -> Duration {
        let map = self.failures.lock().expect("throttle lock");
        let worst = [user_key(username), client_key(client)]
            .iter()
            .filter_map(|k| map.get(k).map(|f| f.count))
            .max()
            .unwrap_or(1);
        Duration::from_millis((100 * u64::from(worst)).min(2_000))
    }

    /// The attempt succeeded: the user's count is cleared, and the address loses
    /// only this attempt's count.
    pub fn succeeded(&self, username: &str, client: &str) {
        let mut map = self.failures.lock().expect("throttle lock");
        map.remove(&user_key(username));
        uncount(&mut map, &client_key(client));
    }

    /// The attempt was never decided (the server was too busy to check it).
    pub fn cancelled(&self, username: &str, client: &str) {
        let mut map = self.failures.lock().expect("throttle lock");
        uncount(&mut map, &user_key(username));
        uncount(&mut map, &client_key(client));
    }
}

fn uncount(map: &mut HashMap<String, Failures>, key: &str) {
    if let Some(f) = map.get_mut(key) {
        f.count = f.count.saturating_sub(1);
        if f.count == 0 {
            map.remove(key);
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
        assert!(!t.begin("u", "9.9.9.9"), "the user name is locked from any address");
        assert!(!t.begin("U", "9.9.9.9"), "in any letter case");
        assert!(!t.begin("other", "1.2.3.4"), "the address is locked for any user name");
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
        // `a` failed once; its own success clears it, not the address.
        t.succeeded("a", "5.5.5.5");
        assert!(!t.begin("a", "1.2.3.4"));
    }
}
