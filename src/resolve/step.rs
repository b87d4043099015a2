//! Resolving one step: merged settings, kind rules, resources, GPUs, queue, priority,
//! policy, cache key, outputs and the object name.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;

use super::expr::{Bindings, Exprs, NameScope, Ref, RunScope, Scope, StepOutputs};
use super::plan::{CacheInfo, Input, PytorchSpec, Resources, StackInfo, Step};
use super::rules::{check_image, gpu, priority, queue, serve_spec};
use super::{Cx, InputDigests, Options, RUN_ID_PLACEHOLDER, ResolveError, Templated, compiled};
use crate::cache::key::{KEY_FORMAT, KeyComponents, UpstreamOutput, digest_of};
use crate::load::{
    EnvValue, GpuAmount, InputDef, LimitsMode, Loaded, ReplicasDef, StepDef, StepKind, Toleration,
};
use crate::names;
use crate::quantity::Quantity;

/// Everything `resolve_step` needs about one step.
pub(super) struct StepCx<'a> {
    pub def: &'a StepDef,
    pub templated: &'a [Templated],
    pub depth: u32,
    pub upstream: BTreeMap<&'a str, &'a Step>,
    pub params: &'a BTreeMap<String, serde_json::Value>,
    pub exprs: &'a Exprs<'a>,
    pub digests: &'a InputDigests,
    pub opts: &'a Options,
}

/// The stack settings every step shares.
pub(super) fn stack_info(l: &Loaded) -> StackInfo {
    let s = &l.stack;
    StackInfo {
        name: s.name.get_ref().clone(),
        backend: s.backend,
        namespace: s.namespace.get_ref().clone(),
        context: s.context.clone(),
        scheduler: s.scheduler.kind,
        serving_mode: s.serving,
        training_api: s.training.api,
        training_runtime: s
            .training
            .runtime
            .clone()
            .unwrap_or_else(|| "torch-distributed".into()),
        gpu_sharing: s.gpu.sharing,
        artifacts_uri: s.artifacts.uri.get_ref().trim_end_matches('/').to_owned(),
        service_account: s.service_account.clone(),
        image_pull_secrets: s.image_pull_secrets.clone(),
        env_from_secret: s.artifacts.env_from_secret.clone(),
        network_isolation: s.policy.network_isolation,
    }
}

/// A value taken from the step, else the pipeline's `[defaults]`; always in the pipeline file.
fn pick<'a, T>(
    def: &'a StepDef,
    l: &'a Loaded,
    f: impl Fn(&'a crate::load::StepSettings) -> Option<&'a T>,
) -> Option<&'a T> {
    f(&def.settings).or_else(|| f(&l.pipeline.defaults))
}

