//! `mlk launch` (hidden): the launcher's command line (see [`crate::launch`]). In a pod's
//! init container, `mlk launch --install PATH` copies the binary into the pod's volume; in
//! the main container, `mlk launch --store … --get URI PATH … -- COMMAND` wraps the step.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use crate::launch::{self, Spec};
use crate::store::StoreSpec;

/// `mlk launch` arguments.
#[derive(Debug, Args)]
pub struct LaunchArgs {
    /// Copy this binary to PATH and exit (what the init container does).
    #[arg(long, value_name = "PATH", conflicts_with_all = ["store", "command"])]
    pub install: Option<PathBuf>,
    /// The artifact store every address is in.
    #[arg(long, value_name = "URI", required_unless_present = "install")]
    pub store: Option<String>,
    /// S3-compatible endpoint of the store.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Region of the store.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Where a pvc:// store's claim is mounted.
    #[arg(long, value_name = "DIR")]
    pub mount: Option<PathBuf>,
    /// Fetch an address to a local path before the command.
    #[arg(long, num_args = 2, value_names = ["URI", "PATH"])]
    pub get: Vec<String>,
    /// Publish a local path to an address after the command succeeds.
    #[arg(long, num_args = 2, value_names = ["PATH", "URI"])]
    pub put: Vec<String>,
    /// After the command succeeds, check that it wrote this address itself.
    #[arg(long, value_name = "URI")]
    pub check: Vec<String>,
    /// Write the manifest here after every output.
    #[arg(long, value_name = "URI")]
    pub manifest: Option<String>,
    /// Skip the command when the manifest is already in the store (a cached step).
    #[arg(long, requires = "manifest")]
    pub skip_if_cached: bool,
    /// When the run started (RFC 3339): put its date in place of `$(MLK_RUN_DATE)`.
    #[arg(long, value_name = "TIME")]
    pub run_time: Option<String>,
    /// The time zone of the run's date (IANA name; default UTC).
    #[arg(long, value_name = "TZ", requires = "run_time")]
    pub timezone: Option<String>,
    /// The step's cache record (JSON) to write into the manifest.
    #[arg(long, value_name = "JSON", requires = "manifest")]
    pub record: Option<String>,
    /// A record older than this many seconds does not skip the command.
    #[arg(long, value_name = "SECONDS", requires = "record")]
    pub ttl: Option<u64>,
    /// Say the launcher's peak memory when it ends.
    #[arg(long)]
    pub verbose: bool,
    /// The command and its arguments.
    #[arg(
        last = true,
        value_name = "COMMAND",
        required_unless_present = "install"
    )]
    pub command: Vec<String>,
}

/// Runs `mlk launch`: the command's exit status, 3 when the store failed.
pub(super) fn run(args: LaunchArgs) -> ExitCode {
    let say = |m: &str| eprintln!("{m}");
    if let Some(dest) = &args.install {
        return match launch::install(dest) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                say(&format!(
                    "mlk launch: cannot install to {}: {e}",
                    dest.display()
                ));
                ExitCode::from(3)
            }
        };
    }
    let pairs = |v: &[String]| -> Vec<(String, String)> {
        v.chunks(2)
            .filter_map(|c| Some((c.first()?.clone(), c.get(1)?.clone())))
            .collect()
    };
    let spec = Spec {
        store: StoreSpec {
            uri: args.store.unwrap_or_default(),
            endpoint: args.endpoint,
            region: args.region,
            mount: args.mount,
        },
        get: pairs(&args.get)
            .into_iter()
            .map(|(u, p)| (u, PathBuf::from(p)))
            .collect(),
        put: pairs(&args.put)
            .into_iter()
            .map(|(p, u)| (PathBuf::from(p), u))
            .collect(),
        check: args.check,
        manifest: args.manifest,
        skip_if_cached: args.skip_if_cached,
        run_time: args.run_time,
        timezone: args.timezone,
        record: args.record,
        ttl: args.ttl,
        command: args.command,
    };
    let code = match launch::launch(&spec, &say) {
        Ok(code) => code,
        Err(e) => {
            say(&format!("mlk launch: {e}"));
            e.exit_code()
        }
    };
    if args.verbose
        && let Some(kib) = super::store_cp::peak_rss_kib()
    {
        say(&format!("mlk launch: peak memory (VmHWM): {kib} KiB"));
    }
    ExitCode::from(code)
}
