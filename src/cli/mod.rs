//! The command line: clap types, one file per subcommand, and all terminal output.
//!
//! Data goes to stdout; diagnostics, warnings and progress to stderr. Exit codes (SPEC §5):
//! 0 success, 1 a step failed or `--check` found drift, 2 invalid input, 3 cluster or I/O
//! failure.

mod cache;
mod check;
mod compile;
mod detach;
mod doctor;
mod hash_progress;
mod init;
mod launch;
mod lifecycle;
mod lineage;
mod logs;
mod man;
mod output;
mod plan;
mod push;
mod render;
mod report;
mod report_cmd;
mod run;
mod run_cluster;
mod run_engine;
mod run_progress;
mod schema;
mod stack;
mod status;
mod store_cp;
mod table;
mod wait;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

pub use report::Reporter;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: success.
    Ok = 0,
    /// 1: a step failed, `--check` found drift, or `mlk doctor` found a requirement missing.
    Failed = 1,
    /// 2: invalid input (usage, pipeline, stack).
    Invalid = 2,
    /// 3: cluster or I/O failure.
    Io = 3,
    /// 130: interrupted by Ctrl-C (128 + SIGINT, the shell convention).
    Interrupted = 130,
}

impl From<&crate::store::StoreError> for Exit {
    /// 2 for what the user wrote (an address, a scheme), 3 for what the store answered.
    fn from(e: &crate::store::StoreError) -> Exit {
        if e.exit_code() == 2 {
            Exit::Invalid
        } else {
            Exit::Io
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e as u8)
    }
}

/// Compile ML pipelines into Kubernetes manifests, and run them.
#[derive(Debug, Parser)]
#[command(name = "mlk", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: Global,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes (kubectl's names where they overlap).
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// kubeconfig context to use (default: the stack's `context`, then the current context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace of every object, instead of the stack's.
    #[arg(short = 'n', long, global = true, value_name = "NAME", value_parser = parse_namespace)]
    pub namespace: Option<String>,
    /// When to use colours.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more about what mlk does.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

impl Global {
    /// The cluster the flags name, as kubectl reads them (the kubeconfig's current context
    /// and its namespace when they name none).
    pub fn target(&self) -> crate::cluster::Target {
        crate::cluster::Target {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone(),
            namespace: self.namespace.clone(),
        }
    }

    /// The cluster of a stack: its context unless `--context` names another, and its
    /// namespace (which `-n` has already replaced when given).
    pub fn stack_target(&self, stack: &crate::resolve::StackInfo) -> crate::cluster::Target {
        self.target_in(stack.context.as_deref(), &stack.namespace)
    }

    /// The cluster of a stack's `context` and `namespace`, `--context` first.
    pub fn target_in(&self, context: Option<&str>, namespace: &str) -> crate::cluster::Target {
        crate::cluster::Target {
            kubeconfig: self.kubeconfig.clone(),
            context: self.context.clone().or_else(|| context.map(str::to_owned)),
            namespace: Some(namespace.to_owned()),
        }
    }
}

/// Checks `-n` / `--namespace` for every command before any runs: a namespace is a DNS-1123
/// label. clap reports a refusal as a usage error (exit 2, with a pointer to `--help`).
fn parse_namespace(value: &str) -> Result<String, String> {
    if crate::names::is_dns1123_label(value) {
        return Ok(value.to_owned());
    }
    Err(format!(
        "{}\n\n  help: namespaces are DNS-1123 labels: lowercase letters, digits and '-', \
         starting and ending with a letter or digit, at most 63 characters",
        crate::names::explain_dns1123_label(value)
    ))
}

