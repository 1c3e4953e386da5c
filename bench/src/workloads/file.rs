//! `file`: random 4 KiB positional reads (`pread`) of one file by many tasks at once.
//!
//! The workload writes a temporary file (64 MiB, 8 MiB when quick) in
//! `std::env::temp_dir()`, removes it afterwards, and has N tasks each read random
//! 4 KiB-aligned blocks one after another, for a fixed window after a warm-up. Each
//! runtime reads its own way (see [`Io::read_at`]): ours through `runtime::fs::File`
//! (io_uring reads, or its blocking pool under the readiness backend), the peers through
//! their blocking pools. The file was just written, so the reads are served from the page
//! cache: the figures are what each runtime adds per read, not the disk's speed.

use std::io::{Error, ErrorKind, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::exec::{Exec, Io, IoKind, Runner};
use crate::record::{histogram, percentiles, Metric, THROUGHPUT};

use super::{Outcome, Params};

/// One read: a 4 KiB block at a 4 KiB-aligned offset.
const BLOCK: usize = 4096;

/// The size of one `file` run.
#[derive(Clone, Copy, Debug)]
pub struct FileConfig {
    /// The file's size in bytes (a multiple of 4 KiB).
    pub size: u64,
    /// Tasks reading at once, each one read after another.
    pub tasks: usize,
    /// Reads before the window, not counted.
    pub warmup: Duration,
    /// The window whose reads are counted.
    pub window: Duration,
}

impl FileConfig {
    /// 64 tasks on a 64 MiB file, 0.5 s of warm-up then 2 s measured; when quick, an
    /// 8 MiB file, 0.1 s then 0.5 s.
    pub fn new(p: &Params) -> FileConfig {
        FileConfig {
            size: p.size(64, 8) << 20,
            tasks: 64,
            warmup: p.size(Duration::from_millis(500), Duration::from_millis(100)),
            window: p.size(Duration::from_secs(2), Duration::from_millis(500)),
        }
    }
}

/// Runs the reads for [`FileConfig::new`] on `r`.
pub fn run<R: Runner>(r: &R, p: &Params) -> Outcome {
    let cfg = FileConfig::new(p);
    let latencies = measure(r, cfg).unwrap_or_else(|e| panic!("file: {e}"));
    let mut h = histogram();
    for &ns in &latencies {
        h.saturating_record(ns.clamp(1, h.high()));
    }
    let rate = latencies.len() as f64 / cfg.window.as_secs_f64();
    let lat = percentiles(&h, "us");
    let (p50, p99) = (lat[0].clone(), lat[2].clone());
    Outcome {
        params: format!(
            "{} tasks x 4 KiB reads, {} MiB file, {} s",
            cfg.tasks,
            cfg.size >> 20,
            cfg.window.as_secs_f64()
        ),
        detail: format!(
            "{rate:.0} reads/s, p50 {:.1} us, p99 {:.1} us; I/O {}",
            p50.value(),
            p99.value(),
            r.io_backend(IoKind::File)
        ),
        metrics: vec![Metric::single(THROUGHPUT, "reads/s", rate), p50, p99],
    }
}

/// Writes the file, runs the reading tasks on `r`, removes the file; returns the latency
/// in nanoseconds of every read that completed in the window.
pub fn measure<R: Runner>(r: &R, cfg: FileConfig) -> std::io::Result<Vec<u64>> {
    let file = TempFile::create(cfg.size)?;
    let path = file.path.clone();
    let blocks = cfg.size / BLOCK as u64;
    let ex = r.exec();
    r.block_on(async move {
        let f = Arc::new(ex.open(path).await?);
        let from = Instant::now() + cfg.warmup;
        let until = from + cfg.window;
        let tasks: Vec<_> = (0..cfg.tasks as u64)
            .map(|i| ex.spawn(reads(ex.clone(), f.clone(), blocks, i, from, until)))
            .collect();
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await?);
        }
        Ok(all)
    })
}

/// Reads random blocks one after another until `until`, checking each block's header
/// (its index); returns the latency of the reads that completed in `[from, until)`.
async fn reads<E: Io>(
    ex: E,
    file: Arc<E::File>,
    blocks: u64,
    seed: u64,
    from: Instant,
    until: Instant,
) -> std::io::Result<Vec<u64>> {
    let mut rng = SplitMix(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xB5AD_4ECE_DA1C_E2A9);
    let mut buf = Vec::with_capacity(BLOCK);
    let mut latencies = Vec::new();
    loop {
        let t0 = Instant::now();
        if t0 >= until {
            return Ok(latencies);
        }
        let block = rng.next() % blocks;
        let (res, b) = ex.read_at(file.clone(), buf, block * BLOCK as u64).await;
        buf = b;
        let n = res?;
        if n != BLOCK || buf[..8] != block.to_le_bytes() {
            return Err(Error::new(
                ErrorKind::InvalidData,
                format!("block {block}: read {n} bytes, not the block written there"),
            ));
        }
        let t1 = Instant::now();
        if t1 >= from && t1 < until {
            latencies.push((t1 - t0).as_nanos() as u64);
        }
    }
}

/// SplitMix64: a small, fast generator, one per task (no shared state between tasks).
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// The temporary file, removed when dropped (also when the workload panics).
struct TempFile {
    path: PathBuf,
}

impl TempFile {
    /// Writes `size` bytes of 4 KiB blocks, each starting with its index (little-endian
    /// u64) so that a read of the wrong block is caught.
    fn create(size: u64) -> std::io::Result<TempFile> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "bench-file-{}-{}.dat",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let file = TempFile { path };
        let mut out =
            std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(&file.path)?);
        let mut block = [0x5Au8; BLOCK];
        for i in 0..size / BLOCK as u64 {
            block[..8].copy_from_slice(&i.to_le_bytes());
            out.write_all(&block)?;
        }
        out.flush()?;
        Ok(file)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::ours::Ours;
    use runtime::Mode;

    /// The reads end to end with a tiny size on both of our backends: every read returns
    /// its block, and the file is gone afterwards.
    #[test]
    fn file_runs_end_to_end_on_both_backends() {
        let cfg = FileConfig {
            size: 64 * BLOCK as u64,
            tasks: 4,
            warmup: Duration::from_millis(10),
            window: Duration::from_millis(50),
        };
        for uring in [true, false] {
            let r = Ours::build_io(Mode::Single, 1, false, uring).unwrap();
            let lat = measure(&r, cfg).unwrap_or_else(|e| panic!("uring {uring}: {e}"));
            assert!(!lat.is_empty(), "uring {uring}: no read");
        }
        let leftover = std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("bench-file-{}-", std::process::id()))
            });
        assert!(!leftover, "a temporary file was left behind");
    }
}
