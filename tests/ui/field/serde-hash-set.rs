use idem::{Canonical, Idempotent};
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

#[derive(Idempotent)]
#[idem(tool = "tag-documents-v1")]
struct TagDocuments {
    #[idem(key)]
    batch_id: String,
    #[idem(serde)]
    tags: HashSet<Tag>,
    #[idem(serde)]
    per_owner: BTreeMap<String, Option<std::collections::HashSet<Tag>>>,
}

#[derive(Canonical)]
struct Nested {
    #[idem(serde)]
    tags: Vec<HashSet<Tag>>,
}

#[derive(Canonical)]
enum Labels {
    Some {
        #[idem(serde)]
        labels: (u8, HashSet<Tag>),
    },
    None,
}

#[derive(Serialize, PartialEq, Eq, Hash)]
struct Tag(String);

fn main() {}
