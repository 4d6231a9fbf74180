//! What every locally started server fixture shares: loopback ports that no other fixture of
//! this process was given, running async client code from sync code, poison-tolerant locks and
//! URL encoding.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::future::Future;
use std::io;
use std::net::TcpListener;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// A loopback port the kernel just reported free, never one handed out before in this
/// process to any fixture (threads of `cargo test` would otherwise race for it). Other
/// processes can still take it before the server binds it; callers retry on another port.
pub(crate) fn pick_port() -> io::Result<u16> {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    loop {
        let port = TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port();
        if lock(&HANDED_OUT).insert(port) {
            return Ok(port);
        }
    }
}

/// Runs `future` to completion on a fresh current-thread runtime in a scoped thread, so it
/// works from sync code and from inside another runtime (async tests, `Drop`).
pub(crate) fn run_blocking<F>(future: F) -> io::Result<F::Output>
where
    F: Future + Send,
    F::Output: Send,
{
    std::thread::scope(|scope| {
        let handle = scope.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|runtime| runtime.block_on(future))
        });
        match handle.join() {
            Ok(result) => result,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock must not stop the cleanup of others.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoding_keeps_unreserved() {
        assert_eq!(percent_encode("postgres"), "postgres");
        assert_eq!(percent_encode("p@ss:w/rd é"), "p%40ss%3Aw%2Frd%20%C3%A9");
    }

    #[test]
    fn ports_are_never_handed_out_twice() {
        let ports: BTreeSet<u16> = (0..20).map(|_| pick_port().expect("port")).collect();
        assert_eq!(ports.len(), 20);
    }
}
