//! Framing on the `AF_UNIX` stream sockets of `Processes` mode, and file-descriptor
//! passing (`SCM_RIGHTS`).
//!
//! Every message, both directions, on the control socket and on the worker sockets:
//!
//! ```text
//! [u32 len][u64 id][u8 kind][body: len - 9 bytes]     (little-endian)
//! ```
//!
//! `len` counts what follows it (id, kind, body), so a frame is `4 + len` bytes. Writes
//! use `MSG_NOSIGNAL`: a peer that died gives `EPIPE`, never a `SIGPIPE`.
//!
//! Everything here is plain system calls (through rustix) on borrowed descriptors, with
//! no lock of its own, so the fork server (see `fork_server.rs`) may use it.

use std::io::{self, IoSlice, IoSliceMut};
use std::mem::MaybeUninit;
use std::os::fd::{BorrowedFd, OwnedFd};

use rustix::net::{
    AddressFamily, RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags, SocketFlags, SocketType,
};

/// Bytes before the body: length, id, kind.
pub(crate) const HEADER: usize = 13;

/// The largest body a frame can carry (`len` is a `u32` and counts id and kind too).
pub(crate) const MAX_BODY: usize = u32::MAX as usize - 9;

/// One message.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) id: u64,
    pub(crate) kind: u8,
    pub(crate) body: Vec<u8>,
}

/// The header of a frame whose body is `body_len` bytes.
pub(crate) fn header(id: u64, kind: u8, body_len: usize) -> [u8; HEADER] {
    debug_assert!(body_len <= MAX_BODY);
    let mut h = [0u8; HEADER];
    h[..4].copy_from_slice(&((body_len + 9) as u32).to_le_bytes());
    h[4..12].copy_from_slice(&id.to_le_bytes());
    h[12] = kind;
    h
}

/// Writes all of `buf` (a whole frame, or several) to the socket `fd`.
pub(crate) fn send_all(fd: BorrowedFd<'_>, mut buf: &[u8]) -> io::Result<()> {
    while !buf.is_empty() {
        match rustix::net::send(fd, buf, SendFlags::NOSIGNAL) {
            Ok(n) => buf = &buf[n..],
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Writes one frame made of a header and a body.
pub(crate) fn send_frame(fd: BorrowedFd<'_>, id: u64, kind: u8, body: &[u8]) -> io::Result<()> {
    let mut frame = Vec::with_capacity(HEADER + body.len());
    frame.extend_from_slice(&header(id, kind, body.len()));
    frame.extend_from_slice(body);
    send_all(fd, &frame)
}

/// Sends a frame with no body and, attached to its first byte, the descriptor `pass`.
pub(crate) fn send_frame_with_fd(
    fd: BorrowedFd<'_>,
    id: u64,
    kind: u8,
    pass: BorrowedFd<'_>,
) -> io::Result<()> {
    let h = header(id, kind, 0);
    let pass = [pass];
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    if !control.push(SendAncillaryMessage::ScmRights(&pass)) {
        return Err(io::Error::other(
            "no room for a descriptor in the control buffer",
        ));
    }
    loop {
        match rustix::net::sendmsg(fd, &[IoSlice::new(&h)], &mut control, SendFlags::NOSIGNAL) {
            // The descriptor went with the first byte; send the rest (if any) plainly.
            Ok(n) => return send_all(fd, &h[n..]),
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Reads frames from a stream socket through a buffer, so that small frames cost one
/// `recvmsg` per batch rather than two per frame. Descriptors received (`SCM_RIGHTS`)
/// are kept, in order, for [`take_fd`](FrameReader::take_fd).
pub(crate) struct FrameReader<'fd> {
    fd: BorrowedFd<'fd>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    fds: std::collections::VecDeque<OwnedFd>,
}

impl<'fd> FrameReader<'fd> {
    pub(crate) fn new(fd: BorrowedFd<'fd>) -> FrameReader<'fd> {
        FrameReader {
            fd,
            buf: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            fds: Default::default(),
        }
    }

    /// The next frame; `Ok(None)` at a clean end of stream (between frames).
    pub(crate) fn read(&mut self) -> io::Result<Option<Frame>> {
        if !self.fill(HEADER)? {
            return if self.start == self.end {
                Ok(None)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "end of stream inside a frame header",
                ))
            };
        }
        let h = &self.buf[self.start..self.start + HEADER];
        let len = u32::from_le_bytes(h[..4].try_into().expect("4 bytes")) as usize;
        let id = u64::from_le_bytes(h[4..12].try_into().expect("8 bytes"));
        let kind = h[12];
        if len < 9 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("frame length {len} is shorter than its header"),
            ));
        }
        self.start += HEADER;
        let body_len = len - 9;
        let mut body = Vec::with_capacity(body_len);
        let buffered = (self.end - self.start).min(body_len);
        body.extend_from_slice(&self.buf[self.start..self.start + buffered]);
        self.start += buffered;
        if body.len() < body_len {
            // A large body: read the rest straight into it.
            body.resize(body_len, 0);
            let mut at = buffered;
            while at < body_len {
                let n = self.recv(BufTarget::Body(&mut body[at..]), RecvFlags::empty())?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "end of stream inside a frame body",
                    ));
                }
                at += n;
            }
        }
        Ok(Some(Frame { id, kind, body }))
    }

    /// `true` if bytes already read from the socket wait in the buffer (a `poll` on the
    /// socket would not report them).
    pub(crate) fn has_buffered(&self) -> bool {
        self.start < self.end
    }

    /// Waits for the next bytes by polling the socket without blocking (yielding the core
    /// between tries, see `spin.rs`) for up to `budget`. `Ok(true)` if bytes (or the end
    /// of the stream) arrived, so the next [`read`](Self::read) starts without sleeping;
    /// `Ok(false)` if the budget ran out first.
    pub(crate) fn poll_for(&mut self, budget: std::time::Duration) -> io::Result<bool> {
        if self.has_buffered() {
            return Ok(true);
        }
        // Nothing buffered: receive at the buffer's start, with all of it free.
        self.start = 0;
        self.end = 0;
        let mut err = None;
        let hit = super::spin::until(budget, || {
            match self.recv(BufTarget::Buffer, RecvFlags::DONTWAIT) {
                Ok(n) => {
                    // 0: the end of the stream, which the next `read` reports.
                    self.end += n;
                    true
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => false,
                Err(e) => {
                    err = Some(e);
                    true
                }
            }
        });
        match err {
            Some(e) => Err(e),
            None => Ok(hit),
        }
    }

    /// The oldest descriptor received and not yet taken.
    pub(crate) fn take_fd(&mut self) -> Option<OwnedFd> {
        self.fds.pop_front()
    }

    /// Makes at least `n` bytes available in the buffer; `false` at end of stream.
    fn fill(&mut self, n: usize) -> io::Result<bool> {
        if self.end - self.start >= n {
            return Ok(true);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end < n {
            let got = self.recv(BufTarget::Buffer, RecvFlags::empty())?;
            if got == 0 {
                return Ok(false);
            }
            self.end += got;
        }
        Ok(true)
    }

    fn recv(&mut self, target: BufTarget<'_>, flags: RecvFlags) -> io::Result<usize> {
        let buf = match target {
            BufTarget::Buffer => &mut self.buf[self.end..],
            BufTarget::Body(b) => b,
        };
        let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(8))];
        let mut control = RecvAncillaryBuffer::new(&mut space);
        let mut iov = [IoSliceMut::new(buf)];
        let n = loop {
            match rustix::net::recvmsg(
                self.fd,
                &mut iov,
                &mut control,
                RecvFlags::CMSG_CLOEXEC | flags,
            ) {
                Ok(r) => break r.bytes,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(e.into()),
            }
        };
        // Descriptors that came with these bytes are ours now, in order.
        for msg in control.drain() {
            if let RecvAncillaryMessage::ScmRights(fds) = msg {
                self.fds.extend(fds);
            }
        }
        Ok(n)
    }
}

