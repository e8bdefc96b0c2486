//! [`Algorithm`]: the digests key format v1 allows.

use std::fmt;
use std::str::FromStr;

use crate::error::UnknownAlgorithm;

/// The hash algorithm of a hashed key. `default` and `fields` always use SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Algorithm {
    /// SHA-256: a 64-character key.
    #[default]
    Sha256,
    /// SHA-384: a 96-character key.
    Sha384,
    /// SHA-512: a 128-character key.
    Sha512,
}

impl Algorithm {
    /// Every algorithm, in the order of their names.
    pub const ALL: [Algorithm; 3] = [Algorithm::Sha256, Algorithm::Sha384, Algorithm::Sha512];

    /// The name used in attributes, on the command line and in the golden vectors.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha384 => "sha384",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// The length of the hex key it produces.
    pub const fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha384 => 96,
            Algorithm::Sha512 => 128,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = UnknownAlgorithm;

    /// Parses `sha256`, `sha384` or `sha512`.
    ///
    /// ```
    /// use idem::key::Algorithm;
    ///
    /// assert_eq!("sha512".parse::<Algorithm>(), Ok(Algorithm::Sha512));
    /// assert!("md5".parse::<Algorithm>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| UnknownAlgorithm { name: s.to_owned() })
    }
}
