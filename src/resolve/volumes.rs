//! A step's volumes (`volumes = [{ claim, path }]`: PersistentVolumeClaims in its containers)
//! and its checkpoint directory (`checkpoint = "/checkpoints/finetune"`), which every attempt
//! of the same work finds again: on a cluster a directory on a mounted claim, on the local
//! backend one under `.mlk/checkpoints/`, both named by the step's cache key, so a retried
//! attempt (a preemption, a failure, the same run started again) resumes from the last
//! attempt's files while changed work starts empty. The step sees it as `MLK_CHECKPOINT_DIR`.

use serde::Serialize;

use super::{Cx, ResolveError};
use crate::domain::{Backend, StepKind};
use crate::load::StepDef;

/// The environment variable naming the checkpoint directory.
pub const CHECKPOINT_ENV: &str = "MLK_CHECKPOINT_DIR";

/// Paths mlk mounts itself.
const RESERVED: &[&str] = &["/mlk", "/dev/shm"];

/// A PersistentVolumeClaim in a step's containers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Volume {
    /// The claim.
    pub claim: String,
    /// The mount path.
    pub path: String,
}

/// The step's volumes and checkpoint directory (`None` without `checkpoint`); problems are
/// reported.
pub(super) fn volumes(
    cx: &mut Cx<'_>,
    def: &StepDef,
    kind: StepKind,
    key: &str,
    pipeline: &str,
) -> (Vec<Volume>, Option<String>) {
    let name = def.name.get_ref();
    let mut out: Vec<Volume> = Vec::new();
    for v in &def.volumes {
        let path = v.get_ref().path.get_ref();
        let clash = out
            .iter()
            .map(|o| o.path.as_str())
            .chain(RESERVED.iter().copied())
            .find(|p| nested(p, path) || nested(path, p));
        if let Some(other) = clash {
            cx.pipeline(ResolveError::VolumePath {
                step: name.clone(),
                path: path.clone(),
                other: other.to_owned(),
                at: v.get_ref().path.span().into(),
            });
            continue;
        }
        out.push(Volume {
            claim: v.get_ref().claim.get_ref().clone(),
            path: path.clone(),
        });
    }
    let Some(c) = &def.checkpoint else {
        return (out, None);
    };
    if kind == StepKind::Serve {
        cx.pipeline(ResolveError::CheckpointServe {
            step: name.clone(),
            at: c.span().into(),
        });
        return (out, None);
    }
    let dir = match cx.l.stack.backend {
        Backend::Local => format!(
            "{}/checkpoints/{pipeline}/{name}/{key}",
            crate::cache::STATE_DIR
        ),
        Backend::Kubernetes => {
            if !out.iter().any(|v| nested(&v.path, c.get_ref())) {
                let mounted: Vec<&str> = out.iter().map(|v| v.path.as_str()).collect();
                cx.pipeline(ResolveError::CheckpointVolume {
                    step: name.clone(),
                    path: c.get_ref().clone(),
                    mounted: if mounted.is_empty() {
                        "the step mounts no volume".into()
                    } else {
                        format!("the step's volumes are at {}", mounted.join(", "))
                    },
                    at: c.span().into(),
                });
                return (out, None);
            }
            format!("{}/{key}", c.get_ref())
        }
    };
    (out, Some(dir))
}

/// Whether `inner` is `outer` or below it.
fn nested(outer: &str, inner: &str) -> bool {
    inner == outer
        || inner
            .strip_prefix(outer)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::resolve::testing::{error_codes, resolve_texts};

    fn stack(backend: &str) -> String {
        format!(
            "[stack]\nname = \"s\"\nbackend = \"{backend}\"\nnamespace = \"ml\"\n[artifacts]\nuri = \"s3://b/m\"\n"
        )
    }

    fn pipeline(step: &str) -> String {
        format!(
            "[pipeline]\nname = \"p\"\n[steps.train]\nimage = \"r.io/i:1\"\ncommand = [\"x\"]\n{step}\n"
        )
    }

    const MOUNTED: &str = "volumes = [{ claim = \"ckpt\", path = \"/checkpoints\" }]\ncheckpoint = \"/checkpoints/train\"";

    #[test]
    fn a_cluster_checkpoint_is_a_directory_of_the_key_on_a_mounted_claim() {
        let plan = resolve_texts(&stack("kubernetes"), &pipeline(MOUNTED)).unwrap();
        let s = &plan.steps[0];
        assert_eq!(s.volumes[0].claim, "ckpt");
        assert_eq!(
            s.checkpoint.as_deref(),
            Some(format!("/checkpoints/train/{}", s.cache.key).as_str())
        );
        // The same work finds the same directory; other work another.
        let again = resolve_texts(&stack("kubernetes"), &pipeline(MOUNTED)).unwrap();
        assert_eq!(again.steps[0].checkpoint, s.checkpoint);
        let other = pipeline(MOUNTED).replace("[\"x\"]", "[\"y\"]");
        let other = resolve_texts(&stack("kubernetes"), &other).unwrap();
        assert_ne!(other.steps[0].checkpoint, s.checkpoint);
    }

    #[test]
    fn a_local_checkpoint_lives_under_the_state_directory() {
        let plan = resolve_texts(&stack("local"), &pipeline("checkpoint = \"/ckpt\"")).unwrap();
        let s = &plan.steps[0];
        assert_eq!(
            s.checkpoint.as_deref(),
            Some(format!(".mlk/checkpoints/p/train/{}", s.cache.key).as_str())
        );
    }

    #[test]
    fn checkpoints_off_a_volume_and_clashing_paths_are_errors() {
        let e =
            resolve_texts(&stack("kubernetes"), &pipeline("checkpoint = \"/ckpt\"")).unwrap_err();
        assert_eq!(error_codes(&e), ["mlk::resolve::checkpoint_volume"]);
        let clash = "volumes = [{ claim = \"a\", path = \"/data\" }, { claim = \"b\", path = \"/data/x\" }]";
        let e = resolve_texts(&stack("kubernetes"), &pipeline(clash)).unwrap_err();
        assert_eq!(error_codes(&e), ["mlk::resolve::volume_path"]);
        let reserved = "volumes = [{ claim = \"a\", path = \"/mlk\" }]";
        let e = resolve_texts(&stack("kubernetes"), &pipeline(reserved)).unwrap_err();
        assert_eq!(error_codes(&e), ["mlk::resolve::volume_path"]);
    }
}
