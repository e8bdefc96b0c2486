//! The attribute names idem reads, in one place.

/// `#[idem(...)]`
pub(crate) const IDEM: &str = "idem";
/// `#[serde(...)]`
pub(crate) const SERDE: &str = "serde";

// Container attributes.
pub(crate) const TOOL: &str = "tool";
pub(crate) const STRATEGY: &str = "strategy";
pub(crate) const ALGORITHM: &str = "algorithm";
pub(crate) const INCLUDE_USER: &str = "include_user";
pub(crate) const INCLUDE_SESSION: &str = "include_session";
pub(crate) const WINDOW: &str = "window";
pub(crate) const GENERATOR: &str = "generator";
pub(crate) const KEY_WITH: &str = "key_with";
pub(crate) const CRATE: &str = "crate";
pub(crate) const NAME: &str = "name";
pub(crate) const TTL: &str = "ttl";
pub(crate) const LEASE: &str = "lease";
pub(crate) const PERSIST_RESULT: &str = "persist_result";

/// Every container attribute, for "did you mean" suggestions.
pub(crate) const CONTAINER_ATTRS: &[&str] = &[
    TOOL,
    STRATEGY,
    ALGORITHM,
    INCLUDE_USER,
    INCLUDE_SESSION,
    WINDOW,
    GENERATOR,
    KEY_WITH,
    CRATE,
    NAME,
    TTL,
    LEASE,
    PERSIST_RESULT,
];

// Field attributes.
pub(crate) const KEY: &str = "key";
pub(crate) const SKIP: &str = "skip";
pub(crate) const RENAME: &str = "rename";
pub(crate) const ALLOW_EMPTY: &str = "allow_empty";
pub(crate) const WITH_SERDE: &str = "serde";

/// Every field attribute, for "did you mean" suggestions.
pub(crate) const FIELD_ATTRS: &[&str] = &[KEY, SKIP, RENAME, ALLOW_EMPTY, WITH_SERDE];

/// Every variant attribute, for "did you mean" suggestions.
pub(crate) const VARIANT_ATTRS: &[&str] = &[RENAME];

/// The strategies `strategy = "..."` accepts.
pub(crate) const STRATEGIES: &[&str] = &["default", "fields", "hash", "custom"];

/// The algorithms `algorithm = "..."` accepts.
pub(crate) const ALGORITHMS: &[&str] = &["sha256", "sha384", "sha512"];

/// The closest candidate to `word`, when one is close enough to be a likely typo: one edit or
/// transposition away (`kye` for `key`, which Jaro-Winkler scores low on so short a word), or
/// similar by Jaro-Winkler (`strat` for `strategy`). Fewest edits first, then most similar.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| {
            (
                *c,
                strsim::osa_distance(word, c),
                strsim::jaro_winkler(word, c),
            )
        })
        .filter(|&(_, edits, score)| edits <= 1 || score > 0.8)
        .min_by(|a, b| a.1.cmp(&b.1).then(b.2.total_cmp(&a.2)))
        .map(|(c, _, _)| c)
}

/// ", did you mean `x`?" or nothing.
pub(crate) fn suggestion(word: &str, candidates: &[&str]) -> String {
    did_you_mean(word, candidates)
        .map(|c| format!("; did you mean `{c}`?"))
        .unwrap_or_default()
}
