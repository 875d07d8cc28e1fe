//! The role × action table (`schema/roles.toml`) and the per-document rules.
//!
//! Pure functions of the caller and the document: no I/O, so every cell can be
//! unit-tested, and the same answer is given by every endpoint and by search.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::domain::{Branch, Level, Role};

/// Calls `$callback! { Name = "name", ... }` with every action: the one list
/// of actions, from which [`Action`] and the permission types
/// (`auth::guard::perm`) are both made.
macro_rules! for_each_action {
    ($callback:ident) => {
        $callback! {
            AuthMe = "auth.me",
            ClassificationRead = "classification.read",
            UsersManage = "users.manage",
            DocumentsFile = "documents.file",
            DocumentsRead = "documents.read",
            DocumentsContent = "documents.content",
            DocumentsVersion = "documents.version",
            DocumentsCorrect = "documents.correct",
            IndexRebuild = "index.rebuild",
            KeysRead = "keys.read",
            AuditRead = "audit.read",
            AccessRequest = "access.request",
            AccessDecide = "access.decide",
            DocumentsHold = "documents.hold",
            RetentionRead = "retention.read",
            DisposalsPropose = "disposals.propose",
            DisposalsApprove = "disposals.approve",
            DisposalsRead = "disposals.read",
            StatsRead = "stats.read",
        }
    };
}
pub(crate) use for_each_action;

macro_rules! define_actions {
    ($($name:ident = $text:literal,)*) => {
        /// Something an endpoint lets a caller attempt; named in `schema/roles.toml`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($name,)*
        }

        impl Action {
            /// Every action, in the order of the list.
            pub const ALL: [Action; [$(Action::$name),*].len()] = [$(Action::$name),*];

            /// The action's name in the roles table and in log records.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Action::$name => $text,)*
                }
            }
        }
    };
}

for_each_action!(define_actions);

impl Action {
    fn parse(s: &str) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesFile {
    roles: BTreeMap<String, RoleEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleEntry {
    actions: Vec<String>,
}

/// The table in force.
#[derive(Debug, Clone)]
pub struct Policy {
    allowed: BTreeMap<Role, BTreeSet<Action>>,
}

/// What the per-document rules need to know about a document.
#[derive(Debug, Clone, Copy)]
pub struct DocScope<'a> {
    pub branch: &'a Branch,
    pub level: Level,
}

/// What the per-document rules need to know about the caller.
pub trait Subject {
    fn roles(&self) -> &[Role];
    fn branch(&self) -> &Branch;
    fn clearance(&self) -> Level;
}

impl Policy {
    pub fn from_toml(text: &str) -> Result<Self, String> {
        let file: RolesFile = toml::from_str(text).map_err(|e| format!("roles table: {e}"))?;
        let mut allowed = BTreeMap::new();
        for (name, entry) in file.roles {
            let role: Role = name.parse().map_err(|e| format!("roles table: {e}"))?;
            let mut actions = BTreeSet::new();
            for a in &entry.actions {
                actions.insert(Action::parse(a).ok_or_else(|| {
                    format!("roles table: role {name} lists unknown action `{a}`")
                })?);
            }
            allowed.insert(role, actions);
        }
        Ok(Policy { allowed })
    }

    /// Whether any of `roles` may attempt `action` at all.
    pub fn permits(&self, roles: &[Role], action: Action) -> bool {
        roles
            .iter()
            .any(|r| self.allowed.get(r).is_some_and(|set| set.contains(&action)))
    }

    /// Whether the caller may read a document's content (spec §3, without grants).
    pub fn can_read_content(&self, who: &impl Subject, doc: DocScope<'_>) -> bool {
        who.roles().iter().any(|r| r.reads_content())
            && self.permits(who.roles(), Action::DocumentsContent)
            && who.branch().covers(doc.branch)
            && doc.level <= who.clearance()
    }

