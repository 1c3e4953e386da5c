//! The parent's end of one worker incarnation's socket, and its outbox (step 6 of the
//! protocol in `procs/mod.rs`).

use crate::loom::Mutex;
use std::collections::VecDeque;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use super::ipc;
use crate::thread_set::ThreadSet;

/// The parent's end of one worker incarnation's socket.
pub(super) struct Conn {
    pub(super) fd: OwnedFd,
    pub(super) slot: usize,
    pub(super) gen: u32,
    pub(super) outbox: Mutex<Outbox>,
    /// Where a flusher thread is started (the pool's set, joined at shutdown).
    pub(super) threads: Arc<ThreadSet>,
}

#[derive(Default)]
pub(super) struct Outbox {
    pub(super) queue: VecDeque<(Vec<u8>, usize)>,
    pub(super) flushing: bool,
    pub(super) dead: bool,
}

impl Conn {
    /// Sends a frame without ever blocking the caller: written at once if the socket
    /// buffer has room; otherwise queued, in order, for a flusher thread that does the
    /// blocking writes. A write error means the worker is gone; its reader sees the EOF
    /// and fails its jobs, so the error itself is dropped here.
    pub(super) fn send(self: &Arc<Conn>, frame: Vec<u8>) {
        let mut ob = self.outbox.lock();
        if ob.dead {
            return;
        }
        if ob.flushing || !ob.queue.is_empty() {
            ob.queue.push_back((frame, 0));
            return;
        }
        let mut at = 0;
        while at < frame.len() {
            // SAFETY: sends from a live slice of `frame.len() - at` bytes.
            let n = unsafe {
                libc::send(
                    self.fd.as_raw_fd(),
                    frame[at..].as_ptr().cast(),
                    frame.len() - at,
                    libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
                )
            };
            if n >= 0 {
                at += n as usize;
                continue;
            }
            match io::Error::last_os_error().kind() {
                io::ErrorKind::Interrupted => continue,
                io::ErrorKind::WouldBlock => break,
                _ => {
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
        let conn = self.clone();
        let spawned = self
            .threads
            .spawn("runtime-proc-flush".into(), move || conn.flush());
        if spawned.is_err() {
            // No thread: write here, blocking (the worker is reading, see the dispatch rule).
            self.flush();
        }
    }

    pub(super) fn flush(&self) {
        loop {
            let (frame, at) = {
                let mut ob = self.outbox.lock();
                match ob.queue.pop_front() {
                    Some(f) if !ob.dead => f,
                    _ => {
                        ob.queue.clear();
                        ob.flushing = false;
                        return;
                    }
                }
            };
            if ipc::send_all(self.fd.as_raw_fd(), &frame[at..]).is_err() {
                let mut ob = self.outbox.lock();
                ob.dead = true;
                ob.queue.clear();
                ob.flushing = false;
                return;
            }
        }
    }

    /// Wakes this connection's reader (its `read` returns EOF) and stops writes.
    pub(super) fn close(&self) {
        self.outbox.lock().dead = true;
        // SAFETY: shutdown on a descriptor we own; it stays open until `fd` drops.
        unsafe { libc::shutdown(self.fd.as_raw_fd(), libc::SHUT_RDWR) };
    }
}
