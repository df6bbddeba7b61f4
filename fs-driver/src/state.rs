//! `state/<actorId>` files: the versioned BARE `ActorState` (versions 1 to 3 read,
//! version 3 written).

use crate::bare::{DecodeError, Reader, Writer};

/// The state file version this driver writes.
pub const CURRENT_STATE_VERSION: u16 = 3;

/// The key a version 1 file's `persistedData` becomes when upgraded.
pub const V1_PERSISTED_DATA_KEY: &[u8] = &[0x01];

/// One KV entry, `(key, value)`.
pub type KvEntry = (Vec<u8>, Vec<u8>);

/// An actor's metadata as stored in `state/<actorId>`, upgraded to version 3.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActorState {
    /// The actor id.
    pub actor_id: String,
    /// The actor's name.
    pub name: String,
    /// The actor's key.
    pub key: Vec<String>,
    /// Legacy KV entries kept in the file (version 1's `persistedData` becomes the single
    /// entry keyed `0x01`). The driver writes this empty: KV lives in SQLite.
    pub kv_storage: Vec<KvEntry>,
    /// Creation time, milliseconds since the Unix epoch.
    pub created_at: u64,
    /// Start time (ms), when known.
    pub start_ts: Option<u64>,
    /// Time the actor became connectable (ms), when known.
    pub connectable_ts: Option<u64>,
    /// Time the actor went to sleep (ms), when known.
    pub sleep_ts: Option<u64>,
    /// Time the actor was destroyed (ms), when known.
    pub destroy_ts: Option<u64>,
}

/// Decodes a state file of version 1, 2 or 3, returning the version found and the state
/// upgraded to version 3.
pub fn decode_state(bytes: &[u8]) -> Result<(u16, ActorState), DecodeError> {
    let mut reader = Reader::new(bytes);
    let version = reader.u16_le()?;
    if !(1..=CURRENT_STATE_VERSION).contains(&version) {
        return Err(DecodeError::UnknownVersion(version));
    }
    let actor_id = reader.str()?.to_owned();
    let name = reader.str()?.to_owned();
    let key_len = reader.list_len(1)?;
    let mut key = Vec::new();
    for _ in 0..key_len {
        key.push(reader.str()?.to_owned());
    }
    let kv_storage = if version == 1 {
        let data = reader.data()?;
        vec![(V1_PERSISTED_DATA_KEY.to_vec(), data.to_vec())]
    } else {
        let entries = reader.list_len(2)?;
        let mut kv = Vec::new();
        for _ in 0..entries {
            let key = reader.data()?.to_vec();
            let value = reader.data()?.to_vec();
            kv.push((key, value));
        }
        kv
    };
    let created_at = reader.u64()?;
    let mut state = ActorState {
        actor_id,
        name,
        key,
        kv_storage,
        created_at,
        ..ActorState::default()
    };
    if version == 3 {
        state.start_ts = reader.optional_u64()?;
        state.connectable_ts = reader.optional_u64()?;
        state.sleep_ts = reader.optional_u64()?;
        state.destroy_ts = reader.optional_u64()?;
    }
    reader.finish()?;
    Ok((version, state))
}

/// Encodes `state` as a version 3 file, `kvStorage` included as given.
pub fn encode_state(state: &ActorState) -> Vec<u8> {
    let mut writer = Writer::new();
    writer.u16_le(CURRENT_STATE_VERSION);
    writer.str(&state.actor_id);
    writer.str(&state.name);
    writer.list_len(state.key.len());
    for part in &state.key {
        writer.str(part);
    }
    writer.list_len(state.kv_storage.len());
    for (key, value) in &state.kv_storage {
        writer.data(key);
        writer.data(value);
    }
    writer.u64(state.created_at);
    writer.optional_u64(state.start_ts);
    writer.optional_u64(state.connectable_ts);
    writer.optional_u64(state.sleep_ts);
    writer.optional_u64(state.destroy_ts);
    writer.into_bytes()
}

/// Encoders for older versions, for test suites that build legacy files (the driver
/// itself only writes version 3).
#[doc(hidden)]
pub mod legacy {
    use super::ActorState;
    use crate::bare::Writer;

    fn header(writer: &mut Writer, version: u16, state: &ActorState) {
        writer.u16_le(version);
        writer.str(&state.actor_id);
        writer.str(&state.name);
        writer.list_len(state.key.len());
        for part in &state.key {
            writer.str(part);
        }
    }

