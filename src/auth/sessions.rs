//! Sessions of the web front desk (spec §9): what a browser's session cookie
//! stands for. Nothing here knows about HTTP or cookies.
//!
//! A session is a random 256-bit id the browser holds in an `HttpOnly` cookie;
//! the server keeps, under the SHA-256 of that id, the access token issued at
//! login and a CSRF token of its own (the synchronizer-token pattern of the
//! OWASP CSRF cheat sheet). Every page request still authenticates that access
//! token through [`super::accounts::Accounts::authenticate`], so a disabled or
//! changed account, lockout and separation of duties apply to pages exactly as
//! to the API; the session only saves the browser from holding the token.
//!
//! Sessions live in memory: a restart logs everyone out, and a stolen cookie is
//! worthless once its session ended (logout, idle time, absolute lifetime).
//! The token is renewed while a session is in use, so a session outlives the
//! short token lifetime (`auth.token_ttl_secs`) without the token doing so.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use crate::storage::envelope::random_bytes;

/// Most sessions kept at once; past it, the least recently used one ends.
pub const MAX_SESSIONS: usize = 10_000;

/// One session as a page request sees it.
#[derive(Debug, Clone)]
pub struct SessionView {
    /// The access token to authenticate.
    pub token: String,
    /// The token forms of this session must carry.
    pub csrf: String,
    /// Whether the token is past half its life and should be renewed.
    pub renew: bool,
}

struct Session {
    token: String,
    token_issued: Instant,
    csrf: String,
    started: Instant,
    last_seen: Instant,
}

/// The sessions of the front desk.
pub struct Sessions {
    sessions: Mutex<HashMap<[u8; 32], Session>>,
    idle: Duration,
    max_age: Duration,
    token_ttl: Duration,
}

fn key(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

fn random_token() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// Compares two strings in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl Sessions {
    /// Sessions ending after `idle` without use or `max_age` after login; the
    /// tokens they hold live `token_ttl`.
    pub fn new(idle: Duration, max_age: Duration, token_ttl: Duration) -> Self {
        Sessions {
            sessions: Mutex::new(HashMap::new()),
            idle,
            max_age,
            token_ttl,
        }
    }

    /// Starts a session for a token just issued at login: `(session id, csrf)`.
    pub fn start(&self, token: String) -> (String, String) {
        let (id, csrf, now) = (random_token(), random_token(), Instant::now());
        let mut sessions = self.sessions.lock().expect("sessions lock");
        sessions.retain(|_, s| self.alive(s, now));
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, s)| s.last_seen)
                .map(|(k, _)| *k)
        {
            sessions.remove(&oldest);
        }
        sessions.insert(
            key(&id),
            Session {
                token,
                token_issued: now,
                csrf: csrf.clone(),
                started: now,
                last_seen: now,
            },
        );
        (id, csrf)
    }

    fn alive(&self, s: &Session, now: Instant) -> bool {
        now.duration_since(s.last_seen) < self.idle && now.duration_since(s.started) < self.max_age
    }

    /// The live session of `id`, marked as used now; `None` when there is none
    /// or it ended (which forgets it).
    pub fn get(&self, id: &str) -> Option<SessionView> {
        let now = Instant::now();
        let mut sessions = self.sessions.lock().expect("sessions lock");
        let k = key(id);
        let s = sessions.get_mut(&k)?;
        if !self.alive(s, now) {
            sessions.remove(&k);
            return None;
        }
        s.last_seen = now;
        Some(SessionView {
            token: s.token.clone(),
            csrf: s.csrf.clone(),
            renew: now.duration_since(s.token_issued) > self.token_ttl / 2,
        })
    }

    /// Puts a renewed token in the session.
    pub fn renew(&self, id: &str, token: String) {
        if let Some(s) = self
            .sessions
            .lock()
            .expect("sessions lock")
            .get_mut(&key(id))
        {
            s.token = token;
            s.token_issued = Instant::now();
        }
    }

    /// Ends a session (logout, or a token the accounts refused).
    pub fn end(&self, id: &str) {
        self.sessions
            .lock()
            .expect("sessions lock")
            .remove(&key(id));
    }

    /// Sessions held now.
    pub fn len(&self) -> usize {
        self.sessions.lock().expect("sessions lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(idle_ms: u64) -> Sessions {
        Sessions::new(
            Duration::from_millis(idle_ms),
            Duration::from_secs(60),
            Duration::from_millis(40),
        )
    }

    #[test]
    fn a_session_holds_its_token_and_csrf_until_it_ends() {
        let s = sessions(10_000);
        let (id, csrf) = s.start("t1".into());
        let view = s.get(&id).unwrap();
        assert_eq!(
            (view.token.as_str(), view.csrf.as_str()),
            ("t1", csrf.as_str())
        );
        assert!(s.get("someone-else").is_none());
        s.end(&id);
        assert!(s.get(&id).is_none());
    }

    #[test]
    fn an_idle_session_ends_and_a_used_one_asks_for_renewal() {
        let s = sessions(30);
        let (id, _) = s.start("t".into());
        assert!(!s.get(&id).unwrap().renew);
        std::thread::sleep(Duration::from_millis(25));
        assert!(s.get(&id).unwrap().renew, "past half the token's life");
        s.renew(&id, "t2".into());
        let view = s.get(&id).unwrap();
        assert_eq!(view.token, "t2");
        assert!(!view.renew);
        std::thread::sleep(Duration::from_millis(40));
        assert!(s.get(&id).is_none(), "idle past 30 ms");
        assert!(s.is_empty());
    }

    #[test]
    fn session_ids_and_csrf_tokens_are_unguessable_and_distinct() {
        let s = sessions(10_000);
        let (a, ca) = s.start("t".into());
        let (b, cb) = s.start("t".into());
        assert_ne!(a, b);
        assert_ne!(ca, cb);
        assert_eq!(a.len(), 43, "256 bits, base64url");
        assert!(same_secret(&ca, &ca) && !same_secret(&ca, &cb) && !same_secret(&ca, ""));
    }
}
