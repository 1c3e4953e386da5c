//! Stream reads on the data path, under every mode and both I/O backends: reads of every
//! size through the owned-buffer API, the `futures_io` traits and the read into
//! uninitialised memory (`poll_read_uninit`), interleaved and some
//! cancelled in flight, over a long transfer. On io_uring this crosses every way a read
//! can start (bytes stashed by a cancelled read, a direct non-blocking receive after a
//! full read, a ring read into the caller's buffer or into the stream's reused buffer);
//! whichever it takes, every byte arrives once and in order.

#[macro_use]
mod support;

use std::future::{poll_fn, Future};
use std::mem::MaybeUninit;
use std::pin::{pin, Pin};

use futures_lite::AsyncReadExt;
use runtime::net::{TcpListener, TcpStream};
use runtime::Runtime;

/// The byte at offset `i` of the stream (a prime period, so it never lines up with a
/// read size).
fn byte(i: usize) -> u8 {
    (i % 251) as u8
}

/// Checks `got` is the stream's bytes from offset `at`.
fn check(got: &[u8], at: usize) {
    if let Some(k) = got.iter().enumerate().position(|(k, &b)| b != byte(at + k)) {
        panic!("byte {} is {} instead of {}", at + k, got[k], byte(at + k));
    }
}

/// Polls `fut` once and drops it: a read cancelled while (most likely) in flight.
async fn poll_once_and_drop<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    futures_lite::future::poll_once(fut.as_mut()).await
}

/// A read of up to `size` bytes into uninitialised memory
/// (`TcpStream::poll_read_uninit`, hyper's way in); the bytes it initialised.
async fn read_uninit(s: &mut TcpStream, size: usize) -> std::io::Result<Vec<u8>> {
    let mut dst = vec![MaybeUninit::<u8>::uninit(); size];
    let n = poll_fn(|cx| Pin::new(&mut *s).poll_read_uninit(cx, &mut dst)).await?;
    assert!(n <= size, "read {n} bytes into {size}");
    // SAFETY: the read initialised the first `n` bytes.
    Ok(dst[..n]
        .iter()
        .map(|b| unsafe { b.assume_init() })
        .collect())
}

const TOTAL: usize = 3 << 20;

/// Bytes each writer of `a_reader_that_falls_behind_loses_no_byte` sends, in small
/// writes: many more than a ring's 256 provided buffers, so a multishot receive runs out.
const BEHIND: usize = 1 << 20;
/// The size of each of their writes.
const PIECE: usize = 100;

