//! Which software version a task configuration runs, and where that answer comes from: the
//! `version` metadata the platform mediator stamps, else the tag of the container image, else
//! unknown (never left out). Also the fingerprint of a running configuration, by which instances
//! of one job are told apart during a rollout. Shared by job_info and the software inventory.

use serde::Serialize;
use serde_json::Map;

use super::compare;
use crate::api::types::{Container, Image, TaskConfig};

/// The metadata key the platform mediator stamps the deployed version under.
pub const VERSION_KEY: &str = "version";

/// What the version of an instance is reported as when neither metadata nor image tells it.
pub const UNKNOWN_VERSION: &str = "unknown";

/// Where a version was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionSource {
    /// The task's `version` metadata (stamped by the platform mediator, or set by hand).
    Metadata,
    /// The tag of the task's container image.
    Image,
    /// Neither: the version is `unknown`.
    Unknown,
}

impl VersionSource {
    pub fn as_str(self) -> &'static str {
        match self {
            VersionSource::Metadata => "metadata",
            VersionSource::Image => "image",
            VersionSource::Unknown => "unknown",
        }
    }
}

/// A version with its provenance.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Version {
    pub version: String,
    pub source: VersionSource,
}

impl Version {
    pub fn is_known(&self) -> bool {
        self.source != VersionSource::Unknown
    }
}

/// The version a configuration runs: metadata first, then the image tag, else unknown. An
/// empty metadata value counts as absent; an image without a tag (Docker's implicit `latest`)
/// or an Appc image tells nothing.
pub fn version_of(config: &TaskConfig) -> Version {
    if let Some(version) = metadata_value(config, VERSION_KEY).filter(|v| !v.trim().is_empty()) {
        return Version {
            version: version.to_string(),
            source: VersionSource::Metadata,
        };
    }
    if let Some(tag) = image_tag(config) {
        return Version {
            version: tag,
            source: VersionSource::Image,
        };
    }
    Version {
        version: UNKNOWN_VERSION.to_string(),
        source: VersionSource::Unknown,
    }
}

/// The value of one metadata key of a configuration.
pub fn metadata_value<'a>(config: &'a TaskConfig, key: &str) -> Option<&'a str> {
    config
        .metadata
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|m| m.key.as_deref() == Some(key))
        .and_then(|m| m.value.as_deref())
}

/// The container image, as `name:tag`, when the task runs in one.
pub fn image(config: &TaskConfig) -> Option<String> {
    match config.container.as_ref()? {
        Container::Docker(docker) => docker.image.clone(),
        Container::Mesos(mesos) => match mesos.image.as_ref()? {
            Image::Docker(image) => Some(format!(
                "{}:{}",
                image.name.as_deref().unwrap_or(""),
                image.tag.as_deref().unwrap_or("latest")
            )),
            Image::Appc(image) => image.name.clone(),
        },
    }
}

/// The tag of the container image: the text after the last `:` of a Docker reference that is
/// not part of the registry's host:port, or the digest of `name@sha256:...`. `None` without a
/// Docker image or without an explicit tag.
pub fn image_tag(config: &TaskConfig) -> Option<String> {
    match config.container.as_ref()? {
        Container::Docker(docker) => reference_tag(docker.image.as_deref()?),
        Container::Mesos(mesos) => match mesos.image.as_ref()? {
            Image::Docker(image) => image.tag.clone().filter(|t| !t.is_empty()),
            Image::Appc(_) => None,
        },
    }
}

fn reference_tag(reference: &str) -> Option<String> {
    if let Some((_, digest)) = reference.split_once('@') {
        return Some(digest.to_string()).filter(|d| !d.is_empty());
    }
    let (_, last) = reference.rsplit_once(':')?;
    // `registry:5000/team/app` has a port, not a tag.
    (!last.contains('/') && !last.is_empty()).then(|| last.to_string())
}