pub(super) fn resolve_step(cx: &mut Cx<'_>, s: StepCx<'_>) -> Option<Step> {
    let l = cx.l;
    let def = s.def;
    let name = def.name.get_ref().clone();
    let pipeline = l.pipeline.name.get_ref().clone();
    let kind = def
        .kind
        .as_ref()
        .map(|k| *k.get_ref())
        .unwrap_or(StepKind::Job);
    let errors_before = cx.problems.error_count();
    let stack = stack_info(l);

    // Image.
    // A serve step's image replaces the KServe runtime's server, so it is never inherited
    // from [defaults] (which usually names the training image).
    let image = match kind {
        StepKind::Serve => def.settings.image.as_ref(),
        _ => pick(def, l, |st| st.image.as_ref()),
    };
    if image.is_none() && kind != StepKind::Serve {
        cx.pipeline(ResolveError::MissingImage {
            step: name.clone(),
            at: def.name.span().into(),
        });
    }
    if let Some(img) = image {
        check_image(cx, img, &name);
    }
    let image_text = image.map(|i| i.get_ref().clone()).unwrap_or_default();

    // Replicas and kind-specific settings.
    let replicas_def = def.replicas.as_ref();
    let gpu_amount = pick(def, l, |st| st.resources.gpu.as_ref());
    let mut replicas = 1u32;
    let mut pytorch = None;
    let mut serve = None;
    let kind_rule = |cx: &mut Cx<'_>, at: Range<usize>, message: String, help: &str| {
        cx.pipeline(ResolveError::KindRule {
            message,
            help: help.into(),
            at: at.into(),
        });
    };
    if kind != StepKind::Pytorch {
        if let Some(e) = &def.elastic {
            kind_rule(
                cx,
                e.span(),
                format!("`elastic` applies to pytorch steps; `{name}` is a {kind:?} step")
                    .to_lowercase(),
                "remove it, or set kind = \"pytorch\"",
            );
        }
        if let Some(n) = &def.nproc_per_node {
            kind_rule(
                cx,
                n.span(),
                "`nproc_per_node` applies to pytorch steps".into(),
                "remove it, or set kind = \"pytorch\"",
            );
        }
    }
    if kind != StepKind::Serve {
        for (field, span) in [
            ("model", def.model.as_ref().map(|m| m.span())),
            ("autoscale", def.autoscale.as_ref().map(|a| a.span())),
            ("canary", def.canary.as_ref().map(|c| c.span())),
        ] {
            if let Some(span) = span {
                kind_rule(
                    cx,
                    span,
                    format!("`{field}` applies to serve steps"),
                    "remove it, or set kind = \"serve\"",
                );
            }
        }
    }
    match kind {
        StepKind::Job => {
            if let Some(r) = replicas_def
                && !matches!(r.get_ref(), ReplicasDef::Count(1))
            {
                kind_rule(
                    cx,
                    r.span(),
                    "`replicas` applies to pytorch and serve steps".into(),
                    "a job step runs one pod; use kind = \"pytorch\" for distributed training",
                );
            }
        }
        StepKind::Pytorch => {
            match replicas_def.map(|r| (r.span(), *r.get_ref())) {
                Some((_, ReplicasDef::Count(n))) => replicas = n,
                Some((span, ReplicasDef::Range(_))) => kind_rule(
                    cx,
                    span,
                    "a pytorch step takes a replica count, not a range".into(),
                    "write replicas = 4 (1 Master + 3 Workers); use `elastic = { min, max }` for elastic training",
                ),
                None => {}
            }
            if let Some(e) = &def.elastic
                && replicas < 2
            {
                kind_rule(
                    cx,
                    e.span(),
                    "elastic training needs Workers: set replicas to 2 or more".into(),
                    "replicas counts all pods: 1 Master + (replicas − 1) Workers",
                );
            }
            if let Some(g) = gpu_amount
                && matches!(g.get_ref(), GpuAmount::Fraction(_))
                && replicas > 1
            {
                cx.pipeline(ResolveError::Gpu {
                    message: format!("step `{name}` asks for a fraction of a GPU on {replicas} replicas"),
                    help: "NCCL needs whole devices for distributed training: request gpu = 1 or more, or use replicas = 1".into(),
                    at: g.span().into(),
                });
            }
            let whole = match gpu_amount.map(|g| *g.get_ref()) {
                Some(GpuAmount::Whole(n)) if n > 0 => n,
                _ => 1,
            };
            pytorch = Some(PytorchSpec {
                workers: replicas.saturating_sub(1),
                nproc_per_node: def
                    .nproc_per_node
                    .as_ref()
                    .map(|n| *n.get_ref())
                    .unwrap_or(whole),
                elastic: def.elastic.as_ref().map(|e| *e.get_ref()),
            });
        }
        StepKind::Serve => {
            serve = serve_spec(cx, def, &stack);
            replicas = serve.as_ref().map(|s| s.min_replicas).unwrap_or(1);
        }
    }

    // Resources.
    let quantity = |f: fn(&crate::load::ResourcesDef) -> Option<&Spanned<Quantity>>| {
        f(&def.settings.resources)
            .or_else(|| f(&l.pipeline.defaults.resources))
            .or_else(|| f(&l.stack.defaults.resources))
            .map(|q| q.get_ref().clone())
    };
    let mut resources = Resources::default();
    let limits_mode = l.stack.defaults.limits;
    for (k8s, q) in [
        ("cpu", quantity(|r| r.cpu.as_ref())),
        ("memory", quantity(|r| r.memory.as_ref())),
        (
            "ephemeral-storage",
            quantity(|r| r.ephemeral_storage.as_ref()),
        ),
    ] {
        let Some(q) = q else { continue };
        resources.requests.insert(k8s.into(), q.to_string());
        let limited = match limits_mode {
            LimitsMode::Memory => k8s == "memory",
            LimitsMode::All => k8s == "memory" || k8s == "cpu",
            LimitsMode::None => false,
        };
        if limited {
            resources.limits.insert(k8s.into(), q.to_string());
        }
    }
    let shm = pick(def, l, |st| st.resources.shm.as_ref()).map(|q| q.get_ref().to_string());

    // GPUs.
    let (gpu, gpu_selector, gpu_tolerations) = gpu(cx, def, &name);
    if let Some((resource, count)) = gpu.limit() {
        resources
            .limits
            .insert(resource.to_owned(), count.to_string());
    }
    if let Some(max) = &l.stack.policy.max_gpus_per_step {
        let pods = match &serve {
            Some(s) => s.max_replicas.max(1),
            None => replicas,
        };
        let total = gpu.per_pod() * f64::from(pods);
        if total > f64::from(*max.get_ref()) {
            let at = gpu_amount
                .map(|g| g.span())
                .unwrap_or_else(|| def.name.span());
            cx.pipeline(ResolveError::Policy {
                message: format!("step `{name}` uses {total} GPUs ({} per pod × {pods} pods); the stack allows at most {} per step", gpu.per_pod(), max.get_ref()),
                help: "request fewer GPUs or replicas, or ask the platform team to raise [policy] max_gpus_per_step".into(),
                at: at.into(),
                label: format!("{total} GPUs"),
            });
        }
    }

    // Placement.
    let mut node_selector = l.stack.defaults.node_selector.clone();
    node_selector.extend(gpu_selector);
    node_selector.extend(l.pipeline.defaults.node_selector.clone());
    node_selector.extend(def.settings.node_selector.clone());
    let mut tolerations: Vec<Toleration> = l.stack.defaults.tolerations.clone();
    tolerations.extend(gpu_tolerations);
    tolerations.extend(l.pipeline.defaults.tolerations.iter().cloned());
    tolerations.extend(def.settings.tolerations.iter().cloned());
    tolerations.sort();
    tolerations.dedup();

    let mut labels = l.stack.defaults.labels.clone();
    labels.extend(l.pipeline.defaults.labels.clone());
    labels.extend(def.settings.labels.clone());
    let mut annotations = l.stack.defaults.annotations.clone();
    annotations.extend(l.pipeline.defaults.annotations.clone());
    annotations.extend(def.settings.annotations.clone());

    let queue = queue(cx, def);
    let priority = priority(cx, def);

    let retries = pick(def, l, |st| st.retries.as_ref())
        .map(|r| *r.get_ref())
        .unwrap_or(0);
    let timeout_seconds = pick(def, l, |st| st.timeout.as_ref()).map(|t| t.get_ref().secs());
    let expected_duration_seconds =
        pick(def, l, |st| st.expected_duration.as_ref()).map(|t| t.get_ref().secs());
    let ttl_after_finished_seconds = l
        .stack
        .defaults
        .ttl_after_finished
        .as_ref()
        .map(|d| d.secs());
    let cache_ttl = pick(def, l, |st| st.cache_ttl.as_ref())
        .map(|d| d.get_ref().secs())
        .or(l.stack.cache.ttl.as_ref().map(|d| d.secs()));
    let cache_enabled = kind != StepKind::Serve
        && l.stack.cache.store != crate::load::CacheStore::None
        && pick(def, l, |st| st.cache.as_ref())
            .map(|c| *c.get_ref())
            .unwrap_or(true);

    if cx.problems.error_count() > errors_before {
        return None;
    }

    // Environment (step over defaults).
    let mut env_def: BTreeMap<String, (EnvValue, Range<usize>)> = BTreeMap::new();
    for (k, v) in l
        .pipeline
        .defaults
        .env
        .iter()
        .chain(def.settings.env.iter())
    {
        env_def.insert(k.get_ref().clone(), (v.get_ref().clone(), v.span()));
    }

    // Cache key: strings expanded with outputs and run.id left symbolic.
    let mut used_params: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut upstream_refs: BTreeMap<String, UpstreamOutput> = BTreeMap::new();
    for r in s.templated.iter().flat_map(|t| &t.refs) {
        match r {
            Ref::Param(Some(p)) => {
                if let Some(v) = s.params.get(p) {
                    used_params.insert(p.clone(), v.clone());
                }
            }
            Ref::Param(None) => {
                used_params.extend(s.params.iter().map(|(k, v)| (k.clone(), v.clone())))
            }
            Ref::Upstream(up, o) => {
                if let Some(u) = s.upstream.get(up.as_str()) {
                    upstream_refs.insert(
                        format!("steps.{up}.outputs.{o}"),
                        UpstreamOutput {
                            step: up.clone(),
                            output: o.clone(),
                            key: u.cache.key.clone(),
                        },
                    );
                }
            }
            _ => {}
        }
    }
    let symbolic_outputs = def
        .outputs
        .iter()
        .map(|o| (o.get_ref().clone(), format!("<outputs.{}>", o.get_ref())))
        .collect();
    let symbolic = scope_value(
        s.params,
        &name,
        &pipeline,
        "<run.id>",
        symbolic_outputs,
        &s.upstream,
        true,
    );
    let command_def: Vec<(String, Range<usize>)> = def
        .command
        .as_ref()
        .map(|c| {
            c.get_ref()
                .iter()
                .map(|a| (a.get_ref().clone(), a.span()))
                .collect()
        })
        .unwrap_or_default();
    let key_command: Vec<String> = command_def
        .iter()
        .map(|(t, span)| expand(cx, s.exprs, t, span, &symbolic))
        .collect();
    let mut key_env = BTreeMap::new();
    for (k, (v, span)) in &env_def {
        let text = match v {
            EnvValue::Literal(t) => expand(cx, s.exprs, t, span, &symbolic),
            EnvValue::Secret { name, key } => format!("secret:{name}/{key}"),
            EnvValue::ConfigMap { name, key } => format!("config_map:{name}/{key}"),
        };
        key_env.insert(k.clone(), text);
    }
    let mut inputs = BTreeMap::new();
    let mut key_inputs = BTreeMap::new();
    for (k, v) in &def.inputs {
        match v.get_ref() {
            InputDef::Path(p) => {
                let full = l.pipeline.dir.join(p);
                if let Some(d) = s.digests.get(&full) {
                    key_inputs.insert(k.get_ref().clone(), d.clone());
                    inputs.insert(
                        k.get_ref().clone(),
                        Input::Path {
                            path: p.clone(),
                            digest: d.clone(),
                        },
                    );
                }
            }
            InputDef::Uri { uri, version } => {
                let identity = expand(cx, s.exprs, uri, &v.span(), &symbolic);
                key_inputs.insert(
                    k.get_ref().clone(),
                    match version {
                        Some(ver) => format!("{identity}#{ver}"),
                        None => identity,
                    },
                );
                inputs.insert(
                    k.get_ref().clone(),
                    Input::Uri {
                        uri: uri.clone(),
                        version: version.clone(),
                    },
                );
            }
        }
    }
    let components = KeyComponents {
        format: KEY_FORMAT,
        salt: l.pipeline.cache_salt.clone(),
        image: image_text.clone(),
        command: key_command,
        env: key_env,
        params: used_params,
        inputs: key_inputs,
        upstream: upstream_refs,
    };
    let key = components.key();

    // Outputs and the real expansion.
    let base = match &s.opts.artifacts_root {
        Some(root)
            if !stack.artifacts_uri.contains("://") && !stack.artifacts_uri.starts_with('/') =>
        {
            root.join(&stack.artifacts_uri)
                .to_string_lossy()
                .into_owned()
        }
        _ => stack.artifacts_uri.clone(),
    };
    let outputs: BTreeMap<String, String> = def
        .outputs
        .iter()
        .map(|o| {
            (
                o.get_ref().clone(),
                format!("{base}/{pipeline}/{name}/{key}/{}", o.get_ref()),
            )
        })
        .collect();
    let run_id = s.opts.run_id.as_deref().unwrap_or(RUN_ID_PLACEHOLDER);
    let real = scope_value(
        s.params,
        &name,
        &pipeline,
        run_id,
        outputs.clone(),
        &s.upstream,
        false,
    );
    let command: Vec<String> = command_def
        .iter()
        .map(|(t, span)| expand(cx, s.exprs, t, span, &real))
        .collect();
    let mut env = BTreeMap::new();
    for (k, (v, span)) in env_def {
        let v = match v {
            EnvValue::Literal(t) => EnvValue::Literal(expand(cx, s.exprs, &t, &span, &real)),
            other => other,
        };
        env.insert(k, v);
    }
    for (k, v) in &def.inputs {
        if let (InputDef::Uri { uri, version }, Some(Input::Uri { .. })) =
            (v.get_ref(), inputs.get(k.get_ref()))
        {
            let expanded = expand(cx, s.exprs, uri, &v.span(), &real);
            inputs.insert(
                k.get_ref().clone(),
                Input::Uri {
                    uri: expanded,
                    version: version.clone(),
                },
            );
        }
    }
    if let (Some(sv), Some(m)) = (serve.as_mut(), def.model.as_ref()) {
        sv.uri = expand(
            cx,
            s.exprs,
            m.get_ref().uri.get_ref(),
            &m.get_ref().uri.span(),
            &real,
        );
    }

    let mut depends_on: Vec<String> = s.upstream.keys().map(|k| (*k).to_owned()).collect();
    depends_on.sort();

    let mut step = Step {
        name: name.clone(),
        kind,
        object_name: String::new(),
        depends_on,
        depth: s.depth,
        image: image_text,
        command,
        env,
        replicas,
        resources,
        gpu,
        shm,
        queue,
        priority,
        node_selector,
        tolerations,
        labels,
        annotations,
        retries,
        timeout_seconds,
        expected_duration_seconds,
        ttl_after_finished_seconds,
        security: l.stack.defaults.security,
        cache: CacheInfo {
            enabled: cache_enabled,
            key,
            ttl_seconds: cache_ttl,
            components,
            status: None,
            changed: None,
        },
        outputs,
        inputs,
        pytorch,
        serve,
    };
    step.object_name = match kind {
        StepKind::Serve => names::serve_name(&pipeline, &name),
        _ => names::workload_name(&pipeline, &name, &digest_of(&(&step, &stack))),
    };
    if cx.problems.error_count() > errors_before {
        return None;
    }
    Some(step)
}

