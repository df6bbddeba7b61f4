//! A tokio program that serves 1,000 actors at once through the async driver: each
//! actor is created, then 1,000 tasks (one per actor) each put and read back 5 values
//! concurrently. The driver's work runs on its own small pool of threads, never on
//! tokio's; each actor's operations stay in order, and puts queued behind a commit to
//! the same actor are committed together.
//!
//! ```sh
//! cargo run --release -p sqlite-runtime-examples --example async_actors
//! ```

use std::time::Instant;

use fs_driver::{AsyncFsDriver, DriverOptions, FsDriver};

const ACTORS: usize = 1000;
const PUTS: u32 = 5;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let dir = tempfile::tempdir()?;
    let runtime = sqlite_runtime_backends::load()?.runtime;
    let driver = AsyncFsDriver::new(FsDriver::open(runtime, dir.path(), DriverOptions::new())?)?;

    let started = Instant::now();
    let tasks: Vec<_> = (0..ACTORS)
        .map(|n| {
            let driver = driver.clone();
            tokio::spawn(async move {
                let id = format!("actor-{n}");
                driver
                    .create_actor(id.clone(), "counter", vec![], vec![])
                    .await?;
                for i in 0..PUTS {
                    let key = format!("k{i}").into_bytes();
                    driver
                        .kv_put(id.clone(), vec![(key, i.to_le_bytes().to_vec())])
                        .await?;
                }
                // A read after the puts were answered sees every one of them.
                let last = driver
                    .kv_get_one(id.clone(), format!("k{}", PUTS - 1).into_bytes())
                    .await?;
                assert_eq!(last, Some((PUTS - 1).to_le_bytes().to_vec()));
                driver.kv_storage_used(id).await
            })
        })
        .collect();
    let mut stored = 0;
    for task in tasks {
        stored += task.await??;
    }
    println!(
        "{ACTORS} actors, {} puts, {stored} bytes stored, in {:.2} s on {} worker threads",
        ACTORS as u32 * PUTS,
        started.elapsed().as_secs_f64(),
        driver.workers().options().threads
    );
    Ok(())
}
