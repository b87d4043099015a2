//! Where a step's artifacts are as its command sees them, and what mlk moves for it (SPEC §6,
//! "Artifacts travel").
//!
//! Every artifact has two forms in templates: `{{ outputs.X }}` is a local path the command
//! writes or reads, `{{ outputs.X.uri }}` its address in the store. Which local path that is
//! depends on who moves the bytes (the [`Mover`]): nobody (the store is this machine's disk),
//! the launcher (the mlk binary wrapping the command, in a pod or on this machine), or a
//! PersistentVolumeClaim mounted where the command runs. The step's [`Data`] says what the
//! launcher or the executor fetches before the command and publishes after it.

use std::collections::{BTreeMap, BTreeSet};

use super::expr::{Artifact, Form, Ref, StepOutputs};
use super::plan::{Data, Fetch, Publish, Push, StackInfo};
use super::step::StepCx;
use super::{Cx, ResolveError};
use crate::domain::{Backend, StoreKind};

/// Where the launcher keeps a pod's data: `bin/mlk`, `out/`, `in/`, `inputs/`.
pub const POD_ROOT: &str = "/mlk";

/// Where a `pvc://` store's claim is mounted in a pod.
pub const POD_STORE: &str = "/mlk/store";

/// The launcher binary in a pod.
pub const POD_LAUNCHER: &str = "/mlk/bin/mlk";

/// The file, beside a step's outputs, whose presence says they are all there.
pub const MANIFEST: &str = ".manifest.json";

/// Who moves a step's bytes between its local paths and the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Mover {
    /// The store is a directory on this machine: outputs are written there (through
    /// run-private staging) and inputs are read where they are.
    Disk,
    /// The launcher fetches and publishes; its local paths are under `root`.
    Launcher {
        /// `/mlk` in a pod; the step's work directory on this machine.
        root: String,
    },
    /// No launcher, but a `pvc://` store mounted at [`POD_STORE`]: paths point into it.
    Mount,
    /// Nothing can move bytes here (why, for the diagnostic): only addresses work.
    Nothing(&'static str),
}

/// Who moves the bytes of a step whose key is `key` on `stack`.
pub(super) fn mover(s: &StepCx<'_>, stack: &StackInfo, pipeline: &str, key: &str) -> Mover {
    let launcher = stack.launcher_image.is_some();
    match (stack.backend, &stack.artifacts_kind) {
        (Backend::Local, StoreKind::Disk) => Mover::Disk,
        (Backend::Local, StoreKind::Object { .. }) => {
            let work = format!(".mlk/work/{pipeline}/{}/{key}", s.def.name.get_ref());
            let root = match &s.opts.artifacts_root {
                Some(root) => root.join(work).to_string_lossy().into_owned(),
                None => work,
            };
            Mover::Launcher { root }
        }
        (Backend::Local, StoreKind::Pvc { .. }) => {
            Mover::Nothing("a pvc:// store is reachable only from pods, not from this machine")
        }
        (Backend::Kubernetes, StoreKind::Disk) => Mover::Nothing(
            "the store is a directory on this machine, which pods cannot reach: use an s3://, gs://, az:// or pvc:// store",
        ),
        (Backend::Kubernetes, _) if launcher => Mover::Launcher {
            root: POD_ROOT.into(),
        },
        (Backend::Kubernetes, StoreKind::Pvc { .. }) => Mover::Mount,
        (Backend::Kubernetes, StoreKind::Object { .. }) => Mover::Nothing(
            "the stack has no `[artifacts] launcher_image`, so nothing in the pod can move bytes",
        ),
    }
}

/// The artifacts a step's templates see, and what moves for it.
pub(super) struct Artifacts {
    /// `outputs.X`.
    pub outputs: BTreeMap<String, Artifact>,
    /// `inputs.N`.
    pub inputs: BTreeMap<String, Artifact>,
    /// `steps.S.outputs.Y`.
    pub steps: BTreeMap<String, StepOutputs>,
    /// What moves.
    pub data: Data,
}

/// How a step uses each artifact: the forms its templates read it in.
#[derive(Default)]
struct Uses {
    outputs: BTreeMap<String, BTreeSet<Form>>,
    inputs: BTreeMap<String, BTreeSet<Form>>,
    upstream: BTreeMap<(String, String), BTreeSet<Form>>,
}

