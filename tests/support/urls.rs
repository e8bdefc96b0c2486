//! The parts of the servers' URLs that the tests rewrite: the `host:port` a proxy of the test's
//! own forwards to, and the same URL pointed at the proxy instead.

use std::fmt::Display;

/// `redis://[[user]:password@]host[:port][/db]`, in parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisUrl {
    /// `password`, `:password` or `user:password`.
    pub auth: Option<String>,
    /// `host:port` (port 6379 when the URL has none).
    pub host: String,
    /// The database number, when the URL names one.
    pub db: Option<String>,
}

impl RedisUrl {
    /// The parts of `url`; `None` for a URL of another form (another scheme, query parameters).
    pub fn parse(url: &str) -> Option<RedisUrl> {
        let rest = url.strip_prefix("redis://")?;
        let (auth, rest) = match rest.rsplit_once('@') {
            Some((auth, rest)) => (Some(auth.to_owned()), rest),
            None => (None, rest),
        };
        let (host, db) = match rest.split_once('/') {
            Some((host, db)) => (host, Some(db.to_owned()).filter(|db| !db.is_empty())),
            None => (rest, None),
        };
        if host.is_empty() || host.contains('?') || db.as_deref().is_some_and(|d| d.contains('?')) {
            return None;
        }
        Some(RedisUrl {
            auth,
            host: with_default_port(host, 6379),
            db,
        })
    }

    /// The same URL, to another `host:port`.
    pub fn with_host(&self, host: impl Display) -> String {
        let auth = self
            .auth
            .as_ref()
            .map_or(String::new(), |a| format!("{a}@"));
        let db = self.db.as_ref().map_or(String::new(), |d| format!("/{d}"));
        format!("redis://{auth}{host}{db}")
    }
}

/// `postgres://[user[:password]@]host[:port][/database][?options]`, in parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresUrl {
    /// `postgres` or `postgresql`.
    scheme: String,
    /// `user@`, `user:password@`, or empty.
    user: String,
    /// `host:port` (port 5432 when the URL has none).
    pub host: String,
    /// What follows the host: `/database?options`.
    tail: String,
}

impl PostgresUrl {
    /// The parts of `url`; `None` for a URL of another form (another scheme, several hosts, a
    /// host given in the query).
    pub fn parse(url: &str) -> Option<PostgresUrl> {
        let (scheme, rest) = url.split_once("://")?;
        if !matches!(scheme, "postgres" | "postgresql") {
            return None;
        }
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        let (user, host) = match authority.rsplit_once('@') {
            Some((user, host)) => (format!("{user}@"), host),
            None => (String::new(), authority),
        };
        if host.is_empty() || host.contains(',') || tail.contains("host=") {
            return None;
        }
        Some(PostgresUrl {
            scheme: scheme.to_owned(),
            user,
            host: with_default_port(host, 5432),
            tail: tail.to_owned(),
        })
    }

    /// The same URL, to another `host:port`.
    pub fn with_host(&self, host: impl Display) -> String {
        let PostgresUrl {
            scheme, user, tail, ..
        } = self;
        format!("{scheme}://{user}{host}{tail}")
    }

    /// The same URL, to another database.
    pub fn with_database(&self, database: &str) -> String {
        let PostgresUrl {
            scheme, user, host, ..
        } = self;
        format!("{scheme}://{user}{host}/{database}")
    }
}

/// `host` with `:port` appended unless it has a port (`[::1]` is a host without one).
fn with_default_port(host: &str, port: u16) -> String {
    if host.ends_with(']') || !host.contains(':') {
        format!("{host}:{port}")
    } else {
        host.to_owned()
    }
}
