//! TCP and UDP on the runtime's I/O backend: each loop's io_uring ring, or the readiness
//! fallback (see [`Runtime::io_backend`](crate::Runtime::io_backend)).
//!
//! Operations take owned buffers and give them back with the result (`(Result, buf)`),
//! so a cancelled operation never leaves the kernel writing into freed memory;
//! [`TcpStream`] also implements `futures_io::AsyncRead` and `AsyncWrite`, so crates
//! written against those traits run on it.
//!
//! ```
//! use runtime::net::{TcpListener, TcpStream};
//! let rt = runtime::Runtime::builder().build().unwrap();
//! rt.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     let server = runtime::spawn(async move {
//!         let (conn, _) = listener.accept().await.unwrap();
//!         let (n, buf) = conn.read(Vec::with_capacity(64)).await;
//!         let (res, _) = conn.write_all(buf).await; // echo it back
//!         res.unwrap();
//!         n.unwrap()
//!     });
//!     let client = TcpStream::connect(addr).await.unwrap();
//!     let (res, _) = client.write_all(b"hello".to_vec()).await;
//!     res.unwrap();
//!     let (n, buf) = client.read(Vec::with_capacity(64)).await;
//!     assert_eq!(&buf[..n.unwrap()], b"hello");
//!     assert_eq!(server.await.unwrap(), 5);
//! });
//! ```

mod tcp;
mod udp;

pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;

use std::net::{SocketAddr, ToSocketAddrs};

/// Resolves `addr` as std does: an IP:port literal at once, a host name through the
/// system resolver, on the calling thread.
pub(crate) async fn resolve(addr: impl ToSocketAddrs) -> std::io::Result<Vec<SocketAddr>> {
    let addrs: Vec<SocketAddr> = match addr.to_socket_addrs() {
        Ok(a) => a.collect(),
        Err(e) => return Err(e),
    };
    if addrs.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the address resolved to nothing",
        ));
    }
    Ok(addrs)
}

/// Runs `f` on each address until one succeeds; the last error otherwise.
pub(crate) async fn each_addr<T, F, Fut>(addrs: Vec<SocketAddr>, mut f: F) -> std::io::Result<T>
where
    F: FnMut(SocketAddr) -> Fut,
    Fut: std::future::Future<Output = std::io::Result<T>>,
{
    let mut last = None;
    for a in addrs {
        match f(a).await {
            Ok(v) => return Ok(v),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no address")))
}

pub(crate) fn domain(addr: &SocketAddr) -> i32 {
    match addr {
        SocketAddr::V4(_) => libc::AF_INET,
        SocketAddr::V6(_) => libc::AF_INET6,
    }
}
