//! The end of a worker's connection: how the worker ended (the fork server's report,
//! waited for with a bound), which jobs fail and why, whether the pool breaks, and the
//! replacement (steps 9-10 of the protocol in `procs/mod.rs`).

use std::io;
use std::sync::Arc;
use std::time::Instant;

use super::conn::Conn;
use super::dispatch::{Queued, Running};
use super::exit_status::describe;
use super::pool::{Inner, State, EXIT_REPORT_WAIT};
use super::JobOutput;

impl Inner {
    /// `conn`'s socket ended (EOF or an error), seen on the loop. If the fork server has
    /// already reported how the worker ended (or nothing is left to wait for), the death
    /// is handled here at once; otherwise a short-lived `runtime-proc-reap` thread waits
    /// for the report (bounded), so the loop never blocks on it.
    pub(super) fn conn_ended(self: &Arc<Self>, conn: Arc<Conn>) {
        conn.close();
        if self.exit_known(&conn) {
            self.on_eof(&conn);
            return;
        }
        self.on_eof_off_thread(conn);
    }

    /// `on_eof` for `conn` on a short-lived `runtime-proc-reap` thread, so the caller (the
    /// loop, or the control reader, which must keep reading reports) does not wait for the
    /// fork server's report; with no thread to be had, here (bounded by
    /// `EXIT_REPORT_WAIT`, twice at most).
    pub(super) fn on_eof_off_thread(self: &Arc<Self>, conn: Arc<Conn>) {
        let me = self.clone();
        let c = conn.clone();
        if self
            .start_thread("runtime-proc-reap", move || me.on_eof(&c))
            .is_err()
        {
            self.on_eof(&conn);
        }
    }

    /// `true` if `on_eof` for `conn` would not wait.
    fn exit_known(&self, conn: &Conn) -> bool {
        let st = self.state.lock();
        let s = &st.slots[conn.slot];
        !is_current(&st, conn)
            || st.closed
            || st.fork_server_gone
            || s.spawn_error.is_some()
            || s.pid.is_some_and(|p| st.exits.contains_key(&p))
    }

    /// The worker's socket reached EOF: it exited (or the pool is closing).
    pub(super) fn on_eof(self: &Arc<Self>, conn: &Arc<Conn>) {
        conn.close();
        let mut st = self.state.lock();
        if !is_current(&st, conn) {
            // Handled already (the loop and the control reader may both see the end).
            return;
        }
        st.slots[conn.slot].conn = None;
        if st.closed {
            return;
        }
        // How did it end? Wait (bounded) for the fork server's report.
        let mut deadline = Instant::now() + EXIT_REPORT_WAIT;
        let mut killed = false;
        let status = loop {
            let (pid, spawn_error) = {
                let s = &st.slots[conn.slot];
                (s.pid, s.spawn_error)
            };
            if let Some(status) = pid.and_then(|p| st.exits.remove(&p)) {
                break Some(status);
            }
            if st.closed || st.fork_server_gone || spawn_error.is_some() {
                break None;
            }
            let now = Instant::now();
            if now >= deadline {
                match pid {
                    Some(pid) if !killed => {
                        // EOF without an exit: it closed fd 3 itself. Make sure it is gone.
                        // Our worker, not reaped (no report yet): its pid is still its.
                        super::pool::kill(pid);
                        killed = true;
                        deadline = now + EXIT_REPORT_WAIT;
                        continue;
                    }
                    _ => break None,
                }
            }
            st = self.cv.wait_timeout(st, deadline - now).0;
        };
        if st.closed {
            return;
        }
        let state: &mut State = &mut st;
        let fork_server_gone = state.fork_server_gone;
        let s = &mut state.slots[conn.slot];
        let pid = s.pid;
        let how = describe(status, s.spawn_error, fork_server_gone);
        // A worker runs its sync jobs one at a time, in the order sent (ids grow with it):
        // of those it had, only the oldest can have started. The ones sent ahead of it go
        // back to the front of the queue; the rest fail.
        let mut all: Vec<(u64, Running)> = s.running.drain().collect();
        all.sort_by_key(|(id, _)| *id);
        let mut running: Vec<Running> = Vec::new();
        let mut resend: Vec<Queued> = Vec::new();
        let mut oldest_sync = true;
        for (id, mut r) in all {
            match r.ahead.take() {
                Some(frame) if r.sync && !oldest_sync => resend.push(Queued {
                    id,
                    frame,
                    done: r.done,
                    watch: None,
                }),
                _ => {
                    oldest_sync &= !r.sync;
                    running.push(r);
                }
            }
        }
        s.sync_busy = false;
        let retired = s.retiring && running.is_empty() && status == Some(0);
        if retired {
            s.retirements += 1;
        } else {
            s.deaths += 1;
        }
        let who = match pid {
            Some(p) => format!("worker process {p}"),
            None => "a worker process".to_string(),
        };
        let broken = if let Some(e) = s.spawn_error {
            Some(format!(
                "could not fork a worker process: {}",
                io::Error::from_raw_os_error(e)
            ))
        } else if let Some(msg) = s.init_error.take() {
            Some(format!("the worker initializer panicked in {who}: {msg}"))
        } else if self.has_initializer && !s.ready {
            Some(format!(
                "{who} died before its initializer completed ({how})"
            ))
        } else if fork_server_gone {
            Some(format!(
                "the fork server (process {}) is gone: no worker can start",
                self.fork_server
            ))
        } else {
            None
        };
        drop(st);
        // A pool broken by this death (its initializer failed...) says why; otherwise
        // the job learns how its worker died.
        let msg = match &broken {
            Some(reason) => reason.clone(),
            None => format!("{who} died while running this job ({how})"),
        };
        // Broken first, so that whoever sees the job fail also sees the pool broken.
        let replace = match broken {
            Some(reason) => {
                self.break_pool(reason);
                false
            }
            None => true,
        };
        for r in running {
            r.done.send(JobOutput::Failed(msg.clone()));
        }
        if replace {
            let mut st = self.state.lock();
            for q in resend.into_iter().rev() {
                st.sync_q.push_front(q);
            }
        } else {
            for q in resend {
                q.done.send(JobOutput::Failed(msg.clone()));
            }
        }
        if replace {
            let _ = self.spawn_worker(conn.slot);
        }
    }
}

/// `true` while `conn` is its slot's connection.
fn is_current(st: &State, conn: &Conn) -> bool {
    st.slots[conn.slot]
        .conn
        .as_ref()
        .is_some_and(|c| std::ptr::eq(Arc::as_ptr(c), conn))
}