/// Quotes a word for a POSIX shell when it needs it.
fn quote(w: &str) -> String {
    let plain = !w.is_empty()
        && w.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        w.to_owned()
    } else {
        format!("'{}'", w.replace('\'', r"'\''"))
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Render Kubernetes manifests for a pipeline on a stack.
    #[command(
        after_help = "Examples:\n  mlk render pipeline.toml --stack prod\n  mlk render pipeline.toml --stack prod -o deploy/\n  mlk render pipeline.toml --stack prod -o deploy/ --check   # in CI: exit 1 on drift"
    )]
    Render(render::RenderArgs),
    /// Store a pipeline's local inputs in the stack's artifact store, by content.
    #[command(
        after_help = "Examples:\n  mlk push pipeline.toml --stack prod            # before the rendered manifests are applied\n  mlk push pipeline.toml --stack prod --check    # in CI: exit 1 when an input is not stored"
    )]
    Push(push::PushArgs),
    /// Show what would run: every step's kind, resources, GPUs, queue and object name.
    #[command(
        after_help = "Examples:\n  mlk plan pipeline.toml --stack prod\n  mlk plan pipeline.toml --stack prod -o json | jq '.steps[].object_name'\n  mlk plan pipeline.toml -o mermaid    # the DAG, for a README or a pull request\n  mlk plan pipeline.toml -o dot | dot -Tsvg > dag.svg"
    )]
    Plan(plan::PlanArgs),
    /// Validate a pipeline against a stack without writing anything.
    #[command(
        after_help = "Examples:\n  mlk check pipeline.toml\n  mlk check pipeline.toml --stack prod -p epochs=20"
    )]
    Check(check::CheckArgs),
    /// List, explain and clear cache records.
    #[command(
        after_help = "Examples:\n  mlk cache ls\n  mlk cache explain pipeline.toml train --stack dev\n  mlk cache clear train"
    )]
    Cache(cache::CacheArgs),
    /// Run a pipeline: independent steps in parallel, cached steps skipped.
    #[command(
        after_help = "Examples:\n  mlk run pipeline.toml\n  mlk run pipeline.toml -p epochs=20 --jobs 4\n  mlk run pipeline.toml --from train      # resume at train\n  mlk run pipeline.toml --dry-run         # what would run, what is cached\n  mlk run pipeline.toml --stack prod --detach   # print the run id, go on in the background\n\nCtrl-C stops starting steps and waits for running ones; a second Ctrl-C terminates them.\nExit codes: 0 ok, 1 a step failed, 2 invalid input, 3 cluster or I/O failure, 130 interrupted."
    )]
    Run(run::RunArgs),
    /// Show a run's steps from its local record (latest by default), or from the cluster.
    #[command(
        after_help = "Examples:\n  mlk status\n  mlk status 20261121-084500-1a2b -o json\n  mlk status 20261121-084500-1a2b --cluster -n ml-dev"
    )]
    Status(status::StatusArgs),
    /// Stop a run going on here, and delete a cluster run's objects (by label).
    #[command(
        after_help = "Examples:\n  mlk delete 20261121-084500-1a2b\n  mlk delete 20261121-084500-1a2b -n ml-dev   # a cluster run started elsewhere"
    )]
    Delete(lifecycle::DeleteArgs),
    /// Print the logs of a run: stored ones of a local run, or its pods' in the cluster.
    #[command(
        after_help = "Examples:\n  mlk logs latest\n  mlk logs 20261121-084500-1a2b train\n  mlk logs 20261121-084500-1a2b -f             # follow it until it ends\n  mlk logs 20261121-084500-1a2b -f -n ml-dev   # a cluster run started elsewhere"
    )]
    Logs(logs::LogsArgs),
    /// Write a run's HTML report: DAG, timeline, cache, outputs, lineage, log tails.
    #[command(
        after_help = "Examples:\n  mlk report -o report.html\n  mlk report 20261121-084500-1a2b -o report.html\n\nEvery `mlk run` also writes it to .mlk/runs/RUN/report.html when it ends."
    )]
    Report(report_cmd::ReportArgs),
    /// Show where an output of a run came from: step, cache key, inputs, upstream runs.
    #[command(
        after_help = "Examples:\n  mlk lineage latest train.model\n  mlk lineage 20261121-084500-1a2b evaluate.metrics -o json"
    )]
    Lineage(lineage::LineageArgs),
    /// A stack's admin objects: its tenant namespace, queues, flavors, priority classes.
    #[command(
        subcommand,
        after_help = "Examples:\n  mlk stack check prod\n  mlk stack render prod -o platform/queues/"
    )]
    Stack(stack::StackCommand),
    /// Check that a stack can run on its cluster: operators, GPUs, queues, permissions.
    #[command(
        after_help = "Examples:\n  mlk doctor --stack prod\n  mlk doctor --stack prod -o json | jq '.checks[] | select(.status != \"ok\")'\n\nExit codes: 0 the stack can run, 1 something it needs is missing or outdated, 2 invalid stack, 3 cluster unreachable."
    )]
    Doctor(doctor::DoctorArgs),
    /// Create a pipeline and its stacks to start from.
    #[command(
        after_help = "Examples:\n  mlk init\n  mlk init fraud --template train-serve\n  mlk init . --force        # overwrite pipeline.toml and stacks/"
    )]
    Init(init::InitArgs),
    /// Write manual pages (roff): the top page to stdout, or every page into DIR.
    #[command(after_help = "Examples:\n  mlk man | man -l -\n  mlk man /usr/local/share/man/man1")]
    Man(man::ManArgs),
    /// Print the JSON Schema of pipeline or stack files, for editors.
    #[command(
        after_help = "Examples:\n  mlk schema pipeline > schemas/pipeline.schema.json\n  mlk schema stack > schemas/stack.schema.json\n\nThen put `#:schema ./schemas/pipeline.schema.json` on the first line of a pipeline file\n(Taplo / Even Better TOML), or associate files in .taplo.toml."
    )]
    Schema(schema::SchemaArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  mlk completions bash > ~/.local/share/bash-completion/completions/mlk\n  mlk completions zsh > ~/.zfunc/_mlk"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Copy a file or directory to or from an artifact store (for developers and benchmarks).
    #[command(name = "store-cp", hide = true)]
    StoreCp(store_cp::StoreCpArgs),
    /// Move a step's inputs and outputs around its command (the launcher, inside pods).
    #[command(hide = true)]
    Launch(launch::LaunchArgs),
    /// Wait for one workload until mlk's rules say it succeeded or failed (an engine's task).
    #[command(hide = true)]
    Wait(wait::WaitArgs),
}

