//! Queues and the dispatch rule (step 5 of the protocol in `procs/mod.rs`): which queued
//! job goes to which worker, decided under the pool's lock; the writes and drops it implies
//! happen after the lock is released ([`Work::perform`]).

use std::sync::Arc;

use super::conn::Conn;
use super::pool::{Inner, Slot, State};
use super::reply::ReplySender;
use crate::task::{TaskRef, TaskState};

pub(super) struct Queued {
    pub(super) id: u64,
    pub(super) frame: Vec<u8>,
    pub(super) done: ReplySender,
    pub(super) watch: Option<TaskRef>,
}

impl Queued {
    /// Nobody wants the result any more: the awaiting task was cancelled or dropped.
    pub(super) fn abandoned(&self) -> bool {
        self.done.shot.receiver_gone()
            || self
                .watch
                .as_ref()
                .is_some_and(|t| matches!(t.state(), TaskState::Cancelling | TaskState::Done))
    }
}

pub(super) struct Running {
    pub(super) done: ReplySender,
    pub(super) sync: bool,
    /// A sync job sent ahead (to a worker busy with another): its frame, to send again
    /// elsewhere if the worker dies before it starts it (`death.rs`).
    pub(super) ahead: Option<Vec<u8>>,
}

/// Frames to write, and what to drop, collected under the lock and acted on after: a
/// completion wakes a task, and a task reference may be the last one to a task (whose
/// drop may reach this pool); neither happens under the pool's lock.
#[derive(Default)]
pub(super) struct Work {
    pub(super) writes: Vec<(Arc<Conn>, Vec<u8>)>,
    pub(super) skipped: Vec<ReplySender>,
    pub(super) released: Vec<TaskRef>,
}

impl Inner {
    /// Assigns queued jobs to workers that can take them (the dispatch rule in the module
    /// docs); the caller performs the writes after releasing the lock. `ahead`: a worker
    /// running one sync job may also be sent the next one, to start as soon as it is done
    /// (only when a result comes back: a job just submitted waits in the queue, where a
    /// cancel still skips it).
    pub(super) fn assign(&self, st: &mut State, ahead: bool) -> Work {
        let mut work = Work::default();
        if st.closed || st.broken.is_some() {
            return work;
        }
        let State {
            sync_q,
            async_q,
            slots,
            ..
        } = st;
        for (q, sync) in [(sync_q, true), (async_q, false)] {
            while let Some(front) = q.front() {
                if front.abandoned() {
                    let job = q.pop_front().expect("front exists");
                    work.skipped.push(job.done);
                    work.released.extend(job.watch);
                    continue;
                }
                let Some(i) = self.pick(slots, sync, ahead) else {
                    break;
                };
                let job = q.pop_front().expect("front exists");
                work.released.extend(job.watch);
                let s = &mut slots[i];
                let sent_ahead = sync && s.sync_busy;
                s.dispatched += 1;
                s.sync_busy |= sync;
                s.running.insert(
                    job.id,
                    Running {
                        done: job.done,
                        sync,
                        ahead: sent_ahead.then(|| job.frame.clone()),
                    },
                );
                let conn = s.conn.clone().expect("picked slots have a connection");
                work.writes.push((conn, job.frame));
            }
        }
        work
    }

    /// The least loaded worker that may take a job of this kind (an idle one first; with
    /// `ahead`, a worker running exactly one sync job may take one more sync job).
    pub(super) fn pick(&self, slots: &[Slot], sync: bool, ahead: bool) -> Option<usize> {
        slots
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                let room = if sync {
                    !s.sync_busy || (ahead && s.running.len() == 1)
                } else {
                    !s.sync_busy && s.running.len() < self.max_async
                };
                s.conn.is_some()
                    && !s.retiring
                    && room
                    && self.max_jobs.is_none_or(|m| s.dispatched < m)
            })
            .min_by_key(|(_, s)| (s.running.len(), !s.ready))
            .map(|(i, _)| i)
    }
}

impl Work {
    pub(super) fn perform(self) {
        for (conn, frame) in self.writes {
            conn.send(frame);
        }
        drop(self.skipped);
        drop(self.released);
    }
}