/// Builds the template scope of a step; `symbolic` leaves upstream outputs as placeholders.
fn scope_value<'a>(
    params: &'a BTreeMap<String, serde_json::Value>,
    step: &'a str,
    pipeline: &'a str,
    run_id: &'a str,
    outputs: BTreeMap<String, String>,
    upstream: &BTreeMap<&str, &Step>,
    symbolic: bool,
) -> Bindings<'a> {
    let steps = upstream
        .iter()
        .map(|(name, s)| {
            let outputs = s
                .outputs
                .iter()
                .map(|(o, uri)| {
                    (
                        o.clone(),
                        if symbolic {
                            format!("<steps.{name}.outputs.{o}>")
                        } else {
                            uri.clone()
                        },
                    )
                })
                .collect();
            ((*name).to_owned(), StepOutputs { outputs })
        })
        .collect();
    let scope = Scope {
        params,
        outputs,
        steps,
        run: RunScope { id: run_id },
        pipeline: NameScope { name: pipeline },
        step: NameScope { name: step },
    };
    Bindings::from(scope)
}

fn expand(
    cx: &mut Cx<'_>,
    exprs: &Exprs<'_>,
    text: &str,
    span: &Range<usize>,
    scope: &Bindings<'_>,
) -> String {
    if !super::expr::is_templated(text) {
        return text.to_owned();
    }
    match compiled(exprs, text).and_then(|e| e.expand(scope)) {
        Ok(s) => s,
        Err(message) => {
            cx.pipeline(ResolveError::Template {
                message,
                at: span.clone().into(),
            });
            String::new()
        }
    }
}
