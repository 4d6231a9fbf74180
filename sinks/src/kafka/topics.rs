//! Topic auto-creation, following Kafka Connect's `topic.creation.*` rules (KIP-158).
//!
//! ```text
//! record topic --first time this handle sees it--> known to exist (shared cache)? --yes--> send
//!      |                                                    no
//!      v
//! offsets topic? --> compacted, offset.storage.partitions / replication.factor
//! topic.creation.groups in order: include matches and exclude does not --> that group
//! else the default group (matches every topic) --> CreateTopics (AlreadyExists is fine)
//! ```
//! Groups are tried in the order `topic.creation.groups` lists them; `include` / `exclude` are
//! comma-separated regexes that must match the whole topic name (Java's `Pattern.matches`),
//! and `exclude` wins over `include`. A group's `partitions` and `replication.factor` default
//! to the default group's; every other `topic.creation.<group>.<key>` becomes a topic config
//! (`cleanup.policy`, `retention.ms`, ...). Topics that already exist are never altered.
//! Without `topic.creation.default.replication.factor` and `.partitions` nothing is created
//! (the broker's own auto-creation, if enabled, applies), as in Kafka Connect.

use std::collections::BTreeMap;
use std::fmt;

use regex::Regex;
use sluice_config::{ConfigErrors, KeyError, Warning};

/// `topic.creation.groups`.
pub const TOPIC_CREATION_GROUPS: &str = "topic.creation.groups";
/// `topic.creation.` (the prefix of every rule key).
pub const TOPIC_CREATION_PREFIX: &str = "topic.creation.";
/// The name of the group every topic falls into when no other group matches.
pub const DEFAULT_GROUP: &str = "default";

/// How to create one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    /// Partitions, or -1 for the broker's default.
    pub partitions: i32,
    /// Replication factor, or -1 for the broker's default.
    pub replication_factor: i32,
    /// Topic configs (`cleanup.policy`, `retention.ms`, ...).
    pub configs: BTreeMap<String, String>,
}

/// One `topic.creation.<group>` rule.
#[derive(Clone)]
struct Group {
    name: String,
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    spec: TopicSpec,
}

/// A connector's `topic.creation.*` rules.
#[derive(Clone, Default)]
pub struct TopicCreation {
    groups: Vec<Group>,
    /// `None`: topic creation is not configured.
    default: Option<TopicSpec>,
}

impl fmt::Debug for TopicCreation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("TopicCreation");
        d.field("default", &self.default);
        for g in &self.groups {
            let include: Vec<&str> = g.include.iter().map(Regex::as_str).collect();
            let exclude: Vec<&str> = g.exclude.iter().map(Regex::as_str).collect();
            d.field(&g.name, &(include, exclude, &g.spec));
        }
        d.finish()
    }
}

impl TopicCreation {
    /// No rules: no topic is created.
    pub fn none() -> TopicCreation {
        TopicCreation::default()
    }

    /// Whether any topic can be created by these rules.
    pub fn is_configured(&self) -> bool {
        self.default.is_some()
    }

    /// Whether `map` has any `topic.creation.*` rule key (`topic.creation.enable` is the
    /// worker's switch, not a rule).
    pub fn has_rules(map: &BTreeMap<String, String>) -> bool {
        map.keys().any(|k| {
            k.starts_with(TOPIC_CREATION_PREFIX) && k != super::config::TOPIC_CREATION_ENABLE
        })
    }

    /// Parses the `topic.creation.*` keys of a connector (or worker) property map.
    pub fn from_map(
        map: &BTreeMap<String, String>,
    ) -> Result<(TopicCreation, Vec<Warning>), ConfigErrors> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let group_names: Vec<String> = map
            .get(TOPIC_CREATION_GROUPS)
            .map(|v| split_list(v))
            .unwrap_or_default();
        for name in &group_names {
            if name == DEFAULT_GROUP {
                push_error(
                    &mut errors,
                    TOPIC_CREATION_GROUPS,
                    format!(
                        "{TOPIC_CREATION_GROUPS} must not list \"{DEFAULT_GROUP}\": the default \
                         group always exists and matches every topic no other group matches"
                    ),
                );
            }
        }
        // Every key per group; the group name is the part up to the next dot (Kafka Connect
        // group aliases contain no dot).
        let mut per_group: BTreeMap<&str, BTreeMap<&str, (&str, &str)>> = BTreeMap::new();
        for (key, value) in map {
            let Some(rest) = key.strip_prefix(TOPIC_CREATION_PREFIX) else {
                continue;
            };
            if key == TOPIC_CREATION_GROUPS || key == super::config::TOPIC_CREATION_ENABLE {
                continue;
            }
            match rest.split_once('.') {
                Some((group, setting)) if !group.is_empty() && !setting.is_empty() => {
                    per_group
                        .entry(group)
                        .or_default()
                        .insert(setting, (key.as_str(), value.as_str()));
                }
                _ => warnings.push(Warning {
                    key: key.clone(),
                    message: format!("unknown key {key}: ignored"),
                }),
            }
        }
        for (group, settings) in &per_group {
            if *group != DEFAULT_GROUP && !group_names.iter().any(|g| g == group) {
                for (key, _) in settings.values() {
                    warnings.push(Warning {
                        key: key.to_string(),
                        message: format!(
                            "{key} has no effect: add {group} to {TOPIC_CREATION_GROUPS}"
                        ),
                    });
                }
            }
        }

