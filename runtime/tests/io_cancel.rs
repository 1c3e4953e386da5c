//! Cancelling I/O in flight, under both backends and every mode: nothing leaks (open
//! descriptors counted in /proc/self/fd before and after) and no received byte is lost.
//!
//! The bodies take one lock, and build their runtime under it, so that only one test
//! opens or closes descriptors at a time.

#[macro_use]
mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use futures_lite::future::poll_once;
use runtime::net::{TcpListener, TcpStream};
use runtime::Builder;

static SERIAL: Mutex<()> = Mutex::new(());

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Waits (up to a wide bound) until the open descriptors are back to `want`: closing
/// after a cancelled operation waits for the kernel's completion, which a loop reaps at
/// its next turn.
async fn fds_settle_to(want: usize) -> usize {
    let mut now = open_fds();
    for _ in 0..200 {
        if now == want {
            break;
        }
        runtime::sleep(Duration::from_millis(10)).await;
        now = open_fds();
    }
    now
}

async fn pair() -> (TcpListener, TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    let (s, _) = l.accept().await.unwrap();
    (l, c, s)
}

rt_test_io! {
    fn cancelled_reads_lose_no_bytes_and_leak_nothing(b: Builder) {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let rt = b.build().unwrap();
        rt.block_on(async {
            let warm = pair().await; // starts the reactor thread in readiness mode
            drop(warm);
            let before = fds_settle_to(open_fds()).await;
            let (l, c, s) = pair().await;

            // 1. Cancelled while nothing has arrived.
            let r = runtime::timeout(Duration::from_millis(20), s.read(Vec::with_capacity(8))).await;
            assert!(r.is_err(), "nothing was sent, so the read must time out");
            let (res, _) = c.write_all(b"abc".to_vec()).await;
            res.unwrap();
            assert_eq!(support::read_exactly(&s, 3).await, b"abc");

            // 2. Dropped after the kernel may already have filled its buffer: the bytes
            //    come back with the next read, in order.
            for round in 0..20u8 {
                let mut fut: Pin<Box<dyn Future<Output = _> + Send>> =
                    Box::pin(s.read(Vec::with_capacity(64)));
                assert!(poll_once(&mut fut).await.is_none(), "nothing sent yet");
                let (res, _) = c.write_all(vec![b'a' + round; 5]).await;
                res.unwrap();
                // Let the completion land (or not) before dropping: both must be safe.
                if round % 2 == 0 {
                    runtime::sleep(Duration::from_millis(5)).await;
                }
                drop(fut);
                let (res, _) = c.write_all(b"|".to_vec()).await;
                res.unwrap();
                let mut want = vec![b'a' + round; 5];
                want.push(b'|');
                assert_eq!(support::read_exactly(&s, 6).await, want, "round {round}");
            }

            // 3. The same with a boxed slice, whose length is its capacity: exactly the
            //    bytes received are kept, not the whole buffer.
            for round in 0..6u8 {
                let buf = vec![b'#'; 64].into_boxed_slice();
                let mut fut: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(s.read(buf));
                assert!(poll_once(&mut fut).await.is_none(), "nothing sent yet");
                let (res, _) = c.write_all(vec![b'0' + round; 3]).await;
                res.unwrap();
                runtime::sleep(Duration::from_millis(5)).await;
                drop(fut);
                let (res, _) = c.write_all(b"!".to_vec()).await;
                res.unwrap();
                let mut want = vec![b'0' + round; 3];
                want.push(b'!');
                assert_eq!(support::read_exactly(&s, 4).await, want, "boxed round {round}");
            }

            drop((l, c, s));
            assert_eq!(fds_settle_to(before).await, before, "descriptors leaked");
        });
    }

    fn cancelled_accept_keeps_what_it_accepted(b: Builder) {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let rt = b.build().unwrap();
        rt.block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let before = fds_settle_to(open_fds()).await;

            // Cancelled with nothing to accept.
            for _ in 0..10 {
                let r = runtime::timeout(Duration::from_millis(2), l.accept()).await;
                assert!(r.is_err());
            }
            assert_eq!(fds_settle_to(before).await, before, "idle cancelled accepts leaked");

            // Cancelled after a connection arrived: io_uring may have accepted it for the
            // dropped future; it is then kept on the listener (not closed, not leaked)
            // and the next accept returns it. Readiness never accepted it: the next
            // accept gets it from the kernel.
            let mut acc: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(l.accept());
            assert!(poll_once(&mut acc).await.is_none());
            let c = TcpStream::connect(addr).await.unwrap();
            runtime::sleep(Duration::from_millis(20)).await;
            drop(acc);
            let next = runtime::timeout(Duration::from_secs(10), l.accept()).await;
            let (s, peer) = next.expect("the cancelled accept's connection was lost").unwrap();
            assert_eq!(peer, c.local_addr().unwrap());
            drop(s);
            drop(c);
            // The listener still works.
            let c2 = TcpStream::connect(addr).await.unwrap();
            let (s2, _) = l.accept().await.unwrap();
            drop((c2, s2));
            assert_eq!(fds_settle_to(before).await, before, "descriptors leaked");
        });
    }

    fn a_listener_dropped_with_kept_connections_closes_them(b: Builder) {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let rt = b.build().unwrap();
        rt.block_on(async {
            let warm = pair().await;
            drop(warm);
            let before = fds_settle_to(open_fds()).await;
            for round in 0..6 {
                let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = l.local_addr().unwrap();
                // An accept in flight takes the connection, then is dropped: after its
                // completion was reaped (even rounds), or before (odd rounds: the
                // completion then comes after the listener is gone).
                let mut acc: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(l.accept());
                assert!(poll_once(&mut acc).await.is_none());
                let c = TcpStream::connect(addr).await.unwrap();
                if round % 2 == 0 {
                    runtime::sleep(Duration::from_millis(10)).await;
                }
                drop(acc);
                drop(l);
                // The connection, kept for the next accept or still in the kernel's
                // queue, is closed with the listener: the client sees it.
                let read = runtime::timeout(Duration::from_secs(10), c.read(Vec::with_capacity(4)));
                let (n, _) = read.await.unwrap_or_else(|_| panic!("round {round}: the kept connection was not closed"));
                match n {
                    Ok(0) => {}
                    Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "round {round}"),
                    Ok(n) => panic!("round {round}: read {n} bytes from a closed connection"),
                }
                drop(c);
            }
            assert_eq!(fds_settle_to(before).await, before, "descriptors leaked");
        });
    }

    fn cancelled_connect_leaks_nothing(b: Builder) {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let rt = b.build().unwrap();
        rt.block_on(async {
            // A listener whose accept queue is full: further connects hang in SYN retries.
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            // SAFETY: listen(2) on a socket `l` owns; backlog 0 (queue of one).
            assert_eq!(unsafe { libc::listen(std::os::fd::AsRawFd::as_raw_fd(&l), 0) }, 0);
            let addr = l.local_addr().unwrap();
            let warm = TcpStream::connect(addr).await.unwrap(); // fills the queue
            let before = fds_settle_to(open_fds()).await;
            let mut timed_out = 0;
            let mut kept = Vec::new();
            for _ in 0..4 {
                match runtime::timeout(Duration::from_millis(100), TcpStream::connect(addr)).await {
                    Err(_) => timed_out += 1,
                    Ok(Ok(c)) => kept.push(c),
                    Ok(Err(e)) => panic!("connect failed: {e}"),
                }
            }
            assert!(timed_out > 0, "a full accept queue should stall a connect");
            let kept_fds = kept.len();
            assert_eq!(fds_settle_to(before + kept_fds).await, before + kept_fds, "a cancelled connect leaked its socket");
            drop((kept, warm, l));
        });
    }

    fn dropping_a_stream_with_a_read_in_flight(b: Builder) {
        let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        let rt = b.build().unwrap();
        rt.block_on(async {
            let warm = pair().await;
            drop(warm);
            let before = fds_settle_to(open_fds()).await;
            let (l, c, s) = pair().await;
            let s = std::sync::Arc::new(s);
            let reader = {
                let s = s.clone();
                runtime::spawn(async move { s.read(Vec::with_capacity(16)).await.0 })
            };
            runtime::sleep(Duration::from_millis(10)).await;
            reader.cancel();
            assert!(reader.await.unwrap_err().is_cancelled());
            drop(s);
            // The peer sees the close.
            let (n, _) = c.read(Vec::with_capacity(4)).await;
            assert_eq!(n.unwrap(), 0);
            drop((l, c));
            assert_eq!(fds_settle_to(before).await, before, "descriptors leaked");
        });
    }
}