/// A short stable hash of what an instance runs, to tell apart the instances of one job: the
/// task configuration as job_info reads it (`getTasksWithoutConfigs`, so without the executor
/// document), without the submitting user. Two instances with the same fingerprint run the same
/// resources, container, metadata and constraints; a rollout shows as two fingerprints.
pub fn config_fingerprint(config: &TaskConfig) -> String {
    let mut task = compare::readable(config);
    if let Some(map) = task.as_object_mut() {
        map.remove("owner");
        if let Some(executor) = map
            .get_mut("executorConfig")
            .and_then(|e| e.as_object_mut())
        {
            executor.remove("data");
        }
    }
    let mut parts = Map::new();
    parts.insert("task".into(), task);
    compare::fingerprint(&parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::types::{
        DockerContainer, DockerImage, ExecutorConfig, Identity, MesosContainer, Metadata,
    };

    fn config(metadata: &[(&str, &str)], container: Option<Container>) -> TaskConfig {
        TaskConfig {
            metadata: Some(
                metadata
                    .iter()
                    .map(|(k, v)| Metadata {
                        key: Some(k.to_string()),
                        value: Some(v.to_string()),
                    })
                    .collect(),
            ),
            container,
            ..TaskConfig::default()
        }
    }

    fn docker(image: &str) -> Option<Container> {
        Some(Container::Docker(DockerContainer {
            image: Some(image.into()),
            parameters: None,
        }))
    }

    fn mesos(name: &str, tag: Option<&str>) -> Option<Container> {
        Some(Container::Mesos(MesosContainer {
            image: Some(Image::Docker(DockerImage {
                name: Some(name.into()),
                tag: tag.map(str::to_string),
            })),
            ..MesosContainer::default()
        }))
    }

    #[test]
    fn versions_come_from_metadata_then_image_tag_then_unknown() {
        use VersionSource::*;
        let table: Vec<(TaskConfig, &str, VersionSource)> = vec![
            (config(&[("version", "1.4.2")], None), "1.4.2", Metadata),
            (
                config(&[("version", "1.4.2")], docker("reg/app:9.9")),
                "1.4.2",
                Metadata,
            ),
            (
                config(&[("version", " ")], docker("reg/app:2.0")),
                "2.0",
                Image,
            ),
            (
                config(&[], docker("registry.example.com/fraud/scorer:1.3.7")),
                "1.3.7",
                Image,
            ),
            (
                config(&[], docker("registry:5000/fraud/scorer")),
                "unknown",
                Unknown,
            ),
            (
                config(&[], docker("reg/app@sha256:abc")),
                "sha256:abc",
                Image,
            ),
            (config(&[], mesos("reg/app", Some("3.1"))), "3.1", Image),
            (config(&[], mesos("reg/app", None)), "unknown", Unknown),
            (config(&[("team", "ml")], None), "unknown", Unknown),
        ];
        for (config, version, source) in table {
            let found = version_of(&config);
            assert_eq!(
                (found.version.as_str(), found.source),
                (version, source),
                "{:?}",
                config.container
            );
        }
    }

    #[test]
    fn the_fingerprint_ignores_owner_and_executor_data_but_not_metadata() {
        let base = config(&[("version", "1")], None);
        let mut other_owner = base.clone();
        other_owner.owner = Some(Identity {
            user: Some("bob".into()),
        });
        other_owner.executor_config = Some(ExecutorConfig {
            name: None,
            data: Some("{}".into()),
        });
        let mut with_executor = base.clone();
        with_executor.executor_config = Some(ExecutorConfig {
            name: None,
            data: None,
        });
        assert_eq!(
            config_fingerprint(&other_owner),
            config_fingerprint(&with_executor)
        );
        assert_ne!(
            config_fingerprint(&base),
            config_fingerprint(&config(&[("version", "2")], None))
        );
        assert_eq!(config_fingerprint(&base).len(), 16);
    }
}
