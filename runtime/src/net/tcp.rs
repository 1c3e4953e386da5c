//! TCP: [`TcpListener`] and [`TcpStream`].

use std::net::{Shutdown, SocketAddr, ToSocketAddrs};
use std::pin::Pin;
use std::task::{Context, Poll};

use modes::io::{IoBuf, IoBufMut, IoFd, PollState};

/// A TCP socket listening for connections (asyncio's `start_server`).
///
/// ```
/// let rt = runtime::Runtime::builder().build().unwrap();
/// rt.block_on(async {
///     let l = runtime::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     assert!(l.local_addr().unwrap().port() > 0);
/// });
/// ```
#[derive(Debug)]
pub struct TcpListener {
    fd: IoFd,
}

impl TcpListener {
    /// Binds to `addr` and listens, backlog 1024.
    ///
    /// `SO_REUSEADDR` is set, as tokio (mio) and std do: a restarted server binds its
    /// port at once, although connections of the previous one linger in `TIME_WAIT`.
    /// (Two listeners on one port at once are still refused.)
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let err = rt.block_on(runtime::net::TcpListener::bind("not an address")).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// rt.block_on(async {
    ///     let l = runtime::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     let e = runtime::net::TcpListener::bind(addr).await.unwrap_err();
    ///     assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse); // while `l` listens
    ///     drop(l);
    ///     assert!(runtime::net::TcpListener::bind(addr).await.is_ok());
    /// });
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> std::io::Result<TcpListener> {
        use socket2::{Domain, Socket, Type};
        let addrs = super::resolve(addr).await?;
        super::each_addr(addrs, |a| async move {
            // socket2 opens it close-on-exec.
            let sock = Socket::new(Domain::for_address(a), Type::STREAM, None)?;
            sock.set_reuse_address(true)?;
            sock.bind(&a.into())?;
            sock.listen(1024)?;
            Ok(TcpListener {
                fd: IoFd::new(sock.into(), true)?,
            })
        })
        .await
    }

    /// Waits for a connection; returns the connected stream and the peer's address.
    ///
    /// Cancel-safe, as tokio's: dropping an `accept` (a `timeout` around it, a `select`)
    /// loses no connection. Under io_uring the kernel may already have accepted one for
    /// the dropped future; it is kept on the listener and returned by the next `accept`
    /// (or by one already waiting), as a cancelled read's bytes wait for the next read.
    /// Under the readiness backend a dropped accept has taken nothing. Connections still
    /// kept when the listener is dropped are closed with it.
    ///
    /// Polled where no runtime runs (after its runtime was dropped, say), it fails with
    /// an error saying so, under either backend.
    ///
    /// ```
    /// use runtime::net::{TcpListener, TcpStream};
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// rt.block_on(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let (s, peer) = l.accept().await.unwrap();
    ///     assert_eq!(peer, c.local_addr().unwrap());
    ///     assert_eq!(s.peer_addr().unwrap(), peer);
    ///
    ///     // An accept cut short by a timeout loses nothing: if it did not return the
    ///     // client, the next accept does.
    ///     let c2 = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let (_s2, peer2) = match runtime::timeout(std::time::Duration::from_micros(1), l.accept()).await {
    ///         Ok(got) => got.unwrap(),
    ///         Err(_) => l.accept().await.unwrap(),
    ///     };
    ///     assert_eq!(peer2, c2.local_addr().unwrap());
    /// });
    /// ```
    pub async fn accept(&self) -> std::io::Result<(TcpStream, SocketAddr)> {
        let (fd, addr) = self.fd.accept().await?;
        Ok((TcpStream::from_fd(fd), addr))
    }

    /// The address the listener is bound to.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let l = rt.block_on(runtime::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    /// assert!(l.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.fd.local_addr()
    }
}

impl Drop for TcpListener {
    /// Closes the listener: when `drop` returns, its port refuses connections and can be
    /// bound again (by a listener with `SO_REUSEADDR`, as [`bind`](TcpListener::bind)
    /// makes), and connections not yet accepted are closed; this holds even while a
    /// cancelled accept has not been reaped yet (it keeps the descriptor open a little
    /// longer, not listening). Dropping the runtime drops its tasks, and with them the
    /// listeners they own, so the same holds when a server's runtime is dropped.
    ///
    /// A process that ends without dropping its listeners (`std::process::exit`, a
    /// signal) leaves each one with an accept in flight listening until the kernel
    /// has torn the io_uring ring down: measured here, 4-12 ms after the exit.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// rt.block_on(async {
    ///     let l = runtime::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     // An accept cut short by a timeout, then the listener dropped.
    ///     let r = runtime::timeout(std::time::Duration::from_millis(1), l.accept()).await;
    ///     assert!(r.is_err());
    ///     drop(l);
    ///     let e = std::net::TcpStream::connect(addr).unwrap_err();
    ///     assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    /// });
    /// ```
    fn drop(&mut self) {
        self.fd.release_listener();
    }
}

