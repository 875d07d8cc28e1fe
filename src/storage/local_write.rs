//! Large objects of a local store, written with their writeback started as the
//! pieces arrive.
//!
//! object_store's local multipart upload leaves every byte in the page cache
//! until the final fsync (the kernel starts writing back only when a tenth of
//! RAM is dirty), so a 1 GiB upload waited ~1.5 s after its last byte for the
//! disk. Here the same durable publish — a staging file `<object>#<n>` beside
//! the object (invisible to listings, swept after a crash by
//! [`super::BlobStore::remove_staged_leftovers`]), synced, renamed into place,
//! its directory synced — has each piece's writeback started as soon as it is
//! written, so the disk works while the upload is still arriving.
//! Small objects still go through object_store's `put`.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writeback is started in ranges of this size.
const WRITEBACK_RANGE: u64 = 4 * 1024 * 1024;

/// A write handed to a blocking thread: gives back the file, how far
/// writeback has been started, and the emptied buffer.
type InFlight = tokio::task::JoinHandle<(File, io::Result<u64>, Vec<u8>)>;

/// One object being written to a local store. One piece is written while the
/// next arrives.
pub(super) struct LocalWrite {
    /// `None` while a piece is in flight.
    file: Option<File>,
    in_flight: Option<InFlight>,
    staging: PathBuf,
    dest: PathBuf,
    written: u64,
    /// Bytes whose writeback has been started.
    started: u64,
    published: bool,
}

fn blocking_failed(e: tokio::task::JoinError) -> io::Error {
    io::Error::other(format!("local write task: {e}"))
}

impl LocalWrite {
    /// Creates the staging file for `dest` (and, durably, its directories).
    pub(super) async fn create(dest: PathBuf) -> io::Result<Self> {
        let target = dest.clone();
        let (file, staging) = tokio::task::spawn_blocking(move || stage(&target))
            .await
            .map_err(blocking_failed)??;
        Ok(LocalWrite {
            file: Some(file),
            in_flight: None,
            staging,
            dest,
            written: 0,
            started: 0,
            published: false,
        })
    }

    /// Appends `data` (written on a blocking thread while the caller goes on)
    /// and starts the writeback of every whole range written. Waits for the
    /// previous piece first, and gives its buffer back, emptied, for the next.
    pub(super) async fn write(&mut self, data: Vec<u8>) -> io::Result<Vec<u8>> {
        let spare = self.settle().await?.unwrap_or_default();
        let mut file = self.file.take().ok_or_else(gone)?;
        let (written, mut started) = (self.written + data.len() as u64, self.started);
        self.written = written;
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            let result = file.write_all(&data).map(|()| {
                while written - started >= WRITEBACK_RANGE {
                    start_writeback(&file, started, WRITEBACK_RANGE);
                    started += WRITEBACK_RANGE;
                }
                started
            });
            let mut data = data;
            data.clear();
            (file, result, data)
        }));
        Ok(spare)
    }

    /// Waits for the piece in flight, if any; its buffer.
    async fn settle(&mut self) -> io::Result<Option<Vec<u8>>> {
        let Some(in_flight) = self.in_flight.take() else {
            return Ok(None);
        };
        let (file, result, buffer) = in_flight.await.map_err(blocking_failed)?;
        self.file = Some(file);
        self.started = result?;
        Ok(Some(buffer))
    }

    /// Makes the object durable and visible at its path.
    pub(super) async fn finish(mut self) -> io::Result<()> {
        self.settle().await?;
        let file = self.file.take().ok_or_else(gone)?;
        let (staging, dest) = (self.staging.clone(), self.dest.clone());
        tokio::task::spawn_blocking(move || {
            file.sync_all()?;
            drop(file);
            std::fs::rename(&staging, &dest)?;
            sync_dir(dest.parent().unwrap_or(Path::new(".")))
        })
        .await
        .map_err(blocking_failed)??;
        self.published = true;
        Ok(())
    }
}

impl Drop for LocalWrite {
    /// An object not finished leaves nothing behind.
    fn drop(&mut self) {
        if !self.published
            && let Err(e) = std::fs::remove_file(&self.staging)
            && e.kind() != io::ErrorKind::NotFound
        {
            tracing::warn!(error = %e, "could not remove an abandoned staging file");
        }
    }
}

fn gone() -> io::Error {
    io::Error::other("the object's file was lost by an interrupted write")
}

/// Creates `<dest>#<n>` for the first free `n`, creating missing directories
/// durably (each new directory's parent is synced).
fn stage(dest: &Path) -> io::Result<(File, PathBuf)> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    create_dirs_durably(parent)?;
    for n in 1u32.. {
        let mut staging = dest.as_os_str().to_owned();
        staging.push(format!("#{n}"));
        let staging = PathBuf::from(staging);
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&staging)
        {
            Ok(file) => return Ok((file, staging)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free staging file name"))
}

fn create_dirs_durably(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dirs_durably(parent)?;
    }
    match std::fs::create_dir(dir) {
        Ok(()) => sync_dir(dir.parent().unwrap_or(Path::new("."))),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Asks the kernel to start writing `len` bytes at `offset` to disk without
/// waiting for it (durability still comes from the final `sync_all`).
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid open descriptor and a plain range; the call only starts
    // writeback and touches no memory of ours.
    let rc = unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        )
    };
    if rc != 0 {
        tracing::debug!(error = %io::Error::last_os_error(), "sync_file_range");
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_object_appears_only_when_finished_and_an_abandoned_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("docs/a/content/1");
        let mut w = LocalWrite::create(dest.clone()).await.unwrap();
        let piece = vec![7u8; (WRITEBACK_RANGE as usize) * 2 + 5];
        assert_eq!(w.write(piece.clone()).await.unwrap().capacity(), 0);
        let spare = w.write(b"tail".to_vec()).await.unwrap();
        assert!(
            spare.is_empty() && spare.capacity() >= piece.len(),
            "the previous piece's buffer given back"
        );
        assert!(!dest.exists(), "not visible before finish");
        assert!(dest.with_file_name("1#1").exists(), "staged beside it");
        w.finish().await.unwrap();
        let back = std::fs::read(&dest).unwrap();
        assert_eq!(back.len(), piece.len() + 4);
        assert_eq!(&back[piece.len()..], b"tail");
        assert!(!dest.with_file_name("1#1").exists());

        let other = dir.path().join("docs/a/content/2");
        let mut w = LocalWrite::create(other.clone()).await.unwrap();
        w.write(vec![1u8; 1000]).await.unwrap();
        drop(w);
        let left: Vec<_> = std::fs::read_dir(dir.path().join("docs/a/content"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, vec!["1".to_string()], "abandoned: nothing left");
    }
}
