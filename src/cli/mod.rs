//! The command line: clap types, one file per subcommand, and all terminal output.
//!
//! Data goes to stdout; diagnostics, warnings and progress to stderr. Exit codes (SPEC §5):
//! 0 success, 1 a step failed or `--check` found drift, 2 invalid input, 3 cluster or I/O
//! failure.

mod check;
mod compile;
mod plan;
mod render;
mod report;

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
    /// 1: a step failed, or `--check` found drift.
    Failed = 1,
    /// 2: invalid input (usage, pipeline, stack).
    Invalid = 2,
    /// 3: cluster or I/O failure.
    Io = 3,
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
    #[arg(short = 'n', long, global = true, value_name = "NAME")]
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
    /// Show what would run: every step's kind, resources, GPUs, queue and object name.
    #[command(
        after_help = "Examples:\n  mlk plan pipeline.toml --stack prod\n  mlk plan pipeline.toml --stack prod -o json | jq '.steps[].object_name'"
    )]
    Plan(plan::PlanArgs),
    /// Validate a pipeline against a stack without writing anything.
    #[command(
        after_help = "Examples:\n  mlk check pipeline.toml\n  mlk check pipeline.toml --stack prod -p epochs=20"
    )]
    Check(check::CheckArgs),
    /// Print a shell completion script.
    #[command(
        after_help = "Examples:\n  mlk completions bash > ~/.local/share/bash-completion/completions/mlk\n  mlk completions zsh > ~/.zfunc/_mlk"
    )]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
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
}

/// Runs mlk with the process arguments.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
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
    run(cli).into()
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Exit {
    let reporter = Reporter::new(&cli.global);
    match cli.command {
        Command::Render(args) => render::run(&args, &cli.global, &reporter),
        Command::Plan(args) => plan::run(&args, &cli.global, &reporter),
        Command::Check(args) => check::run(&args, &cli.global, &reporter),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            completions(shell, &mut buf);
            write_stdout(&buf)
        }
    }
}

/// Writes the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell, out: &mut Vec<u8>) {
    clap_complete::generate(shell, &mut Cli::command(), "mlk", out);
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
