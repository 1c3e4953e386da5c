//! The parent's end of one worker incarnation's socket, and its outbox (step 6 of the
//! protocol in `procs/mod.rs`).
//!
//! Any thread may send (a `submit` from a plain thread dispatches there). A frame is
//! written at once, without blocking, if the socket buffer has room; what does not fit
//! waits in the outbox, in order, and the parent's loop writes it as an ordinary I/O
//! operation (`sockets.rs`). No parent thread ever blocks on a write to a worker, so a
//! worker blocked writing a large result can always be drained.

use crate::loom::Mutex;
use std::collections::VecDeque;
use std::os::fd::OwnedFd;

use rustix::io::Errno;
use rustix::net::{SendFlags, Shutdown};
use std::sync::Arc;

use super::sockets::SocketsWake;

/// The parent's end of one worker incarnation's socket.
pub(super) struct Conn {
    /// Our end. The loop reads and writes a duplicate of it (`sockets.rs`); this one is
    /// for the direct writes and `shutdown`, and closes when the last `Arc` goes.
    pub(super) fd: OwnedFd,
    /// A duplicate of `fd`, made with it (so the process's descriptors do not change
    /// when the loop first runs), until the loop binds it to its backend.
    pub(super) io_fd: Mutex<Option<OwnedFd>>,
    pub(super) slot: usize,
    pub(super) gen: u32,
    pub(super) outbox: Mutex<Outbox>,
    /// Wakes the loop to write what the outbox holds.
    pub(super) wake: Arc<SocketsWake>,
}

#[derive(Default)]
pub(super) struct Outbox {
    /// Frames, each with how much of it is written already.
    pub(super) queue: VecDeque<(Vec<u8>, usize)>,
    /// The loop owns the writing: from the first frame queued until the queue is empty
    /// and its last write completed. Direct writes wait meanwhile (order).
    pub(super) flushing: bool,
    pub(super) dead: bool,
}

impl Conn {
    /// Sends a frame without ever blocking the caller: written at once if the socket
    /// buffer has room; otherwise queued, in order, for the loop. A write error means the
    /// worker is gone; the loop sees its socket end and fails its jobs, so the error
    /// itself is dropped here.
    pub(super) fn send(self: &Arc<Conn>, frame: Vec<u8>) {
        let mut ob = self.outbox.lock();
        if ob.dead {
            return;
        }
        if ob.flushing {
            ob.queue.push_back((frame, 0));
            return;
        }
        let mut at = 0;
        while at < frame.len() {
            match rustix::net::send(
                &self.fd,
                &frame[at..],
                SendFlags::NOSIGNAL | SendFlags::DONTWAIT,
            ) {
                Ok(n) => at += n,
                Err(Errno::INTR) => continue,
                Err(Errno::AGAIN) => break,
                Err(_) => {
                    ob.dead = true;
                    return;
                }
            }
        }
        if at == frame.len() {
            return;
        }
        ob.queue.push_back((frame, at));
        ob.flushing = true;
        drop(ob);
        self.wake.notify();
    }

    /// The next bytes for the loop to write, or `None` (and the loop's turn ends) if the
    /// outbox is empty or the connection dead.
    pub(super) fn next_chunk(&self) -> Option<Vec<u8>> {
        let mut ob = self.outbox.lock();
        match ob.queue.pop_front() {
            Some((mut frame, at)) if !ob.dead => {
                frame.drain(..at);
                Some(frame)
            }
            _ => {
                ob.queue.clear();
                ob.flushing = false;
                None
            }
        }
    }

    /// The loop wrote `n` bytes of `chunk`: the rest goes back to the front.
    pub(super) fn wrote(&self, n: usize, chunk: Vec<u8>) {
        if n < chunk.len() {
            self.outbox.lock().queue.push_front((chunk, n));
        }
    }

    /// A write failed: the worker is gone; nothing more is sent.
    pub(super) fn write_failed(&self) {
        let mut ob = self.outbox.lock();
        ob.dead = true;
        ob.queue.clear();
        ob.flushing = false;
    }

    /// Ends the connection: the loop's read sees EOF, writes stop.
    pub(super) fn close(&self) {
        self.outbox.lock().dead = true;
        let _ = rustix::net::shutdown(&self.fd, Shutdown::Both);
    }
}
