//! Use case 2 of the design document: user registration, idempotent by email.
//!
//! The same email is never registered twice: a retry (even with another username) returns the
//! existing user, flagged when its details differ (`MismatchPolicy::Replay`, opted in); another
//! email creates a new user.
//!
//! `cargo run --example user_registration`

use std::collections::HashMap;
use std::sync::Mutex;

use idem::executor::{Executor, Outcome};
use idem::spec::{MismatchPolicy, ToolSpec};
use idem::store::MemoryStore;
use idem::{Context, Idempotent};
use serde::{Deserialize, Serialize};

/// Register new user account.
///
/// The design document keeps registrations "indefinitely (or very long)": one year here. The
/// email is taken as given: normalise it (case, whitespace) before the call if
/// `Ada@Example.com` and `ada@example.com` are the same account.
#[derive(Idempotent, Clone)]
#[idem(
    tool = "user-registration-v1",
    name = "register_user",
    strategy = "fields",
    persist_result = true,
    ttl = "365d"
)]
struct RegisterUser {
    #[idem(key)]
    email: String,
    username: String,
    /// `skip`: the password takes no part in anything idem computes or stores (the key, nor
    /// the arguments' fingerprint kept with the record). A retry with another password is not
    /// flagged as a mismatch.
    #[idem(skip)]
    password: String,
}

/// What the tool returns (and idem keeps): never the password.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
struct User {
    user_id: u32,
    email: String,
    username: String,
}

/// A stand-in for the accounts database.
#[derive(Default)]
struct Accounts {
    users: Mutex<HashMap<String, User>>,
}

impl Accounts {
    async fn create(&self, request: &RegisterUser) -> Result<User, std::io::Error> {
        assert!(
            !request.password.is_empty(),
            "the tool still gets the password"
        );
        let mut users = self.users.lock().expect("not poisoned");
        let user = User {
            user_id: 1000 + u32::try_from(users.len()).unwrap_or(0) + 1,
            email: request.email.clone(),
            username: request.username.clone(),
        };
        users.insert(request.email.clone(), user.clone());
        Ok(user)
    }

    fn count(&self) -> usize {
        self.users.lock().expect("not poisoned").len()
    }
}

fn register(email: &str, username: &str, password: &str) -> RegisterUser {
    RegisterUser {
        email: email.into(),
        username: username.into(),
        password: password.into(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let executor = Executor::new(MemoryStore::new());
    // Different arguments under one key are refused by default. The design document's
    // behaviour is the point of this use case: "retry with same email = returns existing user",
    // whatever username the retry names. A sign-up form wants the account that exists (to say
    // "this email is already registered as ada"), and `args_differ` tells it that the username
    // it sent was not the one registered. So this tool opts in to replaying with the mismatch
    // flagged. (The password is `skip`ped: it never makes a retry differ.)
    let spec = ToolSpec::for_args::<RegisterUser>()
        .configure(|c| c.on_mismatch(MismatchPolicy::Replay))
        .build()?;
    let accounts = Accounts::default();
    let ctx = Context::new().with_session("signup-form");

    let calls = [
        (
            "first sign-up",
            register("ada@example.com", "ada", "s3cret"),
        ),
        ("double click", register("ada@example.com", "ada", "s3cret")),
        (
            "other password",
            register("ada@example.com", "ada", "another"),
        ),
        (
            "other username",
            register("ada@example.com", "ada_l", "s3cret"),
        ),
        (
            "another email",
            register("grace@example.com", "grace", "pw"),
        ),
    ];
    let mut ada = None;
    for (label, request) in &calls {
        let run = executor
            .execute(&spec, &ctx, request, || accounts.create(request))
            .await?;
        println!(
            "{label:<15} ({}, {}): {:?} -> user {} ({}), users {}",
            request.email,
            request.username,
            run.outcome,
            run.output.user_id,
            run.output.username,
            accounts.count()
        );
        match *label {
            "first sign-up" => {
                assert!(run.outcome.executed());
                ada = Some(run.output);
            }
            "double click" | "other password" => {
                assert_eq!(run.outcome, Outcome::Replayed { args_differ: false });
                assert_eq!(Some(&run.output), ada.as_ref(), "the existing user");
            }
            "other username" => {
                assert_eq!(run.outcome, Outcome::Replayed { args_differ: true });
                assert_eq!(Some(&run.output), ada.as_ref(), "the existing user");
            }
            _ => assert!(run.outcome.executed(), "a new user"),
        }
    }

    let users = accounts.count();
    println!("users: {users} (one per email)");
    assert_eq!(users, 2);
    Ok(())
}
