//! The CPU work the workloads submit: naive Fibonacci with a GIL checkpoint in every call,
//! and `burn`, a calibrated amount of it standing for "N milliseconds of attention".

use std::hint::black_box;
use std::time::Instant;

/// The Fibonacci size one unit of [`burn`] computes (a few microseconds).
const BURN_N: u32 = 16;

/// Naive recursive Fibonacci; calls [`runtime::gil::checkpoint`] in every call, like
/// CPython's eval loop checks whether to drop the GIL.
pub fn fib(n: u32) -> u64 {
    runtime::gil::checkpoint();
    if n < 2 {
        n as u64
    } else {
        fib(n - 1) + fib(n - 2)
    }
}

/// `fib(n)` as a submittable job.
pub fn fib_job(n: u32) -> u64 {
    fib(black_box(n))
}

/// Computes `units` small Fibonacci numbers: see [`units_per_ms`].
pub fn burn(units: u64) -> u64 {
    (0..units)
        .map(|_| fib(black_box(BURN_N)))
        .fold(0, u64::wrapping_add)
}

/// How many [`burn`] units one core does in a millisecond on this machine: the best of a
/// few 20 ms samples, so that noise from other processes counts least.
pub fn units_per_ms() -> u64 {
    let mut best = 0.0f64;
    let mut units = 64u64;
    for _ in 0..3 {
        loop {
            let start = Instant::now();
            black_box(burn(units));
            let took = start.elapsed().as_secs_f64() * 1e3;
            if took >= 20.0 {
                best = best.max(units as f64 / took);
                break;
            }
            units *= 2;
        }
    }
    (best as u64).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fib_values() {
        assert_eq!(fib(10), 55);
        assert_eq!(fib_job(20), 6765);
    }
}
