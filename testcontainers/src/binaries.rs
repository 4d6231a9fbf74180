//! Finding the Postgres server binaries (`initdb`, `postgres`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Error;

/// Env var naming the directory holding `initdb` and `postgres`; wins over the search.
pub(crate) const BINDIR_ENV: &str = "SLUICE_PG_BINDIR";

/// The first directory holding both `initdb` and `postgres`, searched in this order:
/// `$SLUICE_PG_BINDIR`, `PATH` (symlinks resolved: Debian links only some tools into
/// /usr/bin), `pg_config --bindir`, and the highest `/usr/lib/postgresql/<version>/bin`.
pub(crate) fn find_bindir() -> Result<PathBuf, Error> {
    let from_env = std::env::var_os(BINDIR_ENV).map(PathBuf::from);
    let from_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .filter_map(|dir| std::fs::canonicalize(dir.join("initdb")).ok())
        .filter_map(|initdb| initdb.parent().map(Path::to_path_buf));
    let from_pg_config = Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    from_env
        .into_iter()
        .chain(from_path)
        .chain(from_pg_config)
        .chain(debian_bindirs())
        .find(|dir| is_bindir(dir))
        .ok_or(Error::BinariesNotFound)
}

fn is_bindir(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

/// `/usr/lib/postgresql/*/bin`, highest version first.
fn debian_bindirs() -> Vec<PathBuf> {
    let mut versions: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let version = name
                .split('.')
                .map(|part| part.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, dir)| dir).collect()
}
