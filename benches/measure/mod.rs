//! Process measurement shared by the benchmarks: waiting for a child with its resource
//! usage (wall, CPU, peak RSS from `wait4`), signals, the machine-load report, formatting.

#![allow(dead_code)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Exit {
    /// Raw wait status (0: exited with 0).
    pub status: i32,
    pub maxrss_kb: u64,
    pub cpu: Duration,
}

/// Reap `pid` if it has exited, with its resource usage.
pub fn wait4_nohang(pid: u32) -> Option<Exit> {
    let mut status: libc::c_int = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: both pointers point to live, writable locals of the right types.
    let rc = unsafe { libc::wait4(pid as libc::pid_t, &mut status, libc::WNOHANG, &mut usage) };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    (rc == pid as libc::pid_t).then(|| Exit {
        status,
        maxrss_kb: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
    })
}

/// Polls [`wait4_nohang`] until the child exits or `deadline`.
pub fn wait4_until(pid: u32, deadline: Instant) -> Option<Exit> {
    loop {
        if let Some(exit) = wait4_nohang(pid) {
            return Some(exit);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Send `sig` to our own child `pid`, not yet reaped.
pub fn signal(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let _ = unsafe { libc::kill(pid as libc::pid_t, sig) };
}

/// Load average and the processes using > 5 % CPU, as bench-pg.sh records them: other work on
/// the 2 cores makes every number worse.
pub fn busy_report() -> String {
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into());
    let busy = Command::new("ps")
        .args(["-eo", "pid,pcpu,etime,comm", "--sort=-pcpu"])
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .lines()
                .skip(1)
                .filter(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|c| c.parse::<f64>().ok())
                        .is_some_and(|c| c > 5.0)
                })
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default();
    format!(
        "load average {load}; processes using >5% CPU: {}",
        if busy.is_empty() { "none" } else { &busy }
    )
}

pub fn command_line(bin: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new(bin).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (!text.is_empty()).then_some(text)
}

pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub fn utc_now() -> String {
    Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// `122699.4` -> `122,699`.
pub fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
