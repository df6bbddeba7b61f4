//! Node addresses: `HOST:PORT`, and whether they stay on this machine.

use std::net::IpAddr;

use crate::error::{NodeError, Result};

/// Checks that `address` is `HOST:PORT` with a port other than 0, and returns whether
/// its host is loopback (`127.0.0.0/8`, `::1` or `localhost`). Any other name counts as
/// reaching beyond the machine, whatever it resolves to today.
pub fn is_loopback(address: &str) -> Result<bool> {
    let invalid = |reason: &str| NodeError::InvalidAddress {
        address: address.to_owned(),
        reason: reason.to_owned(),
    };
    let (host, port) = address
        .rsplit_once(':')
        .ok_or_else(|| invalid("expected HOST:PORT"))?;
    match port.parse::<u16>() {
        Ok(0) => return Err(invalid("port 0 cannot be advertised to other nodes")),
        Ok(_) => {}
        Err(_) => return Err(invalid("the port is not a number from 1 to 65535")),
    }
    let host = host
        .strip_prefix('[')
        .and_then(|host| host.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return Err(invalid("the host is empty"));
    }
    Ok(match host.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => host.eq_ignore_ascii_case("localhost"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_or_not() {
        for address in [
            "127.0.0.1:9001",
            "127.8.0.3:1",
            "[::1]:9001",
            "localhost:9001",
        ] {
            assert!(is_loopback(address).unwrap(), "{address}");
        }
        for address in [
            "0.0.0.0:9001",
            "10.0.0.5:9001",
            "[::]:9001",
            "db.example:9001",
        ] {
            assert!(!is_loopback(address).unwrap(), "{address}");
        }
        for address in [
            "127.0.0.1",
            "127.0.0.1:0",
            "127.0.0.1:x",
            ":9001",
            "[]:1",
            "",
        ] {
            assert!(
                matches!(is_loopback(address), Err(NodeError::InvalidAddress { .. })),
                "{address}"
            );
        }
    }
}
