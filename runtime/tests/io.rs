//! I/O behaviour under both backends (io_uring and the readiness fallback) and every
//! mode: each operation of `net` and `fs`, the futures-io traits, and the I/O backend
//! report. Leak and cancellation tests are in `io_cancel.rs`.

#[macro_use]
mod support;

use std::net::Shutdown;
use std::time::Duration;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use runtime::net::{TcpListener, TcpStream, UdpSocket};
use runtime::{IoBackend, Runtime};
use support::Flavor;

fn temp_path(tag: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("rt-io-{tag}-{}-{n}", std::process::id()))
}

/// One echo server task per connection: read, write back, until end of stream.
async fn echo(conn: TcpStream) -> usize {
    let mut total = 0;
    let mut buf = Vec::with_capacity(4096);
    loop {
        let (n, b) = conn.read(buf).await;
        let n = n.expect("server read");
        if n == 0 {
            return total;
        }
        total += n;
        let (res, b) = conn.write_all(b).await;
        res.expect("server write");
        buf = b;
    }
}

rt_test_io! {
    fn backend_is_reported(rt: &Runtime, flavor: Flavor) {
        match rt.io_backend() {
            IoBackend::IoUring => assert!(flavor.io_uring, "io_uring although disabled"),
            IoBackend::Readiness { reason } => {
                if flavor.io_uring {
                    // Only a kernel refusal may take io_uring away.
                    assert!(reason.contains("refused") || reason.contains("lacks"), "{reason}");
                } else {
                    assert!(reason.contains("disabled"), "{reason}");
                }
            }
        }
    }

    fn tcp_echo_round_trips(rt: &Runtime) {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = runtime::spawn(async move {
                let (conn, peer) = listener.accept().await.unwrap();
                assert_eq!(conn.peer_addr().unwrap(), peer);
                echo(conn).await
            });
            let client = TcpStream::connect(addr).await.unwrap();
            client.set_nodelay(true).unwrap();
            for i in 0..100u32 {
                let msg = format!("message {i}").into_bytes();
                let len = msg.len();
                let (res, _) = client.write_all(msg).await;
                res.unwrap();
                let got = support::read_exactly(&client, len).await;
                assert_eq!(got, format!("message {i}").into_bytes());
            }
            client.shutdown(Shutdown::Write).unwrap();
            let (n, _) = client.read(Vec::with_capacity(8)).await;
            assert_eq!(n.unwrap(), 0, "end of stream after the server saw ours");
            assert!(server.await.unwrap() > 0);
        });
    }

    fn many_connections_at_once(rt: &Runtime) {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = runtime::spawn(async move {
                let mut conns = Vec::new();
                for _ in 0..32 {
                    let (c, _) = listener.accept().await.unwrap();
                    conns.push(runtime::spawn(echo(c)));
                }
                let mut total = 0;
                for c in conns {
                    total += c.await.unwrap();
                }
                total
            });
            let clients = (0..32u8).map(|i| async move {
                let c = TcpStream::connect(addr).await.unwrap();
                let payload = vec![i; 10_000];
                let (res, _) = c.write_all(payload).await;
                res.unwrap();
                c.shutdown(Shutdown::Write).unwrap();
                assert_eq!(support::read_to_eof(&c).await, vec![i; 10_000]);
            });
            let handles: Vec<_> = clients.map(runtime::spawn).collect();
            for h in handles {
                h.await.unwrap();
            }
            assert_eq!(server.await.unwrap(), 32 * 10_000);
        });
    }

    fn futures_io_traits(rt: &Runtime) {
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = runtime::spawn(async move {
                let (mut conn, _) = listener.accept().await.unwrap();
                let mut head = [0u8; 5];
                conn.read_exact(&mut head).await.unwrap();
                let mut rest = Vec::new();
                conn.read_to_end(&mut rest).await.unwrap();
                AsyncWriteExt::write_all(&mut conn, &head).await.unwrap();
                AsyncWriteExt::write_all(&mut conn, &rest).await.unwrap();
                conn.close().await.unwrap();
                5 + rest.len()
            });
            let mut c = TcpStream::connect(addr).await.unwrap();
            let big: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
            AsyncWriteExt::write_all(&mut c, b"hello").await.unwrap();
            AsyncWriteExt::write_all(&mut c, &big).await.unwrap();
            c.close().await.unwrap();
            let mut back = Vec::new();
            c.read_to_end(&mut back).await.unwrap();
            assert_eq!(&back[..5], b"hello");
            assert_eq!(&back[5..], &big[..]);
            assert_eq!(server.await.unwrap(), 200_005);
        });
    }

    fn connect_refused_and_bad_address(rt: &Runtime) {
        rt.block_on(async {
            let e = TcpStream::connect("127.0.0.1:1").await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
            let e = TcpListener::bind("not an address").await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
        });
    }

    fn udp_send_to_recv_from(rt: &Runtime) {
        rt.block_on(async {
            let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let b_addr = b.local_addr().unwrap();
            let receiver = runtime::spawn(async move {
                let mut got = Vec::new();
                let mut buf = Vec::with_capacity(1500);
                for _ in 0..10 {
                    let (res, bb) = b.recv_from(buf).await;
                    let (n, from) = res.unwrap();
                    got.push((bb[..n].to_vec(), from));
                    buf = bb;
                }
                got
            });
            // Give the receiver a moment so that datagrams also meet a waiting receive.
            runtime::sleep(Duration::from_millis(5)).await;
            for i in 0..10u8 {
                let (n, _) = a.send_to(vec![i; 100], b_addr).await;
                assert_eq!(n.unwrap(), 100);
            }
            let got = receiver.await.unwrap();
            let a_addr = a.local_addr().unwrap();
            for (i, (data, from)) in got.into_iter().enumerate() {
                assert_eq!(data, vec![i as u8; 100]);
                assert_eq!(from, a_addr);
            }
        });
    }

    fn file_write_read_sync(rt: &Runtime) {
        let path = temp_path("file");
        rt.block_on(async {
            let f = runtime::fs::File::create(&path).await.unwrap();
            let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
            let (res, _) = f.write_all_at(data.clone(), 0).await;
            res.unwrap();
            let (res, _) = f.write_all_at(b"XYZ".to_vec(), 10).await;
            res.unwrap();
            f.sync_all().await.unwrap();
            let (n, buf) = f.read_at(Vec::with_capacity(5), 9).await;
            assert_eq!((n.unwrap(), &buf[..]), (5, &[data[9], b'X', b'Y', b'Z', data[13]][..]));
            let (n, _) = f.read_at(Vec::with_capacity(5), 300_000).await;
            assert_eq!(n.unwrap(), 0, "end of file");
            let all = runtime::fs::read(&path).await.unwrap();
            assert_eq!(all.len(), 300_000);
            assert_eq!(&all[10..13], b"XYZ");
            // Many reads in flight at once, from several tasks.
            let f = std::sync::Arc::new(runtime::fs::File::open(&path).await.unwrap());
            let readers: Vec<_> = (0..16u64)
                .map(|i| {
                    let f = f.clone();
                    runtime::spawn(async move {
                        let (n, b) = f.read_at(Vec::with_capacity(1000), i * 10_000 + 100).await;
                        (n.unwrap(), b)
                    })
                })
                .collect();
            for (i, r) in readers.into_iter().enumerate() {
                let (n, b) = r.await.unwrap();
                let at = i * 10_000 + 100;
                assert_eq!(n, 1000);
                assert_eq!(&b[..], &all[at..at + 1000]);
            }
        });
        std::fs::remove_file(&path).unwrap();
    }

    fn file_errors_are_clear(rt: &Runtime) {
        rt.block_on(async {
            let e = runtime::fs::File::open("/no/such/dir/file").await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
            let e = runtime::fs::File::open("bad\0path").await.unwrap_err();
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
            let f = runtime::fs::File::open("/dev/null").await.unwrap();
            let (res, _) = f.write_at(b"x".to_vec(), 0).await;
            assert!(res.is_err(), "write to a read-only file");
        });
    }

    fn io_completes_while_the_loop_never_idles(rt: &Runtime) {
        // A task that only yields keeps the loop busy: it never parks, so completions
        // (here of a read fed by another OS thread) must be collected at every turn, not
        // only when the loop sleeps.
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let peer = std::thread::spawn(move || {
                use std::io::Write;
                let mut c = std::net::TcpStream::connect(addr).unwrap();
                std::thread::sleep(Duration::from_millis(30));
                c.write_all(b"go").unwrap();
                std::thread::sleep(Duration::from_millis(200));
            });
            let (s, _) = listener.accept().await.unwrap();
            let reader = runtime::spawn(async move { s.read(Vec::with_capacity(8)).await.0.unwrap() });
            let start = std::time::Instant::now();
            while !reader.is_finished() {
                assert!(start.elapsed() < Duration::from_secs(20), "I/O starved by a busy loop");
                runtime::yield_now().await;
            }
            assert_eq!(reader.await.unwrap(), 2);
            peer.join().unwrap();
        });
    }

    fn io_from_a_blocking_thread_and_other_tasks(rt: &Runtime) {
        // A task that moves between workers while its I/O is in flight, and a read
        // awaited by `block_on`'s own future (not a worker in Threads).
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let server = runtime::spawn(async move {
                let (c, _) = listener.accept().await.unwrap();
                for _ in 0..50 {
                    runtime::yield_now().await;
                }
                let (res, _) = c.write_all(b"late".to_vec()).await;
                res.unwrap();
            });
            let c = TcpStream::connect(addr).await.unwrap();
            let (n, buf) = c.read(Vec::with_capacity(16)).await;
            assert_eq!(&buf[..n.unwrap()], b"late");
            server.await.unwrap();
        });
    }

    fn poll_write_pending_means_nothing_written(rt: &Runtime) {
        use std::future::poll_fn;
        use std::task::Poll;
        rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut c = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
            let (s, _) = listener.accept().await.unwrap();
            // Write until the socket buffer is full: the first Pending.
            let chunk = vec![1u8; 64 * 1024];
            let mut sent = 0usize;
            let pending = loop {
                let r = poll_fn(|cx| {
                    Poll::Ready(futures_io::AsyncWrite::poll_write(std::pin::Pin::new(&mut c), cx, &chunk))
                })
                .await;
                match r {
                    Poll::Ready(n) => sent += n.unwrap(),
                    Poll::Pending => break true,
                }
                assert!(sent < 512 << 20, "the socket never filled up");
            };
            assert!(pending);
            let reader = runtime::spawn(async move { support::read_to_eof(&s).await });
            // Give up on that write and send something else: the peer must get exactly
            // the bytes reported written, then the new ones.
            let (res, _) = c.write_all(vec![2u8; 10]).await;
            res.unwrap();
            c.shutdown(Shutdown::Write).unwrap();
            let got = reader.await.unwrap();
            assert_eq!(got.len(), sent + 10, "bytes written behind a Pending");
            assert!(got[..sent].iter().all(|&b| b == 1));
            assert!(got[sent..].iter().all(|&b| b == 2));
        });
    }
}

