//! Listeners under cancellation and shutdown, under both I/O backends and every mode:
//! a connection the kernel handed to a cancelled accept waits for the next accept; a
//! dropped listener refuses connections at once; a restarted server binds its port at
//! once; I/O polled after its runtime is gone fails with one clear error.

#[macro_use]
mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_lite::future::{block_on, poll_once};
use runtime::net::{TcpListener, TcpStream, UdpSocket};
use runtime::{Builder, Runtime};
use support::{read_exactly, Flavor};

/// Reads 8 bytes and writes them back.
async fn echo_once(s: TcpStream) {
    let got = read_exactly(&s, 8).await;
    let (res, _) = s.write_all(got).await;
    res.unwrap();
}

/// Asserts that a blocking connect to `addr`, made now (no loop turn in between), is
/// refused.
fn assert_refused(addr: std::net::SocketAddr, what: &str) {
    match std::net::TcpStream::connect(addr) {
        Ok(_) => panic!("{what}: a connect to the dropped listener's port succeeded"),
        Err(e) => assert_eq!(
            e.kind(),
            std::io::ErrorKind::ConnectionRefused,
            "{what}: {e}"
        ),
    }
}

/// The result of an owned-buffer operation, without its buffer.
fn res<T, B>(r: Option<(std::io::Result<T>, B)>) -> Option<std::io::Result<T>> {
    r.map(|(r, _)| r)
}

/// Asserts that an I/O result is the error of I/O polled outside any runtime.
fn assert_no_runtime<T: std::fmt::Debug>(what: &str, r: Option<std::io::Result<T>>) {
    let r = r.unwrap_or_else(|| panic!("{what}: pending outside a runtime, not an error"));
    let e = r.expect_err(what);
    assert_eq!(e.kind(), std::io::ErrorKind::Other, "{what}: {e}");
    assert!(e.to_string().contains("outside a runtime"), "{what}: {e}");
}