    /// A version 1 file: `persisted_data` stands for the single legacy entry.
    pub fn encode_v1(state: &ActorState, persisted_data: &[u8]) -> Vec<u8> {
        let mut writer = Writer::new();
        header(&mut writer, 1, state);
        writer.data(persisted_data);
        writer.u64(state.created_at);
        writer.into_bytes()
    }

    /// A version 2 file (no timestamps).
    pub fn encode_v2(state: &ActorState) -> Vec<u8> {
        let mut writer = Writer::new();
        header(&mut writer, 2, state);
        writer.list_len(state.kv_storage.len());
        for (key, value) in &state.kv_storage {
            writer.data(key);
            writer.data(value);
        }
        writer.u64(state.created_at);
        writer.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn worked_example() -> ActorState {
        ActorState {
            actor_id: "a1".into(),
            name: "counter".into(),
            key: vec!["k".into()],
            kv_storage: vec![(b"x".to_vec(), b"1".to_vec())],
            created_at: 1_700_000_000_000,
            start_ts: Some(1_700_000_000_001),
            ..ActorState::default()
        }
    }

    const WORKED_EXAMPLE: &[u8] = &[
        0x03, 0x00, // version 3
        0x02, 0x61, 0x31, // actorId "a1"
        0x07, 0x63, 0x6f, 0x75, 0x6e, 0x74, 0x65, 0x72, // name "counter"
        0x01, 0x01, 0x6b, // key ["k"]
        0x01, 0x01, 0x78, 0x01, 0x31, // kvStorage [x -> 1]
        0x00, 0x68, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00, // createdAt
        0x01, 0x01, 0x68, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00, // startTs
        0x00, 0x00, 0x00, // connectableTs, sleepTs, destroyTs
    ];

    #[test]
    fn worked_example_bytes() {
        assert_eq!(encode_state(&worked_example()), WORKED_EXAMPLE);
        assert_eq!(decode_state(WORKED_EXAMPLE), Ok((3, worked_example())));
    }

    #[test]
    fn version_2_upgrades_with_absent_timestamps() {
        let mut state = worked_example();
        state.start_ts = None;
        let bytes = legacy::encode_v2(&state);
        assert_eq!(&bytes[..2], &[2, 0]);
        assert_eq!(decode_state(&bytes), Ok((2, state)));
    }

    #[test]
    fn version_1_persisted_data_becomes_key_0x01_even_when_empty() {
        let mut state = worked_example();
        state.start_ts = None;
        for data in [&b"hello"[..], &b""[..]] {
            let (version, decoded) =
                decode_state(&legacy::encode_v1(&state, data)).expect("decodes");
            assert_eq!(version, 1);
            assert_eq!(decoded.kv_storage, vec![(vec![0x01], data.to_vec())]);
            assert_eq!(decoded.created_at, state.created_at);
            assert_eq!(decoded.start_ts, None);
        }
    }

    #[test]
    fn unknown_versions_and_truncation_are_errors() {
        for version in [0u16, 4, 0xffff] {
            let mut bytes = WORKED_EXAMPLE.to_vec();
            bytes[..2].copy_from_slice(&version.to_le_bytes());
            assert_eq!(
                decode_state(&bytes),
                Err(DecodeError::UnknownVersion(version))
            );
        }
        for len in 0..WORKED_EXAMPLE.len() {
            assert!(
                decode_state(&WORKED_EXAMPLE[..len]).is_err(),
                "prefix of {len} bytes decoded"
            );
        }
        let mut trailing = WORKED_EXAMPLE.to_vec();
        trailing.push(0);
        assert!(matches!(
            decode_state(&trailing),
            Err(DecodeError::TrailingBytes { .. })
        ));
    }

    #[test]
    fn hostile_lengths_are_rejected() {
        // actorId claims 2^62 bytes.
        let bytes = [
            0x03, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40,
        ];
        assert!(matches!(
            decode_state(&bytes),
            Err(DecodeError::LengthOutOfBounds { .. })
        ));
        // key list claims a billion items.
        let bytes = [0x03, 0x00, 0x00, 0x00, 0x80, 0x94, 0xeb, 0xdc, 0x03, 0x00];
        assert!(matches!(
            decode_state(&bytes),
            Err(DecodeError::LengthOutOfBounds {
                length: 1_000_000_000,
                ..
            })
        ));
    }
}
