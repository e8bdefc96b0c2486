//! [`Proxy`]: a TCP proxy on 127.0.0.1 between the workers and the server, which the test cuts
//! (every connection closed, new ones refused) and restores. The shared server is never touched.
//!
//! Threads only, every loop bounded: the accept loop polls a stop flag, and each connection's
//! two pumps end when either side closes, which a cut and the proxy's drop force.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// A proxy to one server.
pub struct Proxy {
    /// Where clients connect: `127.0.0.1:port`.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

struct Shared {
    stop: AtomicBool,
    /// The connections made, both ends; `None` while cut. One lock orders the cut and the
    /// connections being set up, so that no connection survives a cut.
    streams: Mutex<Option<Vec<TcpStream>>>,
    /// Connections forwarded, and refused while cut.
    forwarded: AtomicU64,
    refused: AtomicU64,
}

impl Proxy {
    /// A proxy to `upstream` (`host:port`), forwarding.
    pub fn start(upstream: &str) -> Proxy {
        let upstream: SocketAddr = upstream
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .unwrap_or_else(|| panic!("the proxy cannot resolve {upstream}"));
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the proxy");
        listener.set_nonblocking(true).expect("non-blocking accept");
        let addr = listener.local_addr().expect("the proxy's address");
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            streams: Mutex::new(Some(Vec::new())),
            forwarded: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || accept_loop(&listener, upstream, &shared))
        };
        Proxy {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// Closes every connection, and refuses new ones until [`restore`](Proxy::restore).
    pub fn cut(&self) {
        let streams = self.shared.lock().take();
        for stream in streams.into_iter().flatten() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Forwards new connections again.
    pub fn restore(&self) {
        let mut streams = self.shared.lock();
        if streams.is_none() {
            *streams = Some(Vec::new());
        }
    }

    /// Connections forwarded, and refused while cut, so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.shared.forwarded.load(Ordering::Relaxed),
            self.shared.refused.load(Ordering::Relaxed),
        )
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.cut();
        if let Some(accept) = self.accept.take() {
            let _ = accept.join();
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Vec<TcpStream>>> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn accept_loop(listener: &TcpListener, upstream: SocketAddr, shared: &Shared) {
    while !shared.stop.load(Ordering::SeqCst) {
        let client = match listener.accept() {
            Ok((client, _)) => client,
            Err(err) if err.kind() == ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            Err(_) => {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
        };
        let _ = client.set_nonblocking(false);
        let _ = client.set_nodelay(true);
        let mut streams = shared.lock();
        let Some(open) = streams.as_mut() else {
            // Cut: the client sees its connection closed at once.
            let _ = client.shutdown(Shutdown::Both);
            shared.refused.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let Ok(server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(2)) else {
            let _ = client.shutdown(Shutdown::Both);
            continue;
        };
        let _ = server.set_nodelay(true);
        let (Ok(client2), Ok(server2), Ok(client3), Ok(server3)) = (
            client.try_clone(),
            server.try_clone(),
            client.try_clone(),
            server.try_clone(),
        ) else {
            continue;
        };
        open.push(client3);
        open.push(server3);
        shared.forwarded.fetch_add(1, Ordering::Relaxed);
        drop(streams);
        std::thread::spawn(move || pump(client, server));
        std::thread::spawn(move || pump(server2, client2));
    }
}

/// Copies `from` to `to` until either side closes, then closes both.
fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
