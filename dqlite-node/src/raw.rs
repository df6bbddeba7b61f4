//! The libdqlite node handle: the only unsafe code of the crate. In a build without
//! libdqlite every call reports [`NodeError::Unavailable`].

use std::path::Path;

use crate::error::{NodeError, Result};

#[cfg(libdqlite)]
pub use linked::{RawNode, generate_id};

#[cfg(not(libdqlite))]
pub use missing::{RawNode, generate_id};

#[cfg(libdqlite)]
mod linked {
    use std::ffi::{CStr, CString, c_char, c_int, c_void};
    use std::net::{TcpStream, ToSocketAddrs};
    use std::os::fd::IntoRawFd;
    use std::os::unix::ffi::OsStrExt;
    use std::ptr::NonNull;
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::ffi;

    /// Held around `dqlite_node_create` and `dqlite_node_destroy`: libdqlite names each
    /// node's VFS from a counter it does not lock, so two nodes created at once in one
    /// process could register the same name.
    static CREATE_DESTROY: Mutex<()> = Mutex::new(());

    /// A started `dqlite_node`, stopped and destroyed on drop.
    #[derive(Debug)]
    pub struct RawNode {
        node: NonNull<ffi::dqlite_node>,
        running: bool,
    }

    // SAFETY: libdqlite runs the node on a thread of its own; the handle is only used
    // to stop and destroy it, which may happen from any one thread at a time (`&mut`).
    unsafe impl Send for RawNode {}

    /// How long a connection to another node may take to establish.
    const PEER_CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

    /// How long a starting node waits for its port to be free: a node restarted at once
    /// after a crash can find it still held for a moment.
    const PORT_PATIENCE: Duration = Duration::from_secs(10);