rt_test_io! {
    fn reads_of_every_kind_keep_every_byte_in_order(rt: &Runtime) {
        rt.block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let writer = runtime::spawn(async move {
                let c = TcpStream::connect(addr).await.unwrap();
                let data: Vec<u8> = (0..TOTAL).map(byte).collect();
                // Several writes, so that reads find the socket full, partly full, empty.
                let mut at = 0;
                for size in [1, 100, 70_000, 1 << 20, 5, TOTAL].iter().cycle() {
                    if at == TOTAL {
                        break;
                    }
                    let end = (at + size).min(TOTAL);
                    let (res, _) = c.write_all(data[at..end].to_vec()).await;
                    res.unwrap();
                    at = end;
                    runtime::yield_now().await;
                }
                c.shutdown(std::net::Shutdown::Write).unwrap();
                c
            });
            let (mut s, _) = l.accept().await.unwrap();
            let sizes = [1usize, 7, 4096, 65_536, 300_000, 16_384, 3];
            let mut at = 0;
            let mut turn = 0usize;
            loop {
                let size = sizes[turn % sizes.len()];
                // A cancelled futures-io read leaves its ring read in the stream's poll
                // state: the next read is a futures-io one (either form), which collects
                // it (an owned read would wait for it).
                let kind = [0, 2, 1, 3, 1, 4, 5, 4][turn % 8];
                let n = match kind {
                    // Owned buffer.
                    0 => {
                        let (n, buf) = s.read(Vec::with_capacity(size)).await;
                        let n = n.unwrap();
                        check(&buf, at);
                        n
                    }
                    // futures-io into a borrowed slice.
                    1 => {
                        let mut dst = vec![0u8; size];
                        let n = AsyncReadExt::read(&mut s, &mut dst[..]).await.unwrap();
                        check(&dst[..n], at);
                        n
                    }
                    // An owned read cancelled after one poll: if it got bytes, they are
                    // the next read's.
                    2 => {
                        let got = poll_once_and_drop(s.read(Vec::with_capacity(size))).await;
                        match got {
                            Some((n, buf)) => {
                                let n = n.unwrap();
                                check(&buf, at);
                                n
                            }
                            None => 0,
                        }
                    }
                    // A read into uninitialised memory.
                    4 => {
                        let got = read_uninit(&mut s, size).await.unwrap();
                        check(&got, at);
                        got.len()
                    }
                    // A read into uninitialised memory cancelled after one poll.
                    5 => match poll_once_and_drop(read_uninit(&mut s, size)).await {
                        Some(got) => {
                            let got = got.unwrap();
                            check(&got, at);
                            got.len()
                        }
                        None => 0,
                    },
                    // A futures-io read cancelled after one poll.
                    _ => {
                        let mut dst = vec![0u8; size];
                        let got = poll_once_and_drop(AsyncReadExt::read(&mut s, &mut dst[..])).await;
                        match got {
                            Some(n) => {
                                let n = n.unwrap();
                                check(&dst[..n], at);
                                n
                            }
                            None => 0,
                        }
                    }
                };
                at += n;
                turn += 1;
                if n == 0 && matches!(kind, 0 | 1 | 4) {
                    break;
                }
            }
            assert_eq!(at, TOTAL, "bytes received");
            drop(writer.await.unwrap());
        });
    }

    /// Readers that stop reading while their peers keep sending: on io_uring their
    /// multishot receives fill the ring's provided buffers until the kernel ends them
    /// (`ENOBUFS`) and the reads fall back to single receives, then re-arm. Every byte
    /// still arrives once and in order on every stream.
    fn a_reader_that_falls_behind_loses_no_byte(rt: &Runtime) {
        rt.block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let mut writers = Vec::new();
            let mut readers = Vec::new();
            let mut armed = Vec::new();
            for _ in 0..3 {
                let go = std::sync::Arc::new(runtime::sync::Event::new());
                armed.push(go.clone());
                writers.push(runtime::spawn(async move {
                    let c = TcpStream::connect(addr).await.unwrap();
                    let data: Vec<u8> = (0..BEHIND).map(byte).collect();
                    let (res, _) = c.write_all(data[..1].to_vec()).await;
                    res.unwrap();
                    go.wait().await;
                    // Small writes: on io_uring each most likely takes a provided
                    // buffer of its own, so the buffers run out long before the end.
                    for piece in data[1..].chunks(PIECE) {
                        let (res, _) = c.write_all(piece.to_vec()).await;
                        res.unwrap();
                    }
                    c.shutdown(std::net::Shutdown::Write).unwrap();
                    c
                }));
                let (s, _) = l.accept().await.unwrap();
                readers.push(s);
            }
            let mut tasks = Vec::new();
            for (i, (mut s, go)) in readers.into_iter().zip(armed).enumerate() {
                tasks.push(runtime::spawn(async move {
                    // A small read, then one that finds the socket empty and arms the
                    // receive (dropped after one poll); then the reader falls behind
                    // while its peer sends the rest.
                    let (n, buf) = s.read(Vec::with_capacity(1)).await;
                    assert_eq!(n.unwrap(), 1);
                    check(&buf, 0);
                    let got = poll_once_and_drop(s.read(Vec::with_capacity(8))).await;
                    assert!(got.is_none(), "nothing was sent yet");
                    go.set();
                    runtime::sleep(std::time::Duration::from_millis(200)).await;
                    let mut at = 1;
                    loop {
                        // Alternate the owned and the futures-io reads.
                        let n = if at % 2 == 0 {
                            let (n, buf) = s.read(Vec::with_capacity(40_000 + i)).await;
                            check(&buf, at);
                            n.unwrap()
                        } else {
                            let mut dst = vec![0u8; 50_000];
                            let n = AsyncReadExt::read(&mut s, &mut dst[..]).await.unwrap();
                            check(&dst[..n], at);
                            n
                        };
                        if n == 0 {
                            break;
                        }
                        at += n;
                    }
                    assert_eq!(at, BEHIND, "bytes received on stream {i}");
                }));
            }
            for t in tasks {
                t.await.unwrap();
            }
            for w in writers {
                drop(w.await.unwrap());
            }
        });
    }

    /// A stream dropped with received bytes queued (and, on io_uring, its multishot
    /// receive armed) closes its socket: the peer sees the connection end instead of
    /// waiting for ever.
    fn a_stream_dropped_with_bytes_queued_closes_its_socket(rt: &Runtime) {
        rt.block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let c = TcpStream::connect(addr).await.unwrap();
            let (s, _) = l.accept().await.unwrap();
            let (res, _) = c.write_all(vec![1u8; 10_000]).await;
            res.unwrap();
            let (n, _) = s.read(Vec::with_capacity(10)).await;
            assert_eq!(n.unwrap(), 10);
            // Give the rest time to be queued by the receive (coverage, not correctness).
            runtime::sleep(std::time::Duration::from_millis(20)).await;
            drop(s);
            let (n, _) = c.read(Vec::with_capacity(8)).await;
            // End of stream, or a reset (the unread bytes make the close a reset).
            assert!(matches!(n, Ok(0) | Err(_)), "the peer saw {n:?}");
        });
    }

    /// Closing (`futures_io` `poll_close`, what hyper calls at a connection's end) a
    /// stream whose peer has reset the connection is not an error: there is nothing
    /// left to shut down. The owned-buffer `shutdown` still says `NotConnected`, as
    /// std's does.
    fn closing_a_stream_the_peer_reset_succeeds(rt: &Runtime) {
        use futures_lite::AsyncWriteExt;
        rt.block_on(async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let c = TcpStream::connect(addr).await.unwrap();
            let (mut s, _) = l.accept().await.unwrap();
            // Bytes the client never reads make its close a reset.
            let (res, _) = s.write_all(vec![7u8; 100]).await;
            res.unwrap();
            let (n, _) = c.read(Vec::with_capacity(1)).await;
            assert_eq!(n.unwrap(), 1);
            drop(c);
            // The reset has arrived once a read says so (or says end of stream).
            let mut buf = [0u8; 16];
            assert!(
                matches!(AsyncReadExt::read(&mut s, &mut buf).await, Ok(0) | Err(_)),
                "the client sent nothing"
            );
            assert_eq!(
                s.shutdown(std::net::Shutdown::Write).unwrap_err().kind(),
                std::io::ErrorKind::NotConnected
            );
            s.close().await.unwrap();
        });
    }
}
