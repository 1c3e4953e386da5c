//! Listeners under cancellation and shutdown, under both I/O backends and every mode:
//! I/O polled after its runtime is gone fails with one clear error.

#[macro_use]
mod support;

use futures_lite::future::{block_on, poll_once};
use runtime::net::{TcpListener, TcpStream, UdpSocket};
use runtime::Builder;

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
