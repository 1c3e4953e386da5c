//! Socket operations on an [`IoFd`]: connect, send_to, recv_from (accept is in
//! `accept.rs`).

use std::net::SocketAddr;

use rustix::net::{RecvFlags, SendFlags};
use socket2::{SockAddr, SockRef};

use super::buf::{self, IoBuf, IoBufMut};
use super::fd::{IoFd, Kind};
use super::ready::Direction;
use super::uring::op;

impl IoFd {
    /// Connects the socket to `addr`.
    ///
    /// Cancel-safe: dropping the future cancels the attempt; the socket stays open until
    /// the kernel has let go of it, and is closed with the last `IoFd` clone.
    ///
    /// ```
    /// use modes::io::IoFd;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// sched.block_on(async {
    ///     let c = IoFd::socket(libc::AF_INET, libc::SOCK_STREAM).unwrap();
    ///     // Nobody listens on port 1: refused.
    ///     let e = c.connect("127.0.0.1:1".parse().unwrap()).await.unwrap_err();
    ///     assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    /// });
    /// ```
    pub async fn connect(&self, addr: SocketAddr) -> std::io::Result<()> {
        super::check_runtime()?;
        match &self.0.kind {
            Kind::Uring => op::wait(op::connect::connect(self.0.clone(), addr)).await,
            Kind::Ready(src) => {
                let sock = SockRef::from(&self.0.fd);
                match sock.connect(&SockAddr::from(addr)) {
                    Ok(()) => return Ok(()),
                    Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
                    Err(e) => return Err(e),
                }
                src.io(Direction::Write, || {
                    if let Some(e) = SockRef::from(&self.0.fd).take_error()? {
                        return Err(e);
                    }
                    // Writable with no error: connected, unless still in progress.
                    match self.peer_addr() {
                        Ok(_) => Ok(()),
                        Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => {
                            Err(std::io::ErrorKind::WouldBlock.into())
                        }
                        Err(e) => Err(e),
                    }
                })
                .await
            }
            Kind::Blocking => Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "connect on a file",
            )),
        }
    }

    /// Sends one datagram to `addr`; returns the bytes sent and the buffer.
    ///
    /// ```
    /// use modes::io::IoFd;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// sched.block_on(async {
    ///     let a = IoFd::socket(libc::AF_INET, libc::SOCK_DGRAM).unwrap();
    ///     a.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let b = IoFd::socket(libc::AF_INET, libc::SOCK_DGRAM).unwrap();
    ///     b.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let (n, _) = a.send_to(b"hi".to_vec(), b.local_addr().unwrap()).await;
    ///     assert_eq!(n.unwrap(), 2);
    ///     let (r, buf) = b.recv_from(Vec::with_capacity(16)).await;
    ///     assert_eq!(r.unwrap(), (2, a.local_addr().unwrap()));
    ///     assert_eq!(buf, b"hi");
    /// });
    /// ```
    pub async fn send_to<B: IoBuf>(
        &self,
        mut buf: B,
        addr: SocketAddr,
    ) -> (std::io::Result<usize>, B) {
        if let Err(e) = super::check_runtime() {
            return (Err(e), buf);
        }
        match &self.0.kind {
            Kind::Uring => op::wait(op::msg::send_to(self.0.clone(), buf, addr)).await,
            Kind::Ready(src) => {
                let fd = &self.0;
                let b = &mut buf;
                let res = src
                    .io(Direction::Write, move || {
                        Ok(rustix::net::sendto(
                            &fd.fd,
                            b.as_bytes(),
                            SendFlags::NOSIGNAL,
                            &addr,
                        )?)
                    })
                    .await;
                (res, buf)
            }
            Kind::Blocking => (
                Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "send_to on a file",
                )),
                buf,
            ),
        }
    }

    /// Receives one datagram into `buf`; returns its size and sender, and the buffer.
    ///
    /// A datagram that arrives for a receive whose future was dropped is discarded, as
    /// a datagram socket may drop any datagram.
    ///
    /// ```
    /// use modes::io::IoFd;
    /// let (sched, _) = modes::Scheduler::single(&modes::Config::default());
    /// sched.block_on(async {
    ///     let a = IoFd::socket(libc::AF_INET, libc::SOCK_DGRAM).unwrap();
    ///     a.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    ///     let (_, _) = a.send_to(b"me".to_vec(), a.local_addr().unwrap()).await;
    ///     let (r, buf) = a.recv_from(Vec::with_capacity(8)).await;
    ///     assert_eq!(r.unwrap().0, 2);
    ///     assert_eq!(buf, b"me");
    /// });
    /// ```
    pub async fn recv_from<B: IoBufMut>(
        &self,
        mut buf: B,
    ) -> (std::io::Result<(usize, SocketAddr)>, B) {
        if let Err(e) = super::check_runtime() {
            return (Err(e), buf);
        }
        match &self.0.kind {
            Kind::Uring => op::wait(op::msg::recv_from(self.0.clone(), buf)).await,
            Kind::Ready(src) => {
                let fd = &self.0;
                let b = &mut buf;
                let mut from = None;
                let from_ref = &mut from;
                let res = src
                    .io(Direction::Read, move || {
                        buf::read_into(&mut *b, |dst| {
                            let ((init, _), _, addr) =
                                rustix::net::recvfrom(&fd.fd, dst, RecvFlags::empty())?;
                            *from_ref = addr;
                            Ok(init)
                        })
                    })
                    .await;
                let out = res.and_then(|n| {
                    let addr = from.ok_or_else(|| {
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "a datagram with no sender address",
                        )
                    })?;
                    let addr = SocketAddr::try_from(addr).map_err(|_| {
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            "unsupported address family",
                        )
                    })?;
                    Ok((n, addr))
                });
                (out, buf)
            }
            Kind::Blocking => (
                Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    "recv_from on a file",
                )),
                buf,
            ),
        }
    }
}
