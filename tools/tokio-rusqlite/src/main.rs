//! `tokio-rusqlite-baseline DB OP SECONDS ENTRIES`: runs OP (get, list, put) on DB for
//! SECONDS with one task on a 2-thread tokio runtime, through tokio-rusqlite, running
//! the same SQL as the driver (with its size triggers, already in DB), and prints the
//! operations per second. The keys and values are the benchmark's (`sqlrt_bench::keys`).

use std::time::{Duration, Instant};

const GET: &str = "SELECT value FROM kv WHERE key = ?";
const PUT: &str = "INSERT OR REPLACE INTO kv (key, value) VALUES (?, ?)";
const RANGE_ASC: &str = "SELECT key, value FROM kv WHERE key >= ? AND key < ? ORDER BY key ASC";
const USED_SIZE: &str = "SELECT used FROM kv_size";
const BUCKET: u64 = 100;

fn key(index: u64) -> Vec<u8> {
    let mut key = (index / BUCKET).to_be_bytes().to_vec();
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// SplitMix64, as the benchmark's.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(bound.max(1))) >> 64) as u64
    }

    fn value(&mut self) -> Vec<u8> {
        (0..100).map(|_| self.next() as u8).collect()
    }
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

async fn run(path: String, op: String, seconds: f64, entries: u64) -> Result<f64, Failure> {
    let connection = tokio_rusqlite::Connection::open(&path).await?;
    connection
        .call(|c| {
            c.busy_timeout(Duration::from_millis(5000))?;
            c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
            c.set_prepared_statement_cache_capacity(64);
            Ok::<_, rusqlite::Error>(())
        })
        .await?;
    let mut rng = Rng(0xA5);
    let time = Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut ops = 0u64;
    while started.elapsed() < time {
        match op.as_str() {
            "get" => {
                let key = key(rng.below(entries));
                let found = connection
                    .call(move |c| {
                        c.prepare_cached(GET)?
                            .query_row([&key], |row| row.get::<_, Vec<u8>>(0))
                    })
                    .await?;
                if found.is_empty() {
                    return Err("empty value".into());
                }
            }
            "list" => {
                let bucket = rng.below(entries / BUCKET);
                let (start, end) = (key(bucket * BUCKET), key((bucket + 1) * BUCKET));
                let rows = connection
                    .call(move |c| {
                        let mut statement = c.prepare_cached(RANGE_ASC)?;
                        let rows = statement
                            .query_map([&start, &end], |row| {
                                Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, Vec<u8>>(1)?))
                            })?
                            .collect::<Result<Vec<_>, _>>()?;
                        Ok::<_, rusqlite::Error>(rows)
                    })
                    .await?;
                if rows.len() != BUCKET as usize {
                    return Err(format!("list found {} rows", rows.len()).into());
                }
            }
            "put" => {
                let (key, value) = (key(rng.below(entries)), rng.value());
                connection
                    .call(move |c| {
                        let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
                        tx.prepare_cached(USED_SIZE)?
                            .query_row([], |row| row.get::<_, i64>(0))?;
                        tx.prepare_cached(PUT)?.execute([&key, &value])?;
                        tx.commit()
                    })
                    .await?;
            }
            other => return Err(format!("unknown operation {other:?}").into()),
        }
        ops += 1;
    }
    Ok(ops as f64 / started.elapsed().as_secs_f64())
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [path, op, seconds, entries] = args.as_slice() else {
        eprintln!("usage: tokio-rusqlite-baseline DB OP SECONDS ENTRIES");
        return std::process::ExitCode::from(2);
    };
    let (Ok(seconds), Ok(entries)) = (seconds.parse::<f64>(), entries.parse::<u64>()) else {
        eprintln!("SECONDS and ENTRIES must be numbers");
        return std::process::ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("error: {error}");
            return std::process::ExitCode::from(1);
        }
    };
    let outcome = runtime.block_on(async move {
        tokio::spawn(run(path.clone(), op.clone(), seconds, entries)).await
    });
    match outcome {
        Ok(Ok(ops_per_sec)) => {
            println!("{ops_per_sec:.1}");
            std::process::ExitCode::SUCCESS
        }
        Ok(Err(error)) => {
            eprintln!("error: {error}");
            std::process::ExitCode::from(1)
        }
        Err(error) => {
            eprintln!("error: {error}");
            std::process::ExitCode::from(1)
        }
    }
}