/// A TCP connection (asyncio's `StreamReader`/`StreamWriter` pair).
///
/// Reads and writes take owned buffers; `&TcpStream` is enough, so one task may read
/// while another writes. It also implements `futures_io::AsyncRead`/`AsyncWrite`; the
/// owned-buffer `read`/`write`/`write_all` methods shadow the extension traits' methods
/// of the same names, so call those as `AsyncWriteExt::write_all(&mut stream, bytes)`.
///
/// ```
/// use runtime::net::{TcpListener, TcpStream};
/// let rt = runtime::Runtime::builder().build().unwrap();
/// rt.block_on(async {
///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
///     let (s, _) = l.accept().await.unwrap();
///     let (res, _) = c.write_all(b"ping".to_vec()).await;
///     res.unwrap();
///     let (n, buf) = s.read(vec![0; 16]).await;
///     assert_eq!(&buf[..n.unwrap()], b"ping");
/// });
/// ```
pub struct TcpStream {
    fd: IoFd,
    poll: PollState,
}

impl std::fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TcpStream").field("fd", &self.fd).finish()
    }
}

impl TcpStream {
    fn from_fd(fd: IoFd) -> TcpStream {
        TcpStream {
            fd,
            poll: PollState::default(),
        }
    }

    /// Connects to `addr`, trying each address it resolves to.
    ///
    /// Cancel-safe: dropping the future abandons the attempt and closes the socket once
    /// the kernel has let go of it.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let err = rt.block_on(runtime::net::TcpStream::connect("127.0.0.1:1")).unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused);
    /// ```
    pub async fn connect(addr: impl ToSocketAddrs) -> std::io::Result<TcpStream> {
        let addrs = super::resolve(addr).await?;
        super::each_addr(addrs, |a| async move {
            let fd = IoFd::socket(super::domain(&a), libc::SOCK_STREAM)?;
            fd.connect(a).await?;
            Ok(TcpStream::from_fd(fd))
        })
        .await
    }

    /// Reads into `buf` (from its start, up to its capacity); returns the bytes read
    /// (0: the peer closed its side) and the buffer, whose length is set to them.
    ///
    /// Cancel-safe: if the future is dropped after the kernel received bytes for it,
    /// the next read returns those bytes first; nothing is lost or reordered.
    ///
    /// ```
    /// # use runtime::net::{TcpListener, TcpStream};
    /// # let rt = runtime::Runtime::builder().build().unwrap();
    /// # rt.block_on(async {
    /// # let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// # let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// # let (s, _) = l.accept().await.unwrap();
    /// drop(c); // the peer closes
    /// let (n, buf) = s.read(Vec::with_capacity(8)).await;
    /// assert_eq!(n.unwrap(), 0);
    /// assert!(buf.is_empty());
    /// # });
    /// ```
    pub async fn read<B: IoBufMut>(&self, buf: B) -> (std::io::Result<usize>, B) {
        self.fd.read(buf).await
    }

    /// Writes some of `buf`'s bytes; returns how many and the buffer.
    ///
    /// ```
    /// # use runtime::net::{TcpListener, TcpStream};
    /// # let rt = runtime::Runtime::builder().build().unwrap();
    /// # rt.block_on(async {
    /// # let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// let (n, _) = c.write(b"abc".to_vec()).await;
    /// assert_eq!(n.unwrap(), 3);
    /// # });
    /// ```
    pub async fn write<B: IoBuf>(&self, buf: B) -> (std::io::Result<usize>, B) {
        self.fd.write(buf).await
    }

    /// Writes all of `buf`'s bytes (several writes if need be).
    ///
    /// Not cancel-safe in what reaches the peer: if dropped midway, some prefix of the
    /// bytes may have been sent.
    ///
    /// ```
    /// # use runtime::net::{TcpListener, TcpStream};
    /// # let rt = runtime::Runtime::builder().build().unwrap();
    /// # rt.block_on(async {
    /// # let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// let (res, buf) = c.write_all(vec![1u8; 100_000]).await;
    /// # let _ = (res, buf);
    /// # });
    /// ```
    pub async fn write_all<B: IoBuf>(&self, buf: B) -> (std::io::Result<()>, B) {
        crate::write_all::write_all(buf, "the peer stopped accepting bytes", |rest, _| {
            self.fd.write(rest)
        })
        .await
    }

