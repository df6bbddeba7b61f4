//! Generated legacy storage roots (state files of versions 1, 2 and 3 holding KV
//! entries) and the rivetkit fixtures.

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use fs_driver::state::{ActorState, encode_state, legacy};

use crate::Rng;

/// A legacy actor: its id, its state file's bytes, and the KV entries a migration must
/// produce from it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LegacyActor {
    /// The actor id (the state file's name).
    pub id: String,
    /// The state file version (1, 2 or 3).
    pub version: u16,
    /// The state file.
    pub bytes: Vec<u8>,
    /// The entries after migration, sorted by key.
    pub entries: BTreeMap<Vec<u8>, Vec<u8>>,
}

/// A legacy actor number `index`: versions rotate 1, 2, 3; a version 2 or 3 actor holds
/// 0 to `max_entries` entries with unique random keys (bytes 0x00 and 0xff included)
/// and values of 0 to 300 bytes.
pub fn generate_actor(rng: &mut Rng, index: usize, max_entries: usize) -> LegacyActor {
    let id = format!("legacy-{index:04}");
    let version = (index % 3) as u16 + 1;
    let mut state = ActorState {
        actor_id: id.clone(),
        name: format!("name-{index}"),
        key: (0..rng.below(3)).map(|k| format!("key-{k}")).collect(),
        created_at: 1_700_000_000_000 + index as u64,
        ..ActorState::default()
    };
    let mut entries = BTreeMap::new();
    let bytes = if version == 1 {
        let len = rng.index(300);
        let data = rng.bytes(len);
        entries.insert(
            fs_driver::state::V1_PERSISTED_DATA_KEY.to_vec(),
            data.clone(),
        );
        legacy::encode_v1(&state, &data)
    } else {
        let count = rng.index(max_entries + 1);
        while entries.len() < count {
            let key_len = rng.range(1, 24) as usize;
            let value_len = rng.index(300);
            entries.insert(rng.bytes(key_len), rng.bytes(value_len));
        }
        state.kv_storage = entries
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if version == 2 {
            legacy::encode_v2(&state)
        } else {
            state.start_ts = Some(state.created_at + 1);
            encode_state(&state)
        }
    };
    LegacyActor {
        id,
        version,
        bytes,
        entries,
    }
}

/// `count` legacy actors from `seed`.
pub fn generate_actors(seed: u64, count: usize, max_entries: usize) -> Vec<LegacyActor> {
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|index| generate_actor(&mut rng, index, max_entries))
        .collect()
}

/// Writes the actors' state files into `root/state/`.
pub fn write_legacy_root(root: &Path, actors: &[LegacyActor]) -> io::Result<()> {
    let state = root.join("state");
    std::fs::create_dir_all(&state)?;
    for actor in actors {
        std::fs::write(state.join(&actor.id), &actor.bytes)?;
    }
    Ok(())
}
