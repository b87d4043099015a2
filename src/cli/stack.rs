//! `mlk stack render|check STACK`: a stack's admin objects (Kueue flavors, queues and
//! priority classes, KAI queues, PriorityClasses), or only their checks.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::output::{Change, apply_reported, plan_dir, report_stale, unified_diff};
use super::{Exit, Reporter, write_stdout, write_stdout_parts};
use crate::compile::find_stack;
use crate::domain::SchedulerKind;
use crate::load::{StackRef, load_stack};
use crate::render::admin::render_admin;
use crate::render::stream_parts;
use crate::resolve::{AdminPlan, resolve_stack};

/// `mlk stack` subcommands.
#[derive(Debug, Subcommand)]
pub enum StackCommand {
    /// Print (or write into DIR) the stack's admin objects, for the cluster admin to apply.
    #[command(
        after_help = "Examples:\n  mlk stack render prod\n  mlk stack render stacks/prod.toml -o platform/queues/\n  mlk stack render prod -o platform/queues/ --check"
    )]
    Render(StackRenderArgs),
    /// Check a stack file on its own (syntax, queues, GPU types and sharing settings).
    #[command(after_help = "Examples:\n  mlk stack check prod\n  mlk stack check stacks/mig.toml")]
    Check(StackArg),
}

/// The stack argument.
#[derive(Debug, Args)]
pub struct StackArg {
    /// Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml) or path.
    #[arg(value_name = "STACK")]
    pub stack: String,
}

/// `mlk stack render` arguments.
#[derive(Debug, Args)]
pub struct StackRenderArgs {
    /// The stack.
    #[command(flatten)]
    pub stack: StackArg,
    /// Write `<kind>-<name>.yaml` files and a kustomization.yaml into DIR instead of stdout.
    #[arg(short = 'o', long = "output-dir", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Write nothing; exit 1 with a diff when DIR differs from what would be written.
    #[arg(long, requires = "output")]
    pub check: bool,
}

/// Finds, loads and resolves the stack `arg` names (diagnostics reported), for `mlk stack`
/// and `mlk doctor`.
pub(super) fn admin_plan(
    arg: Option<&str>,
    reporter: &Reporter,
) -> Result<(StackRef, AdminPlan), Exit> {
    let stack_ref = find_stack(arg).map_err(|d| {
        reporter.diagnostic(&d);
        Exit::Invalid
    })?;
    let loaded = load_stack(&stack_ref)
        .map_err(|problems| super::compile::fail(reporter, problems.items()))?;
    let (plan, warnings) = resolve_stack(&loaded.stack, loaded.file, &loaded.sources)
        .map_err(|problems| super::compile::fail(reporter, problems.items()))?;
    reporter.diagnostics(&warnings);
    Ok((stack_ref, plan))
}

/// Runs `mlk stack …`.
pub(super) fn run(cmd: &StackCommand, reporter: &Reporter) -> Exit {
    let (arg, render) = match cmd {
        StackCommand::Render(a) => (&a.stack, Some(a)),
        StackCommand::Check(a) => (a, None),
    };
    let (stack_ref, plan) = match admin_plan(Some(&arg.stack), reporter) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let manifests = match render_admin(&plan) {
        Ok(m) => m,
        Err(e) => {
            reporter.diagnostic(&e);
            return Exit::Invalid;
        }
    };
    let Some(args) = render else {
        reporter.status(&format!(
            "stack {} is valid: {} admin object{}",
            plan.stack,
            manifests.len(),
            if manifests.len() == 1 { "" } else { "s" }
        ));
        return Exit::Ok;
    };
    if manifests.is_empty() {
        // Nothing on stdout must not look like a render that failed silently.
        reporter.status(&format!(
            "stack {} has no admin objects to render: it defines no queues ([queues.NAME]), no priorities ([priorities]) and no [tenant]; a KAI stack's Queues, and a Kueue stack's ClusterQueues and LocalQueues, come from [queues.NAME], the namespace and its quota, access and network rules from [tenant]",
            plan.stack
        ));
    }
    let shared: Vec<String> = manifests
        .iter()
        .filter(|m| {
            m.namespace.is_none()
                && !matches!(
                    m.kind.as_str(),
                    "Namespace" | "ClusterRole" | "ClusterRoleBinding"
                )
        })
        .map(|m| format!("{} {}", m.kind, m.name))
        .collect();
    if !shared.is_empty() {
        reporter.status(&format!(
            "stack {}: cluster-scoped names are shared by every stack ({}): each carries the label {}={}, and `mlk run` warns when a queue, GPU flavor or priority class its steps use belongs to another stack",
            plan.stack,
            shared.join(", "),
            crate::labels::STACK,
            plan.stack
        ));
    }
    if plan.tenant.as_ref().is_some_and(|t| t.quota.is_none()) {
        let note = match plan.scheduler {
            SchedulerKind::Default => {
                "no ResourceQuota: add [tenant.quota] to cap the namespace's requests"
            }
            SchedulerKind::Kueue => {
                "no ResourceQuota: with Kueue, quota lives in the ClusterQueues of [queues.NAME]"
            }
            SchedulerKind::Kai => {
                "no ResourceQuota: with KAI, quota lives in the Queues of [queues.NAME]"
            }
        };
        reporter.status(&format!("stack {}: {note}", plan.stack));
    }
    let Some(dir) = &args.output else {
        return write_stdout_parts(stream_parts(&manifests).map(str::as_bytes));
    };
    let source = match &stack_ref {
        StackRef::Path(p) => p
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        StackRef::BuiltinLocal => "local".into(),
    };
    let owner = format!("stack {}", plan.stack);
    let (files, changes) = match plan_dir(dir, &manifests, &source, &owner, reporter) {
        Ok(planned) => planned,
        Err(code) => return code,
    };
    if args.check {
        if changes.is_empty() {
            reporter.status(&format!("{} is up to date", dir.display()));
            return Exit::Ok;
        }
        let code = write_stdout(unified_diff(dir, &changes).as_bytes());
        report_stale(dir, &changes, false, reporter);
        reporter.status(&format!(
            "{} is out of date; run `mlk stack render {} -o {}`",
            dir.display(),
            arg.stack,
            dir.display()
        ));
        return if code == Exit::Ok { Exit::Failed } else { code };
    }
    if let Err(code) = apply_reported(dir, &changes, reporter) {
        return code;
    }
    let changed = changes
        .iter()
        .filter(|c| matches!(c, Change::Add { .. } | Change::Modify { .. }))
        .count();
    reporter.status(&format!(
        "wrote {}: {} files, {changed} changed",
        dir.display(),
        files.len()
    ));
    Exit::Ok
}
