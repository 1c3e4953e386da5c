//! UDP: [`UdpSocket`].

use std::net::{SocketAddr, ToSocketAddrs};

use modes::io::{IoBuf, IoBufMut, IoFd};

/// A UDP socket (asyncio's `create_datagram_endpoint`).
///
/// ```
/// use runtime::net::UdpSocket;
/// let rt = runtime::Runtime::builder().build().unwrap();
/// rt.block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
///     let (n, _) = a.send_to(b"hi".to_vec(), b.local_addr().unwrap()).await;
///     assert_eq!(n.unwrap(), 2);
///     let (res, buf) = b.recv_from(Vec::with_capacity(64)).await;
///     let (len, from) = res.unwrap();
///     assert_eq!((&buf[..len], from), (&b"hi"[..], a.local_addr().unwrap()));
/// });
/// ```
#[derive(Debug)]
pub struct UdpSocket {
    fd: IoFd,
}

impl UdpSocket {
    /// Binds a UDP socket to `addr`.
    ///
    /// ```
    /// let rt = runtime::Runtime::builder().build().unwrap();
    /// let s = rt.block_on(runtime::net::UdpSocket::bind("127.0.0.1:0")).unwrap();
    /// assert!(s.local_addr().unwrap().port() > 0);
    /// ```
    pub async fn bind(addr: impl ToSocketAddrs) -> std::io::Result<UdpSocket> {
        let addrs = super::resolve(addr).await?;
        super::each_addr(addrs, |a| async move {
            let fd = IoFd::socket(super::domain(&a), libc::SOCK_DGRAM)?;
            fd.bind(a)?;
            Ok(UdpSocket { fd })
        })
        .await
    }

    /// Sends one datagram to `addr`.
    ///
    /// ```
    /// # let rt = runtime::Runtime::builder().build().unwrap();
    /// # rt.block_on(async {
    /// let s = runtime::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// let (n, buf) = s.send_to(vec![0u8; 10], s.local_addr().unwrap()).await;
    /// assert_eq!((n.unwrap(), buf.len()), (10, 10));
    /// # });
    /// ```
    pub async fn send_to<B: IoBuf>(&self, buf: B, addr: SocketAddr) -> (std::io::Result<usize>, B) {
        self.fd.send_to(buf, addr).await
    }

    /// Receives one datagram into `buf`; returns its length and sender. A datagram
    /// larger than the buffer's capacity is truncated, as with `recvfrom`.
    ///
    /// ```
    /// # let rt = runtime::Runtime::builder().build().unwrap();
    /// # rt.block_on(async {
    /// let s = runtime::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    /// let _ = s.send_to(b"12345".to_vec(), s.local_addr().unwrap()).await;
    /// let (res, buf) = s.recv_from(Vec::with_capacity(3)).await;
    /// assert_eq!(res.unwrap().0, 3);
    /// assert_eq!(buf, b"123");
    /// # });
    /// ```
    pub async fn recv_from<B: IoBufMut>(
        &self,
        buf: B,
    ) -> (std::io::Result<(usize, SocketAddr)>, B) {
        self.fd.recv_from(buf).await
    }

    /// The address the socket is bound to.
    ///
    /// ```
    /// # let rt = runtime::Runtime::builder().build().unwrap();
    /// let s = rt.block_on(runtime::net::UdpSocket::bind("127.0.0.1:0")).unwrap();
    /// assert!(s.local_addr().unwrap().ip().is_loopback());
    /// ```
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.fd.local_addr()
    }
}