    /// Whether the caller may know the document exists and see its metadata.
    pub fn can_see(&self, who: &impl Subject, doc: DocScope<'_>) -> bool {
        if !self.permits(who.roles(), Action::DocumentsRead) {
            return false;
        }
        if who.roles().contains(&Role::Auditor) {
            return true;
        }
        who.roles().iter().any(|r| r.reads_content())
            && who.branch().covers(doc.branch)
            && doc.level <= who.clearance()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Who(Vec<Role>, Branch, Level);
    impl Subject for Who {
        fn roles(&self) -> &[Role] {
            &self.0
        }
        fn branch(&self) -> &Branch {
            &self.1
        }
        fn clearance(&self) -> Level {
            self.2
        }
    }

    fn policy() -> Policy {
        Policy::from_toml(include_str!("../../schema/roles.toml")).unwrap()
    }

    fn b(s: &str) -> Branch {
        Branch::parse(s).unwrap()
    }

    #[test]
    fn every_cell_of_the_shipped_table() {
        use Action::*;
        let p = policy();
        let expect: &[(Role, &[Action])] = &[
            (
                Role::Clerk,
                &[
                    AuthMe,
                    ClassificationRead,
                    DocumentsFile,
                    DocumentsRead,
                    DocumentsContent,
                    DocumentsVersion,
                    DocumentsCorrect,
                    RetentionRead,
                    DisposalsPropose,
                    DisposalsRead,
                ],
            ),
            (
                Role::Staff,
                &[
                    AuthMe,
                    ClassificationRead,
                    DocumentsRead,
                    DocumentsContent,
                    AccessRequest,
                ],
            ),
            (
                Role::Supervisor,
                &[
                    AuthMe,
                    ClassificationRead,
                    DocumentsRead,
                    DocumentsContent,
                    AccessRequest,
                    AccessDecide,
                    DocumentsHold,
                    RetentionRead,
                    DisposalsApprove,
                    DisposalsRead,
                    StatsRead,
                ],
            ),
            (
                Role::Auditor,
                &[
                    AuthMe,
                    ClassificationRead,
                    DocumentsRead,
                    AuditRead,
                    DisposalsRead,
                    StatsRead,
                ],
            ),
            (
                Role::Admin,
                &[
                    AuthMe,
                    ClassificationRead,
                    UsersManage,
                    IndexRebuild,
                    KeysRead,
                ],
            ),
        ];
        for (role, allowed) in expect {
            for action in Action::ALL {
                assert_eq!(
                    p.permits(&[*role], action),
                    allowed.contains(&action),
                    "{role} {action:?}"
                );
            }
        }
    }

    #[test]
    fn documents_follow_branch_and_clearance() {
        let p = policy();
        let bj = b("BJ01");
        let sh = b("SH01");
        let staff = Who(vec![Role::Staff], bj.clone(), Level::Internal);
        assert!(p.can_read_content(
            &staff,
            DocScope {
                branch: &bj,
                level: Level::Internal
            }
        ));
        assert!(!p.can_read_content(
            &staff,
            DocScope {
                branch: &bj,
                level: Level::Confidential
            }
        ));
        assert!(!p.can_see(
            &staff,
            DocScope {
                branch: &sh,
                level: Level::Public
            }
        ));
        let group = Who(vec![Role::Supervisor], b("*"), Level::Restricted);
        assert!(p.can_read_content(
            &group,
            DocScope {
                branch: &sh,
                level: Level::Restricted
            }
        ));
    }

    #[test]
    fn auditors_see_metadata_never_content_and_admins_see_nothing() {
        let p = policy();
        let bj = b("BJ01");
        let auditor = Who(vec![Role::Auditor], b("BJ01"), Level::Restricted);
        let doc = DocScope {
            branch: &b("SH01"),
            level: Level::Restricted,
        };
        assert!(p.can_see(&auditor, doc));
        assert!(!p.can_read_content(&auditor, doc));
        let admin = Who(vec![Role::Admin], b("*"), Level::Restricted);
        assert!(!p.can_see(
            &admin,
            DocScope {
                branch: &bj,
                level: Level::Public
            }
        ));
        assert!(!p.can_read_content(
            &admin,
            DocScope {
                branch: &bj,
                level: Level::Public
            }
        ));
    }

    #[test]
    fn unknown_actions_and_roles_are_refused() {
        assert!(
            Policy::from_toml("[roles.clerk]\nactions = [\"documents.burn\"]")
                .unwrap_err()
                .contains("documents.burn")
        );
        assert!(Policy::from_toml("[roles.janitor]\nactions = []").is_err());
    }
}
