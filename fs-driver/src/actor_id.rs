//! Actor id rules: an id becomes a file name, so unsafe ids are rejected before any disk
//! access.

use std::fmt;

/// The longest accepted actor id, in bytes.
///
/// The spec's bound is 255 bytes (a file name), but every file the driver writes for an
/// actor carries a suffix: atomic writes go through `<id>.tmp.<uuid>`, 41 bytes longer
/// than the id, and SQLite adds `.db-journal`. On file systems with 255-byte names (ext4,
/// XFS, APFS, NTFS) an id longer than 214 bytes could pass the check and then fail
/// half-way through `create`, so it is refused up front instead.
pub const MAX_ACTOR_ID_LEN: usize = 255 - TEMP_SUFFIX_LEN;

/// The length of the `.tmp.<uuid>` suffix of temporary files.
const TEMP_SUFFIX_LEN: usize = TEMP_MARKER.len() + 36;

/// The marker temporary files carry: `<name>.tmp.<uuid>`.
pub const TEMP_MARKER: &str = ".tmp.";

/// A name containing this is never an actor: rivetkit 2.2.1's `listActors` skips every
/// state file whose name contains `.tmp`, so such an actor would be invisible to it.
pub const RESERVED_ID_PART: &str = ".tmp";

/// Why an actor id was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InvalidActorId {
    /// The id is empty.
    Empty,
    /// The id is `.` or `..`.
    DotName,
    /// The id contains `/` or `\`.
    PathSeparator,
    /// The id contains a NUL byte.
    Nul,
    /// The id contains a control character.
    ControlCharacter,
    /// The id contains `.tmp`, reserved for temporary files (rivetkit does not list such
    /// actors).
    TempMarker,
    /// The id is longer than [`MAX_ACTOR_ID_LEN`] bytes.
    TooLong {
        /// The id's length in bytes.
        len: usize,
    },
}

impl fmt::Display for InvalidActorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InvalidActorId::Empty => f.write_str("the actor id is empty"),
            InvalidActorId::DotName => f.write_str("the actor id cannot be `.` or `..`"),
            InvalidActorId::PathSeparator => f.write_str("the actor id cannot contain `/` or `\\`"),
            InvalidActorId::Nul => f.write_str("the actor id cannot contain NUL"),
            InvalidActorId::ControlCharacter => {
                f.write_str("the actor id cannot contain control characters")
            }
            InvalidActorId::TempMarker => f.write_str(
                "the actor id cannot contain `.tmp` (reserved for temporary files; rivetkit does not list such actors)",
            ),
            InvalidActorId::TooLong { len } => write!(
                f,
                "the actor id is {len} bytes long (max {MAX_ACTOR_ID_LEN} bytes, so that its files' names fit in 255 bytes)"
            ),
        }
    }
}

/// Checks `id` against the spec's rules.
pub fn check_actor_id(id: &str) -> Result<(), InvalidActorId> {
    if id.is_empty() {
        return Err(InvalidActorId::Empty);
    }
    if id.len() > MAX_ACTOR_ID_LEN {
        return Err(InvalidActorId::TooLong { len: id.len() });
    }
    if id == "." || id == ".." {
        return Err(InvalidActorId::DotName);
    }
    for c in id.chars() {
        match c {
            '/' | '\\' => return Err(InvalidActorId::PathSeparator),
            '\0' => return Err(InvalidActorId::Nul),
            c if c.is_control() => return Err(InvalidActorId::ControlCharacter),
            _ => {}
        }
    }
    if id.contains(RESERVED_ID_PART) {
        return Err(InvalidActorId::TempMarker);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ordinary_ids() {
        for id in [
            "a",
            "actor-1",
            "legacy-actor-one",
            "...",
            ".hidden",
            "tmp.x",
            "a.tm",
            "a.TMP",
            "é",
            &"x".repeat(MAX_ACTOR_ID_LEN),
        ] {
            assert_eq!(check_actor_id(id), Ok(()), "{id:?}");
        }
    }

    #[test]
    fn rejects_unsafe_ids() {
        let cases: &[(&str, InvalidActorId)] = &[
            ("", InvalidActorId::Empty),
            (".", InvalidActorId::DotName),
            ("..", InvalidActorId::DotName),
            ("a/b", InvalidActorId::PathSeparator),
            ("/", InvalidActorId::PathSeparator),
            ("a\\b", InvalidActorId::PathSeparator),
            ("a\0b", InvalidActorId::Nul),
            ("a\nb", InvalidActorId::ControlCharacter),
            ("a\u{7f}", InvalidActorId::ControlCharacter),
            ("a\u{85}", InvalidActorId::ControlCharacter),
            ("x.tmp.123", InvalidActorId::TempMarker),
            (".tmp.", InvalidActorId::TempMarker),
            ("a.tmp", InvalidActorId::TempMarker),
            ("a.tmpx", InvalidActorId::TempMarker),
        ];
        for (id, reason) in cases {
            assert_eq!(check_actor_id(id), Err(*reason), "{id:?}");
        }
        let long = "x".repeat(256);
        assert_eq!(
            check_actor_id(&long),
            Err(InvalidActorId::TooLong { len: 256 })
        );
        // 128 two-byte characters: 256 bytes.
        assert_eq!(
            check_actor_id(&"é".repeat(128)),
            Err(InvalidActorId::TooLong { len: 256 })
        );
    }
}
