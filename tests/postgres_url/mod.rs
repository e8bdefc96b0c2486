//! Where a `postgres://` URL points, for the tests that put a proxy of their own in front of the
//! server.

use std::net::SocketAddr;

/// The server's address in a `postgres://` URL, and a function that rewrites the URL to another
/// address; `None` for a URL of another form.
pub async fn split_url(url: &str) -> Option<(SocketAddr, impl Fn(SocketAddr) -> String)> {
    let (scheme, rest) = url.split_once("://")?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (user, host) = match authority.rsplit_once('@') {
        Some((user, host)) => (format!("{user}@"), host),
        None => (String::new(), authority),
    };
    let host = if host.ends_with(']') || !host.contains(':') {
        format!("{host}:5432")
    } else {
        host.to_owned()
    };
    let upstream = tokio::net::lookup_host(host).await.ok()?.next()?;
    let (scheme, tail) = (scheme.to_owned(), tail.to_owned());
    Some((upstream, move |addr: SocketAddr| {
        format!("{scheme}://{user}{addr}{tail}")
    }))
}
