//! The process's memory as glibc's allocator keeps it: tuning at start, and
//! handing freed memory back to the system while serving.

/// How often freed heap memory is returned to the system.
const TRIM_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// Argon2id takes 19 MiB per password check. glibc's malloc raises its mmap
/// threshold after such a block is freed and then keeps later ones in per-thread
/// arenas for good, so a few logins on different threads would pin tens of MiB.
/// A fixed threshold keeps blocks of 4 MiB and more in their own mappings, which
/// are returned to the system when freed.
///
/// glibc also gives threads up to 8 arenas per core, and filing touches many
/// threads (HTTP workers, the blocking pool of file I/O, the index and log
/// writers): memory freed in one arena is not reused by another, so the heap
/// grew to 341 MiB after filing 30,000 records where two arenas hold 140 MiB
/// (dangan-bench, same run). Two arenas suit a 2-worker server.
///
/// # Safety
/// Call once, before any other thread exists.
pub unsafe fn tune_allocator() {
    // SAFETY: mallopt only changes allocator tuning; the caller guarantees no
    // other thread allocates meanwhile.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 * 1024 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// glibc returns freed memory to the system only from the top of a heap; the
/// free pages in between stay resident. Filing at full speed frees a great deal
/// of short-lived memory (request bodies, index documents waiting for their
/// commit), so every `TRIM_EVERY` (30 s) a thread asks glibc to release free pages
/// from every arena (`malloc_trim`).
pub fn spawn_trimmer() {
    let spawned = std::thread::Builder::new()
        .name("malloc-trim".into())
        .spawn(|| {
            loop {
                std::thread::sleep(TRIM_EVERY);
                // SAFETY: malloc_trim is thread-safe; it takes each arena's lock.
                unsafe { libc::malloc_trim(0) };
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the memory trimmer");
    }
}
