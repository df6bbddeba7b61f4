//! One TCP stream to one node: connecting with the handshake, framing requests and
//! responses, timeouts, and what a failure does to the stream.
//!
//! Any I/O failure, timeout or undecodable response leaves the stream in an unknown
//! place (a response may still be on its way), so the transport is *poisoned*: the
//! socket is shut down (the server rolls back an open transaction when it sees the
//! close) and every later request fails at once without sending anything.

use std::io::{self, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};

use sqlite_runtime::Result;

use crate::error::{Fault, encode_error, failure_error, fault_error};
use crate::options::ConnectOptions;
use crate::wire::{DecodeError, HEADER_LEN, Header, PROTOCOL_VERSION, Request, Response};

/// The read buffer's size: a ROWS batch is about one 4 KiB page, and more than one may
/// be waiting.
const READ_BUFFER: usize = 64 << 10;

/// Buffers that grew past this (a large blob) are given back after use.
const KEEP_CAPACITY: usize = 1 << 20;

/// How a wait for an answer ended (see [`AnswerWait`]).
pub(crate) enum Waited {
    /// Something arrived (or the socket failed: reading says which).
    Readable,
    /// Nothing arrived within the request timeout.
    TimedOut,
    /// Another node leads now.
    Deposed(String),
}

/// Waits for an answer on a stream in a way of its own (the leadership check).
pub(crate) trait AnswerWait: std::fmt::Debug + Send + Sync {
    /// Waits up to `timeout` for `stream`, connected to `node`, to have something to read.
    fn wait(&self, stream: &TcpStream, node: &str, timeout: std::time::Duration) -> Waited;
}

/// A connected, handshaken stream to one node.
#[derive(Debug)]
pub(crate) struct Transport {
    reader: BufReader<TcpStream>,
    node: String,
    output: Vec<u8>,
    input: Vec<u8>,
    max_response_size: usize,
    timeout: std::time::Duration,
    broken: Option<String>,
    watch: Option<Box<dyn AnswerWait>>,
}

impl Transport {
    /// Connects to `address` ("host:port") and sends the protocol version.
    pub(crate) fn connect(address: &str, options: &ConnectOptions) -> Result<Self> {
        options.validate()?;
        let connect_fault = |source| {
            fault_error(Fault::Connect {
                node: address.to_owned(),
                source,
            })
        };
        let stream = dial(address, options).map_err(connect_fault)?;
        let setup = |stream: &TcpStream| -> io::Result<()> {
            stream.set_nodelay(true)?;
            stream.set_read_timeout(Some(options.request_timeout))?;
            stream.set_write_timeout(Some(options.request_timeout))?;
            // The handshake: one word, which the server does not answer.
            let mut writer = stream;
            writer.write_all(&PROTOCOL_VERSION.to_le_bytes())
        };
        setup(&stream).map_err(connect_fault)?;
        tracing::debug!(node = address, "dqlite connection established");
        Ok(Transport {
            reader: BufReader::with_capacity(READ_BUFFER, stream),
            node: address.to_owned(),
            output: Vec::new(),
            input: Vec::new(),
            max_response_size: options.max_response_size,
            timeout: options.request_timeout,
            broken: None,
            watch: None,
        })
    }

    /// From now on, waits for answers while checking that this node still leads (see
    /// [`ConnectOptions::leadership_check`]).
    pub(crate) fn watch(&mut self, watch: Box<dyn AnswerWait>) {
        self.watch = Some(watch);
    }

    /// Changes how long one read or write may block from now on.
    pub(crate) fn set_timeout(&mut self, timeout: std::time::Duration) -> io::Result<()> {
        let stream = self.reader.get_ref();
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        self.timeout = timeout;
        Ok(())
    }

    /// The address this transport dialled.
    pub(crate) fn node(&self) -> &str {
        &self.node
    }

    /// Whether an earlier failure made the transport unusable.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    /// Sends one request. On failure nothing (or only part of the request, which the
    /// server cannot run) reached the server.
    pub(crate) fn send(&mut self, request: &Request<'_>) -> Result<()> {
        if let Some(reason) = &self.broken {
            return Err(fault_error(Fault::Broken {
                node: self.node.clone(),
                reason: reason.clone(),
            }));
        }
        request.encode(&mut self.output).map_err(encode_error)?;
        let written = self.reader.get_mut().write_all(&self.output);
        if self.output.capacity() > KEEP_CAPACITY {
            self.output = Vec::new();
        }
        written.map_err(|source| {
            let source = self.explain(source, "the node took no data");
            self.poison(Fault::NotSent {
                node: self.node.clone(),
                source,
            })
        })?;
        tracing::trace!(node = %self.node, request = ?request.kind(), "dqlite request sent");
        Ok(())
    }

