//! Memory stays bounded: the legacy decoders never allocate more than a small multiple
//! of the file's size, however large the lengths and counts inside it claim to be. A
//! counting global allocator records the peak bytes live on the decoding thread.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use fs_driver::alarm::decode_alarm;
use fs_driver::state::{decode_state, encode_state, legacy};
use reliability_tests::Rng;
use reliability_tests::fuzz_checks::sample_state;

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn note(delta: isize) {
    // `try_with`: the thread's locals may be gone while it exits.
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add_signed(delta);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: every call is forwarded to the system allocator unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size() as isize);
        // SAFETY: per the caller.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(-(layout.size() as isize));
        // SAFETY: per the caller.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size as isize - layout.size() as isize);
        // SAFETY: per the caller.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The peak bytes allocated (above what was live before) while decoding `bytes`.
fn peak_while_decoding(bytes: &[u8]) -> usize {
    let base = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(base));
    let state = decode_state(bytes);
    let alarm = decode_alarm(bytes);
    let peak = PEAK.with(Cell::get) - base;
    drop((state, alarm));
    peak
}

/// A file of `len` bytes may cost at most this: strings and entries copied out (each at
/// most the file's size), vectors of up to one item per byte at 24–48 bytes an item
/// with doubling growth.
fn bound(len: usize) -> usize {
    128 * len + 4096
}

#[test]
fn hostile_lengths_allocate_nothing_like_what_they_claim() {
    let varints: [&[u8]; 4] = [
        &[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], // 2^63
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], // 2^64 - 1
        &[0x80, 0x80, 0x80, 0x80, 0x10],                               // 2^32
        &[0x80, 0x80, 0x80, 0x01],                                     // 2^21
    ];
    let mut cases = 0;
    for version in [1u16, 2, 3] {
        for prefix_fields in 0..6 {
            for varint in varints {
                // `prefix_fields` empty strings / zero counts, then the hostile length.
                let mut bytes = version.to_le_bytes().to_vec();
                bytes.extend(std::iter::repeat_n(0u8, prefix_fields.min(2)));
                if prefix_fields > 2 {
                    bytes.push(0); // no key parts
                }
                bytes.extend_from_slice(varint);
                bytes.extend_from_slice(&[0x41; 64]);
                let peak = peak_while_decoding(&bytes);
                assert!(decode_state(&bytes).is_err());
                assert!(
                    peak <= bound(bytes.len()),
                    "v{version} {prefix_fields}: {peak} bytes for {} bytes",
                    bytes.len()
                );
                cases += 1;
            }
        }
    }
    eprintln!(
        "{cases} hostile-length files, each decoded within {} bytes",
        bound(80)
    );
}

#[test]
fn random_and_large_files_stay_within_a_multiple_of_their_size() {
    let mut rng = Rng::new(77);
    let mut worst = 0f64;
    let mut cases = 0;
    // Valid files with many small items: the most allocation per byte.
    let mut many = sample_state();
    many.key = vec![String::new(); 5000];
    many.kv_storage = vec![(Vec::new(), Vec::new()); 5000];
    let mut inputs = vec![
        encode_state(&many),
        legacy::encode_v2(&many),
        legacy::encode_v1(&many, &[7; 10_000]),
    ];
    for i in 0..3000 {
        let len = rng.index(2000);
        let mut bytes = rng.bytes(len);
        if i % 2 == 0 && bytes.len() >= 2 {
            bytes[0] = rng.range(1, 3) as u8;
            bytes[1] = 0;
        }
        inputs.push(bytes);
    }
    for bytes in &inputs {
        let peak = peak_while_decoding(bytes);
        assert!(
            peak <= bound(bytes.len()),
            "{peak} bytes for a {}-byte file",
            bytes.len()
        );
        worst = worst.max(peak as f64 / (bytes.len().max(1)) as f64);
        cases += 1;
    }
    eprintln!("{cases} files decoded; worst peak allocation {worst:.1} x the file size");
}
