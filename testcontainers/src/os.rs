//! The few libc calls std has no safe wrapper for: who we are, who `postgres` is, and
//! sending a signal to a server process. All unsafe code of the crate is here.
#![allow(unsafe_code)]

use std::ffi::CString;
use std::io;

/// Signals Postgres documents for its postmaster.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Signal {
    /// Fast shutdown: roll back, disconnect clients, checkpoint.
    Fast,
    /// Immediate shutdown: exit at once, crash recovery on next start.
    Immediate,
    Kill,
}

pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Uid and gid of the OS user `name`, through NSS (getpwnam_r), or `None`.
pub(crate) fn lookup_user(name: &str) -> io::Result<Option<(u32, u32)>> {
    let cname = CString::new(name).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    loop {
        // SAFETY: all-zero is a valid `passwd` (null pointers, zero ids).
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buf.len()` is its real length;
        // the strings in `pwd` point into `buf`, which we do not read after it is freed.
        let rc = unsafe {
            libc::getpwnam_r(
                cname.as_ptr(),
                &mut pwd,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if rc == libc::ERANGE && buf.len() < 1024 * 1024 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 {
            return Err(io::Error::from_raw_os_error(rc));
        }
        return Ok((!result.is_null()).then_some((pwd.pw_uid, pwd.pw_gid)));
    }
}

pub(crate) fn signal(pid: u32, signal: Signal) -> io::Result<()> {
    let sig = match signal {
        Signal::Fast => libc::SIGINT,
        Signal::Immediate => libc::SIGQUIT,
        Signal::Kill => libc::SIGKILL,
    };
    let pid =
        libc::pid_t::try_from(pid).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    // SAFETY: kill has no memory-safety preconditions; `pid` is our own unreaped child, so
    // it cannot have been recycled for another process.
    if unsafe { libc::kill(pid, sig) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}
