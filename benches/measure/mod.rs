//! Process measurement shared by the benchmarks: waiting for a child with its resource
//! usage (wall, CPU, peak RSS from `wait4`), signals, the machine-load report, formatting.

#![allow(dead_code)]

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Exit {
    /// Raw wait status (0: exited with 0).
    pub status: i32,
    /// `ru_maxrss` of `wait4`. For a child started by `Command::spawn` (posix_spawn, which
    /// shares the parent's memory until exec) Linux carries the parent's peak RSS at exec into
    /// it, so it is never below the bench process's own peak: see [`Exit::peak_rss_kb`].
    pub maxrss_kb: u64,
    /// The child's own peak RSS (`VmHWM`), as last read while it was alive (by
    /// [`wait4_until`]); `None` if it was never read.
    pub hwm_kb: Option<u64>,
    pub cpu: Duration,
}

impl Exit {
    /// The child's own peak RSS: `VmHWM` when it was read, else `ru_maxrss`.
    pub fn peak_rss_kb(&self) -> u64 {
        self.hwm_kb.unwrap_or(self.maxrss_kb)
    }
}

/// Peak resident set size of a live process (`VmHWM` of /proc/PID/status), in kB: the process's
/// own, unlike `ru_maxrss` (see [`Exit::maxrss_kb`]). `None` once it has exited.
pub fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
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
        hwm_kb: None,
        cpu: tv(usage.ru_utime) + tv(usage.ru_stime),
    })
}

/// Polls [`wait4_nohang`] until the child exits or `deadline`, reading the child's `VmHWM`
/// on each poll (the last read, up to 1 ms before it exits, is its peak RSS).
pub fn wait4_until(pid: u32, deadline: Instant) -> Option<Exit> {
    let mut hwm_kb = None;
    loop {
        if let Some(hwm) = vm_hwm_kb(pid) {
            hwm_kb = hwm_kb.max(Some(hwm));
        }
        if let Some(mut exit) = wait4_nohang(pid) {
            exit.hwm_kb = hwm_kb;
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

/// Counts newlines of a growing file incrementally: each poll reads only what is new.
#[derive(Default)]
pub struct LineCounter {
    file: Option<File>,
    offset: u64,
    pub lines: u64,
    buf: Vec<u8>,
}

impl LineCounter {
    /// Reads what was appended since the last poll; whether anything was.
    pub fn poll(&mut self, path: &Path) -> Result<bool, Box<dyn std::error::Error>> {
        if self.file.is_none() {
            match File::open(path) {
                Ok(f) => self.file = Some(f),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
                Err(e) => return Err(e.into()),
            }
            self.buf = vec![0; 1 << 20];
        }
        let Some(file) = self.file.as_mut() else {
            return Ok(false);
        };
        file.seek(SeekFrom::Start(self.offset))?;
        let mut any = false;
        loop {
            let got = file.read(&mut self.buf)?;
            if got == 0 {
                return Ok(any);
            }
            any = true;
            self.offset += got as u64;
            self.lines += self.buf[..got].iter().filter(|&&b| b == b'\n').count() as u64;
        }
    }
}
