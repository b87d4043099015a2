//! `mlk lineage RUN STEP.OUTPUT`: where one output of a run came from (the step, its cache
//! key, the digests of its local inputs, the upstream outputs and the runs that produced
//! them), as text or JSON. The facts are gathered by `crate::show::lineage`, the same as
//! the report's.

use clap::{Args, ValueEnum};

use super::report_cmd::unreadable;
use super::status::{find, runs_dir};
use super::{Exit, Reporter, write_stdout};
use crate::cache::store::{LocalStore, Store};
use crate::show::lineage::{Lineage, RunFacts};

/// `mlk lineage` arguments.
#[derive(Debug, Args)]
pub struct LineageArgs {
    /// Run id; `latest` is the newest.
    #[arg(value_name = "RUN")]
    pub run: String,
    /// The output, as `STEP.OUTPUT`.
    #[arg(value_name = "STEP.OUTPUT")]
    pub output: String,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub format: Format,
}

/// `mlk lineage -o`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines of text.
    Text,
    /// One JSON object (stable field names).
    Json,
}

/// The format version of the `mlk lineage -o json` document.
const JSON_VERSION: u32 = 1;

/// The `-o json` document: the version, the run asked about, then the lineage's fields.
#[derive(serde::Serialize)]
struct Doc<'a> {
    version: u32,
    of_run: &'a str,
    #[serde(flatten)]
    lineage: &'a Lineage,
}

/// Runs `mlk lineage`.
pub(super) fn run(args: &LineageArgs, reporter: &Reporter) -> Exit {
    let Some((step, output)) = args.output.split_once('.') else {
        reporter.status(&format!(
            "error: `{}` is not STEP.OUTPUT (e.g. train.model)",
            args.output
        ));
        return Exit::Invalid;
    };
    let r = match find(reporter, Some(&args.run)) {
        Ok(r) => r,
        Err(code) => return code,
    };
    let store = LocalStore::new(crate::cache::local_store_path());
    let facts = match RunFacts::gather(&runs_dir(), &r.run_id, Some(&store as &dyn Store)) {
        Ok(f) => f,
        Err(e) => return unreadable(reporter, &r.run_id, &e),
    };
    let Some(l) = facts.output(step, output) else {
        let known: Vec<String> = facts
            .lineage
            .iter()
            .map(|l| format!("{}.{}", l.step, l.output))
            .collect();
        reporter.status(&format!(
            "error: run {} has no output `{step}.{output}` (outputs: {})",
            r.run_id,
            if known.is_empty() {
                "none".into()
            } else {
                known.join(", ")
            }
        ));
        return Exit::Invalid;
    };
    match args.format {
        Format::Text => write_stdout(text(l).as_bytes()),
        Format::Json => {
            let doc = Doc {
                version: JSON_VERSION,
                of_run: &r.run_id,
                lineage: l,
            };
            let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
            text.push('\n');
            write_stdout(text.as_bytes())
        }
    }
}

/// The lineage as indented lines.
fn text(l: &Lineage) -> String {
    let none = || "-".to_owned();
    let mut out = format!("{}.{}\n", l.step, l.output);
    out.push_str(&format!("  uri:        {}\n", l.uri));
    if let Some(p) = &l.path {
        out.push_str(&format!("  path:       {p}\n"));
    }
    if let Some(n) = l.size_bytes {
        out.push_str(&format!("  size:       {n} bytes\n"));
    }
    out.push_str(&format!(
        "  run:        {}\n",
        l.run.clone().unwrap_or_else(none)
    ));
    out.push_str(&format!("  cache key:  {}\n", l.cache_key));
    for (name, digest) in &l.local_inputs {
        out.push_str(&format!("  input:      {name} {digest}\n"));
    }
    for u in &l.upstream {
        out.push_str(&format!(
            "  upstream:   {} = {}.{} (key {}, run {}){}\n",
            u.reference,
            u.step,
            u.output,
            &u.cache_key[..u.cache_key.len().min(12)],
            u.run.clone().unwrap_or_else(none),
            u.uri.as_ref().map(|x| format!(" {x}")).unwrap_or_default()
        ));
    }
    out
}
