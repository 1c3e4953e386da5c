//! File operations: open, positional reads and writes, sync. On io_uring they go to the
//! ring; under the readiness backend (files are never "not ready") they run on the
//! blocking pool, which owns the buffer meanwhile.

use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;

use io_uring::{opcode, types};

use super::buf::{IoBuf, IoBufMut};
use super::fd::{cvt, FdInner, IoFd, Kind};
use super::stream::{cvt_size, result, Write};
use super::uring::{self, Completion};

struct Open {
    _path: CString,
}

impl Completion for Open {
    type Output = std::io::Result<OwnedFd>;

    fn failed(self, e: std::io::Error) -> Self::Output {
        Err(e)
    }

    fn complete(self, res: i32, _flags: u32) -> Self::Output {
        let fd = result(res)? as i32;
        // SAFETY: a fresh descriptor from openat.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// A file opened by a cancelled open is closed, not leaked.
    fn abandoned(self, res: i32, _flags: u32) {
        if res >= 0 {
            // SAFETY: the kernel gave us this descriptor and nobody else has it.
            drop(unsafe { OwnedFd::from_raw_fd(res) });
        }
    }
}

struct ReadAt<B> {
    buf: B,
    _fd: Arc<FdInner>,
}

impl<B: IoBufMut> Completion for ReadAt<B> {
    type Output = (std::io::Result<usize>, B);

    fn failed(self, e: std::io::Error) -> Self::Output {
        (Err(e), self.buf)
    }

    fn complete(mut self, res: i32, _flags: u32) -> Self::Output {
        if res >= 0 {
            // SAFETY: the kernel wrote `res` bytes at the start of the buffer.
            unsafe { self.buf.set_init(res as usize) };
        }
        (result(res), self.buf)
    }
}

struct Fsync {
    _fd: Arc<FdInner>,
}

impl Completion for Fsync {
    type Output = std::io::Result<()>;

    fn failed(self, e: std::io::Error) -> Self::Output {
        Err(e)
    }

    fn complete(self, res: i32, _flags: u32) -> Self::Output {
        result(res).map(drop)
    }
}

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
        let entry = opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), c.as_ptr())
            .flags(flags)
            .mode(mode)
            .build();
        // SAFETY: the entry points into the CString's heap memory, owned by the op data.
        unsafe { uring::run(entry, Open { _path: c }) }.await?
    } else {
        blocking(move || {
            // SAFETY: `c` is a NUL-terminated path that lives across the call.
            cvt(unsafe { libc::open(c.as_ptr(), flags, mode) })
                // SAFETY: a fresh descriptor from open.
                .map(|fd| unsafe { OwnedFd::from_raw_fd(fd) })
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
    pub async fn read_at<B: IoBufMut>(&self, mut buf: B, pos: u64) -> (std::io::Result<usize>, B) {
        match &self.0.kind {
            Kind::Uring => {
                let len = buf.bytes_total().min(u32::MAX as usize) as u32;
                let entry =
                    opcode::Read::new(types::Fd(self.as_raw_fd()), buf.stable_mut_ptr(), len)
                        .offset(pos)
                        .build();
                let data = ReadAt {
                    buf,
                    _fd: self.0.clone(),
                };
                // SAFETY: the entry points into `buf`'s heap memory, owned by `data`.
                unsafe { uring::run(entry, data) }.await
            }
            _ => {
                let fd = self.0.clone();
                let (res, mut buf) = with_buf(buf, move |buf: &mut B| {
                    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd.fd);
                    let (ptr, len) = (buf.stable_mut_ptr(), buf.bytes_total());
                    // SAFETY: writes at most `len` bytes into `buf`, borrowed for the call.
                    cvt_size(unsafe {
                        if pos == u64::MAX {
                            libc::read(raw, ptr.cast(), len)
                        } else {
                            libc::pread(raw, ptr.cast(), len, pos as libc::off_t)
                        }
                    })
                })
                .await;
                if let Ok(n) = res {
                    // SAFETY: the kernel wrote `n` bytes at the start of the buffer.
                    unsafe { buf.set_init(n) };
                }
                (res, buf)
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
            Kind::Uring => {
                let len = buf.bytes_init().min(u32::MAX as usize) as u32;
                let entry = opcode::Write::new(types::Fd(self.as_raw_fd()), buf.stable_ptr(), len)
                    .offset(pos)
                    .build();
                let data = Write {
                    buf,
                    _fd: self.0.clone(),
                };
                // SAFETY: the entry points into `buf`'s heap memory, owned by `data`.
                unsafe { uring::run(entry, data) }.await
            }
            _ => {
                let fd = self.0.clone();
                with_buf(buf, move |buf: &mut B| {
                    let raw = std::os::fd::AsRawFd::as_raw_fd(&fd.fd);
                    let bytes = buf.as_bytes();
                    // SAFETY: reads `bytes`, borrowed for the call.
                    cvt_size(unsafe {
                        if pos == u64::MAX {
                            libc::write(raw, bytes.as_ptr().cast(), bytes.len())
                        } else {
                            libc::pwrite(
                                raw,
                                bytes.as_ptr().cast(),
                                bytes.len(),
                                pos as libc::off_t,
                            )
                        }
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
            Kind::Uring => {
                let entry = opcode::Fsync::new(types::Fd(self.as_raw_fd())).build();
                let data = Fsync {
                    _fd: self.0.clone(),
                };
                // SAFETY: an fsync carries no buffer; `data` keeps the descriptor open.
                unsafe { uring::run(entry, data) }.await
            }
            _ => {
                let fd = self.0.clone();
                blocking(move || {
                    // SAFETY: fsync on a descriptor kept open by `fd`.
                    cvt(unsafe { libc::fsync(std::os::fd::AsRawFd::as_raw_fd(&fd.fd)) }).map(drop)
                })
                .await?
            }
        }
    }
}
