//! What the cluster says about its nodes.

use std::fmt;

/// A node's part in the cluster, from a CLUSTER request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum NodeRole {
    /// Votes in elections and replicates the log; can be leader.
    Voter,
    /// Replicates the log without voting; promoted when a voter is lost.
    Standby,
    /// Neither votes nor replicates.
    Spare,
    /// A role code this client does not know.
    Unknown(u64),
}

impl NodeRole {
    /// The role for its wire code.
    pub fn from_code(code: u64) -> Self {
        match code {
            0 => NodeRole::Voter,
            1 => NodeRole::Standby,
            2 => NodeRole::Spare,
            other => NodeRole::Unknown(other),
        }
    }

    /// The role's wire code.
    pub fn code(self) -> u64 {
        match self {
            NodeRole::Voter => 0,
            NodeRole::Standby => 1,
            NodeRole::Spare => 2,
            NodeRole::Unknown(code) => code,
        }
    }
}

impl std::str::FromStr for NodeRole {
    type Err = String;

    /// `voter`, `standby` (or `stand-by`) or `spare`.
    fn from_str(text: &str) -> std::result::Result<Self, String> {
        match text {
            "voter" => Ok(NodeRole::Voter),
            "standby" | "stand-by" => Ok(NodeRole::Standby),
            "spare" => Ok(NodeRole::Spare),
            other => Err(format!(
                "unknown node role {other:?} (voter, standby or spare)"
            )),
        }
    }
}

impl fmt::Display for NodeRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeRole::Voter => f.write_str("voter"),
            NodeRole::Standby => f.write_str("standby"),
            NodeRole::Spare => f.write_str("spare"),
            NodeRole::Unknown(code) => write!(f, "role {code}"),
        }
    }
}

/// One member of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NodeInfo {
    /// The node's raft id.
    pub id: u64,
    /// The address it advertises ("host:port"), which is the one to dial.
    pub address: String,
    /// Its role.
    pub role: NodeRole,
}

/// The leader as a node reports it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Leader {
    /// The leader's raft id.
    pub id: u64,
    /// The address it advertises. Leadership is confirmed by dialling exactly this
    /// string and getting it back from that node (as go-dqlite does).
    pub address: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        assert_eq!(NodeRole::from_code(0), NodeRole::Voter);
        assert_eq!(NodeRole::from_code(1), NodeRole::Standby);
        assert_eq!(NodeRole::from_code(2), NodeRole::Spare);
        assert_eq!(NodeRole::from_code(7), NodeRole::Unknown(7));
        assert_eq!(NodeRole::Voter.to_string(), "voter");
        assert_eq!(NodeRole::Unknown(7).to_string(), "role 7");
        for role in [NodeRole::Voter, NodeRole::Standby, NodeRole::Spare] {
            assert_eq!(NodeRole::from_code(role.code()), role);
            assert_eq!(role.to_string().parse::<NodeRole>(), Ok(role));
        }
        assert!("leader".parse::<NodeRole>().is_err());
    }
}
