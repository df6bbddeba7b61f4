//! Finds libdqlite with pkg-config. Without it the crate still builds (so that a
//! workspace build never needs it) and every node reports `NodeError::Unavailable`.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(libdqlite)");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");
    match pkg_config::Config::new()
        .atleast_version("1.9")
        .probe("dqlite")
    {
        Ok(_) => println!("cargo::rustc-cfg=libdqlite"),
        Err(error) => println!(
            "cargo::warning=libdqlite not found ({}); dqlite nodes are unavailable in this build \
             (Debian/Ubuntu: apt-get install libdqlite-dev)",
            error
                .to_string()
                .lines()
                .map(str::trim)
                .find(|line| !line.is_empty())
                .unwrap_or("pkg-config failed")
        ),
    }
}
