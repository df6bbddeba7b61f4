//! The node's identity, kept in its data directory: a node must restart with the id and
//! address it was created with, and libdqlite does not record them.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{NodeError, Result};

/// The file's name in the data directory.
const FILE: &str = "sqlrt-node";

/// The id libdqlite bootstraps a new cluster with (its `BOOTSTRAP_ID`, go-dqlite's
/// `BootstrapID`): a node started with it and no data becomes a one-voter cluster.
pub const BOOTSTRAP_ID: u64 = 0x2dc1_7185_8c31_55be;

/// Who the node in a data directory is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// Its raft id.
    pub id: u64,
    /// The address it serves on and the cluster knows it by.
    pub address: String,
    /// Whether it is a member: it bootstrapped the cluster or was added to one.
    pub member: bool,
}

impl Identity {
    /// The identity file of data directory `dir`.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(FILE)
    }

    /// The identity recorded in `dir`, if any.
    pub fn load(dir: &Path) -> Result<Option<Identity>> {
        let path = Identity::path(dir);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(identity_error(&path, error.to_string())),
        };
        Identity::parse(&text)
            .map(Some)
            .map_err(|reason| identity_error(&path, reason))
    }

    fn parse(text: &str) -> std::result::Result<Identity, String> {
        let (mut id, mut address, mut member) = (None, None, false);
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            match line.split_once(' ') {
                Some(("id", value)) => {
                    id = Some(
                        value
                            .parse::<u64>()
                            .map_err(|_| format!("bad id {value:?}"))?,
                    )
                }
                Some(("address", value)) => address = Some(value.to_owned()),
                None if line == "member" => member = true,
                _ => return Err(format!("unexpected line {line:?}")),
            }
        }
        match (id, address) {
            (Some(id), Some(address)) if id != 0 => Ok(Identity {
                id,
                address,
                member,
            }),
            _ => Err("an id (not 0) and an address are required".to_owned()),
        }
    }

    /// Records the identity in `dir`, replacing the file atomically (a crash leaves the
    /// old one or the new one).
    pub fn store(&self, dir: &Path) -> Result<()> {
        let path = Identity::path(dir);
        let temporary = dir.join(format!("{FILE}.tmp"));
        let mut text = format!("id {}\naddress {}\n", self.id, self.address);
        if self.member {
            text.push_str("member\n");
        }
        let written = (|| {
            let mut file = fs::File::create(&temporary)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            fs::rename(&temporary, &path)?;
            fs::File::open(dir)?.sync_all()
        })();
        written.map_err(|error| identity_error(&path, error.to_string()))
    }
}

fn identity_error(path: &Path, reason: String) -> NodeError {
    NodeError::Identity {
        path: path.to_owned(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Identity::load(dir.path()).unwrap(), None);
        let identity = Identity {
            id: 42,
            address: "127.0.0.1:9001".to_owned(),
            member: false,
        };
        identity.store(dir.path()).unwrap();
        assert_eq!(Identity::load(dir.path()).unwrap(), Some(identity.clone()));
        let member = Identity {
            member: true,
            ..identity
        };
        member.store(dir.path()).unwrap();
        assert_eq!(Identity::load(dir.path()).unwrap(), Some(member));

        for garbage in [
            "",
            "id x\naddress a\n",
            "id 0\naddress a\n",
            "id 1\n",
            "hello\n",
        ] {
            fs::write(Identity::path(dir.path()), garbage).unwrap();
            let error = Identity::load(dir.path()).unwrap_err();
            assert!(
                matches!(error, NodeError::Identity { .. }),
                "{garbage:?}: {error}"
            );
        }
    }
}