fn uses(s: &StepCx<'_>) -> Uses {
    let mut u = Uses::default();
    for r in s.templated.iter().flat_map(|t| &t.refs) {
        match r {
            Ref::Output(o, f) => u.outputs.entry(o.clone()).or_default().insert(*f),
            Ref::Input(i, f) => u.inputs.entry(i.clone()).or_default().insert(*f),
            Ref::Upstream(st, o, f) => u
                .upstream
                .entry((st.clone(), o.clone()))
                .or_default()
                .insert(*f),
            _ => false,
        };
    }
    u
}

/// The local path, in a pod with a `pvc://` store's claim mounted at [`POD_STORE`], of an
/// address in that store: `pvc://CLAIM/a/b` is `/mlk/store/a/b`.
fn mounted(uri: &str) -> String {
    let in_claim = uri
        .strip_prefix("pvc://")
        .and_then(|r| r.split_once('/'))
        .map_or("", |(_, p)| p);
    format!("{POD_STORE}/{in_claim}")
        .trim_end_matches('/')
        .to_owned()
}

/// The content address of a local input whose digest is `digest` (`sha256:<hex>`).
pub fn input_address(artifacts_uri: &str, digest: &str) -> String {
    let hex = digest.strip_prefix("sha256:").unwrap_or(digest);
    format!("{artifacts_uri}/.mlk/inputs/sha256/{hex}")
}

/// The artifacts of a step and what moves for it. `outputs` are the step's output addresses.
pub(super) fn artifacts(
    cx: &mut Cx<'_>,
    s: &StepCx<'_>,
    stack: &StackInfo,
    mover: &Mover,
    outputs: &BTreeMap<String, String>,
    inputs: &BTreeMap<String, super::plan::Input>,
) -> Artifacts {
    let u = uses(s);
    let mut data = Data::default();
    let mut needs_moving = Vec::new();
    let path_of = |local: String, uri: &str| match mover {
        Mover::Disk | Mover::Nothing(_) => uri.to_owned(),
        Mover::Launcher { root } => format!("{root}/{local}"),
        Mover::Mount => mounted(uri),
    };
    let mut own = BTreeMap::new();
    for (o, uri) in outputs {
        let forms = u.outputs.get(o);
        let by_path = forms.is_some_and(|f| f.contains(&Form::Path));
        let path = path_of(format!("out/{o}"), uri);
        if by_path && !matches!(mover, Mover::Disk | Mover::Mount) {
            needs_moving.push(format!("outputs.{o}"));
        }
        if mover != &Mover::Disk {
            data.publish.push(Publish {
                output: o.clone(),
                uri: uri.clone(),
                path: (by_path && matches!(mover, Mover::Launcher { .. })).then(|| path.clone()),
            });
        }
        own.insert(
            o.clone(),
            Artifact {
                path,
                uri: uri.clone(),
            },
        );
    }
    let mut steps: BTreeMap<String, StepOutputs> = BTreeMap::new();
    for (name, up) in &s.upstream {
        let mut outs = BTreeMap::new();
        for (o, uri) in &up.outputs {
            let path = path_of(format!("in/{name}/{o}"), uri);
            let forms = u.upstream.get(&((*name).to_owned(), o.clone()));
            if forms.is_some_and(|f| f.contains(&Form::Path)) {
                if !matches!(mover, Mover::Disk | Mover::Mount) {
                    needs_moving.push(format!("steps.{name}.outputs.{o}"));
                }
                if matches!(mover, Mover::Launcher { .. }) {
                    data.fetch.push(Fetch {
                        uri: uri.clone(),
                        path: path.clone(),
                    });
                }
            }
            outs.insert(
                o.clone(),
                Artifact {
                    path,
                    uri: uri.clone(),
                },
            );
        }
        steps.insert((*name).to_owned(), StepOutputs { outputs: outs });
    }
    let own_inputs = input_artifacts(
        cx,
        s,
        stack,
        mover,
        inputs,
        &u,
        &mut data,
        &mut needs_moving,
    );
    let why = match mover {
        Mover::Nothing(why) => Some(*why),
        Mover::Disk => Some(
            "mlk downloads an input given by URI only through a launcher, on a stack with an object store",
        ),
        Mover::Mount => {
            Some("without a launcher nothing in the pod downloads an input given by URI")
        }
        Mover::Launcher { .. } => None,
    };
    if let (Some(why), Some(first)) = (why, needs_moving.first()) {
        let what: Vec<String> = needs_moving.iter().map(|w| format!("`{w}`")).collect();
        cx.pipeline(ResolveError::CannotMove {
            step: s.def.name.get_ref().clone(),
            what: what.join(", "),
            why,
            help: format!(
                "read or write it by address instead ({{{{ {first}.uri }}}}), or give the stack an `[artifacts] launcher_image` with an s3://, gs://, az:// or pvc:// store"
            ),
            at: s.def.name.span().into(),
        });
    }
    data.launcher = matches!(mover, Mover::Launcher { .. })
        && !(data.fetch.is_empty() && data.publish.is_empty());
    if mover != &Mover::Disk
        && let Some(uri) = outputs.values().next()
        && let Some((dir, _)) = uri.rsplit_once('/')
    {
        data.manifest = Some(format!("{dir}/{MANIFEST}"));
    }
    Artifacts {
        outputs: own,
        inputs: own_inputs,
        steps,
        data,
    }
}

