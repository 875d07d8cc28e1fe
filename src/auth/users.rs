//! Users and their passwords (Argon2id), kept as one sealed object in the object
//! store (`system/users`), so the store stays the system of record.
//!
//! The roles, branch, clearance and disabled flag are read from here on every
//! request, not from the token: a change takes effect on the caller's next request.

use std::collections::BTreeMap;
use std::sync::Arc;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use object_store::path::Path;
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};

use super::policy::Subject;
use crate::domain::{Branch, Level, Role};
use crate::error::{Code, Error, Result};
use crate::storage::envelope::Keyring;
use crate::storage::{BlobStore, read_sealed, write_sealed};

const USERS_OBJECT: &str = "system/users";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub username: String,
    pub password_hash: String,
    pub roles: Vec<Role>,
    pub branch: Branch,
    pub clearance: Level,
    pub disabled: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Tokens issued before this time (unix seconds) are refused: set whenever
    /// the user's roles, branch, clearance, password or status change. Kept for
    /// user lists written before [`Self::tokens_valid_after_ns`].
    #[serde(default)]
    pub tokens_valid_after: Option<i64>,
    /// The same instant in unix nanoseconds, so a token issued earlier in the
    /// same second as the change is refused too.
    #[serde(default)]
    pub tokens_valid_after_ns: Option<i64>,
}

impl User {
    /// Tokens issued at or before this instant (unix nanoseconds) are void.
    pub fn tokens_void_until_ns(&self) -> Option<i64> {
        self.tokens_valid_after_ns.or(self
            .tokens_valid_after
            .map(|s| s.saturating_mul(1_000_000_000)))
    }
}

pub use crate::domain::people::Principal;

impl Subject for Principal {
    fn roles(&self) -> &[Role] {
        &self.roles
    }
    fn branch(&self) -> &Branch {
        &self.branch
    }
    fn clearance(&self) -> Level {
        self.clearance
    }
}

impl From<&User> for Principal {
    fn from(u: &User) -> Self {
        Principal {
            username: u.username.clone(),
            roles: u.roles.clone(),
            branch: u.branch.clone(),
            clearance: u.clearance,
            provider: None,
        }
    }
}

/// A new user as an administrator asks for it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub username: String,
    pub password: String,
    pub roles: Vec<Role>,
    pub branch: Branch,
    pub clearance: Level,
}

/// A change to a user; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    pub password: Option<String>,
    pub roles: Option<Vec<Role>>,
    pub branch: Option<Branch>,
    pub clearance: Option<Level>,
    pub disabled: Option<bool>,
}

pub struct UserStore {
    blob: BlobStore,
    keyring: Arc<Keyring>,
    users: RwLock<BTreeMap<String, User>>,
    write: Mutex<()>,
    /// Verified against when the username is unknown, so timing does not tell.
    dummy_hash: String,
    /// Where every hash and check runs: bounded (spec §6).
    hashing: super::hashing::HashPool,
}

fn check_username(name: &str) -> Result<()> {
    let ok = (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(Error::new(
            Code::InvalidUsername,
            "username: 2-64 letters, digits, '.', '_' or '-'",
        ))
    }
}

fn check_password(pw: &str) -> Result<()> {
    let n = pw.chars().count();
    if (10..=256).contains(&n) {
        Ok(())
    } else {
        Err(Error::new(
            Code::WeakPassword,
            "password: 10 to 256 characters",
        ))
    }
}

fn check_roles(roles: &[Role]) -> Result<()> {
    if roles.is_empty() {
        return Err(Error::new(Code::InvalidRoles, "roles: at least one role"));
    }
    let mut distinct = roles.to_vec();
    distinct.sort();
    distinct.dedup();
    Role::separation_of_duties(&distinct).map_err(|why| Error::new(Code::InvalidRoles, why))
}