#[test]
fn io_outside_a_runtime_is_a_clear_error() {
    let e = futures_lite::future::block_on(TcpListener::bind("127.0.0.1:0")).unwrap_err();
    assert!(e.to_string().contains("outside a runtime"), "{e}");
}

/// `Single` runs its loop on whichever thread calls `block_on`: a read submitted while
/// one thread drove the loop must complete while another drives it, even though the
/// first now sleeps in the kernel (completion work must not wait for the submitter).
#[test]
#[allow(clippy::async_yields_async)] // the block hands the task's handle out on purpose
fn single_loop_moving_between_threads_keeps_io_going() {
    for flavor in [Flavor::SINGLE_URING, Flavor::SINGLE_PLAIN] {
        let rt = std::sync::Arc::new(flavor.build());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let reader = rt.block_on(async move {
            let c = TcpStream::connect(addr).await.unwrap();
            let h = runtime::spawn(async move { c.read(Vec::with_capacity(8)).await.0.unwrap() });
            // Let this thread submit the read before it leaves the loop.
            runtime::sleep(Duration::from_millis(20)).await;
            h
        });
        let (mut peer, _) = listener.accept().unwrap();
        let rt2 = rt.clone();
        let other = std::thread::spawn(move || {
            rt2.block_on(runtime::timeout(Duration::from_secs(10), reader))
        });
        // A third thread sends, while this one (the read's submitter) sleeps in a join.
        let writer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            std::io::Write::write_all(&mut peer, b"hey").unwrap();
            peer
        });
        let got = other.join().unwrap();
        drop(writer.join().unwrap());
        assert_eq!(got.expect("the read hung").unwrap(), 3, "{flavor:?}");
    }
}

