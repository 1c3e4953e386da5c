//! The control socket's reader thread: spawn replies and exit reports from the fork
//! server, and the fork server's own end (steps 3 and 10-11 of the protocol in
//! `procs/mod.rs`).

use std::sync::Arc;

use super::conn::Conn;
use super::exit_status::describe;
use super::fork_server::RawPid;
use super::ipc::FrameReader;
use super::kind;
use super::pool::{wait_for, Inner, State};
use std::os::fd::BorrowedFd;

impl Inner {
    /// The control socket's reader: spawn replies and exit reports from the fork server.
    pub(super) fn control_reader(self: Arc<Self>) {
        // `shutdown` closes the socket only after this thread is joined.
        // SAFETY: `shutdown` closes the control socket only after this thread is joined
        // (or, if it cannot join it, never): the descriptor outlives this borrow.
        let ctl = unsafe { BorrowedFd::borrow_raw(self.ctl.raw()) };
        let mut r = FrameReader::new(ctl);
        while let Ok(Some(f)) = r.read() {
            let word = |b: &[u8]| i32::from_le_bytes(b[..4].try_into().unwrap_or([0; 4]));
            let mut st = self.state.lock();
            let mut ended_slot = None;
            match f.kind {
                kind::SPAWNED | kind::SPAWN_FAILED if f.body.len() >= 4 => {
                    let (slot, gen) = ((f.id & 0xffff_ffff) as usize, (f.id >> 32) as u32);
                    if let Some(s) = st.slots.get_mut(slot).filter(|s| s.gen == gen) {
                        if f.kind == kind::SPAWNED {
                            s.pid = Some(word(&f.body));
                        } else {
                            s.spawn_error = Some(word(&f.body));
                            ended_slot = Some(slot);
                        }
                    }
                }
                kind::EXITED if f.body.len() >= 4 => {
                    let pid = f.id as RawPid;
                    st.exits.insert(pid, word(&f.body));
                    ended_slot = st.slots.iter().position(|s| s.pid == Some(pid));
                }
                _ => {}
            }
            let settled = ended_slot.and_then(|i| self.settled(&st, i));
            drop(st);
            self.cv.notify_all();
            if let Some(conn) = settled {
                // The loop may not run now (nobody in `block_on`): the slot is replaced
                // without it, off this thread (which must keep reading reports).
                self.on_eof_off_thread(conn);
            }
        }
        // EOF: the fork server exited (shutdown) or died. Reap it: it has closed its
        // socket, so it is exiting; this wait is short.
        {
            let mut st = self.state.lock();
            st.fork_server_gone = true;
            self.cv.notify_all();
        }
        // Our child, reaped only here.
        let status = wait_for(self.fork_server).unwrap_or(0);
        let closed = {
            let mut st = self.state.lock();
            st.fork_server_reaped = true;
            self.cv.notify_all();
            st.closed
        };
        if !closed {
            self.break_pool(format!(
                "the fork server (process {}) exited unexpectedly ({}): no worker can start",
                self.fork_server,
                describe(Some(status), None, false)
            ));
        }
    }

    /// The connection of `slot`, if its worker's end is known and the worker's socket can
    /// hold nothing the pool still needs (no job running, no initializer outcome
    /// pending): then its end is handled at once, even while no thread runs the loop
    /// (which would otherwise see the socket's EOF first: whichever comes first handles
    /// it, `on_eof` runs once per connection).
    fn settled(&self, st: &State, slot: usize) -> Option<Arc<Conn>> {
        let s = &st.slots[slot];
        let known = s.spawn_error.is_some() || s.pid.is_some_and(|p| st.exits.contains_key(&p));
        let init_pending = self.has_initializer && !s.ready && s.spawn_error.is_none();
        if known && s.running.is_empty() && !init_pending {
            s.conn.clone()
        } else {
            None
        }
    }
}
