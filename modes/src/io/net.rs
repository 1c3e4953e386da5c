//! Socket operations on an [`IoFd`]: connect, send_to, recv_from (accept is in
//! `accept.rs`).

use std::net::SocketAddr;
use std::sync::Arc;

use io_uring::{opcode, types};

use super::buf::{IoBuf, IoBufMut};
use super::fd::{FdInner, IoFd, Kind};
use super::ready::Direction;
use super::sockaddr::RawAddr;
use super::stream::{cvt_size, result, SendPtr};
use super::uring::{self, Completion};

struct Connect {
    _addr: Box<RawAddr>,
    _fd: Arc<FdInner>,
}

impl Completion for Connect {
    type Output = std::io::Result<()>;

    fn failed(self, e: std::io::Error) -> Self::Output {
        Err(e)
    }

    fn complete(self, res: i32, _flags: u32) -> Self::Output {
        result(res).map(drop)
    }
}

/// A `msghdr` with its iovec and address, boxed together at a stable address.
struct Msg {
    hdr: libc::msghdr,
    iov: libc::iovec,
    addr: RawAddr,
}

// SAFETY: the raw pointers in `hdr` and `iov` point into this same box and into the
// buffer owned beside it in the operation's data; they are only dereferenced by the
// kernel, never by Rust code on another thread.
unsafe impl Send for Msg {}

struct SendTo<B> {
    _msg: Box<Msg>,
    buf: B,
    _fd: Arc<FdInner>,
}

impl<B: IoBuf> Completion for SendTo<B> {
    type Output = (std::io::Result<usize>, B);

    fn failed(self, e: std::io::Error) -> Self::Output {
        (Err(e), self.buf)
    }

    fn complete(self, res: i32, _flags: u32) -> Self::Output {
        (result(res), self.buf)
    }
}

struct RecvFrom<B> {
    msg: Box<Msg>,
    buf: B,
    _fd: Arc<FdInner>,
}

impl<B: IoBufMut> Completion for RecvFrom<B> {
    type Output = (std::io::Result<(usize, SocketAddr)>, B);

    fn failed(self, e: std::io::Error) -> Self::Output {
        (Err(e), self.buf)
    }

    fn complete(mut self, res: i32, _flags: u32) -> Self::Output {
        let out = result(res).and_then(|n| {
            // SAFETY: the kernel wrote `n` bytes at the start of the buffer.
            unsafe { self.buf.set_init(n) };
            let mut addr = self.msg.addr.storage;
            addr.ss_family = self.msg.addr.storage.ss_family;
            Ok((n, super::sockaddr::to_addr(&addr)?))
        });
        (out, self.buf)
    }
}

fn msg(ptr: *mut u8, len: usize, addr: RawAddr) -> Box<Msg> {
    let mut m = Box::new(Msg {
        // SAFETY: an all-zero msghdr is valid (no name, no iovecs, no control).
        hdr: unsafe { std::mem::zeroed() },
        iov: libc::iovec {
            iov_base: ptr.cast(),
            iov_len: len,
        },
        addr,
    });
    m.hdr.msg_name = (&mut m.addr.storage as *mut libc::sockaddr_storage).cast();
    m.hdr.msg_namelen = m.addr.len;
    m.hdr.msg_iov = &mut m.iov;
    m.hdr.msg_iovlen = 1;
    m
}

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
        let raw = Box::new(RawAddr::from_addr(&addr));
        match &self.0.kind {
            Kind::Uring => {
                let entry =
                    opcode::Connect::new(types::Fd(self.as_raw_fd()), raw.as_ptr(), raw.len)
                        .build();
                let data = Connect {
                    _addr: raw,
                    _fd: self.0.clone(),
                };
                // SAFETY: the entry points into the boxed address owned by `data`.
                unsafe { uring::run(entry, data) }.await
            }
            Kind::Ready(src) => {
                let fd = self.as_raw_fd();
                // SAFETY: `raw` holds a valid address of `raw.len` bytes.
                let r = unsafe { libc::connect(fd, raw.as_ptr(), raw.len) };
                if r == 0 {
                    return Ok(());
                }
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() != Some(libc::EINPROGRESS) {
                    return Err(e);
                }
                src.io(Direction::Write, || {
                    let err = self.option(libc::SOL_SOCKET, libc::SO_ERROR)?;
                    if err != 0 {
                        return Err(std::io::Error::from_raw_os_error(err));
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
    pub async fn send_to<B: IoBuf>(&self, buf: B, addr: SocketAddr) -> (std::io::Result<usize>, B) {
        if let Err(e) = super::check_runtime() {
            return (Err(e), buf);
        }
        match &self.0.kind {
            Kind::Uring => {
                let m = msg(
                    buf.stable_ptr() as *mut u8,
                    buf.bytes_init(),
                    RawAddr::from_addr(&addr),
                );
                let entry = opcode::SendMsg::new(types::Fd(self.as_raw_fd()), &m.hdr)
                    .flags(libc::MSG_NOSIGNAL as u32)
                    .build();
                let data = SendTo {
                    _msg: m,
                    buf,
                    _fd: self.0.clone(),
                };
                // SAFETY: the entry points into the boxed msghdr, its iovec and address
                // (owned by `data`), and the iovec into `buf`'s heap memory.
                unsafe { uring::run(entry, data) }.await
            }
            Kind::Ready(src) => {
                let fd = self.as_raw_fd();
                let raw = RawAddr::from_addr(&addr);
                let ptr = SendPtr(buf.stable_ptr() as usize);
                let len = buf.bytes_init();
                let res = src
                    .io(Direction::Write, || {
                        // SAFETY: reads `len` bytes of `buf` (owned by this future) and
                        // the address in `raw`.
                        cvt_size(unsafe {
                            libc::sendto(
                                fd,
                                ptr.0 as *const libc::c_void,
                                len,
                                libc::MSG_NOSIGNAL,
                                raw.as_ptr(),
                                raw.len,
                            )
                        })
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
            Kind::Uring => {
                let m = msg(buf.stable_mut_ptr(), buf.bytes_total(), RawAddr::empty());
                let entry =
                    opcode::RecvMsg::new(types::Fd(self.as_raw_fd()), &m.hdr as *const _ as *mut _)
                        .build();
                let data = RecvFrom {
                    msg: m,
                    buf,
                    _fd: self.0.clone(),
                };
                // SAFETY: as in `send_to`; the kernel writes into `buf` and the address.
                unsafe { uring::run(entry, data) }.await
            }
            Kind::Ready(src) => {
                let fd = self.as_raw_fd();
                let ptr = SendPtr(buf.stable_mut_ptr() as usize);
                let len = buf.bytes_total();
                let mut raw = RawAddr::empty();
                let res = src
                    .io(Direction::Read, || {
                        raw.len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
                        // SAFETY: writes at most `len` bytes into `buf` (owned by this
                        // future) and at most `raw.len` bytes of address into `raw`.
                        cvt_size(unsafe {
                            libc::recvfrom(
                                fd,
                                ptr.0 as *mut libc::c_void,
                                len,
                                0,
                                (&mut raw.storage as *mut libc::sockaddr_storage).cast(),
                                &mut raw.len,
                            )
                        })
                    })
                    .await;
                let out = res.and_then(|n| {
                    // SAFETY: the kernel wrote `n` bytes at the start of the buffer.
                    unsafe { buf.set_init(n) };
                    Ok((n, raw.to_addr()?))
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
