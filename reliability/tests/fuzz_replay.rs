//! The fuzz checks (`fuzz/`), replayed on every `cargo test`: the checked-in corpus
//! (`fuzz/corpus/<target>/`) plus generated inputs, deterministic. The KV request check
//! runs on an in-memory driver of each backend.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::PathBuf;

use common::{runtime, seed};
use reliability_tests::Rng;
use reliability_tests::fuzz_checks::{check_kv_requests, check_legacy_decoder, sample_state};
use reliability_tests::legacy::generate_actors;

const GENERATED_DECODER_INPUTS: usize = 20_000;
const GENERATED_KV_INPUTS: usize = 400;

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path()).ok())
        .collect()
}

#[test]
fn legacy_decoder_corpus_and_generated_inputs() {
    let mut inputs = corpus("legacy_decoder");
    let from_corpus = inputs.len();
    let mut sources: Vec<Vec<u8>> = rivetkit_fixtures().into_iter().map(|(_, b)| b).collect();
    sources.extend(generate_actors(5, 9, 5).into_iter().map(|a| a.bytes));
    sources.push(fs_driver::state::encode_state(&sample_state()));
    for source in &sources {
        for len in 0..=source.len() {
            inputs.push(source[..len].to_vec());
        }
    }
    let mut rng = Rng::new(1234);
    for i in 0..GENERATED_DECODER_INPUTS {
        let mut bytes = if i % 2 == 0 {
            sources[i % sources.len()].clone()
        } else {
            let len = rng.index(300);
            rng.bytes(len)
        };
        for _ in 0..rng.range(1, 3) {
            if !bytes.is_empty() {
                let at = rng.index(bytes.len());
                bytes[at] = rng.next_u64() as u8;
            }
        }
        inputs.push(bytes);
    }
    for input in &inputs {
        check_legacy_decoder(input).unwrap_or_else(|problem| panic!("{input:?}: {problem}"));
    }
    eprintln!(
        "{} decoder inputs ({from_corpus} from the corpus)",
        inputs.len()
    );
}

fn kv_requests(backend: &str) {
    let mut inputs = corpus("kv_validation");
    let from_corpus = inputs.len();
    let mut rng = Rng::new(seed(backend, 5));
    for _ in 0..GENERATED_KV_INPUTS {
        let len = rng.index(160);
        inputs.push(rng.bytes(len));
    }
    let (mut accepted, mut rejected) = (0, 0);
    for input in &inputs {
        let stats = check_kv_requests(runtime(backend), input)
            .unwrap_or_else(|problem| panic!("{backend}: {input:?}: {problem}"));
        accepted += stats.accepted;
        rejected += stats.rejected;
    }
    eprintln!(
        "{backend}: {} request sequences ({from_corpus} from the corpus): {accepted} requests accepted, {rejected} rejected with nothing changed",
        inputs.len()
    );
}

#[cfg(feature = "rusqlite")]
#[test]
fn kv_requests_rusqlite() {
    kv_requests("rusqlite");
}

#[cfg(feature = "sqlite")]
#[test]
fn kv_requests_sqlite() {
    kv_requests("sqlite");
}

#[cfg(feature = "sqlx")]
#[test]
fn kv_requests_sqlx() {
    kv_requests("sqlx");
}

/// rivetkit's own legacy state files: names and bytes.
fn rivetkit_fixtures() -> Vec<(String, Vec<u8>)> {
    conformance_tests::fixtures::RIVETKIT_LEGACY_STATE
        .iter()
        .map(|(name, bytes)| ((*name).to_owned(), bytes.to_vec()))
        .collect()
}