enum BufTarget<'a> {
    Buffer,
    Body(&'a mut [u8]),
}

/// Cuts whole frames out of the bytes the parent's loop reads from a worker's socket, in
/// whatever pieces they arrive (`sockets.rs`): the push-style twin of [`FrameReader`].
#[derive(Default)]
pub(crate) struct FrameParser {
    /// Bytes of a header not yet complete.
    head: Vec<u8>,
    /// The frame whose body is being filled: id, kind, the body so far, its length.
    body: Option<(u64, u8, Vec<u8>, usize)>,
}

impl FrameParser {
    /// Feeds `data`; every frame it completes is pushed on `out`, in order. An error is a
    /// broken stream (a length shorter than the header): nothing more can be read.
    pub(crate) fn feed(&mut self, mut data: &[u8], out: &mut Vec<Frame>) -> io::Result<()> {
        while !data.is_empty() {
            if let Some((_, _, body, len)) = &mut self.body {
                let take = (*len - body.len()).min(data.len());
                body.extend_from_slice(&data[..take]);
                data = &data[take..];
                if body.len() == *len {
                    let (id, kind, body, _) = self.body.take().expect("a body is being filled");
                    out.push(Frame { id, kind, body });
                }
                continue;
            }
            let take = (HEADER - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.head.len() < HEADER {
                break;
            }
            let h = &self.head;
            let len = u32::from_le_bytes(h[..4].try_into().expect("4 bytes")) as usize;
            let id = u64::from_le_bytes(h[4..12].try_into().expect("8 bytes"));
            let kind = h[12];
            self.head.clear();
            if len < 9 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("frame length {len} is shorter than its header"),
                ));
            }
            let body_len = len - 9;
            // Grows as bytes come (a length read from a misbehaving worker allocates
            // nothing it did not send).
            let body = Vec::with_capacity(body_len.min(data.len()));
            self.body = Some((id, kind, body, body_len));
            if body_len == 0 {
                let (id, kind, body, _) = self.body.take().expect("just set");
                out.push(Frame { id, kind, body });
            }
        }
        Ok(())
    }
}

