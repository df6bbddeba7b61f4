//! The part of libdqlite's C API (`dqlite.h`, 1.9 and later) that nodes use.

use std::ffi::{c_char, c_int, c_uint, c_ulonglong, c_void};

/// raft's "no connection" error code (`RAFT_NOCONNECTION`), what a connect function
/// returns when it cannot connect.
pub const RAFT_NOCONNECTION: c_int = 16;

/// An opaque `dqlite_node`.
#[repr(C)]
pub struct dqlite_node {
    _private: [u8; 0],
}

#[link(name = "dqlite")]
unsafe extern "C" {
    pub fn dqlite_node_create(
        id: c_ulonglong,
        address: *const c_char,
        data_dir: *const c_char,
        node: *mut *mut dqlite_node,
    ) -> c_int;
    pub fn dqlite_node_destroy(node: *mut dqlite_node);
    pub fn dqlite_node_set_bind_address(node: *mut dqlite_node, address: *const c_char) -> c_int;
    pub fn dqlite_node_set_connect_func(
        node: *mut dqlite_node,
        connect: unsafe extern "C" fn(*mut c_void, *const c_char, *mut c_int) -> c_int,
        arg: *mut c_void,
    ) -> c_int;
    pub fn dqlite_node_set_network_latency_ms(
        node: *mut dqlite_node,
        milliseconds: c_uint,
    ) -> c_int;
    pub fn dqlite_node_set_snapshot_params(
        node: *mut dqlite_node,
        threshold: c_uint,
        trailing: c_uint,
    ) -> c_int;
    pub fn dqlite_node_start(node: *mut dqlite_node) -> c_int;
    pub fn dqlite_node_stop(node: *mut dqlite_node) -> c_int;
    pub fn dqlite_node_errmsg(node: *mut dqlite_node) -> *const c_char;
    pub fn dqlite_generate_node_id(address: *const c_char) -> c_ulonglong;
}
