//! A connection and its worker (`Threads`' home rule, ARCHITECTURE.md "Threads: a
//! connection's home"): a connection's ring operations go to the ring of the worker that
//! runs its task, and its completions wake the task on that worker; an idle worker helps
//! by stealing the task, whose next operations then go to the thief's ring. Here echo
//! tasks are made to move between workers mid-stream, each move with a read still in
//! flight on the ring it left (so that read completes on one worker while the task last
//! ran on another), and every byte must come back once and in order. Under every mode
//! and both I/O backends; the moves are forced (and checked to happen) in `Threads`.

#[macro_use]
mod support;

use std::io::{Read, Write};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream};
use runtime::{Mode, Runtime};
use support::Flavor;

/// Bytes each client sends (and gets back).
const TOTAL: usize = 128 << 10;
/// Connections at once.
const CONNS: usize = 4;

/// The byte at offset `i` of every stream (a prime period, so no read size lines up).
fn byte(i: usize) -> u8 {
    (i % 251) as u8
}

/// What the forced moves share: one at a time (two workers each spinning for the other
/// to steal would wait for each other), and how many happened.
#[derive(Default)]
struct Moves {
    busy: AtomicBool,
    done: AtomicUsize,
    tried: AtomicUsize,
    /// Tries made with a read in flight.
    in_flight: AtomicUsize,
}

/// Leaves a read in flight on this worker's ring (if the socket has no bytes waiting),
/// then makes the task move: a spinner
/// spawned here takes this worker's LIFO slot and holds the worker until the task,
/// which yields to the back of the queue, has run somewhere else (a sibling stole it) or
/// ran here first (the spinner then stops at once). Returns the bytes the read got at
/// once (0 if it waits: the next read collects it), or `None` at the end of the stream.
async fn read_in_flight_then_move(
    s: &mut TcpStream,
    buf: &mut [u8],
    moves: &Moves,
) -> Option<usize> {
    let got = {
        let read = pin!(AsyncReadExt::read(s, buf));
        // Polled once and dropped: the stream's poll state keeps its ring read in flight
        // for the next `read`, which collects it (on whichever worker runs it then).
        futures_lite::future::poll_once(read).await
    };
    let got = match got {
        Some(res) => match res.unwrap() {
            0 => return None,
            n => n,
        },
        // The read waits in the ring (or, on the readiness backend, for the reactor).
        None => 0,
    };
    if moves.busy.swap(true, Ordering::SeqCst) {
        return Some(got);
    }
    moves.tried.fetch_add(1, Ordering::SeqCst);
    if got == 0 {
        moves.in_flight.fetch_add(1, Ordering::SeqCst);
    }
    let before = std::thread::current().id();
    let release = Arc::new(AtomicBool::new(false));
    let spinning = release.clone();
    let spinner = runtime::spawn(async move {
        // Bounded, so a bug shows as a slow failure rather than a hang.
        let until = Instant::now() + Duration::from_secs(10);
        while !spinning.load(Ordering::SeqCst) && Instant::now() < until {
            std::hint::spin_loop();
        }
    });
    runtime::yield_now().await;
    if std::thread::current().id() != before {
        moves.done.fetch_add(1, Ordering::SeqCst);
    }
    release.store(true, Ordering::SeqCst);
    spinner.await.unwrap();
    moves.busy.store(false, Ordering::SeqCst);
    Some(got)
}

/// Echoes `s` through the `futures_io` traits until the end of the stream; in `Threads`
/// forces moves (every turn until three have happened, then every eighth).
async fn echo(mut s: TcpStream, force: bool, moves: Arc<Moves>) -> usize {
    let mut buf = vec![0u8; 8192];
    let mut echoed = 0;
    let mut turn = 0usize;
    loop {
        turn += 1;
        let mut n = 0;
        if force && (moves.done.load(Ordering::SeqCst) < 3 || turn % 8 == 0) {
            match read_in_flight_then_move(&mut s, &mut buf, &moves).await {
                None => return echoed,
                Some(k) => n = k,
            }
        }
        if n == 0 {
            n = AsyncReadExt::read(&mut s, &mut buf).await.unwrap();
            if n == 0 {
                return echoed;
            }
        }
        AsyncWriteExt::write_all(&mut s, &buf[..n]).await.unwrap();
        echoed += n;
    }
}

