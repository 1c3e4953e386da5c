//! What a worker says: readiness, an initializer's failure, results (steps 4 and 8 of
//! the protocol in `procs/mod.rs`). Called on the parent's loop, by `sockets.rs`, for
//! each whole frame read from a worker's socket.

use std::sync::Arc;

use super::conn::Conn;
use super::ipc;
use super::pool::Inner;
use super::{kind, JobOutput};

impl Inner {
    /// Handles one frame from `conn`'s worker. `false` if the worker broke the protocol:
    /// it has been killed, and its connection must be treated as ended.
    pub(super) fn on_frame(&self, conn: &Arc<Conn>, frame: ipc::Frame) -> bool {
        match frame.kind {
            kind::READY => {
                let mut st = self.state.lock();
                let s = &mut st.slots[conn.slot];
                if s.gen == conn.gen {
                    s.ready = true;
                    if s.pid.is_none() && frame.body.len() >= 4 {
                        let pid = u32::from_le_bytes(frame.body[..4].try_into().unwrap());
                        s.pid = Some(pid as super::fork_server::RawPid);
                    }
                }
            }
            kind::INIT_FAILED => {
                let mut st = self.state.lock();
                let s = &mut st.slots[conn.slot];
                if s.gen == conn.gen {
                    s.init_error = Some(String::from_utf8_lossy(&frame.body).into_owned());
                }
            }
            kind::RESULT_OK | kind::RESULT_PANIC | kind::RESULT_FAILED => {
                self.on_result(conn, frame)
            }
            _ => {
                self.kill_worker(conn);
                return false;
            }
        }
        true
    }

    /// Not our protocol (a job wrote to fd 3?): this worker cannot be trusted any more.
    /// Kill it; the end of its connection handles the rest (`death.rs`).
    pub(super) fn kill_worker(&self, conn: &Arc<Conn>) {
        let st = self.state.lock();
        let s = &st.slots[conn.slot];
        if s.gen != conn.gen {
            return;
        }
        if let Some(pid) = s.pid {
            // Our worker, alive: it just wrote to its socket, which is still open (so it
            // is not reaped, its pid not reused).
            super::pool::kill(pid);
        }
    }

    fn on_result(&self, conn: &Arc<Conn>, frame: ipc::Frame) {
        let out = match frame.kind {
            kind::RESULT_OK => JobOutput::Ok(frame.body),
            kind::RESULT_PANIC => {
                JobOutput::Panicked(String::from_utf8_lossy(&frame.body).into_owned())
            }
            _ => JobOutput::Failed(String::from_utf8_lossy(&frame.body).into_owned()),
        };
        let (done, retire, work) = {
            let mut st = self.state.lock();
            let s = &mut st.slots[conn.slot];
            if s.gen != conn.gen {
                return;
            }
            let Some(run) = s.running.remove(&frame.id) else {
                return;
            };
            if run.sync {
                // A job sent ahead starts now, if there is one.
                s.sync_busy = s.running.values().any(|r| r.sync);
            }
            s.jobs_done += 1;
            let retire = !s.retiring
                && s.running.is_empty()
                && self.max_jobs.is_some_and(|m| s.dispatched >= m);
            s.retiring |= retire;
            let work = self.assign(&mut st, true);
            (run.done, retire, work)
        };
        done.send(out);
        if retire {
            // The worker reads EOF and exits 0; its EOF here spawns the replacement.
            let _ = rustix::net::shutdown(&conn.fd, rustix::net::Shutdown::Write);
        }
        work.perform();
    }
}
