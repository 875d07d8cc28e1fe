//! Local state is private (spec §6): the data directory is 0700 and every file
//! in it 0600 — the search index holds every document's text, VIN and plate, and
//! the retrieval log every user's actions.
//!
//! [`make_private`] sets the process's umask to 077, so everything created
//! afterwards (by us, tantivy or object_store) is born private, then tightens
//! what already exists. A directory that is already 0700 hides everything below
//! it from other users, so only its small parts are re-checked at each start;
//! the whole tree (local objects included) is walked once when the data
//! directory itself was found open to others.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// What [`make_private`] changed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tightened {
    pub directories: usize,
    pub files: usize,
}

/// Subtrees with one file per document: walked only when the data directory
/// was open to others.
const LARGE_SUBTREES: [&str; 1] = ["objects"];

/// Creates `data_dir` (0700) if needed, sets the umask to 077 and tightens the
/// modes of what is already there; logs a warning naming what it changed.
///
/// # Errors
/// When the directory cannot be created, read or changed (e.g. not its owner).
pub fn make_private(data_dir: &Path) -> io::Result<Tightened> {
    // SAFETY: umask(2) only sets the process's file-creation mask.
    unsafe { libc::umask(0o077) };
    std::fs::create_dir_all(data_dir)?;
    let was_open = std::fs::metadata(data_dir)?.permissions().mode() & 0o077 != 0;
    let mut done = Tightened::default();
    let mut stack = vec![data_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        // The data directory itself last: if the walk fails, the next start
        // still finds it open and walks again.
        if dir != data_dir {
            tighten(&dir, 0o700, &mut done.directories)?;
        }
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let path = entry.path();
            if kind.is_dir() {
                let large =
                    dir == data_dir && LARGE_SUBTREES.iter().any(|s| entry.file_name() == *s);
                if was_open || !large {
                    stack.push(path);
                } else {
                    tighten(&path, 0o700, &mut done.directories)?;
                }
            } else if kind.is_file() {
                tighten(&path, 0o600, &mut done.files)?;
            }
        }
    }
    tighten(data_dir, 0o700, &mut done.directories)?;
    if done != Tightened::default() {
        tracing::warn!(
            dir = %data_dir.display(),
            directories = done.directories,
            files = done.files,
            "the data directory was readable by other users: its modes are now 0700 and 0600"
        );
    }
    Ok(done)
}

/// Sets `mode` exactly where group or others have any access.
fn tighten(path: &Path, mode: u32, count: &mut usize) -> io::Result<()> {
    let current = std::fs::symlink_metadata(path)?.permissions().mode() & 0o777;
    if current & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
        *count += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loose_data_directory_is_tightened_whole() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        std::fs::create_dir_all(dir.join("objects/docs/x")).unwrap();
        std::fs::write(dir.join("objects/docs/x/manifest"), b"sealed").unwrap();
        std::fs::write(dir.join("retrieval.log"), b"log").unwrap();
        for (p, m) in [
            (dir.clone(), 0o755),
            (dir.join("objects"), 0o755),
            (dir.join("objects/docs/x"), 0o775),
        ] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
        }
        for f in ["objects/docs/x/manifest", "retrieval.log"] {
            std::fs::set_permissions(dir.join(f), std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let done = make_private(&dir).unwrap();
        assert_eq!(done.files, 2);
        let mode = |p: &str| std::fs::metadata(dir.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(""), 0o700);
        assert_eq!(mode("objects/docs/x"), 0o700);
        assert_eq!(mode("objects/docs/x/manifest"), 0o600);
        assert_eq!(mode("retrieval.log"), 0o600);
        // New files are born private.
        std::fs::write(dir.join("new"), b"x").unwrap();
        assert_eq!(mode("new"), 0o600);
        assert_eq!(make_private(&dir).unwrap(), Tightened::default());
    }
}