/// One client on a plain thread: sends `TOTAL` bytes in uneven chunks, each only once
/// the previous one has come back (so the server's next read finds the socket empty and
/// waits in flight), checking every byte.
fn client(addr: std::net::SocketAddr) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let data: Vec<u8> = (0..TOTAL).map(byte).collect();
        let mut got = vec![0u8; 16 << 10];
        let mut at = 0;
        for size in [1usize, 700, 9000, 3, 2000, 100].iter().cycle() {
            if at == TOTAL {
                break;
            }
            let end = (at + size).min(TOTAL);
            c.write_all(&data[at..end]).unwrap();
            while at < end {
                let n = c.read(&mut got).unwrap();
                assert!(n > 0, "the echo ended after {at} of {TOTAL} bytes");
                if let Some(k) = (0..n).find(|&k| got[k] != byte(at + k)) {
                    panic!(
                        "echoed byte {} is {} instead of {}",
                        at + k,
                        got[k],
                        byte(at + k)
                    );
                }
                at += n;
            }
        }
        c.shutdown(std::net::Shutdown::Write).unwrap();
        assert_eq!(c.read(&mut got).unwrap(), 0, "bytes past the end");
    })
}

rt_test_io! {
    fn a_connection_moved_between_workers_keeps_every_byte(rt: &Runtime, flavor: Flavor) {
        // Only `Threads` has a sibling to steal the task; elsewhere the spinner would hold
        // the one loop (or, in `Gil`, the lock) that the moved task needs.
        let force = flavor.mode == Mode::Threads;
        let moves = Arc::new(Moves::default());
        let m = moves.clone();
        let echoed = rt.block_on(async move {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let clients: Vec<_> = (0..CONNS).map(|_| client(addr)).collect();
            let mut tasks = Vec::new();
            for _ in 0..CONNS {
                let (s, _) = l.accept().await.unwrap();
                tasks.push(runtime::spawn(echo(s, force, m.clone())));
            }
            let mut echoed = 0;
            for t in tasks {
                echoed += t.await.unwrap();
            }
            for c in clients {
                c.join().unwrap();
            }
            echoed
        });
        assert_eq!(echoed, CONNS * TOTAL);
        if force {
            let done = moves.done.load(Ordering::SeqCst);
            let tried = moves.tried.load(Ordering::SeqCst);
            let in_flight = moves.in_flight.load(Ordering::SeqCst);
            assert!(done > 0, "no task moved to another worker in {tried} tries");
            assert!(in_flight > 0, "no move was made with a read in flight ({tried} tries)");
        }
    }
}

/// Handlers that each hold their worker for this long once their byte arrives.
const HOLD: Duration = Duration::from_millis(30);
/// Connections whose reads all wait on one worker's ring.
const HELD: usize = 6;

/// The help rule (`threads/mod.rs`, home rule 4): tasks woken by one worker's own
/// completions stay there unless their backlog lasts, and a backlog that lasts is shared.
/// Every handler's read is made to wait on one worker (the other is held by a spinner
/// meanwhile), then one burst of bytes wakes them all there, and each handler holds its
/// worker for `HOLD`: the parked sibling must be woken to take some of them (on io_uring,
/// without the rule's wake nothing else would wake it, and every handler would run on
/// one thread).
fn a_lasting_backlog_of_io_woken_tasks_is_shared(rt: &Runtime) {
    let threads = rt.block_on(async move {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let clients: Vec<_> = (0..HELD)
            .map(|_| std::net::TcpStream::connect(addr).unwrap())
            .collect();
        let mut conns = Vec::new();
        for _ in 0..HELD {
            conns.push(l.accept().await.unwrap().0);
        }
        // Hold one worker, so that every handler is polled (and arms its read) on the
        // other one.
        let (spinning, release, armed) = (
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let spinner = {
            let (spinning, release) = (spinning.clone(), release.clone());
            runtime::spawn(async move {
                spinning.store(true, Ordering::SeqCst);
                let until = Instant::now() + Duration::from_secs(10);
                while !release.load(Ordering::SeqCst) && Instant::now() < until {
                    std::hint::spin_loop();
                }
            })
        };
        while !spinning.load(Ordering::SeqCst) {
            runtime::sleep(Duration::from_millis(1)).await;
        }
        let handlers: Vec<_> = conns
            .into_iter()
            .map(|mut s| {
                let armed = armed.clone();
                runtime::spawn(async move {
                    let mut b = [0u8; 1];
                    armed.fetch_add(1, Ordering::SeqCst);
                    assert_eq!(AsyncReadExt::read(&mut s, &mut b).await.unwrap(), 1);
                    let at = std::thread::current().id();
                    let until = Instant::now() + HOLD;
                    while Instant::now() < until {
                        std::hint::spin_loop();
                    }
                    at
                })
            })
            .collect();
        while armed.load(Ordering::SeqCst) < HELD {
            runtime::sleep(Duration::from_millis(1)).await;
        }
        release.store(true, Ordering::SeqCst);
        spinner.await.unwrap();
        // The burst comes from a plain thread once the released worker has parked, with
        // no timer of the runtime's due that could wake it first.
        let burst = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            for mut c in &clients {
                c.write_all(b"x").unwrap();
            }
            clients
        });
        let mut threads = Vec::new();
        for h in handlers {
            threads.push(h.await.unwrap());
        }
        drop(burst.join().unwrap());
        threads
    });
    let distinct: std::collections::HashSet<_> = threads.iter().collect();
    assert!(
        distinct.len() > 1,
        "all {HELD} handlers ran on one worker: nobody helped a backlog that lasted"
    );
}

