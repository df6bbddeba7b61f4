//! `alarms/<actorId>` files: the versioned BARE `ActorAlarm` (same fields in every
//! version; version 3 written).

use crate::bare::{DecodeError, Reader, Writer};

/// The alarm file version this driver writes.
pub const CURRENT_ALARM_VERSION: u16 = 3;

/// A persisted alarm.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ActorAlarm {
    /// The actor id.
    pub actor_id: String,
    /// When the alarm fires, milliseconds since the Unix epoch.
    pub timestamp: u64,
}

/// Decodes an alarm file of version 1, 2 or 3, returning the version found.
pub fn decode_alarm(bytes: &[u8]) -> Result<(u16, ActorAlarm), DecodeError> {
    let mut reader = Reader::new(bytes);
    let version = reader.u16_le()?;
    if !(1..=CURRENT_ALARM_VERSION).contains(&version) {
        return Err(DecodeError::UnknownVersion(version));
    }
    let actor_id = reader.str()?.to_owned();
    let timestamp = reader.uint()?;
    reader.finish()?;
    Ok((
        version,
        ActorAlarm {
            actor_id,
            timestamp,
        },
    ))
}

/// Encodes `alarm` as a version 3 file.
pub fn encode_alarm(alarm: &ActorAlarm) -> Vec<u8> {
    let mut writer = Writer::new();
    writer.u16_le(CURRENT_ALARM_VERSION);
    writer.str(&alarm.actor_id);
    writer.uint(alarm.timestamp);
    writer.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKED_EXAMPLE: &[u8] = &[
        0x03, 0x00, 0x02, 0x61, 0x31, 0x88, 0xf7, 0x95, 0xff, 0xbc, 0x31,
    ];

    fn example() -> ActorAlarm {
        ActorAlarm {
            actor_id: "a1".into(),
            timestamp: 1_700_000_005_000,
        }
    }

    #[test]
    fn worked_example_bytes() {
        assert_eq!(encode_alarm(&example()), WORKED_EXAMPLE);
        assert_eq!(decode_alarm(WORKED_EXAMPLE), Ok((3, example())));
    }

    #[test]
    fn older_versions_share_the_layout() {
        for version in [1u16, 2] {
            let mut bytes = WORKED_EXAMPLE.to_vec();
            bytes[..2].copy_from_slice(&version.to_le_bytes());
            assert_eq!(decode_alarm(&bytes), Ok((version, example())));
        }
    }

    #[test]
    fn malformed_alarms_are_errors() {
        let mut unknown = WORKED_EXAMPLE.to_vec();
        unknown[0] = 4;
        assert_eq!(decode_alarm(&unknown), Err(DecodeError::UnknownVersion(4)));
        for len in 0..WORKED_EXAMPLE.len() {
            assert!(decode_alarm(&WORKED_EXAMPLE[..len]).is_err());
        }
        let mut overflow = vec![0x03, 0x00, 0x00];
        overflow.extend_from_slice(&[0xff; 11]);
        assert!(matches!(
            decode_alarm(&overflow),
            Err(DecodeError::VarintTooLong { .. })
        ));
    }
}
