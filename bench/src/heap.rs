//! One allocator policy for every runner in the process.
//!
//! glibc returns freed memory to the kernel when the free space at the top of a heap
//! passes a threshold that it also moves by itself (each freed large block raises it).
//! Whether a workload's repetitions pay for that depends on the process's history and on
//! which arena the runner's thread drew, not on the runner: measured on `spawn` (10,000
//! tasks freed at the end of each repetition), our `single` ran at 286-312 ns a spawn with
//! 15 `madvise` trims (one a repetition, each re-faulted by the next: 6,900 page faults)
//! and at 187-202 ns with the thresholds fixed, while tokio's current_thread, which ran
//! after it in the same process, moved only from 243-260 to 232-236 ns. So the bench fixes
//! both thresholds once, before any runner starts, the same for all of them; the
//! criterion benches of `runtime` include this file and do the same.

/// Fixes glibc's trim and mmap thresholds (256 MiB and 32 MiB) for this process.
pub fn steady() {
    #[cfg(target_env = "gnu")]
    // SAFETY: `mallopt` only sets allocator parameters; it is called before this process
    // starts any runner thread, and takes no pointers.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
}