rt_test_io! {
    fn timed_out_accepts_lose_no_client(rt: &Runtime) {
        const CLIENTS: usize = 300;
        rt.block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let timeouts = Arc::new(AtomicUsize::new(0));
            let server = {
                let timeouts = timeouts.clone();
                runtime::spawn(async move {
                    let mut echoes = Vec::new();
                    while echoes.len() < CLIENTS {
                        // 1 us: most accepts are cancelled, many after the kernel has
                        // already taken a connection for them. A deadline (not a
                        // duration): one already past when the timeout is first polled
                        // ends it there, after the accept's first poll submitted it.
                        let deadline = runtime::now() + Duration::from_micros(1);
                        match runtime::timeout_at(deadline, l.accept()).await {
                            Ok(Ok((s, _))) => echoes.push(runtime::spawn(echo_once(s))),
                            Ok(Err(e)) => panic!("accept failed: {e}"),
                            Err(_) => {
                                timeouts.fetch_add(1, Ordering::Relaxed);
                                // A deadline already past when first polled ends the
                                // timeout without a wait: let the clients run.
                                runtime::yield_now().await;
                            }
                        }
                    }
                    for e in echoes {
                        e.await.unwrap();
                    }
                    l
                })
            };
            let clients: Vec<_> = (0..CLIENTS as u64)
                .map(|i| {
                    runtime::spawn(async move {
                        let c = TcpStream::connect(addr).await.unwrap();
                        let msg = i.to_le_bytes().to_vec();
                        let (res, _) = c.write_all(msg.clone()).await;
                        res.unwrap_or_else(|e| panic!("client {i}: write: {e}"));
                        let mut got = Vec::new();
                        while got.len() < 8 {
                            let (r, buf) = c.read(Vec::with_capacity(8)).await;
                            match r {
                                Ok(0) => panic!("client {i}: closed without its echo"),
                                Ok(n) => got.extend_from_slice(&buf[..n]),
                                Err(e) => panic!("client {i}: lost ({e})"),
                            }
                        }
                        assert_eq!(got, msg, "client {i}: wrong echo");
                    })
                })
                .collect();
            for c in clients {
                c.await.unwrap();
            }
            let l = server.await.unwrap();
            assert!(timeouts.load(Ordering::Relaxed) > 0, "no accept was cancelled");
            // Nothing is left over for the next accept: every client was served once.
            assert!(runtime::timeout(Duration::from_millis(20), l.accept()).await.is_err());
        });
    }

    fn a_cancelled_accept_hands_its_connection_to_the_next(rt: &Runtime) {
        rt.block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            for round in 0..20 {
                // In flight, then a connection arrives, then the accept is dropped (after
                // its completion had time to land, or not).
                let mut acc: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(l.accept());
                assert!(poll_once(&mut acc).await.is_none(), "round {round}: nobody connected");
                let c = TcpStream::connect(addr).await.unwrap();
                if round % 2 == 0 {
                    runtime::sleep(Duration::from_millis(5)).await;
                }
                drop(acc);
                let next = runtime::timeout(Duration::from_secs(10), l.accept()).await;
                let (s, peer) = next
                    .unwrap_or_else(|_| panic!("round {round}: the connection was lost"))
                    .unwrap();
                assert_eq!(peer, c.local_addr().unwrap(), "round {round}");
                let (res, _) = c.write_all(b"ping".to_vec()).await;
                res.unwrap();
                assert_eq!(read_exactly(&s, 4).await, b"ping", "round {round}");
            }
        });
    }

    fn a_waiting_accept_gets_what_a_cancelled_one_took(rt: &Runtime) {
        rt.block_on(async {
            let l = Arc::new(TcpListener::bind("127.0.0.1:0").await.unwrap());
            let addr = l.local_addr().unwrap();
            for round in 0..10 {
                // Two accepts wait, `first` since before the other; a connection comes
                // (under io_uring the kernel most likely gives it to `first`, whose
                // completion is reaped meanwhile), then `first` is dropped unpolled.
                // The other one, still waiting in the kernel, must get the connection:
                // it is not left waiting for a second one that never comes.
                let mut first: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(l.accept());
                assert!(poll_once(&mut first).await.is_none());
                let waiting = {
                    let l = l.clone();
                    runtime::spawn(async move { l.accept().await })
                };
                runtime::sleep(Duration::from_millis(5)).await;
                let c = TcpStream::connect(addr).await.unwrap();
                runtime::sleep(Duration::from_millis(5)).await;
                drop(first);
                let got = runtime::timeout(Duration::from_secs(10), waiting).await;
                let (_, peer) = got
                    .unwrap_or_else(|_| panic!("round {round}: the waiting accept never got it"))
                    .unwrap()
                    .unwrap();
                assert_eq!(peer, c.local_addr().unwrap(), "round {round}");
            }
        });
    }

    fn a_dropped_listener_refuses_connections_at_once(rt: &Runtime) {
        // An address of its own (127.7.N.1, N per run of this test): a port freed by the
        // drop could otherwise be handed at once to another test's `bind("127.0.0.1:0")`
        // running in parallel, whose listener would then accept the connect. Seen once in
        // about 200 runs.
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let ip = format!("127.7.{}.1", NEXT.fetch_add(1, Ordering::Relaxed) % 250);
        rt.block_on(async {
            for round in 0..20 {
                let l = TcpListener::bind(format!("{ip}:0")).await.unwrap();
                let addr = l.local_addr().unwrap();
                let mut acc: Pin<Box<dyn Future<Output = _> + Send>> = Box::pin(l.accept());
                assert!(poll_once(&mut acc).await.is_none());
                // Let the accept reach the kernel.
                runtime::sleep(Duration::from_millis(2)).await;
                drop(acc);
                drop(l);
                // No await since the drop: the cancelled accept is not reaped yet.
                assert_refused(addr, &format!("round {round}"));
            }
            // The listener owned by a task blocked in accept, dropped with the task.
            let l = TcpListener::bind(format!("{ip}:0")).await.unwrap();
            let addr = l.local_addr().unwrap();
            let task = runtime::spawn(async move { l.accept().await.map(drop) });
            runtime::sleep(Duration::from_millis(5)).await;
            task.cancel();
            assert!(task.await.unwrap_err().is_cancelled());
            assert_refused(addr, "a cancelled task's listener");
        });
    }

    fn a_restarted_server_binds_its_port_at_once(rt: &Runtime, flavor: Flavor) {
        // An address of its own, as above: between the drop and the rebind another test's
        // `bind("127.0.0.1:0")` could otherwise take the freed port.
        static NEXT: AtomicUsize = AtomicUsize::new(1);
        let ip = format!("127.8.{}.1", NEXT.fetch_add(1, Ordering::Relaxed) % 250);
        let ip = ip.as_str();
        // A server task with a client connected, a read and an accept in flight.
        async fn serve(l: TcpListener) {
            let (s, _) = l.accept().await.unwrap();
            let read = s.read(Vec::with_capacity(8));
            let _ = futures_lite::future::zip(read, l.accept()).await;
        }
        async fn rebind(addr: std::net::SocketAddr, what: &str) {
            let l = TcpListener::bind(addr)
                .await
                .unwrap_or_else(|e| panic!("{what}: the port is not free at once: {e}"));
            let c = TcpStream::connect(addr).await.unwrap();
            let (_, peer) = l.accept().await.unwrap();
            assert_eq!(peer, c.local_addr().unwrap(), "{what}");
        }
        // 1. The server task is cancelled.
        rt.block_on(async {
            for round in 0..10 {
                let l = TcpListener::bind(format!("{ip}:0")).await.unwrap();
                let addr = l.local_addr().unwrap();
                let server = runtime::spawn(serve(l));
                let c = TcpStream::connect(addr).await.unwrap();
                runtime::sleep(Duration::from_millis(5)).await;
                server.cancel();
                assert!(server.await.unwrap_err().is_cancelled());
                rebind(addr, &format!("task dropped, round {round}")).await;
                drop(c);
            }
        });
        // 2. The server's runtime is dropped; the client outlives it.
        for round in 0..5 {
            let old = flavor.build();
            let (addr, client) = old.block_on(async {
                let l = TcpListener::bind(format!("{ip}:0")).await.unwrap();
                let addr = l.local_addr().unwrap();
                let _server = runtime::spawn(serve(l));
                let c = std::net::TcpStream::connect(addr).unwrap();
                runtime::sleep(Duration::from_millis(5)).await;
                (addr, c)
            });
            drop(old);
            rt.block_on(rebind(addr, &format!("runtime dropped, round {round}")));
            drop(client);
        }
    }

    fn io_after_its_runtime_is_dropped_fails_clearly(b: Builder) {
        let rt = b.build().unwrap();
        let (l, c, s, u) = rt.block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
            let (s, _) = l.accept().await.unwrap();
            // Bytes wait in `s`: even a read that would not block fails.
            let (res, _) = c.write_all(b"left".to_vec()).await;
            res.unwrap();
            let u = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            (l, c, s, u)
        });
        support::drop_runtime(rt);
        assert_no_runtime("accept", block_on(poll_once(l.accept())));
        assert_no_runtime("read with bytes waiting", res(block_on(poll_once(s.read(Vec::with_capacity(8))))));
        assert_no_runtime("read with nothing waiting", res(block_on(poll_once(c.read(Vec::with_capacity(8))))));
        assert_no_runtime("write", res(block_on(poll_once(c.write(b"x".to_vec())))));
        assert_no_runtime("connect", block_on(poll_once(TcpStream::connect(l.local_addr().unwrap()))));
        let mut s = s;
        let mut dst = [0u8; 8];
        assert_no_runtime(
            "AsyncRead",
            block_on(poll_once(futures_lite::AsyncReadExt::read(&mut s, &mut dst))),
        );
        let mut c = c;
        assert_no_runtime(
            "AsyncWrite",
            block_on(poll_once(futures_lite::AsyncWriteExt::write(&mut c, b"x"))),
        );
        let to = u.local_addr().unwrap();
        assert_no_runtime("send_to", res(block_on(poll_once(u.send_to(b"x".to_vec(), to)))));
        assert_no_runtime("recv_from", res(block_on(poll_once(u.recv_from(Vec::with_capacity(8))))));
        // Dropping them outside a runtime is fine.
        drop((l, c, s, u));
    }
}