/// io_uring cancels a thread's operations when that thread exits, and a `Single` loop
/// runs on whichever thread calls `block_on`: operations submitted by a thread that has
/// since ended (an accept, a datagram receive, a stream read, all still waiting) must
/// still complete with their data when the loop runs on another thread, never with
/// `ECANCELED`.
#[test]
fn operations_outlive_the_thread_that_submitted_them() {
    for flavor in [Flavor::SINGLE_URING, Flavor::SINGLE_PLAIN] {
        let rt = std::sync::Arc::new(flavor.build());
        let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let stream_addr = std_listener.local_addr().unwrap();
        let rt1 = rt.clone();
        // A thread that submits the three operations, leaves the loop and ends.
        let (waiting, addrs) = std::thread::spawn(move || {
            rt1.block_on(async move {
                let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let accept_addr = l.local_addr().unwrap();
                let u = runtime::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let udp_addr = u.local_addr().unwrap();
                let c = TcpStream::connect(stream_addr).await.unwrap();
                let accept = runtime::spawn(async move { l.accept().await.map(|_| ()) });
                let recv = runtime::spawn(async move {
                    let (res, buf) = u.recv_from(Vec::with_capacity(16)).await;
                    res.map(|(n, _)| buf[..n].to_vec())
                });
                let read = runtime::spawn(async move {
                    let (res, buf) = c.read(Vec::with_capacity(16)).await;
                    res.map(|n| buf[..n].to_vec())
                });
                // Let this thread submit them before it leaves the loop.
                runtime::sleep(Duration::from_millis(20)).await;
                ((accept, recv, read), (accept_addr, udp_addr))
            })
        })
        .join()
        .unwrap();
        let (mut peer, _) = std_listener.accept().unwrap();
        let rt2 = rt.clone();
        let (accepted, received, read) = std::thread::spawn(move || {
            rt2.block_on(async move {
                let (accept, recv, read) = waiting;
                let _client = TcpStream::connect(addrs.0).await.unwrap();
                let sender = runtime::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
                let (res, _) = sender.send_to(b"dgram".to_vec(), addrs.1).await;
                res.unwrap();
                std::io::Write::write_all(&mut peer, b"bytes").unwrap();
                let t = Duration::from_secs(10);
                (
                    runtime::timeout(t, accept)
                        .await
                        .expect("the accept hung")
                        .unwrap(),
                    runtime::timeout(t, recv)
                        .await
                        .expect("the receive hung")
                        .unwrap(),
                    runtime::timeout(t, read)
                        .await
                        .expect("the read hung")
                        .unwrap(),
                )
            })
        })
        .join()
        .unwrap();
        accepted.unwrap_or_else(|e| panic!("{flavor:?}: accept: {e}"));
        assert_eq!(
            received.unwrap_or_else(|e| panic!("{flavor:?}: recv_from: {e}")),
            b"dgram"
        );
        assert_eq!(
            read.unwrap_or_else(|e| panic!("{flavor:?}: read: {e}")),
            b"bytes"
        );
    }
}
