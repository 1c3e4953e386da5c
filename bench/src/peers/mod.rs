//! Peer runtimes that run the same workload code as the modes, for comparison in the same
//! run: tokio (`current_thread` and `multi_thread`) and async-executor with async-io timers
//! (the parts smol is made of); and, for `net` only, a bare io_uring loop with no runtime
//! ([`bare`]), the ceiling a runtime's echo can reach; and for the socket workloads,
//! monoio ([`monoio`]), the io_uring runtime a user might pick instead. The Python peers live in
//! `scripts/peers/`.

#[allow(unsafe_code)]
pub mod bare;
pub mod monoio;
pub mod smol;
pub mod tokio;

use std::os::unix::fs::FileExt;

/// `pread` into `buf` up to its capacity, setting its length to the bytes read (what the
/// peers' blocking-pool jobs run). The buffer is zeroed once, on its first use.
pub fn pread(
    file: &std::fs::File,
    mut buf: Vec<u8>,
    pos: u64,
) -> (std::io::Result<usize>, Vec<u8>) {
    buf.resize(buf.capacity(), 0);
    let res = file.read_at(&mut buf, pos);
    buf.truncate(*res.as_ref().unwrap_or(&0));
    (res, buf)
}
