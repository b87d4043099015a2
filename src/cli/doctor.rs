//! `mlk doctor [--stack S]`: whether a stack can run on the cluster it points at, per
//! requirement `ok`, `missing`, `outdated` (or `unknown` when it cannot be read), with what
//! to do. Exit 0 when the stack can run, 1 when something it needs is missing or outdated,
//! 2 for a bad stack, 3 when the cluster cannot be reached.

use clap::{Args, ValueEnum};

use super::{Exit, Global, Reporter, write_stdout};
use crate::cluster::{Check, Cluster, Status, can_run, doctor};
use crate::domain::Backend;

/// `mlk doctor` arguments.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml) or path.
    #[arg(long, short = 's', env = "MLK_STACK", value_name = "STACK")]
    pub stack: Option<String>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `mlk doctor -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line per requirement, and what to do.
    Text,
    /// `{stack, server, namespace, can_run, checks: [{area, what, status, detail, fix, required}]}`.
    Json,
}

/// Runs `mlk doctor`.
pub(super) fn run(args: &DoctorArgs, global: &Global, reporter: &Reporter) -> Exit {
    let plan = match super::stack::admin_plan(args.stack.as_deref(), reporter) {
        Ok((_, plan)) => plan,
        Err(code) => return code,
    };
    if plan.backend == Backend::Local {
        reporter.status(&format!(
            "stack {} runs steps on this machine: there is no cluster to check; name a kubernetes stack with --stack",
            plan.stack
        ));
        return Exit::Invalid;
    }
    let target = crate::cluster::Target {
        kubeconfig: global.kubeconfig.clone(),
        context: global.context.clone().or_else(|| plan.context.clone()),
        namespace: Some(
            global
                .namespace
                .clone()
                .unwrap_or_else(|| plan.namespace.clone()),
        ),
    };
    let checked = Cluster::connect(&target).and_then(|c| Ok((doctor(&c, &plan)?, c)));
    let (checks, cluster) = match checked {
        Ok(found) => found,
        Err(e) => {
            reporter.diagnostic(&e);
            return Exit::Io;
        }
    };
    let ok = can_run(&checks);
    let code = match args.format {
        Format::Json => {
            let doc = serde_json::json!({
                "stack": plan.stack,
                "server": cluster.server,
                "namespace": cluster.namespace,
                "can_run": ok,
                "checks": checks,
            });
            let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            text.push('\n');
            write_stdout(text.as_bytes())
        }
        Format::Text => write_stdout(text(&checks).as_bytes()),
    };
    if code != Exit::Ok {
        return code;
    }
    let failing = checks
        .iter()
        .filter(|c| c.required && matches!(c.status, Status::Missing | Status::Outdated))
        .count();
    if ok {
        reporter.status(&format!(
            "stack {} can run on {} (namespace {})",
            plan.stack, cluster.server, cluster.namespace
        ));
        Exit::Ok
    } else {
        reporter.status(&format!(
            "stack {} cannot run on {} (namespace {}): {failing} requirement{} missing or outdated",
            plan.stack,
            cluster.server,
            cluster.namespace,
            if failing == 1 { " is" } else { "s are" }
        ));
        Exit::Failed
    }
}

/// One line per check (`status  area  what: detail`), then `  → fix` under those not ok.
fn text(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        let status = match c.status {
            Status::Ok => "ok",
            Status::Missing => "missing",
            Status::Outdated => "outdated",
            Status::Unknown => "unknown",
        };
        let optional = if c.required { "" } else { " (optional)" };
        out.push_str(&format!(
            "{status:<9} {:<13} {}: {}{optional}\n",
            c.area, c.what, c.detail
        ));
        if let Some(fix) = &c.fix {
            out.push_str(&format!("{:<24}→ {fix}\n", ""));
        }
    }
    out
}