    /// Reads one response into [`input`](Self::input) and returns its type code.
    pub(crate) fn receive(&mut self) -> Result<u8> {
        if self.input.capacity() > KEEP_CAPACITY {
            self.input = Vec::new();
        }
        self.input.clear();
        quick_ack(self.reader.get_ref());
        if let Some(watch) = &self.watch
            && self.reader.buffer().is_empty()
        {
            match watch.wait(self.reader.get_ref(), &self.node, self.timeout) {
                Waited::Readable => {}
                Waited::TimedOut => return Err(self.lost(io::ErrorKind::TimedOut.into())),
                Waited::Deposed(leader) => {
                    let node = self.node.clone();
                    return Err(self.poison(Fault::Deposed { node, leader }));
                }
            }
        }
        let mut header = [0; HEADER_LEN];
        if let Err(source) = self.reader.read_exact(&mut header) {
            return Err(self.lost(source));
        }
        let header = Header::decode(header);
        let len = header.body_len();
        if usize::try_from(len).map_or(true, |len| len > self.max_response_size) {
            return Err(self.malformed(DecodeError::TooLarge {
                bytes: len,
                max: self.max_response_size,
            }));
        }
        // Grows with what actually arrives: a lying header costs at most one read
        // buffer's worth of allocation.
        self.input
            .reserve(usize::try_from(len).map_or(READ_BUFFER, |len| len.min(READ_BUFFER)));
        let read = (&mut self.reader).take(len).read_to_end(&mut self.input);
        match read {
            Ok(n) if n as u64 == len => Ok(header.kind),
            Ok(_) => Err(self.lost(io::Error::from(io::ErrorKind::UnexpectedEof))),
            Err(source) => Err(self.lost(source)),
        }
    }

    /// The body of the last response received.
    pub(crate) fn input(&self) -> &[u8] {
        &self.input
    }

    /// Sends `request` and decodes its answer with `extract`, which returns `None` when
    /// the response does not answer the request (`expected` names what should have
    /// come). A FAILURE becomes its error and leaves the transport usable.
    pub(crate) fn call<T>(
        &mut self,
        request: &Request<'_>,
        expected: &'static str,
        extract: impl FnOnce(Response<'_>) -> Option<T>,
    ) -> Result<T> {
        self.send(request)?;
        self.receive_as(expected, extract)
    }

    /// Receives a response and decodes it as [`call`](Self::call) does.
    pub(crate) fn receive_as<T>(
        &mut self,
        expected: &'static str,
        extract: impl FnOnce(Response<'_>) -> Option<T>,
    ) -> Result<T> {
        let kind = self.receive()?;
        let decoded = match Response::decode(kind, &self.input) {
            Ok(Response::Failure { code, message }) => return Err(failure_error(code, &message)),
            Ok(response) => {
                let got = response.name();
                extract(response).ok_or(DecodeError::UnexpectedResponse { expected, got })
            }
            Err(error) => Err(error),
        };
        decoded.map_err(|error| self.malformed(error))
    }

    /// The error for a response that cannot be decoded; poisons the transport.
    pub(crate) fn malformed(&mut self, source: DecodeError) -> sqlite_runtime::Error {
        self.poison(Fault::Malformed {
            node: self.node.clone(),
            source,
        })
    }

    fn lost(&mut self, source: io::Error) -> sqlite_runtime::Error {
        let source = self.explain(source, "no response came");
        self.poison(Fault::Lost {
            node: self.node.clone(),
            source,
        })
    }

    /// Rewords the I/O errors whose own text misleads: a timeout (`EAGAIN` on Linux) and
    /// an end of stream.
    fn explain(&self, error: io::Error, waiting: &str) -> io::Error {
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "{waiting} within {:?} (the node may be stopped, overloaded or cut off)",
                    self.timeout
                ),
            ),
            io::ErrorKind::UnexpectedEof => io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the node closed the connection",
            ),
            _ => error,
        }
    }

    /// Marks the transport unusable, closes the socket and returns the fault's error.
    fn poison(&mut self, fault: Fault) -> sqlite_runtime::Error {
        tracing::debug!(node = %self.node, %fault, "dqlite connection unusable");
        self.broken = Some(fault.to_string());
        // The socket may already be dead; closing is all that is left to do.
        let _ = self.reader.get_ref().shutdown(Shutdown::Both);
        fault_error(fault)
    }
}

/// Connects to the first address `address` resolves to that accepts.
fn dial(address: &str, options: &ConnectOptions) -> io::Result<TcpStream> {
    let mut last = None;
    let addresses: Vec<SocketAddr> = address.to_socket_addrs()?.collect();
    for socket_address in addresses {
        match TcpStream::connect_timeout(&socket_address, options.connect_timeout) {
            Ok(stream) => return Ok(stream),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("`{address}` resolves to no address"),
        )
    }))
}