/// Hashes a password with Argon2id (run it off the async threads: it takes ~50 ms).
pub fn hash_password(password: &str) -> String {
    Argon2::default()
        .hash_password(password.as_bytes())
        .expect("Argon2id with default parameters and a random salt cannot fail")
        .to_string()
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

impl UserStore {
    /// Loads the users from the store.
    pub async fn load(blob: BlobStore, keyring: Arc<Keyring>) -> Result<Self> {
        let list: Vec<User> = read_sealed(&blob, &keyring, &Path::from(USERS_OBJECT), "user list")
            .await?
            .unwrap_or_default();
        let users = list.into_iter().map(|u| (u.username.clone(), u)).collect();
        let dummy_hash = tokio::task::spawn_blocking(|| hash_password("not a real password"))
            .await
            .map_err(|e| Error::internal(e.to_string()))?;
        Ok(UserStore {
            blob,
            keyring,
            users: RwLock::new(users),
            write: Mutex::new(()),
            dummy_hash,
            hashing: super::hashing::HashPool::for_this_machine(),
        })
    }

    async fn persist(&self, users: &BTreeMap<String, User>) -> Result<()> {
        let list: Vec<&User> = users.values().collect();
        write_sealed(&self.blob, &self.keyring, &Path::from(USERS_OBJECT), &list).await
    }

    pub async fn is_empty(&self) -> bool {
        self.users.read().await.is_empty()
    }

    /// The user as they are now: their principal, whether disabled, and the time
    /// before which their tokens are void.
    pub async fn principal(&self, username: &str) -> Option<(Principal, bool, Option<i64>)> {
        self.users
            .read()
            .await
            .get(username)
            .map(|u| (Principal::from(u), u.disabled, u.tokens_void_until_ns()))
    }

    /// Whether a local account has this name in any letter case (so an
    /// identity provider's `Admin` cannot speak for the local `admin`).
    pub async fn name_taken(&self, username: &str) -> bool {
        self.users
            .read()
            .await
            .keys()
            .any(|k| k.eq_ignore_ascii_case(username))
    }

    /// One user by name as stored (names are unique in any letter case).
    pub async fn get(&self, username: &str) -> Option<User> {
        self.users
            .read()
            .await
            .values()
            .find(|u| u.username.eq_ignore_ascii_case(username))
            .cloned()
    }

    pub async fn list(&self) -> Vec<User> {
        self.users.read().await.values().cloned().collect()
    }

    /// Checks a password. `None` for an unknown user, a wrong password or a disabled user.
    pub async fn authenticate(&self, username: &str, password: &str) -> Result<Option<Principal>> {
        let found = self.users.read().await.get(username).cloned();
        let hash = found
            .as_ref()
            .map_or(self.dummy_hash.clone(), |u| u.password_hash.clone());
        let password = password.to_string();
        let ok = self
            .hashing
            .run(move || verify_password(&password, &hash))
            .await?;
        Ok(match found {
            Some(u) if ok && !u.disabled => Some(Principal::from(&u)),
            _ => None,
        })
    }

    pub async fn create(&self, new: NewUser) -> Result<User> {
        check_username(&new.username)?;
        check_password(&new.password)?;
        check_roles(&new.roles)?;
        let mut roles = new.roles.clone();
        roles.sort();
        roles.dedup();
        let password = new.password.clone();
        let password_hash = self.hashing.run(move || hash_password(&password)).await?;
        let _guard = self.write.lock().await;
        let mut users = self.users.read().await.clone();
        // Names are unique in any letter case: `Admin` cannot stand beside `admin`.
        if let Some(taken) = users.keys().find(|k| k.eq_ignore_ascii_case(&new.username)) {
            return Err(Error::new(
                Code::UserExists,
                format!("user {taken} already exists"),
            ));
        }
        let now = chrono::Utc::now();
        let user = User {
            username: new.username.clone(),
            password_hash,
            roles,
            branch: new.branch,
            clearance: new.clearance,
            disabled: false,
            created_at: now,
            updated_at: now,
            tokens_valid_after: None,
            tokens_valid_after_ns: None,
        };
        users.insert(user.username.clone(), user.clone());
        self.persist(&users).await?;
        *self.users.write().await = users;
        Ok(user)
    }

    /// Applies a change made by `actor`; administrators cannot change their own
    /// roles (the same roles again are no change) nor disable themselves.
    pub async fn update(
        &self,
        actor: &str,
        username: &str,
        change: UserChange,
    ) -> Result<(User, User)> {
        if let Some(pw) = &change.password {
            check_password(pw)?;
        }
        if let Some(roles) = &change.roles {
            check_roles(roles)?;
            // Saving one's own account with the roles it has is no change.
            let mut asked = roles.clone();
            asked.sort();
            asked.dedup();
            let current = self
                .users
                .read()
                .await
                .get(username)
                .map(|u| u.roles.clone());
            if actor == username && current.as_ref() != Some(&asked) {
                return Err(Error::forbidden(
                    "administrators cannot change their own roles",
                ));
            }
        }
        if change.disabled == Some(true) && actor == username {
            return Err(Error::forbidden("administrators cannot disable themselves"));
        }
        let new_hash = match change.password.clone() {
            Some(pw) => Some(self.hashing.run(move || hash_password(&pw)).await?),
            None => None,
        };
        let _guard = self.write.lock().await;
        let mut users = self.users.read().await.clone();
        let Some(user) = users.get_mut(username) else {
            return Err(Error::not_found("user"));
        };
        let before = user.clone();
        if let Some(h) = new_hash {
            user.password_hash = h;
        }
        if let Some(mut roles) = change.roles {
            roles.sort();
            roles.dedup();
            user.roles = roles;
        }
        if let Some(b) = change.branch {
            user.branch = b;
        }
        if let Some(c) = change.clearance {
            user.clearance = c;
        }
        if let Some(d) = change.disabled {
            user.disabled = d;
        }
        user.updated_at = chrono::Utc::now();
        user.tokens_valid_after = Some(user.updated_at.timestamp());
        user.tokens_valid_after_ns = user.updated_at.timestamp_nanos_opt();
        let after = user.clone();
        self.persist(&users).await?;
        *self.users.write().await = users;
        Ok((before, after))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hashes_are_argon2id_and_verify() {
        let h = hash_password("correct horse battery");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn usernames_are_checked() {
        assert!(check_username("clerk.bj01").is_ok());
        assert!(check_username("../admin").is_err());
        assert!(check_username("a").is_err());
    }
}