/// A connected pair of `AF_UNIX` stream sockets, close-on-exec.
pub(crate) fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    Ok(rustix::net::socketpair(
        AddressFamily::UNIX,
        SocketType::STREAM,
        SocketFlags::CLOEXEC,
        None,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn frames_round_trip_small_and_large() {
        let (a, b) = socketpair().unwrap();
        let big = vec![7u8; 300_000];
        let writer = std::thread::spawn({
            let big = big.clone();
            move || {
                send_frame(a.as_fd(), 1, 2, b"hi").unwrap();
                send_frame(a.as_fd(), u64::MAX, 3, &big).unwrap();
                send_frame(a.as_fd(), 5, 6, b"").unwrap();
                a
            }
        });
        let mut r = FrameReader::new(b.as_fd());
        let f = r.read().unwrap().unwrap();
        assert_eq!((f.id, f.kind, &f.body[..]), (1, 2, &b"hi"[..]));
        let f = r.read().unwrap().unwrap();
        assert_eq!((f.id, f.kind, f.body.len()), (u64::MAX, 3, big.len()));
        assert_eq!(f.body, big);
        let f = r.read().unwrap().unwrap();
        assert_eq!((f.id, f.kind, f.body.len()), (5, 6, 0));
        drop(writer.join().unwrap());
        assert!(r.read().unwrap().is_none(), "clean EOF between frames");
    }

    #[test]
    fn poll_for_finds_a_frame_sent_while_it_polls_and_gives_up_on_silence() {
        let (a, b) = socketpair().unwrap();
        let mut r = FrameReader::new(b.as_fd());
        // Nothing sent: the budget runs out, nothing is consumed.
        assert!(!r.poll_for(std::time::Duration::from_millis(1)).unwrap());
        let writer = std::thread::spawn(move || {
            send_frame(a.as_fd(), 9, 4, b"job").unwrap();
            a
        });
        // Sent from another thread while this one polls: found well within a minute.
        assert!(r.poll_for(std::time::Duration::from_secs(60)).unwrap());
        assert!(r.has_buffered());
        let f = r.read().unwrap().unwrap();
        assert_eq!((f.id, f.kind, &f.body[..]), (9, 4, &b"job"[..]));
        let a = writer.join().unwrap();
        // Bytes already buffered: true at once, without touching the socket.
        send_frame(a.as_fd(), 1, 1, b"x").unwrap();
        send_frame(a.as_fd(), 2, 2, b"y").unwrap();
        assert!(r.poll_for(std::time::Duration::from_secs(60)).unwrap());
        assert_eq!(r.read().unwrap().unwrap().id, 1);
        assert!(r.poll_for(std::time::Duration::ZERO).unwrap());
        assert_eq!(r.read().unwrap().unwrap().id, 2);
        // The end of the stream counts as an arrival; `read` then reports it.
        drop(a);
        assert!(r.poll_for(std::time::Duration::from_secs(60)).unwrap());
        assert!(r.read().unwrap().is_none());
    }

    #[test]
    fn a_descriptor_travels_with_its_frame() {
        let (a, b) = socketpair().unwrap();
        let (x, y) = socketpair().unwrap();
        send_frame_with_fd(a.as_fd(), 9, 1, x.as_fd()).unwrap();
        drop(x);
        let mut r = FrameReader::new(b.as_fd());
        let f = r.read().unwrap().unwrap();
        assert_eq!((f.id, f.kind), (9, 1));
        let got = r.take_fd().expect("the descriptor arrived");
        send_frame(got.as_fd(), 3, 4, b"through").unwrap();
        let f = FrameReader::new(y.as_fd()).read().unwrap().unwrap();
        assert_eq!(&f.body[..], b"through");
    }

    #[test]
    fn the_parser_cuts_frames_from_any_pieces() {
        let mut bytes = Vec::new();
        for (id, body) in [(1u64, vec![]), (2, vec![7u8; 3]), (3, vec![9u8; 100_000])] {
            bytes.extend_from_slice(&header(id, 5, body.len()));
            bytes.extend_from_slice(&body);
        }
        for piece in [1, 2, 12, 13, 14, 4096, bytes.len()] {
            let mut p = FrameParser::default();
            let mut out = Vec::new();
            for chunk in bytes.chunks(piece) {
                p.feed(chunk, &mut out).unwrap();
            }
            let got: Vec<(u64, usize)> = out.iter().map(|f| (f.id, f.body.len())).collect();
            assert_eq!(got, [(1, 0), (2, 3), (3, 100_000)], "pieces of {piece}");
            assert!(out[2].body.iter().all(|&b| b == 9));
        }
    }

    #[test]
    fn the_parser_refuses_a_length_shorter_than_the_header() {
        let mut bad = header(1, 5, 0);
        bad[..4].copy_from_slice(&3u32.to_le_bytes());
        let err = FrameParser::default()
            .feed(&bad, &mut Vec::new())
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }
}
