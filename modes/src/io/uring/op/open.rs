//! `OpenAt`: opens a path relative to the current directory.

use std::ffi::CString;
use std::os::fd::{FromRawFd, OwnedFd};

use io_uring::{opcode, types};

use super::{result, Completion, Submitted};

/// An io_uring open; owns the path the kernel reads.
pub(crate) struct Open {
    _path: CString,
}

impl Completion for Open {
    type Output = std::io::Result<OwnedFd>;

    fn failed(self, e: std::io::Error) -> Self::Output {
        Err(e)
    }

    fn complete(self, res: i32, _flags: u32) -> Self::Output {
        let fd = result(res)? as i32;
        // SAFETY: a fresh descriptor from openat, owned by nobody else.
        Ok(unsafe { OwnedFd::from_raw_fd(fd) })
    }

    /// A file opened by a cancelled open is closed, not leaked.
    fn abandoned(self, res: i32, _flags: u32) {
        if res >= 0 {
            // SAFETY: the kernel gave us this descriptor and nobody else has it.
            drop(unsafe { OwnedFd::from_raw_fd(res) });
        }
    }
}

/// Submits `openat(AT_FDCWD, path, flags, mode)`.
pub(crate) fn open(path: CString, flags: i32, mode: u32) -> Submitted<Open> {
    let entry = opcode::OpenAt::new(types::Fd(libc::AT_FDCWD), path.as_ptr())
        .flags(flags)
        .mode(mode)
        .build();
    let data = Open { _path: path };
    // SAFETY: the entry points into the CString's heap memory (stable when the CString
    // moves), owned by `data` until the CQE.
    unsafe { super::super::submit(entry, data) }
}