/// Pipeline and stack selection shared by render, plan and check.
#[derive(Debug, Args, Clone)]
pub struct Inputs {
    /// The pipeline file.
    #[arg(value_name = "PIPELINE")]
    pub pipeline: PathBuf,
    /// Stack name (stacks/NAME.toml, .mlk/stacks/NAME.toml, or the built-in `local`) or path.
    #[arg(long, short = 's', env = "MLK_STACK", value_name = "STACK")]
    pub stack: Option<String>,
    /// Override a pipeline parameter (repeatable).
    #[arg(short = 'p', long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// The date `{{ run.date }}` reads (a backfill); default: the day the run starts, in the
    /// pipeline's time zone.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = run_date)]
    pub run_date: Option<String>,
}

/// A `--run-date` value: a real day written `YYYY-MM-DD`.
fn run_date(s: &str) -> Result<String, String> {
    if crate::resolve::run_date::valid_date(s) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "`{s}` is not a day written YYYY-MM-DD (e.g. 2026-12-06)"
        ))
    }
}

impl Inputs {
    /// Resolution options for compiling without running: the `-p` overrides, and
    /// `{{ run.date }}` as `--run-date` gives it, else as a run started now would see it.
    pub fn options(&self) -> crate::resolve::Options {
        crate::resolve::Options {
            params: self.params.clone(),
            run_date: self.run_date_or(crate::resolve::RunDate::Of(jiff::Timestamp::now())),
            ..Default::default()
        }
    }

    /// `{{ run.date }}`: `--run-date` when given, else `otherwise`.
    pub fn run_date_or(&self, otherwise: crate::resolve::RunDate) -> crate::resolve::RunDate {
        match &self.run_date {
            Some(d) => crate::resolve::RunDate::Given(d.clone()),
            None => otherwise,
        }
    }

    /// The shell command line `mlk COMMAND PIPELINE [--stack S] [-p K=V]… EXTRA…` that
    /// repeats these inputs, each word quoted for a POSIX shell when it needs it.
    pub(crate) fn command_line(&self, command: &str, extra: &[&str]) -> String {
        let mut words = vec![
            "mlk".to_owned(),
            command.to_owned(),
            self.pipeline.display().to_string(),
        ];
        if let Some(s) = &self.stack {
            words.extend(["--stack".into(), s.clone()]);
        }
        for p in &self.params {
            words.extend(["-p".into(), p.clone()]);
        }
        if let Some(d) = &self.run_date {
            words.extend(["--run-date".into(), d.clone()]);
        }
        words.extend(extra.iter().map(|w| (*w).to_owned()));
        words.iter().map(|w| quote(w)).collect::<Vec<_>>().join(" ")
    }
}

/// Runs mlk with the process arguments.
pub fn main() -> ExitCode {
    // clap prints help and usage errors before `--color` is parsed, so apply it up front.
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let parsed = Cli::command()
        .color(clap_color(&args))
        .try_get_matches_from(&args)
        .and_then(|m| <Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::Invalid
            } else {
                Exit::Ok
            };
            let _ = e.print();
            return code.into();
        }
    };
    if let Command::Launch(args) = cli.command {
        // The command's own exit status, not one of mlk's.
        return launch::run(args);
    }
    run(cli).into()
}

