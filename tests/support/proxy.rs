//! [`Proxy`]: a TCP proxy on 127.0.0.1 between the stores under test and their server, which a
//! test breaks in the ways a network breaks, and mends. The shared server is never touched.
//!
//! - [`cut`](Proxy::cut): every connection closed, new ones refused, until
//!   [`restore`](Proxy::restore);
//! - [`close_all`](Proxy::close_all): every connection closed, new ones forwarded;
//! - [`pause`](Proxy::pause): every byte held (a network that drops packets), both ways, until
//!   [`resume`](Proxy::resume) forwards what was held; a connection closed meanwhile drops it;
//! - [`start_tapped`](Proxy::start_tapped): the bytes each client sends, seen before they are
//!   forwarded (to count the messages of a protocol).
//!
//! Threads only (it serves blocking and async tests alike), every loop bounded: the accept loop
//! polls a stop flag, and each connection's two pumps end when either side closes, which a cut,
//! a close and the proxy's drop force.

use std::fmt::Debug;
use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

/// What sees the bytes one client sends, in order, before they are forwarded.
pub type Tap = Box<dyn FnMut(&[u8]) + Send>;

/// Makes the [`Tap`] of each new connection.
type NewTap = Box<dyn Fn() -> Tap + Send>;

/// A proxy to one server.
pub struct Proxy {
    /// Where clients connect: `127.0.0.1:port`.
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    accept: Option<JoinHandle<()>>,
}

struct Shared {
    stop: AtomicBool,
    /// Whether bytes are held.
    paused: AtomicBool,
    /// The connections made, both ends; `None` while cut. One lock orders a close and the
    /// connections being set up, so that no connection survives a close.
    streams: Mutex<Option<Vec<TcpStream>>>,
    /// How many times every connection was closed: a connection made before the last close is
    /// gone (its pumps drop what they hold).
    closes: AtomicU64,
    /// Connections forwarded, and refused while cut.
    forwarded: AtomicU64,
    refused: AtomicU64,
}

impl Proxy {
    /// A proxy to `upstream` (`host:port`), forwarding.
    pub fn start(upstream: impl ToSocketAddrs + Debug) -> Proxy {
        Proxy::start_with(upstream, None)
    }

    /// A proxy to `upstream` that shows what each client sends to the tap `new_tap()` makes for
    /// its connection, before forwarding it.
    pub fn start_tapped(
        upstream: impl ToSocketAddrs + Debug,
        new_tap: impl Fn() -> Tap + Send + 'static,
    ) -> Proxy {
        Proxy::start_with(upstream, Some(Box::new(new_tap)))
    }

    fn start_with(upstream: impl ToSocketAddrs + Debug, new_tap: Option<NewTap>) -> Proxy {
        let resolved: SocketAddr = upstream
            .to_socket_addrs()
            .ok()
            .and_then(|mut addrs| addrs.next())
            .unwrap_or_else(|| panic!("the proxy cannot resolve {upstream:?}"));
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port for the proxy");
        listener.set_nonblocking(true).expect("non-blocking accept");
        let addr = listener.local_addr().expect("the proxy's address");
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            streams: Mutex::new(Some(Vec::new())),
            closes: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || accept_loop(&listener, resolved, &shared, new_tap))
        };
        Proxy {
            addr,
            shared,
            accept: Some(accept),
        }
    }

    /// Closes every connection, and refuses new ones until [`restore`](Proxy::restore).
    pub fn cut(&self) {
        let mut streams = self.shared.lock();
        close(&self.shared, streams.take());
    }

    /// Forwards again, as if nothing had happened: new connections are accepted, and bytes are
    /// no longer held.
    pub fn restore(&self) {
        let mut streams = self.shared.lock();
        if streams.is_none() {
            *streams = Some(Vec::new());
        }
        self.resume();
    }

    /// Closes every connection made so far; new ones are forwarded.
    pub fn close_all(&self) {
        let mut streams = self.shared.lock();
        let open = streams.as_mut().map(std::mem::take);
        close(&self.shared, open);
    }

    /// Holds every byte, both ways, until [`resume`](Proxy::resume).
    pub fn pause(&self) {
        self.shared.paused.store(true, Ordering::SeqCst);
    }

    /// Forwards the bytes held, and the next ones.
    pub fn resume(&self) {
        self.shared.paused.store(false, Ordering::SeqCst);
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
    fn lock(&self) -> MutexGuard<'_, Option<Vec<TcpStream>>> {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits while bytes are held; `false` when the connection made after `closes` closes has
    /// been closed meanwhile, or the proxy stops.
    fn forwarding(&self, closes: u64) -> bool {
        loop {
            if self.stop.load(Ordering::SeqCst) || self.closes.load(Ordering::SeqCst) != closes {
                return false;
            }
            if !self.paused.load(Ordering::SeqCst) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
    }
}

/// Closes `streams`, and counts a close; the caller holds the lock.
fn close(shared: &Shared, streams: Option<Vec<TcpStream>>) {
    shared.closes.fetch_add(1, Ordering::SeqCst);
    for stream in streams.into_iter().flatten() {
        let _ = stream.shutdown(Shutdown::Both);
    }
}

fn accept_loop(
    listener: &TcpListener,
    upstream: SocketAddr,
    shared: &Arc<Shared>,
    new_tap: Option<NewTap>,
) {
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
        let closes = shared.closes.load(Ordering::SeqCst);
        drop(streams);
        let tap = new_tap.as_ref().map(|new_tap| new_tap());
        let (up, down) = (Arc::clone(shared), Arc::clone(shared));
        std::thread::spawn(move || pump(client, server, &up, closes, tap));
        std::thread::spawn(move || pump(server2, client2, &down, closes, None));
    }
}

/// Copies `from` to `to` (through `tap`, if any) until either side closes, then closes both.
fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    shared: &Shared,
    closes: u64,
    mut tap: Option<Tap>,
) {
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(tap) = tap.as_mut() {
            tap(&buf[..n]);
        }
        if !shared.forwarding(closes) || to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(Shutdown::Both);
    let _ = from.shutdown(Shutdown::Both);
}
