//! How a process ended, in words: "killed by signal 9 (SIGKILL)", "exit code 3".

use std::io;

/// How a process ended, for messages: "killed by signal 9 (SIGKILL)", "exit code 3".
pub(super) fn describe(
    status: Option<i32>,
    spawn_error: Option<i32>,
    fork_server_gone: bool,
) -> String {
    if let Some(e) = spawn_error {
        return format!("fork failed: {}", io::Error::from_raw_os_error(e));
    }
    let Some(st) = status else {
        return if fork_server_gone {
            "its exit status is unknown: the fork server is gone".into()
        } else {
            "its exit status was not reported".into()
        };
    };
    if libc::WIFSIGNALED(st) {
        let sig = libc::WTERMSIG(st);
        let core = if libc::WCOREDUMP(st) {
            ", core dumped"
        } else {
            ""
        };
        format!("killed by signal {sig} ({}{core})", signal_name(sig))
    } else if libc::WIFEXITED(st) {
        format!("exit code {}", libc::WEXITSTATUS(st))
    } else {
        format!("wait status {st:#x}")
    }
}

fn signal_name(sig: i32) -> &'static str {
    match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGUSR1 => "SIGUSR1",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGUSR2 => "SIGUSR2",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGALRM => "SIGALRM",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSTKFLT => "SIGSTKFLT",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGXFSZ => "SIGXFSZ",
        libc::SIGVTALRM => "SIGVTALRM",
        libc::SIGPROF => "SIGPROF",
        libc::SIGSYS => "SIGSYS",
        _ => "unnamed signal",
    }
}