/// The colour clap should use for help and usage errors: `--color` if given, else none when
/// `NO_COLOR` is set, else automatic.
fn clap_color(args: &[std::ffi::OsString]) -> clap::ColorChoice {
    let mut choice = None;
    let mut iter = args.iter().filter_map(|a| a.to_str());
    while let Some(a) = iter.next() {
        let value = match a.strip_prefix("--color=") {
            Some(v) => Some(v),
            None if a == "--color" => iter.next(),
            None => None,
        };
        match value {
            Some("never") => choice = Some(clap::ColorChoice::Never),
            Some("always") => choice = Some(clap::ColorChoice::Always),
            Some("auto") => choice = Some(clap::ColorChoice::Auto),
            _ => {}
        }
    }
    choice.unwrap_or_else(|| {
        if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
            clap::ColorChoice::Never
        } else {
            clap::ColorChoice::Auto
        }
    })
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Exit {
    let reporter = Reporter::new(&cli.global);
    let quiet = cli.global.quiet;
    crate::cluster::on_slow_answer(Box::new(move |line| {
        if !quiet {
            eprintln!("{line}");
        }
    }));
    match cli.command {
        Command::Render(args) => render::run(&args, &cli.global, &reporter.without_advice()),
        Command::Plan(args) => plan::run(&args, &cli.global, &reporter),
        Command::Check(args) => check::run(&args, &cli.global, &reporter),
        Command::Cache(args) => cache::run(&args, &cli.global, &reporter),
        Command::Run(args) => run::run(&args, &cli.global, &reporter),
        Command::Status(args) if args.cluster => match &args.run {
            Some(run) => lifecycle::status(run, &cli.global, &reporter),
            None => {
                reporter.status("error: --cluster needs a RUN id");
                Exit::Invalid
            }
        },
        Command::Status(args) => status::status(&args, &reporter),
        Command::Delete(args) => lifecycle::delete(&args, &cli.global, &reporter),
        Command::Logs(args) => logs::logs(&args, &cli.global, &reporter),
        Command::Report(args) => report_cmd::run(&args, &reporter),
        Command::Lineage(args) => lineage::run(&args, &reporter),
        Command::Stack(cmd) => stack::run(&cmd, &reporter),
        Command::Doctor(args) => doctor::run(&args, &cli.global, &reporter),
        Command::Init(args) => init::run(&args, &reporter),
        Command::Man(args) => man::run(&args, &reporter),
        Command::Schema(args) => schema::run(&args, &reporter),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            completions(shell, &mut buf);
            write_stdout(&buf)
        }
        Command::Push(args) => push::run(&args, &cli.global, &reporter),
        Command::StoreCp(args) => store_cp::run(&args, &reporter),
        Command::Launch(_) => Exit::Invalid,
        Command::Wait(args) => wait::run(&args, &cli.global, &reporter),
    }
}

/// Writes the completion script for `shell`, without the hidden developer commands.
pub fn completions(shell: clap_complete::Shell, out: &mut Vec<u8>) {
    clap_complete::generate(shell, &mut without_hidden(Cli::command()), "mlk", out);
}

/// `cmd` without its hidden subcommands (clap_complete lists them; clap cannot remove one, so
/// the top command is built again with the same settings and arguments).
fn without_hidden(cmd: clap::Command) -> clap::Command {
    let shown: Vec<clap::Command> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .cloned()
        .collect();
    let mut top = clap::Command::new("mlk")
        .version(env!("CARGO_PKG_VERSION"))
        .about(cmd.get_about().cloned().unwrap_or_default())
        .propagate_version(true)
        .subcommand_required(cmd.is_subcommand_required_set())
        .subcommands(shown);
    for arg in cmd.get_arguments() {
        top = top.arg(arg.clone());
    }
    top
}

/// Writes data to stdout; a closed pipe (`mlk render | head`) is not an error.
pub(crate) fn write_stdout(bytes: &[u8]) -> Exit {
    write_stdout_parts([bytes])
}

/// Writes data given in pieces to stdout through one buffer, so that large output is neither
/// joined in memory first nor written one line at a time; a closed pipe is not an error.
pub(crate) fn write_stdout_parts<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Exit {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let written = parts
        .into_iter()
        .try_for_each(|p| out.write_all(p))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => Exit::Ok,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok,
        Err(_) => Exit::Io,
    }
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn quoting() {
        assert_eq!(quote("examples/a.toml"), "examples/a.toml");
        assert_eq!(quote("day=2026-11-01"), "day=2026-11-01");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