    /// Shuts down the read side, the write side (the peer reads end of stream) or both.
    ///
    /// ```
    /// # use runtime::net::{TcpListener, TcpStream};
    /// # let rt = runtime::Runtime::builder().build().unwrap();
    /// # rt.block_on(async {
    /// # let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// let (s, _) = l.accept().await.unwrap();
    /// c.shutdown(std::net::Shutdown::Write).unwrap();
    /// assert_eq!(s.read(Vec::with_capacity(4)).await.0.unwrap(), 0);
    /// # });
    /// ```
    pub fn shutdown(&self, how: Shutdown) -> std::io::Result<()> {
        self.fd.shutdown(how)
    }

    /// Sets `TCP_NODELAY` (no Nagle delay for small writes).
    ///
    /// ```
    /// # let rt = runtime::Runtime::builder().build().unwrap();
    /// # rt.block_on(async {
    /// # let l = runtime::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let c = runtime::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// c.set_nodelay(true).unwrap();
    /// assert!(c.nodelay().unwrap());
    /// # });
    /// ```
    pub fn set_nodelay(&self, on: bool) -> std::io::Result<()> {
        self.fd.socket_ref().set_tcp_nodelay(on)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// ```
    /// # let rt = runtime::Runtime::builder().build().unwrap();
    /// # rt.block_on(async {
    /// # let l = runtime::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let c = runtime::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// assert!(!c.nodelay().unwrap()); // off by default
    /// # });
    /// ```
    pub fn nodelay(&self) -> std::io::Result<bool> {
        self.fd.socket_ref().tcp_nodelay()
    }

    /// The peer's address.
    ///
    /// ```
    /// # let rt = runtime::Runtime::builder().build().unwrap();
    /// # rt.block_on(async {
    /// let l = runtime::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let c = runtime::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// assert_eq!(c.peer_addr().unwrap(), l.local_addr().unwrap());
    /// # });
    /// ```
    pub fn peer_addr(&self) -> std::io::Result<SocketAddr> {
        self.fd.peer_addr()
    }

    /// This end's address.
    ///
    /// ```
    /// # let rt = runtime::Runtime::builder().build().unwrap();
    /// # rt.block_on(async {
    /// let l = runtime::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    /// let c = runtime::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    /// assert!(c.local_addr().unwrap().ip().is_loopback());
    /// # });
    /// ```
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.fd.local_addr()
    }
}

impl TcpStream {
    /// `AsyncRead::poll_read` into memory that need not be initialised, for adapters to
    /// I/O traits that hand out such memory (hyper's `rt::Read` and its
    /// `ReadBufCursor`, tokio's `ReadBuf`): `Ready(Ok(n))` means the first `n` bytes
    /// of `buf` now hold what was read, and nothing else in `buf` was written. The
    /// adapter then need not zero-fill the memory first, which `futures_io::AsyncRead`
    /// (a `&mut [u8]`) would make it do on every read. Cancel-safe as `poll_read` is.
    ///
    /// ```
    /// use std::future::poll_fn;
    /// use std::mem::MaybeUninit;
    /// use std::pin::Pin;
    /// use runtime::net::{TcpListener, TcpStream};
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// rt.block_on(async {
    ///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let (mut s, _) = l.accept().await.unwrap();
    ///     let (res, _) = c.write_all(b"ping".to_vec()).await;
    ///     res.unwrap();
    ///     let mut buf = [MaybeUninit::<u8>::uninit(); 16];
    ///     let n = poll_fn(|cx| Pin::new(&mut s).poll_read_uninit(cx, &mut buf)).await.unwrap();
    ///     // SAFETY: the read initialised the first `n` bytes.
    ///     let got: Vec<u8> = buf[..n].iter().map(|b| unsafe { b.assume_init() }).collect();
    ///     assert_eq!(got, b"ping");
    /// });
    /// ```
    #[doc(alias = "ReadBuf")]
    pub fn poll_read_uninit(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [std::mem::MaybeUninit<u8>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        this.fd.poll_read_uninit(cx, buf, &mut this.poll)
    }
}

impl futures_io::AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        this.fd.poll_read(cx, buf, &mut this.poll)
    }
}

impl futures_io::AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        this.fd.poll_write(cx, buf, &mut this.poll)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        // Writes go straight to the socket: nothing is buffered here.
        Poll::Ready(Ok(()))
    }

    /// Shuts the write side down. A connection the peer has already reset has nothing
    /// left to shut (`shutdown` says `NotConnected`): that is `Ok` here, as in tokio's
    /// `poll_shutdown`, so a server closing a connection its client dropped with a reset
    /// (what `wrk` does with answers still on the way) does not report a failure.
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(match self.shutdown(Shutdown::Write) {
            Err(e) if e.kind() == std::io::ErrorKind::NotConnected => Ok(()),
            done => done,
        })
    }
}
