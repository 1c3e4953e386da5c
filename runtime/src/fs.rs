//! Files on the runtime's I/O backend: io_uring on the loop's ring, or the blocking pool
//! under the readiness fallback (files are never "not ready", so readiness cannot help).
//!
//! ```
//! let rt = runtime::Runtime::builder().build().unwrap();
//! let path = std::env::temp_dir().join(format!("rt-fs-doc-{}", std::process::id()));
//! rt.block_on(async {
//!     runtime::fs::write(&path, b"hello, file".to_vec()).await.unwrap();
//!     let bytes = runtime::fs::read(&path).await.unwrap();
//!     assert_eq!(bytes, b"hello, file");
//! });
//! std::fs::remove_file(&path).unwrap();
//! ```

use std::path::Path;

use modes::io::{IoBuf, IoBufMut, IoFd};

/// An open file. Reads and writes are positional (`read_at`, `write_at`): there is no
/// shared cursor, so tasks may use one file at once.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let path = std::env::temp_dir().join(format!("rt-file-doc-{}", std::process::id()));
/// rt.block_on(async {
///     let f = runtime::fs::File::create(&path).await.unwrap();
///     let (res, _) = f.write_all_at(b"0123456789".to_vec(), 0).await;
///     res.unwrap();
///     let (n, buf) = f.read_at(Vec::with_capacity(3), 7).await;
///     assert_eq!((n.unwrap(), &buf[..]), (3, &b"789"[..]));
/// });
/// std::fs::remove_file(&path).unwrap();
/// ```
#[derive(Debug)]
pub struct File {
    fd: IoFd,
}

impl File {
    /// Opens an existing file for reading.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let err = rt.block_on(runtime::fs::File::open("/no/such/file")).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    /// ```
    pub async fn open(path: impl AsRef<Path>) -> std::io::Result<File> {
        File::open_with(path.as_ref(), libc::O_RDONLY, 0).await
    }

    /// Creates (or truncates) a file for reading and writing, mode 0o666 before umask.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let path = std::env::temp_dir().join(format!("rt-create-doc-{}", std::process::id()));
    /// rt.block_on(runtime::fs::File::create(&path)).unwrap();
    /// assert!(path.exists());
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub async fn create(path: impl AsRef<Path>) -> std::io::Result<File> {
        File::open_with(
            path.as_ref(),
            libc::O_RDWR | libc::O_CREAT | libc::O_TRUNC,
            0o666,
        )
        .await
    }

    /// Opens with raw `open(2)` flags and mode (`O_CLOEXEC` is always added).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let f = rt.block_on(runtime::fs::File::open_with("/dev/null".as_ref(), libc::O_WRONLY, 0));
    /// assert!(f.is_ok());
    /// ```
    pub async fn open_with(path: &Path, flags: i32, mode: u32) -> std::io::Result<File> {
        Ok(File {
            fd: modes::io::open(path, flags, mode).await?,
        })
    }

    /// Reads into `buf` (from its start, up to its capacity) at offset `pos`; returns the
    /// bytes read (0 at end of file) and the buffer.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// rt.block_on(async {
    ///     let f = runtime::fs::File::open("/dev/zero").await.unwrap();
    ///     let (n, buf) = f.read_at(Vec::with_capacity(16), 0).await;
    ///     assert_eq!(n.unwrap(), 16);
    ///     assert!(buf.iter().all(|&b| b == 0));
    /// });
    /// ```
    pub async fn read_at<B: IoBufMut>(&self, buf: B, pos: u64) -> (std::io::Result<usize>, B) {
        self.fd.read_at(buf, pos).await
    }

    /// Writes some of `buf`'s bytes at offset `pos`; returns how many and the buffer.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// rt.block_on(async {
    ///     let f = runtime::fs::File::open_with("/dev/null".as_ref(), libc::O_WRONLY, 0).await.unwrap();
    ///     let (n, _) = f.write_at(vec![1u8; 8], 0).await;
    ///     assert_eq!(n.unwrap(), 8);
    /// });
    /// ```
    pub async fn write_at<B: IoBuf>(&self, buf: B, pos: u64) -> (std::io::Result<usize>, B) {
        self.fd.write_at(buf, pos).await
    }

    /// Writes all of `buf`'s bytes starting at offset `pos`.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let path = std::env::temp_dir().join(format!("rt-wall-doc-{}", std::process::id()));
    /// rt.block_on(async {
    ///     let f = runtime::fs::File::create(&path).await.unwrap();
    ///     let (res, _) = f.write_all_at(vec![7u8; 1 << 20], 0).await;
    ///     res.unwrap();
    /// });
    /// assert_eq!(std::fs::metadata(&path).unwrap().len(), 1 << 20);
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub async fn write_all_at<B: IoBuf>(&self, buf: B, pos: u64) -> (std::io::Result<()>, B) {
        crate::write_all::write_all(buf, "the file accepted no more bytes", |rest, done| {
            self.fd.write_at(rest, pos + done as u64)
        })
        .await
    }

    /// Reads from offset 0 to the end of the file.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let path = std::env::temp_dir().join(format!("rt-rte-doc-{}", std::process::id()));
    /// std::fs::write(&path, vec![3u8; 100_000]).unwrap();
    /// let bytes = rt.block_on(async { runtime::fs::File::open(&path).await?.read_to_end().await }).unwrap();
    /// assert_eq!(bytes.len(), 100_000);
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub async fn read_to_end(&self) -> std::io::Result<Vec<u8>> {
        let mut out: Vec<u8> = Vec::new();
        let mut chunk: Vec<u8> = Vec::with_capacity(64 * 1024);
        loop {
            let (res, buf) = self.fd.read_at(chunk, out.len() as u64).await;
            chunk = buf;
            match res {
                Ok(0) => return Ok(out),
                Ok(_) => out.extend_from_slice(&chunk),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Flushes data and metadata to the device (`fsync`).
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let path = std::env::temp_dir().join(format!("rt-sync-doc-{}", std::process::id()));
    /// rt.block_on(async { runtime::fs::File::create(&path).await?.sync_all().await }).unwrap();
    /// std::fs::remove_file(&path).unwrap();
    /// ```
    pub async fn sync_all(&self) -> std::io::Result<()> {
        self.fd.sync_all().await
    }
}

/// Reads a whole file.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let err = rt.block_on(runtime::fs::read("/no/such/file")).unwrap_err();
/// assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
/// ```
pub async fn read(path: impl AsRef<Path>) -> std::io::Result<Vec<u8>> {
    File::open(path).await?.read_to_end().await
}

/// Creates or truncates a file and writes `data` to it.
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// let path = std::env::temp_dir().join(format!("rt-write-doc-{}", std::process::id()));
/// rt.block_on(runtime::fs::write(&path, "text")).unwrap();
/// assert_eq!(std::fs::read_to_string(&path).unwrap(), "text");
/// std::fs::remove_file(&path).unwrap();
/// ```
pub async fn write(path: impl AsRef<Path>, data: impl IoBuf) -> std::io::Result<()> {
    let f = File::create(path).await?;
    f.write_all_at(data, 0).await.0
}
