//! A raw RESP client, blocking: what the Redis tests use to plant values and read what the store
//! wrote independently of the store (and of the `redis` crate it is built on), to keep the fleet's
//! ledger, to watch the server with `MONITOR`, and to stand in for a server.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use super::urls::RedisUrl;

/// A RESP2 value.
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Vec<Resp>),
}

impl Resp {
    /// The `+OK` reply.
    pub fn ok() -> Resp {
        Resp::Simple("OK".into())
    }

    /// The value as a server writes it.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Resp::Simple(text) => format!("+{text}\r\n").into_bytes(),
            Resp::Error(text) => format!("-{text}\r\n").into_bytes(),
            Resp::Int(n) => format!(":{n}\r\n").into_bytes(),
            Resp::Bulk(None) => b"$-1\r\n".to_vec(),
            Resp::Bulk(Some(data)) => {
                let mut out = format!("${}\r\n", data.len()).into_bytes();
                out.extend_from_slice(data);
                out.extend_from_slice(b"\r\n");
                out
            }
            Resp::Array(items) => {
                let mut out = format!("*{}\r\n", items.len()).into_bytes();
                for item in items {
                    out.extend(item.encode());
                }
                out
            }
        }
    }
}

/// One connection, speaking RESP2 with blocking reads and writes.
///
/// The `try_` methods and [`Raw::connect`] give I/O errors as values (the fleet's ledger reports
/// them); the others panic on them, which is what a test wants.
pub struct Raw {
    reader: BufReader<TcpStream>,
}

impl Raw {
    /// Connects to `redis://[[user]:password@]host[:port][/db]`, authenticates and selects the
    /// database as the URL says; reads and writes time out after 10 s.
    pub fn connect(url: &str) -> io::Result<Raw> {
        let url = RedisUrl::parse(url).ok_or_else(|| {
            io::Error::other(format!(
                "the raw test client reads redis://[[user]:password@]host[:port][/db] URLs \
                 only, not {url}"
            ))
        })?;
        let stream = TcpStream::connect(&url.host)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        stream.set_write_timeout(Some(Duration::from_secs(10)))?;
        let mut raw = Raw::over(stream);
        if let Some(auth) = &url.auth {
            let reply = match auth.split_once(':') {
                Some(("", password)) => raw.try_cmd(&[b"AUTH", password.as_bytes()])?,
                Some((user, password)) => {
                    raw.try_cmd(&[b"AUTH", user.as_bytes(), password.as_bytes()])?
                }
                None => raw.try_cmd(&[b"AUTH", auth.as_bytes()])?,
            };
            if reply != Resp::ok() {
                return Err(io::Error::other(format!("AUTH: {reply:?}")));
            }
        }
        if let Some(db) = &url.db {
            let reply = raw.try_cmd(&[b"SELECT", db.as_bytes()])?;
            if reply != Resp::ok() {
                return Err(io::Error::other(format!("SELECT: {reply:?}")));
            }
        }
        Ok(raw)
    }

    /// RESP over `stream` as it is (either end: a client's connection accepted by a test that
    /// stands in for a server reads commands with it).
    pub fn over(stream: TcpStream) -> Raw {
        Raw {
            reader: BufReader::new(stream),
        }
    }

    /// Sends the command `args` without waiting for the reply.
    pub fn try_send(&mut self, args: &[&[u8]]) -> io::Result<()> {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        self.reader.get_mut().write_all(&out)
    }

    /// Writes `value` as it is (a reply, when the test stands in for a server).
    pub fn try_write(&mut self, value: &Resp) -> io::Result<()> {
        self.reader.get_mut().write_all(&value.encode())
    }

    /// The next value.
    pub fn try_read(&mut self) -> io::Result<Resp> {
        let mut line = Vec::new();
        self.reader.read_until(b'\n', &mut line)?;
        if !line.ends_with(b"\r\n") || line.len() < 3 {
            return Err(io::Error::other(format!("not a RESP line: {line:?}")));
        }
        line.truncate(line.len() - 2);
        let text = String::from_utf8_lossy(&line[1..]).into_owned();
        let number = |text: &str| {
            text.parse::<i64>()
                .map_err(|_| io::Error::other(format!("not a number: {text}")))
        };
        Ok(match line[0] {
            b'+' => Resp::Simple(text),
            b'-' => Resp::Error(text),
            b':' => Resp::Int(number(&text)?),
            b'$' => match usize::try_from(number(&text)?) {
                Err(_) => Resp::Bulk(None),
                Ok(len) => {
                    let mut data = vec![0; len + 2];
                    self.reader.read_exact(&mut data)?;
                    data.truncate(len);
                    Resp::Bulk(Some(data))
                }
            },
            b'*' => {
                let len = usize::try_from(number(&text)?).unwrap_or(0);
                let mut items = Vec::with_capacity(len);
                for _ in 0..len {
                    items.push(self.try_read()?);
                }
                Resp::Array(items)
            }
            other => return Err(io::Error::other(format!("unknown RESP type {other}"))),
        })
    }

    /// The next value, or `None` once the peer has closed the connection (or it failed).
    pub fn read_or_end(&mut self) -> Option<Resp> {
        let at_end = self.reader.fill_buf().map_or(true, <[u8]>::is_empty);
        if at_end { None } else { self.try_read().ok() }
    }

    /// Runs the command `args`: its reply.
    pub fn try_cmd(&mut self, args: &[&[u8]]) -> io::Result<Resp> {
        self.try_send(args)?;
        self.try_read()
    }

    /// The next value; panics on an I/O error.
    pub fn read(&mut self) -> Resp {
        self.try_read()
            .unwrap_or_else(|e| panic!("a RESP value: {e}"))
    }

    /// Runs the command `args`: its reply; panics on an I/O error.
    pub fn cmd(&mut self, args: &[&[u8]]) -> Resp {
        self.try_cmd(args)
            .unwrap_or_else(|e| panic!("{}: {e}", String::from_utf8_lossy(args[0])))
    }

    /// The value at `key` (`GET`).
    pub fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        match self.cmd(&[b"GET", key]) {
            Resp::Bulk(value) => value,
            other => panic!("GET: {other:?}"),
        }
    }

    /// The integer reply of the command `args`.
    pub fn int(&mut self, args: &[&[u8]]) -> i64 {
        match self.cmd(args) {
            Resp::Int(n) => n,
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(args[0])),
        }
    }

    /// The major version of the server (`redis_version` of `INFO server`).
    pub fn server_major(&mut self) -> u32 {
        let Resp::Bulk(Some(info)) = self.cmd(&[b"INFO", b"server"]) else {
            panic!("INFO server")
        };
        let info = String::from_utf8(info).unwrap();
        let version = info
            .lines()
            .find_map(|line| line.strip_prefix("redis_version:"))
            .expect("redis_version in INFO");
        version.split('.').next().unwrap().parse().unwrap()
    }
}