        let empty = BTreeMap::new();
        let default_settings = per_group.get(DEFAULT_GROUP).unwrap_or(&empty);
        let rf_key = format!("{TOPIC_CREATION_PREFIX}{DEFAULT_GROUP}.replication.factor");
        let partitions_key = format!("{TOPIC_CREATION_PREFIX}{DEFAULT_GROUP}.partitions");
        let configured = !default_settings.is_empty() || !group_names.is_empty();
        if !configured {
            return if errors.is_empty() {
                Ok((TopicCreation::none(), warnings))
            } else {
                Err(ConfigErrors { errors })
            };
        }
        let default_rf = size(
            &mut errors,
            default_settings,
            "replication.factor",
            None,
            &rf_key,
        );
        let default_partitions = size(
            &mut errors,
            default_settings,
            "partitions",
            None,
            &partitions_key,
        );
        for setting in ["include", "exclude"] {
            if let Some((key, _)) = default_settings.get(setting) {
                warnings.push(Warning {
                    key: key.to_string(),
                    message: format!(
                        "{key} is ignored: the default group matches every topic that no group \
                         in {TOPIC_CREATION_GROUPS} matches"
                    ),
                });
            }
        }
        let default = TopicSpec {
            partitions: default_partitions,
            replication_factor: default_rf,
            configs: topic_configs(default_settings),
        };
        let mut groups = Vec::new();
        for name in group_names.iter().filter(|g| *g != DEFAULT_GROUP) {
            let settings = per_group.get(name.as_str()).unwrap_or(&empty);
            let rf = size(
                &mut errors,
                settings,
                "replication.factor",
                Some(default_rf),
                &rf_key,
            );
            let partitions = size(
                &mut errors,
                settings,
                "partitions",
                Some(default_partitions),
                &partitions_key,
            );
            let include = patterns(&mut errors, settings, "include");
            let exclude = patterns(&mut errors, settings, "exclude");
            if include.is_empty() {
                warnings.push(Warning {
                    key: format!("{TOPIC_CREATION_PREFIX}{name}.include"),
                    message: format!(
                        "topic creation group {name} has no {TOPIC_CREATION_PREFIX}{name}.include \
                         patterns: it matches no topic"
                    ),
                });
            }
            groups.push(Group {
                name: name.clone(),
                include,
                exclude,
                spec: TopicSpec {
                    partitions,
                    replication_factor: rf,
                    configs: topic_configs(settings),
                },
            });
        }
        if errors.is_empty() {
            Ok((
                TopicCreation {
                    groups,
                    default: Some(default),
                },
                warnings,
            ))
        } else {
            Err(ConfigErrors { errors })
        }
    }

    /// The group and spec a new `topic` is created with, or `None` when these rules do not
    /// create it.
    pub fn spec_for(&self, topic: &str) -> Option<(&str, &TopicSpec)> {
        let default = self.default.as_ref()?;
        for group in &self.groups {
            if group.include.iter().any(|re| re.is_match(topic))
                && !group.exclude.iter().any(|re| re.is_match(topic))
            {
                return Some((&group.name, &group.spec));
            }
        }
        Some((DEFAULT_GROUP, default))
    }
}

type Settings<'a> = BTreeMap<&'a str, (&'a str, &'a str)>;

fn push_error(errors: &mut Vec<KeyError>, key: &str, message: String) {
    errors.push(KeyError {
        key: key.to_string(),
        message,
    });
}

/// A group's `partitions` / `replication.factor`: a positive number or -1, else `fallback`
/// (the default group's), else an error on `required_key`.
fn size(
    errors: &mut Vec<KeyError>,
    settings: &Settings<'_>,
    setting: &str,
    fallback: Option<i32>,
    required_key: &str,
) -> i32 {
    match settings.get(setting) {
        Some((key, value)) => match value.trim().parse::<i32>() {
            Ok(n) if n == -1 || n >= 1 => n,
            _ => {
                push_error(
                    errors,
                    key,
                    format!(
                        "invalid value \"{value}\" for {key}: expected a positive number, or -1 \
                         for the broker's default"
                    ),
                );
                -1
            }
        },
        None => fallback.unwrap_or_else(|| {
            push_error(
                errors,
                required_key,
                format!(
                    "missing required key {required_key}: topic creation needs the default \
                     group's {setting} (-1 for the broker's default)"
                ),
            );
            -1
        }),
    }
}

