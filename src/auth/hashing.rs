//! Password hashing on a bounded pool (spec §6): Argon2id takes ~50 ms of CPU
//! and 19 MiB of memory per check, so unbounded concurrent logins would take
//! every core and hundreds of MiB. At most `permits` checks run at once; a few
//! more may wait briefly; past that, or after waiting too long, the caller gets
//! 503 `busy` at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;

use crate::error::{Code, Error, Result};

pub struct HashPool {
    permits: Arc<Semaphore>,
    waiting: AtomicUsize,
    max_waiting: usize,
    max_wait: Duration,
}

fn busy() -> Error {
    Error::new(
        Code::Busy,
        "the server is busy checking passwords; try again in a moment",
    )
}

/// Takes a waiting slot back however the wait ends (a cancelled request too).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

impl HashPool {
    /// One permit per core, four waiters per permit, waits of at most 2 s.
    pub fn for_this_machine() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        HashPool::new(cores, 4 * cores, Duration::from_secs(2))
    }

    pub fn new(permits: usize, max_waiting: usize, max_wait: Duration) -> Self {
        HashPool {
            permits: Arc::new(Semaphore::new(permits.max(1))),
            waiting: AtomicUsize::new(0),
            max_waiting,
            max_wait,
        }
    }

    /// Runs `work` (a hash or a check) on a blocking thread once a permit is
    /// free; `busy` (503) when too many wait already or the wait is too long.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T> {
        let permit = match self.permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_waiting {
                    self.waiting.fetch_sub(1, Ordering::AcqRel);
                    return Err(busy());
                }
                let _slot = Waiting(&self.waiting);
                tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned())
                    .await
                    .map_err(|_| busy())?
                    .expect("never closed")
            }
        };
        // The permit goes with the work: a caller that gives up (a dropped
        // request) does not free it while the hash still runs.
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(|e| Error::internal(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn past_the_permits_and_the_queue_callers_are_told_busy() {
        let pool = std::sync::Arc::new(HashPool::new(1, 1, Duration::from_secs(5)));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let running = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(move || rx.recv().ok()).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let queued = {
            let pool = pool.clone();
            tokio::spawn(async move { pool.run(|| 2).await })
        };
        tokio::time::sleep(Duration::from_millis(50)).await;
        let refused = pool.run(|| 3).await.expect_err("the queue is full");
        assert_eq!(
            (refused.kind, refused.code),
            (crate::error::ErrorKind::Unavailable, Code::Busy)
        );
        tx.send(()).unwrap();
        assert!(running.await.unwrap().is_ok());
        assert_eq!(queued.await.unwrap().unwrap(), 2);
        assert_eq!(pool.run(|| 4).await.unwrap(), 4);
    }
}