/// The step's declared inputs as artifacts; local inputs it uses go into `data.push` (stored
/// by content before the run) and, read by path, into `data.fetch`. Inputs read by path that
/// nothing can fetch go into `needs_moving`.
#[allow(clippy::too_many_arguments)]
fn input_artifacts(
    cx: &mut Cx<'_>,
    s: &StepCx<'_>,
    stack: &StackInfo,
    mover: &Mover,
    inputs: &BTreeMap<String, super::plan::Input>,
    u: &Uses,
    data: &mut Data,
    needs_moving: &mut Vec<String>,
) -> BTreeMap<String, Artifact> {
    let mut out = BTreeMap::new();
    for (name, input) in inputs {
        let forms = u.inputs.get(name);
        let by_path = forms.is_some_and(|f| f.contains(&Form::Path));
        let used = forms.is_some();
        let (path, uri) = match (input, mover) {
            (super::plan::Input::Path { path, .. }, Mover::Disk) => (path.clone(), path.clone()),
            (super::plan::Input::Path { path, digest }, _) => {
                let uri = input_address(&stack.artifacts_uri, digest);
                if used && !matches!(mover, Mover::Mount | Mover::Nothing(_)) {
                    data.push.push(Push {
                        path: path.clone(),
                        uri: uri.clone(),
                        digest: digest.clone(),
                    });
                }
                if used && *mover == Mover::Mount {
                    cx.pipeline(ResolveError::CannotMove {
                        step: s.def.name.get_ref().clone(),
                        what: format!("`inputs.{name}`"),
                        why: "this machine cannot store a local input in a pvc:// store",
                        help: "put the data in the claim and declare the input by its URI (pvc://CLAIM/path), or use an s3://, gs:// or az:// store".into(),
                        at: s.def.name.span().into(),
                    });
                }
                // Reported above on a pvc:// store; elsewhere only the launcher fetches it.
                let path = if *mover == Mover::Mount {
                    uri.clone()
                } else {
                    String::new()
                };
                (path, uri)
            }
            (super::plan::Input::Uri { uri, .. }, _) => (String::new(), uri.clone()),
        };
        let path = match mover {
            Mover::Launcher { root } => {
                let local = format!("{root}/inputs/{name}");
                if by_path {
                    data.fetch.push(Fetch {
                        uri: uri.clone(),
                        path: local.clone(),
                    });
                }
                local
            }
            _ if !path.is_empty() => path,
            _ => {
                if by_path {
                    needs_moving.push(format!("inputs.{name}"));
                }
                uri.clone()
            }
        };
        out.insert(name.clone(), Artifact { path, uri });
    }
    out
}

/// The symbolic artifacts of the cache key: names, never paths or addresses (the key covers
/// what they are through the upstream keys and the input digests).
pub(super) fn symbolic(s: &StepCx<'_>) -> Artifacts {
    let art = |name: String| Artifact {
        path: format!("<{name}>"),
        uri: format!("<{name}.uri>"),
    };
    let outputs = s
        .def
        .outputs
        .iter()
        .map(|o| (o.get_ref().clone(), art(format!("outputs.{}", o.get_ref()))))
        .collect();
    let inputs = s
        .def
        .inputs
        .keys()
        .map(|i| (i.get_ref().clone(), art(format!("inputs.{}", i.get_ref()))))
        .collect();
    let steps = s
        .upstream
        .iter()
        .map(|(name, up)| {
            let outputs = up
                .outputs
                .keys()
                .map(|o| (o.clone(), art(format!("steps.{name}.outputs.{o}"))))
                .collect();
            ((*name).to_owned(), StepOutputs { outputs })
        })
        .collect();
    Artifacts {
        outputs,
        inputs,
        steps,
        data: Data::default(),
    }
}
