//! The servers the store tests need, found from environment variables.
//!
//! A test that needs Redis or PostgreSQL reads the server's URL from `IDEM_REDIS_URL` or
//! `IDEM_POSTGRES_URL`. Without it the test skips, saying so on a line of its own: a developer
//! can run the rest of the suite without servers. With `IDEM_REQUIRE_SERVERS=1` (what `.ci/run`
//! sets), a missing variable fails the test instead, naming the variable: in CI no server test
//! passes by skipping.

/// The name of the test it is called in, as libtest names it (`module::test_fn`, without the
/// crate), from the path of a function declared on the spot: no test writes its own name. It
/// needs nothing else of this file, so any test crate that includes the file can use it.
// Not every test crate that includes this file names its tests.
#[allow(unused_macros)]
macro_rules! test_name {
    () => {{
        fn here() {}
        // `crate::module::test_fn::{{closure}}::here`: without the crate, the closures (an async
        // test's body is one) and the function itself.
        let mut parts: ::std::vec::Vec<&str> = ::std::any::type_name_of_val(&here)
            .split("::")
            .skip(1)
            .filter(|part| *part != "{{closure}}")
            .collect();
        parts.pop();
        parts.join("::")
    }};
}

#[allow(unused_imports)]
pub(crate) use test_name;

/// Set to `1` to make a missing server variable a failure instead of a skip.
pub const REQUIRE_SERVERS: &str = "IDEM_REQUIRE_SERVERS";

/// The URL in `variable`, or `None` after a line saying that `test` skipped and how to run it.
///
/// # Panics
/// When the variable is unset (or blank) and [`REQUIRE_SERVERS`] is `1`.
pub fn server_url(variable: &str, test: &str) -> Option<String> {
    if let Ok(url) = std::env::var(variable)
        && !url.trim().is_empty()
    {
        return Some(url);
    }
    let example = match variable {
        "IDEM_REDIS_URL" => "redis://127.0.0.1:6379",
        "IDEM_POSTGRES_URL" => "postgres://postgres@127.0.0.1:5432/idem_dev",
        _ => "the server's URL",
    };
    assert!(
        !servers_required(),
        "{test}: {variable} is not set, and {REQUIRE_SERVERS}=1 requires every server test to run: \
         set {variable} (e.g. {example})"
    );
    println!("{test}: skipped: {variable} is not set; set it to e.g. {example} to run it");
    None
}

/// Whether [`REQUIRE_SERVERS`] is `1`.
pub fn servers_required() -> bool {
    std::env::var(REQUIRE_SERVERS).is_ok_and(|v| v.trim() == "1")
}
