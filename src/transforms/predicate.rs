//! Kafka Connect's predicates, which decide per record whether a transform applies:
//! `TopicNameMatches`, `HasHeaderKey` and `RecordIsTombstone`.

use regex::Regex;

use crate::connect::Record;

use super::{Predicate, Props};

/// The predicate named by its fully qualified `class`; `None` after recording errors.
pub(crate) fn build(class: &str, p: &mut Props<'_>) -> Option<Box<dyn Predicate>> {
    match class {
        "org.apache.kafka.connect.transforms.predicates.TopicNameMatches" => {
            Some(Box::new(TopicNameMatches {
                pattern: p.regex("pattern", true)?,
            }))
        }
        "org.apache.kafka.connect.transforms.predicates.HasHeaderKey" => {
            Some(Box::new(HasHeaderKey {
                name: p.string("name"),
            }))
        }
        "org.apache.kafka.connect.transforms.predicates.RecordIsTombstone" => {
            Some(Box::new(RecordIsTombstone))
        }
        other => {
            p.error(
                "type",
                format!("{other} is listed but not implemented by Sluice"),
            );
            None
        }
    }
}

/// True when the whole topic name matches `pattern`.
struct TopicNameMatches {
    pattern: Regex,
}

impl Predicate for TopicNameMatches {
    fn test(&self, record: &Record) -> bool {
        self.pattern.is_match(&record.topic)
    }
}

/// True when the record has at least one header called `name`.
struct HasHeaderKey {
    name: String,
}

impl Predicate for HasHeaderKey {
    fn test(&self, record: &Record) -> bool {
        record.headers.iter().any(|(k, _)| *k == self.name)
    }
}

/// True when the value is null.
struct RecordIsTombstone;

impl Predicate for RecordIsTombstone {
    fn test(&self, record: &Record) -> bool {
        !matches!(&record.value, Some(v) if !v.is_null())
    }
}
