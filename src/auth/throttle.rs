//! Failed-login throttling: each failure slows the next answer a little, and past
//! a configured count a user name or a client address is locked out for a while.

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
    count: u32,
    last: Option<Instant>,
}

pub struct LoginThrottle {
    config: ThrottleConfig,
    failures: Mutex<HashMap<String, Failures>>,
}

fn keys(username: &str, client: &str) -> [String; 2] {
    [format!("user:{username}"), format!("client:{client}")]
}

impl LoginThrottle {
    pub fn new(config: ThrottleConfig) -> Self {
        LoginThrottle {
            config,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Whether the user name or the client address is locked out now.
    pub fn locked(&self, username: &str, client: &str) -> bool {
        let mut map = self.failures.lock().expect("throttle lock");
        keys(username, client).iter().any(|k| match map.get(k) {
            Some(f) if f.count >= self.config.max_failures => {
                if f.last.is_some_and(|t| t.elapsed() < self.config.lockout) {
                    true
                } else {
                    map.remove(k);
                    false
                }
            }
            _ => false,
        })
    }

    /// Records a failure; returns how long to wait before answering.
    pub fn failed(&self, username: &str, client: &str) -> Duration {
        let mut map = self.failures.lock().expect("throttle lock");
        let mut worst = 0;
        for k in keys(username, client) {
            let f = map.entry(k).or_default();
            f.count += 1;
            f.last = Some(Instant::now());
            worst = worst.max(f.count);
        }
        Duration::from_millis((100 * u64::from(worst)).min(2_000))
    }

    pub fn succeeded(&self, username: &str, client: &str) {
        let mut map = self.failures.lock().expect("throttle lock");
        for k in keys(username, client) {
            map.remove(&k);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_the_configured_failures_and_unlocks_later() {
        let t = LoginThrottle::new(ThrottleConfig {
            max_failures: 3,
            lockout: Duration::from_millis(50),
        });
        for _ in 0..2 {
            t.failed("u", "1.2.3.4");
        }
        assert!(!t.locked("u", "1.2.3.4"));
        assert!(t.failed("u", "1.2.3.4") >= Duration::from_millis(300));
        assert!(
            t.locked("u", "9.9.9.9"),
            "the user name is locked from any address"
        );
        assert!(
            t.locked("other", "1.2.3.4"),
            "the address is locked for any user name"
        );
        std::thread::sleep(Duration::from_millis(60));
        assert!(!t.locked("u", "1.2.3.4"));
        t.failed("v", "5.5.5.5");
        t.succeeded("v", "5.5.5.5");
        assert!(!t.locked("v", "5.5.5.5"));
    }
}