    /// Waits until `address` can be listened on (as libdqlite will: `SO_REUSEADDR`,
    /// which the standard library sets too), or returns why not.
    fn wait_for_port(address: &str) -> std::io::Result<()> {
        let deadline = std::time::Instant::now() + PORT_PATIENCE;
        loop {
            match std::net::TcpListener::bind(address) {
                Ok(_) => return Ok(()),
                Err(error)
                    if error.kind() == std::io::ErrorKind::AddrInUse
                        && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// How nodes connect to each other: like libdqlite's own function, but with
    /// `TCP_NODELAY`. Without it a small raft message waiting behind an unacknowledged
    /// one waits for the peer's delayed ACK, about 40 ms: one commit in fifty took 44 ms
    /// (p99) against 1.5 ms at p50.
    unsafe extern "C" fn connect_without_delay(
        _arg: *mut c_void,
        address: *const c_char,
        fd: *mut c_int,
    ) -> c_int {
        let connect = || {
            // SAFETY: libdqlite passes the peer's address as a NUL-terminated string.
            let address = unsafe { CStr::from_ptr(address) }.to_str().ok()?;
            let stream = address
                .to_socket_addrs()
                .ok()?
                .find_map(|peer| TcpStream::connect_timeout(&peer, PEER_CONNECT_TIMEOUT).ok())?;
            stream.set_nodelay(true).ok()?;
            Some(stream.into_raw_fd())
        };
        // A panic must not unwind into C.
        match std::panic::catch_unwind(connect) {
            Ok(Some(connected)) => {
                // SAFETY: libdqlite passes a valid place for the descriptor.
                unsafe { *fd = connected };
                0
            }
            _ => ffi::RAFT_NOCONNECTION,
        }
    }

    fn c_string(what: &str, text: &[u8]) -> Result<CString> {
        CString::new(text).map_err(|_| NodeError::InvalidAddress {
            address: String::from_utf8_lossy(text).into_owned(),
            reason: format!("the {what} contains a NUL byte"),
        })
    }

    /// A random id for a node at `address` (libdqlite mixes in the time).
    pub fn generate_id(address: &str) -> Result<u64> {
        let address = c_string("address", address.as_bytes())?;
        // SAFETY: a valid C string, not kept by the callee.
        Ok(unsafe { ffi::dqlite_generate_node_id(address.as_ptr()) })
    }

    impl RawNode {
        /// Creates, configures and starts a node.
        pub fn start(
            id: u64,
            address: &str,
            dir: &Path,
            latency_ms: u32,
            snapshot: Option<(u32, u32)>,
        ) -> Result<RawNode> {
            let c_address = c_string("address", address.as_bytes())?;
            let c_dir = c_string("data directory", dir.as_os_str().as_bytes())?;
            wait_for_port(address).map_err(|error| NodeError::Dqlite {
                call: "dqlite_node_set_bind_address",
                code: 1,
                message: format!("cannot listen on {address}: {error}"),
            })?;
            let mut node = std::ptr::null_mut();
            let code = {
                let _serial = CREATE_DESTROY
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner());
                // SAFETY: valid C strings (copied by libdqlite) and an out-pointer.
                unsafe {
                    ffi::dqlite_node_create(id, c_address.as_ptr(), c_dir.as_ptr(), &mut node)
                }
            };
            let Some(node) = NonNull::new(node) else {
                return Err(NodeError::Dqlite {
                    call: "dqlite_node_create",
                    code,
                    message: "out of memory".to_owned(),
                });
            };
            // From here on, dropping `raw` destroys the node.
            let mut raw = RawNode {
                node,
                running: false,
            };
            raw.check("dqlite_node_create", code)?;
            // SAFETY (each call): a node created above and not started yet.
            let code =
                unsafe { ffi::dqlite_node_set_bind_address(node.as_ptr(), c_address.as_ptr()) };
            raw.check("dqlite_node_set_bind_address", code)?;
            let code = unsafe {
                ffi::dqlite_node_set_connect_func(
                    node.as_ptr(),
                    connect_without_delay,
                    std::ptr::null_mut(),
                )
            };
            raw.check("dqlite_node_set_connect_func", code)?;
            let code =
                unsafe { ffi::dqlite_node_set_network_latency_ms(node.as_ptr(), latency_ms) };
            raw.check("dqlite_node_set_network_latency_ms", code)?;
            if let Some((threshold, trailing)) = snapshot {
                let code = unsafe {
                    ffi::dqlite_node_set_snapshot_params(node.as_ptr(), threshold, trailing)
                };
                raw.check("dqlite_node_set_snapshot_params", code)?;
            }
            let code = unsafe { ffi::dqlite_node_start(node.as_ptr()) };
            raw.check("dqlite_node_start", code)?;
            raw.running = true;
            Ok(raw)
        }

        /// Stops the node and destroys it.
        pub fn stop(mut self) -> Result<()> {
            self.running = false;
            // SAFETY: a started node, stopped once.
            let code = unsafe { ffi::dqlite_node_stop(self.node.as_ptr()) };
            self.check("dqlite_node_stop", code)
        }

        fn check(&self, call: &'static str, code: c_int) -> Result<()> {
            if code == 0 {
                return Ok(());
            }
            // SAFETY: the node is valid; its message is a NUL-terminated string it owns
            // (or NULL), copied before any other call.
            let message = unsafe {
                let message = ffi::dqlite_node_errmsg(self.node.as_ptr());
                if message.is_null() {
                    String::new()
                } else {
                    CStr::from_ptr(message).to_string_lossy().into_owned()
                }
            };
            let message = if message.is_empty() {
                "libdqlite gave no reason (for a bind address: it is in use, or not an \
                 address of this machine)"
                    .to_owned()
            } else {
                message
            };
            Err(NodeError::Dqlite {
                call,
                code,
                message,
            })
        }
    }

    impl Drop for RawNode {
        fn drop(&mut self) {
            // SAFETY: the node is valid; it is stopped if it was started, then destroyed
            // exactly once.
            unsafe {
                if self.running {
                    ffi::dqlite_node_stop(self.node.as_ptr());
                }
                let _serial = CREATE_DESTROY
                    .lock()
                    .unwrap_or_else(|poison| poison.into_inner());
                ffi::dqlite_node_destroy(self.node.as_ptr());
            }
        }
    }
}

#[cfg(not(libdqlite))]
mod missing {
    use super::*;

    /// No node can exist in a build without libdqlite.
    #[derive(Debug)]
    pub enum RawNode {}

    /// Unavailable in a build without libdqlite.
    pub fn generate_id(_address: &str) -> Result<u64> {
        Err(NodeError::Unavailable)
    }

    impl RawNode {
        /// Unavailable in a build without libdqlite.
        pub fn start(
            _id: u64,
            _address: &str,
            _dir: &Path,
            _latency_ms: u32,
            _snapshot: Option<(u32, u32)>,
        ) -> Result<RawNode> {
            Err(NodeError::Unavailable)
        }

        /// Never called: no value exists.
        pub fn stop(self) -> Result<()> {
            match self {}
        }
    }
}
