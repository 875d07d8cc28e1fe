//! Roles, confidentiality levels and branch codes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A role a user may hold (spec §1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Clerk,
    Staff,
    Supervisor,
    Auditor,
    Admin,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Clerk,
        Role::Staff,
        Role::Supervisor,
        Role::Auditor,
        Role::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clerk => "clerk",
            Role::Staff => "staff",
            Role::Supervisor => "supervisor",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    /// Separation of duties (三员分立, spec §3): `admin` is held alone, so no
    /// account both manages users and reads documents or the log. Returns why
    /// a set of roles breaks it.
    pub fn separation_of_duties(roles: &[Role]) -> Result<(), &'static str> {
        if roles.contains(&Role::Admin) && roles.len() > 1 {
            return Err(
                "admin is held alone (separation of duties): an administrator holds no other role",
            );
        }
        Ok(())
    }

    /// Roles that may read document content in their branch and clearance (spec §3).
    pub fn reads_content(self) -> bool {
        matches!(self, Role::Clerk | Role::Staff | Role::Supervisor)
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "unknown role `{s}` (expected one of clerk, staff, supervisor, auditor, admin)"
                )
            })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Confidentiality level (密级), ordered from least to most secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    Public,
    Internal,
    Confidential,
    Restricted,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Public => "public",
            Level::Internal => "internal",
            Level::Confidential => "confidential",
            Level::Restricted => "restricted",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A store code such as `BJ01`, or `*` for group-level users.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Branch(String);

impl Branch {
    pub const ALL: &'static str = "*";

    /// Parses a branch code: 2–8 upper-case ASCII letters and digits, or `*`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let ok = raw == Self::ALL
            || ((2..=8).contains(&raw.len())
                && raw
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()));
        if ok {
            Ok(Branch(raw.to_string()))
        } else {
            Err(format!(
                "invalid branch code `{}`: expected 2-8 upper-case letters and digits such as BJ01, or *",
                truncate(raw, 40)
            ))
        }
    }

    pub fn is_all(&self) -> bool {
        self.0 == Self::ALL
    }

    /// Whether a user of this branch covers documents of `doc_branch`.
    pub fn covers(&self, doc_branch: &Branch) -> bool {
        self.is_all() || self == doc_branch
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Branch {
    type Error = String;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Branch::parse(&value)
    }
}

impl From<Branch> for String {
    fn from(b: Branch) -> String {
        b.0
    }
}

impl fmt::Display for Branch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Shortens untrusted input before it is quoted in an error message.
pub fn truncate(raw: &str, max_chars: usize) -> String {
    if raw.chars().count() <= max_chars {
        raw.to_string()
    } else {
        let mut s: String = raw.chars().take(max_chars).collect();
        s.push('…');
        s
    }
}

/// The authenticated caller of one request, as the user store says now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub username: String,
    pub roles: Vec<Role>,
    pub branch: Branch,
    pub clearance: Level,
    /// The identity provider (its issuer) that vouched for this caller; `None`
    /// for a local account. Written into every log record of the caller.
    pub provider: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered() {
        assert!(Level::Public < Level::Internal);
        assert!(Level::Internal < Level::Confidential);
        assert!(Level::Confidential < Level::Restricted);
    }

    #[test]
    fn branch_codes_are_checked() {
        assert!(Branch::parse("BJ01").is_ok());
        assert!(Branch::parse("*").unwrap().is_all());
        assert!(Branch::parse("bj01").is_err());
        assert!(Branch::parse("../x").is_err());
        assert!(Branch::parse("").is_err());
    }

    #[test]
    fn group_branch_covers_every_branch() {
        let all = Branch::parse("*").unwrap();
        let bj = Branch::parse("BJ01").unwrap();
        let sh = Branch::parse("SH01").unwrap();
        assert!(all.covers(&bj));
        assert!(bj.covers(&bj));
        assert!(!bj.covers(&sh));
    }

    #[test]
    fn roles_parse_from_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
        }
        assert!("root".parse::<Role>().is_err());
    }
}
