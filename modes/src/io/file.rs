//! File operations: open, positional reads and writes, sync. On io_uring they go to the
//! ring; under the readiness backend (files are never "not ready") they run on the
//! blocking pool, which owns the buffer meanwhile.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use rustix::fs::{Mode, OFlags};

use super::buf::{self, IoBuf, IoBufMut};
use super::fd::{IoFd, Kind};
use super::uring::op;

fn join_error(e: crate::JoinError) -> std::io::Error {
    std::io::Error::other(format!("blocking I/O job failed: {e}"))
}

/// Runs `f` on the current runtime's blocking pool.
async fn blocking<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> std::io::Result<R> {
    let sched =
        crate::context::current().ok_or_else(|| std::io::Error::other("I/O outside a runtime"))?;
    sched.spawn_blocking(f).await.map_err(join_error)
}

/// Runs `f` on the blocking pool with `buf`, which stays in a slot shared with the job:
/// if the awaiting future is dropped, the job still owns the buffer until it returns.
async fn with_buf<B: Send + 'static, R: Send + 'static>(
    buf: B,
    f: impl FnOnce(&mut B) -> std::io::Result<R> + Send + 'static,
) -> (std::io::Result<R>, B) {
    let slot = Arc::new(crate::loom::Mutex::new(Some(buf)));
    let job_slot = slot.clone();
    let res = blocking(move || {
        let mut g = job_slot.lock();
        match g.as_mut() {
            Some(b) => f(b),
            None => Err(std::io::Error::other("buffer already taken")),
        }
    })
    .await;
    // The job has returned (or never ran): the buffer is back in the slot.
    let buf = slot
        .lock()
        .take()
        .expect("only the awaiting future takes the buffer out");
    (res.and_then(|r| r), buf)
}

/// Opens `path` with `open(2)` `flags` (`O_CLOEXEC` is added) and `mode`, on the current
/// runtime's backend.
///
/// ```
/// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
/// sched.block_on(async {
///     let f = modes::io::open("/dev/null".as_ref(), libc::O_RDONLY, 0).await.unwrap();
///     let (n, _) = f.read_at(Vec::with_capacity(8), 0).await;
///     assert_eq!(n.unwrap(), 0);
///     let e = modes::io::open("/no/such/file".as_ref(), libc::O_RDONLY, 0).await.unwrap_err();
///     assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
/// });
/// ```
pub async fn open(path: &Path, flags: i32, mode: u32) -> std::io::Result<IoFd> {
    let c = CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "path contains a NUL byte")
    })?;
    let flags = flags | libc::O_CLOEXEC;
    let uring =
        super::current_backend().ok_or_else(|| std::io::Error::other("I/O outside a runtime"))?;
    let fd = if uring {
        op::wait(op::open::open(c, flags, mode)).await?
    } else {
        blocking(move || {
            rustix::fs::open(
                c.as_c_str(),
                OFlags::from_bits_retain(flags as u32),
                Mode::from_raw_mode(mode),
            )
        })
        .await??
    };
    IoFd::new(fd, false)
}

impl IoFd {
    /// Reads into `buf` (from its start, up to its capacity) at byte offset `pos` of the
    /// file; returns the bytes read (0 at end of file) and the buffer.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let path = std::env::temp_dir().join(format!("modes-read-at-{}", std::process::id()));
    /// std::fs::write(&path, b"0123456789").unwrap();
    /// sched.block_on(async {
    ///     let f = modes::io::open(&path, libc::O_RDONLY, 0).await.unwrap();
    ///     let (n, buf) = f.read_at(Vec::with_capacity(4), 3).await;
    ///     assert_eq!((n.unwrap(), &buf[..]), (4, &b"3456"[..]));
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub async fn read_at<B: IoBufMut>(&self, buf: B, pos: u64) -> (std::io::Result<usize>, B) {
        match &self.0.kind {
            Kind::Uring => op::wait(op::read::read_at(self.0.clone(), buf, pos)).await,
            _ => {
                let fd = self.0.clone();
                with_buf(buf, move |buf: &mut B| {
                    buf::read_into(buf, |dst| {
                        let (init, _) = if pos == u64::MAX {
                            rustix::io::read(&fd.fd, dst)?
                        } else {
                            rustix::io::pread(&fd.fd, dst, pos)?
                        };
                        Ok(init)
                    })
                })
                .await
            }
        }
    }

    /// Writes `buf`'s bytes at byte offset `pos` of the file; returns the bytes written
    /// and the buffer.
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let path = std::env::temp_dir().join(format!("modes-write-at-{}", std::process::id()));
    /// sched.block_on(async {
    ///     let f = modes::io::open(&path, libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC, 0o600).await.unwrap();
    ///     let (n, _) = f.write_at(b"hello".to_vec(), 0).await;
    ///     assert_eq!(n.unwrap(), 5);
    ///     f.sync_all().await.unwrap();
    /// });
    /// assert_eq!(std::fs::read(&path).unwrap(), b"hello");
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub async fn write_at<B: IoBuf>(&self, buf: B, pos: u64) -> (std::io::Result<usize>, B) {
        match &self.0.kind {
            Kind::Uring => op::wait(op::write::write_at(self.0.clone(), buf, pos)).await,
            _ => {
                let fd = self.0.clone();
                with_buf(buf, move |buf: &mut B| {
                    let bytes = buf.as_bytes();
                    Ok(if pos == u64::MAX {
                        rustix::io::write(&fd.fd, bytes)?
                    } else {
                        rustix::io::pwrite(&fd.fd, bytes, pos)?
                    })
                })
                .await
            }
        }
    }

    /// Flushes the file's data and metadata to the device (`fsync`).
    ///
    /// ```
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// let path = std::env::temp_dir().join(format!("modes-sync-{}", std::process::id()));
    /// sched.block_on(async {
    ///     let f = modes::io::open(&path, libc::O_WRONLY | libc::O_CREAT, 0o600).await.unwrap();
    ///     f.sync_all().await.unwrap();
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub async fn sync_all(&self) -> std::io::Result<()> {
        match &self.0.kind {
            Kind::Uring => op::wait(op::fsync::fsync(self.0.clone())).await,
            _ => {
                let fd = self.0.clone();
                blocking(move || rustix::fs::fsync(&fd.fd).map_err(std::io::Error::from)).await?
            }
        }
    }
}