/// A group's `include` / `exclude` regexes, anchored to match whole topic names.
fn patterns(errors: &mut Vec<KeyError>, settings: &Settings<'_>, setting: &str) -> Vec<Regex> {
    let Some((key, value)) = settings.get(setting) else {
        return Vec::new();
    };
    split_list(value)
        .into_iter()
        .filter_map(|p| match Regex::new(&format!("^(?:{p})$")) {
            Ok(re) => Some(re),
            Err(e) => {
                push_error(errors, key, format!("invalid regex \"{p}\" in {key}: {e}"));
                None
            }
        })
        .collect()
}

/// A Kafka Connect LIST value: comma-separated, trimmed, empty items dropped.
fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The settings of a group that are topic configs.
fn topic_configs(settings: &BTreeMap<&str, (&str, &str)>) -> BTreeMap<String, String> {
    settings
        .iter()
        .filter(|(setting, _)| {
            !matches!(
                **setting,
                "include" | "exclude" | "partitions" | "replication.factor"
            )
        })
        .map(|(setting, (_, value))| (setting.to_string(), value.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn no_rules_create_nothing() {
        let (rules, warnings) =
            TopicCreation::from_map(&map(&[("name", "x"), ("topic.creation.enable", "true")]))
                .expect("valid");
        assert!(!rules.is_configured());
        assert!(warnings.is_empty());
        assert!(rules.spec_for("anything").is_none());
    }

    #[test]
    fn groups_match_in_order_and_exclude_wins() {
        let (rules, warnings) = TopicCreation::from_map(&map(&[
            ("topic.creation.groups", "compacted, big"),
            ("topic.creation.default.replication.factor", "3"),
            ("topic.creation.default.partitions", "1"),
            ("topic.creation.default.cleanup.policy", "delete"),
            (
                "topic.creation.compacted.include",
                "pg\\.public\\.(users|roles), pg\\.audit\\..*",
            ),
            ("topic.creation.compacted.exclude", "pg\\.audit\\.noisy"),
            ("topic.creation.compacted.cleanup.policy", "compact"),
            ("topic.creation.big.include", "pg\\..*"),
            ("topic.creation.big.partitions", "12"),
            ("topic.creation.big.retention.ms", "-1"),
        ]))
        .expect("valid");
        assert!(warnings.is_empty(), "{warnings:?}");
        let (group, spec) = rules.spec_for("pg.public.users").expect("rule");
        assert_eq!(group, "compacted");
        assert_eq!(spec.partitions, 1);
        assert_eq!(spec.replication_factor, 3);
        assert_eq!(spec.configs["cleanup.policy"], "compact");
        // Whole-name matching: a longer name does not match `pg\.public\.users`.
        assert_eq!(rules.spec_for("pg.public.users2").map(|g| g.0), Some("big"));
        // Excluded from the first group, caught by the second.
        let (group, spec) = rules.spec_for("pg.audit.noisy").expect("rule");
        assert_eq!(group, "big");
        assert_eq!(spec.partitions, 12);
        assert_eq!(
            spec.configs.get("retention.ms").map(String::as_str),
            Some("-1")
        );
        assert_eq!(spec.configs.get("cleanup.policy"), None);
        let (group, spec) = rules.spec_for("other").expect("rule");
        assert_eq!(group, "default");
        assert_eq!(spec.configs["cleanup.policy"], "delete");
    }

    #[test]
    fn missing_defaults_and_bad_values_are_key_errors() {
        let errors = TopicCreation::from_map(&map(&[
            ("topic.creation.groups", "g"),
            ("topic.creation.g.include", "a(b"),
            ("topic.creation.g.partitions", "0"),
        ]))
        .err()
        .map(|e| e.errors)
        .unwrap_or_default();
        let keys: Vec<&str> = errors.iter().map(|e| e.key.as_str()).collect();
        assert!(
            keys.contains(&"topic.creation.default.replication.factor"),
            "{keys:?}"
        );
        assert!(
            keys.contains(&"topic.creation.default.partitions"),
            "{keys:?}"
        );
        assert!(keys.contains(&"topic.creation.g.include"), "{keys:?}");
        assert!(keys.contains(&"topic.creation.g.partitions"), "{keys:?}");
    }

    #[test]
    fn unlisted_groups_warn() {
        let (rules, warnings) = TopicCreation::from_map(&map(&[
            ("topic.creation.default.replication.factor", "-1"),
            ("topic.creation.default.partitions", "-1"),
            ("topic.creation.forgotten.include", ".*"),
        ]))
        .expect("valid");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0]
            .message
            .contains("add forgotten to topic.creation.groups"));
        assert_eq!(
            rules
                .spec_for("t")
                .map(|(_, s)| (s.partitions, s.replication_factor)),
            Some((-1, -1))
        );
    }
}