#[test]
fn threads_a_lasting_backlog_of_io_woken_tasks_is_shared() {
    support::run(
        Flavor::THREADS,
        "a_lasting_backlog_of_io_woken_tasks_is_shared",
        a_lasting_backlog_of_io_woken_tasks_is_shared,
    );
}

/// On the readiness backend the reactor's wakes are not reaps of the worker's own ring,
/// so they wake a sibling at once, not through the help rule: this checks that such a
/// backlog is shared there too (it passes with or without the rule's wake).
#[test]
fn threads_plain_a_lasting_backlog_of_io_woken_tasks_is_shared() {
    support::run(
        Flavor::THREADS_PLAIN,
        "a_lasting_backlog_of_io_woken_tasks_is_shared",
        a_lasting_backlog_of_io_woken_tasks_is_shared,
    );
}

/// Connections accepted at once.
const ACCEPTED: usize = 16;

/// `WorkerMetrics::io_homes` counts the streams whose multishot receive is armed on each
/// worker's ring: a server accepts connections whose handlers each echo one byte and
/// then wait to read the end of their stream (a multishot receive, armed after a
/// message-sized read). While they all wait, the homes add up to the connections; once
/// the clients close, every receive has ended and the count is back to zero.
fn io_homes_count_the_armed_receives(rt: &Runtime) {
    if rt.io_backend() != runtime::IoBackend::IoUring {
        // The kernel refused io_uring (`backend_is_reported` checks why): no rings.
        return;
    }
    let (waiting, after) = rt.block_on(async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let clients = std::thread::spawn(move || {
            (0..ACCEPTED)
                .map(|_| {
                    let mut c = std::net::TcpStream::connect(addr).unwrap();
                    c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                    c.write_all(b"x").unwrap();
                    let mut b = [0u8; 1];
                    c.read_exact(&mut b).unwrap();
                    c
                })
                .collect::<Vec<_>>()
        });
        // The accept loop runs on a worker, as a server's does.
        let server = runtime::spawn(async move {
            let mut handlers = Vec::new();
            for _ in 0..ACCEPTED {
                let (mut s, _) = l.accept().await.unwrap();
                handlers.push(runtime::spawn(async move {
                    let mut b = [0u8; 16];
                    let n = AsyncReadExt::read(&mut s, &mut b).await.unwrap();
                    AsyncWriteExt::write_all(&mut s, &b[..n]).await.unwrap();
                    assert_eq!(AsyncReadExt::read(&mut s, &mut b).await.unwrap(), 0);
                }));
            }
            handlers
        });
        let handlers = server.await.unwrap();
        // Joined off the loop (a `Single` loop runs on this thread).
        let conns = runtime::spawn_blocking(move || clients.join().unwrap())
            .await
            .unwrap();
        let homes = || -> Vec<usize> { rt.metrics().workers.iter().map(|w| w.io_homes).collect() };
        let until = Instant::now() + Duration::from_secs(30);
        while homes().iter().sum::<usize>() < ACCEPTED && Instant::now() < until {
            runtime::sleep(Duration::from_millis(1)).await;
        }
        let waiting = homes();
        drop(conns);
        for h in handlers {
            h.await.unwrap();
        }
        let until = Instant::now() + Duration::from_secs(30);
        while homes().iter().sum::<usize>() > 0 && Instant::now() < until {
            runtime::sleep(Duration::from_millis(1)).await;
        }
        (waiting, homes())
    });
    assert_eq!(
        waiting.iter().sum::<usize>(),
        ACCEPTED,
        "homes per worker: {waiting:?}"
    );
    assert_eq!(
        after.iter().sum::<usize>(),
        0,
        "homes per worker after the close: {after:?}"
    );
}

#[test]
fn threads_io_homes_count_the_armed_receives() {
    support::run(
        Flavor::THREADS,
        "io_homes_count_the_armed_receives",
        io_homes_count_the_armed_receives,
    );
}

#[test]
fn single_io_homes_count_the_armed_receives() {
    support::run(
        Flavor::SINGLE_URING,
        "io_homes_count_the_armed_receives",
        io_homes_count_the_armed_receives,
    );
}
