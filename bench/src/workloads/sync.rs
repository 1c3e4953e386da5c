//! Small synchronisation pieces the workloads share, built on `runtime::settable` so they
//! work on every executor: a countdown latch and a two-task echo.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use runtime::{settable, Settable, Setter};

/// Counts down from `n`; the task that reaches zero sets the latch's future.
pub struct Latch {
    remaining: AtomicUsize,
    done: Mutex<Option<Setter<()>>>,
}

/// A latch for `n` count-downs, and the future that resolves at zero.
pub fn latch(n: usize) -> (Arc<Latch>, Settable<()>) {
    let (tx, rx) = settable();
    let latch = Latch {
        remaining: AtomicUsize::new(n),
        done: Mutex::new(Some(tx)),
    };
    (Arc::new(latch), rx)
}

impl Latch {
    /// One count down.
    pub fn count_down(&self) {
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            let tx = self.done.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(tx) = tx {
                let _ = tx.set(());
            }
        }
    }
}

/// A request to the echo task: where to reply, and where the next request will arrive.
pub struct Request {
    reply: Setter<()>,
    next: Settable<Request>,
}

/// The client side of an echo pair: each [`round_trip`](Client::round_trip) wakes the
/// echo task and waits for it to wake the client back.
pub struct Client {
    request: Setter<Request>,
}

impl Client {
    /// Sends one request and waits for the reply.
    pub async fn round_trip(&mut self) {
        let (reply, replied) = settable();
        let (next_tx, next) = settable();
        let request = std::mem::replace(&mut self.request, next_tx);
        if request.set(Request { reply, next }).is_err() {
            panic!("the echo task is gone");
        }
        replied.await.expect("the echo task replies");
    }
}

/// A client and the echo task's future (spawn it); the echo task ends, returning how many
/// requests it answered, when the client is dropped.
pub fn echo() -> (Client, impl Future<Output = u64> + Send + 'static) {
    let (request, first) = settable::<Request>();
    let server = async move {
        let mut incoming = first;
        let mut answered = 0;
        while let Ok(Request { reply, next }) = incoming.await {
            let _ = reply.set(());
            answered += 1;
            incoming = next;
        }
        answered
    };
    (Client { request }, server)
}

/// Awaits every handle in order and returns their outputs (the spawned tasks run
/// concurrently regardless; only the collecting is in order). The same code serves every
/// executor's handles, ours and the peers', so no runner's own combinator is measured.
pub async fn join_all<J: Future>(handles: Vec<J>) -> Vec<J::Output> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await);
    }
    out
}
