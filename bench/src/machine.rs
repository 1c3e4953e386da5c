//! The machine a run happened on: CPU, cores, kernel, compiler, commit and date, so that
//! every figure can be read against where it was measured.

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Where and with what a run was made.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    /// CPU model name from `/proc/cpuinfo`.
    pub cpu: String,
    /// CPUs this process may run on.
    pub cores: usize,
    /// Kernel release (`uname -r`).
    pub kernel: String,
    /// The compiler that built the bench (`rustc --version` at build time).
    pub rustc: String,
    /// `release` or `debug`.
    pub profile: String,
    /// `git rev-parse --short HEAD`, with `-dirty` when the tree has changes.
    pub commit: String,
    /// UTC date and time of the run, ISO 8601.
    pub date: String,
    /// How the runtime's loop parks (io_uring or the plain park, and why).
    pub park_backend: String,
}

impl Machine {
    /// Collects what can be found; unknown fields say `unknown`.
    pub fn collect(park_backend: String) -> Machine {
        Machine {
            cpu: cpu_model().unwrap_or_else(unknown),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_else(|_| unknown()),
            rustc: option_env!("BENCH_RUSTC_VERSION")
                .unwrap_or("unknown")
                .to_string(),
            profile: if cfg!(debug_assertions) {
                "debug"
            } else {
                "release"
            }
            .to_string(),
            commit: commit().unwrap_or_else(unknown),
            date: iso_date(SystemTime::now()),
            park_backend,
        }
    }

    /// One line for reports: `AMD EPYC, 2 cores, Linux 6.1, rustc 1.95.0, commit abc123, ...`.
    pub fn line(&self) -> String {
        format!(
            "{}, {} cores, Linux {}, {}, {} build, commit {}, {}, loop parks on {}",
            self.cpu,
            self.cores,
            self.kernel,
            self.rustc,
            self.profile,
            self.commit,
            self.date,
            self.park_backend
        )
    }
}

fn unknown() -> String {
    "unknown".to_string()
}

fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
}

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn commit() -> Option<String> {
    let head = git(&["rev-parse", "--short", "HEAD"])?;
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{head}-dirty") } else { head })
}

/// `t` as `YYYY-MM-DDTHH:MM:SSZ` (UTC), without a date crate.
pub fn iso_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn iso_dates() {
        assert_eq!(iso_date(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_827_696); // a leap day
        assert_eq!(iso_date(t), "2000-02-29T12:34:56Z");
    }
}
