//! One reader thread per worker incarnation: results, readiness and init failures from
//! the worker, and what its socket's EOF means (steps 8-10 of the protocol in
//! `procs/mod.rs`).

use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Instant;

use super::conn::Conn;
use super::dispatch::Running;
use super::exit_status::describe;
use super::ipc::{self, FrameReader};
use super::pool::{Inner, State, EXIT_REPORT_WAIT};
use super::{kind, JobOutput};

impl Inner {
    /// One worker incarnation's reader thread (steps 8-10).
    pub(super) fn reader(self: Arc<Self>, conn: Arc<Conn>) {
        let mut r = FrameReader::new(conn.fd.as_raw_fd());
        while let Ok(Some(frame)) = r.read() {
            match frame.kind {
                kind::READY => {
                    let mut st = self.state.lock();
                    let s = &mut st.slots[conn.slot];
                    if s.gen == conn.gen {
                        s.ready = true;
                        if s.pid.is_none() && frame.body.len() >= 4 {
                            let pid = u32::from_le_bytes(frame.body[..4].try_into().unwrap());
                            s.pid = Some(pid as libc::pid_t);
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
                    self.on_result(&conn, frame)
                }
                _ => {
                    // Not our protocol (a job wrote to fd 3?): this worker cannot be
                    // trusted any more. Kill it; the EOF path below handles the rest.
                    if let Some(pid) = self.state.lock().slots[conn.slot].pid {
                        // SAFETY: kill sends a signal; `pid` is a live worker of ours (not
                        // yet reaped: its reader, this thread, has not seen it exit).
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                    break;
                }
            }
        }
        self.on_eof(&conn);
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
                s.sync_busy = false;
            }
            s.jobs_done += 1;
            let retire = !s.retiring
                && s.running.is_empty()
                && self.max_jobs.is_some_and(|m| s.dispatched >= m);
            s.retiring |= retire;
            let work = self.assign(&mut st);
            (run.done, retire, work)
        };
        done.send(out);
        if retire {
            // The worker reads EOF and exits 0; its EOF here spawns the replacement.
            // SAFETY: shutdown on a descriptor we own.
            unsafe { libc::shutdown(conn.fd.as_raw_fd(), libc::SHUT_WR) };
        }
        work.perform();
    }

    /// The worker's socket reached EOF: it exited (or the pool is closing).
    fn on_eof(self: &Arc<Self>, conn: &Arc<Conn>) {
        conn.close();
        let mut st = self.state.lock();
        if st.slots[conn.slot].gen != conn.gen {
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
                        // SAFETY: kill sends a signal to our (unreaped) worker.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
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
        let running: Vec<Running> = s.running.drain().map(|(_, r)| r).collect();
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
            let _ = self.spawn_worker(conn.slot);
        }
    }
}
