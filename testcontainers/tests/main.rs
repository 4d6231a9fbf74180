//! Tests of the throwaway servers against the real binaries. One test binary per crate
//! keeps link time down; every test starts its own server(s), so they run in parallel.

mod kafka;
mod postgres;