/// Dropping a runtime with I/O in flight cancels it, waits for the kernel and closes
/// every descriptor, the rings included; nothing hangs.
#[test]
fn runtime_drop_with_io_in_flight() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    for flavor in [
        support::Flavor::SINGLE_URING,
        support::Flavor::SINGLE_PLAIN,
        support::Flavor::THREADS,
        support::Flavor::THREADS_PLAIN,
    ] {
        // Warm the readiness reactor (made once per process, on first use) and the
        // harness's own descriptors.
        let warm = flavor.build();
        warm.block_on(async { drop(TcpListener::bind("127.0.0.1:0").await.unwrap()) });
        drop(warm);
        let before = open_fds();
        let rt = flavor.build();
        rt.block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let c = TcpStream::connect(addr).await.unwrap();
            runtime::spawn(async move {
                let _c = c;
                let _ = l.accept().await;
            });
            runtime::spawn(async {
                let f = runtime::fs::File::open("/dev/zero").await.unwrap();
                loop {
                    let _ = f.read_at(Vec::with_capacity(4096), 0).await;
                }
            });
            runtime::sleep(Duration::from_millis(20)).await;
        });
        drop(rt);
        let mut now = open_fds();
        for _ in 0..100 {
            if now <= before {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            now = open_fds();
        }
        let names: Vec<String> = std::fs::read_dir("/proc/self/fd")
            .unwrap()
            .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
            .map(|p| p.display().to_string())
            .collect();
        assert!(
            now <= before,
            "{flavor:?}: {before} fds before, {now} after the drop: {names:?}"
        );
    }
}