/// Asks the kernel to acknowledge what arrives at once rather than after its
/// delayed-ACK timer. A dqlite node writes a response of several parts without
/// `TCP_NODELAY`: its second part waits for the ACK of the first, which a client with
/// nothing to send would otherwise delay by 40 ms (a 100-row query took 44 ms instead
/// of 1). Linux turns quick-ACK mode off again by itself, so it is set before every
/// response.
#[cfg(target_os = "linux")]
fn quick_ack(stream: &TcpStream) {
    use std::os::fd::AsRawFd;
    let on: libc::c_int = 1;
    // SAFETY: a valid socket descriptor, and a c_int option value that outlives the
    // call. A failure only costs latency, so it is ignored.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_QUICKACK,
            (&raw const on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn quick_ack(_stream: &TcpStream) {}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::thread;
    use std::time::{Duration, Instant};

    use sqlite_runtime::ErrorKind;

    use super::*;
    use crate::classify::{WriteOutcome, fault, write_outcome};

    fn options() -> ConnectOptions {
        ConnectOptions::new()
            .connect_timeout(Duration::from_secs(1))
            .request_timeout(Duration::from_millis(300))
    }

    /// A fake node: accepts one connection, checks the handshake, then runs `serve`.
    fn fake_node(serve: impl FnOnce(TcpStream) + Send + 'static) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut handshake = [0; 8];
            stream.read_exact(&mut handshake).unwrap();
            assert_eq!(handshake, [1, 0, 0, 0, 0, 0, 0, 0]);
            serve(stream);
        });
        address
    }

    fn read_request(stream: &mut TcpStream) -> (Header, Vec<u8>) {
        let mut header = [0; 8];
        stream.read_exact(&mut header).unwrap();
        let header = Header::decode(header);
        let mut body = vec![0; header.body_len() as usize];
        stream.read_exact(&mut body).unwrap();
        (header, body)
    }

    #[test]
    fn a_silent_node_times_out_and_poisons_the_connection() {
        let address = fake_node(|mut stream| {
            let _ = read_request(&mut stream);
            thread::sleep(Duration::from_secs(2));
        });
        let mut transport = Transport::connect(&address, &options()).unwrap();
        let started = Instant::now();
        let error = transport
            .call(&Request::Leader, "SERVER", |_| Some(()))
            .unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert_eq!(error.kind(), ErrorKind::Io);
        assert!(matches!(fault(&error), Some(Fault::Lost { .. })), "{error}");
        assert!(
            error.message().contains("no response came within 300ms"),
            "{error}"
        );
        assert_eq!(write_outcome(&error), WriteOutcome::Unknown);
        assert!(transport.is_broken());
        let again = transport.send(&Request::Leader).unwrap_err();
        assert!(
            matches!(fault(&again), Some(Fault::Broken { .. })),
            "{again}"
        );
        assert_eq!(write_outcome(&again), WriteOutcome::NotApplied);
    }

    #[test]
    fn oversized_and_truncated_responses_are_refused() {
        let address = fake_node(|mut stream| {
            let _ = read_request(&mut stream);
            // Announces 32 GiB.
            stream
                .write_all(&[0xff, 0xff, 0xff, 0xff, 7, 0, 0, 0])
                .unwrap();
        });
        let mut transport = Transport::connect(&address, &options()).unwrap();
        let error = transport
            .call(&Request::Leader, "SERVER", |_| Some(()))
            .unwrap_err();
        assert!(
            matches!(fault(&error), Some(Fault::Malformed { .. })),
            "{error}"
        );

        let address = fake_node(|mut stream| {
            let _ = read_request(&mut stream);
            // Announces two words, sends one, closes.
            stream
                .write_all(&[2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
                .unwrap();
        });
        let mut transport = Transport::connect(&address, &options()).unwrap();
        let error = transport
            .call(&Request::Leader, "SERVER", |_| Some(()))
            .unwrap_err();
        assert!(matches!(fault(&error), Some(Fault::Lost { .. })), "{error}");
        assert!(
            error.message().ends_with("the node closed the connection"),
            "{error}"
        );
    }

    #[test]
    fn failures_keep_the_connection_usable_and_wrong_answers_do_not() {
        let address = fake_node(|mut stream| {
            let (header, body) = read_request(&mut stream);
            assert_eq!(header.kind, 0);
            assert_eq!(body, [0; 8]);
            // FAILURE 1 "no"
            stream
                .write_all(&[
                    2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, b'n', b'o', 0, 0, 0, 0, 0, 0,
                ])
                .unwrap();
            let _ = read_request(&mut stream);
            // EMPTY, where SERVER is expected.
            stream
                .write_all(&[1, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
                .unwrap();
        });
        let mut transport = Transport::connect(&address, &options()).unwrap();
        let failure = transport
            .call(&Request::Leader, "SERVER", |_| Some(()))
            .unwrap_err();
        assert_eq!(failure.kind(), ErrorKind::Sql);
        assert_eq!(failure.message(), "no");
        assert!(!transport.is_broken());
        let wrong = transport
            .call(&Request::Leader, "SERVER", |response| match response {
                Response::Server { .. } => Some(()),
                _ => None,
            })
            .unwrap_err();
        assert!(
            wrong
                .message()
                .contains("expected a SERVER response, got EMPTY"),
            "{wrong}"
        );
        assert!(transport.is_broken());
    }

    #[test]
    fn refused_connections_are_connect_faults() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        drop(listener);
        let error = Transport::connect(&address, &options()).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Io);
        assert!(
            matches!(fault(&error), Some(Fault::Connect { .. })),
            "{error}"
        );
        let error = Transport::connect("no-port", &options()).unwrap_err();
        assert!(
            matches!(fault(&error), Some(Fault::Connect { .. })),
            "{error}"
        );
    }
}
