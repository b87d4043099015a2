//! Loading: pipeline and stack files → models exactly as written, with spans.
//!
//! This is the only stage that reads user files (module `read`: regular files only, bounded,
//! UTF-8, CRLF normalised). It checks what can be checked on one file in isolation (syntax,
//! duplicate keys, unknown keys, types, quantities, durations, names, literal credentials, NUL
//! in strings) and reports every problem of a file at once, as [`LoadError`]s. Defaults,
//! references between steps and anything that needs both files are the resolver's business.
//!
//! [`schema`] runs the same decoders in schema mode to produce the JSON Schemas of both formats.

mod error;
mod pipeline;
mod read;
mod schedule;
pub mod schema;
mod stack;
pub mod toml;
mod values;

use std::path::{Path, PathBuf};

pub use error::LoadError;
pub use pipeline::looks_like_credential;
pub use pipeline::{
    AutoscaleDef, GpuAmount, InputDef, MinMax, ModelDef, ParamValue, PipelineFile, PlacementDef,
    ReplicasDef, ResourcesDef, StepDef, StepSettings, VolumeDef,
};
pub(crate) use read::kind_of;
pub use read::{MAX_FILE_BYTES, read_file};
pub use schedule::ScheduleDef;
pub use stack::{
    ArtifactsDef, CacheDef, CapacityDef, CostDef, DeviceRef, GpuDef, GpuTypeDef, LOCAL_STACK_TOML,
    MIG_TABLES, PolicyDef, PriorityDef, QueueDef, QuotaDef, SchedulerDef, StackDefaults, StackFile,
    TenantDef, TenantQuotaDef, TopologyDef, TopologyLevelDef, TrainingDef,
};

use crate::diag::{FileId, Problems, Sources};

/// A loaded pair of files plus the sources diagnostics point into.
pub struct Loaded {
    /// The pipeline as written.
    pub pipeline: PipelineFile,
    /// The stack as written.
    pub stack: StackFile,
    /// The pipeline file's id in [`Loaded::sources`].
    pub pipeline_file: FileId,
    /// The stack file's id (the built-in local stack has a generated text).
    pub stack_file: FileId,
    /// Every file read, redacted.
    pub sources: Sources,
}

/// Where to find the stack.
#[derive(Debug, Clone)]
pub enum StackRef {
    /// The built-in `local` stack.
    BuiltinLocal,
    /// A file.
    Path(PathBuf),
}

/// Reads the pipeline and stack files; on failure, every problem found in both.
pub fn load(pipeline_path: &Path, stack: &StackRef) -> Result<Loaded, Problems> {
    let mut sources = Sources::default();
    let mut problems = Problems::default();

    let pipeline_name = display_path(pipeline_path);
    let (pipeline_file, pipeline) = match read::read(pipeline_path) {
        Ok(text) => {
            let file = sources.add(pipeline_name, text);
            let (model, cx) = pipeline::decode(sources.text(file), pipeline_path);
            finish(&mut sources, &mut problems, file, cx);
            (file, model)
        }
        Err((text, e)) => {
            let file = sources.add(pipeline_name, text);
            problems.push(&sources, file, e);
            (file, None)
        }
    };

    let (stack_file, stack) = read_stack(stack, &mut sources, &mut problems);

    match (pipeline, stack) {
        (Some(pipeline), Some(stack)) if !problems.has_errors() => Ok(Loaded {
            pipeline,
            stack,
            pipeline_file,
            stack_file,
            sources,
        }),
        _ => Err(problems),
    }
}

/// Reads and decodes a stack (a file or the built-in `local`), registering its text in
/// `sources` and its problems in `problems`.
fn read_stack(
    stack: &StackRef,
    sources: &mut Sources,
    problems: &mut Problems,
) -> (FileId, Option<StackFile>) {
    match stack {
        StackRef::BuiltinLocal => {
            let file = sources.add("<built-in stack: local>", stack::LOCAL_STACK_TOML);
            let (model, cx) = stack::decode(sources.text(file), None);
            finish(sources, problems, file, cx);
            (file, model)
        }
        StackRef::Path(p) => match read::read(p) {
            Ok(text) => {
                let file = sources.add(display_path(p), text);
                let (model, cx) = stack::decode(sources.text(file), p.parent());
                finish(sources, problems, file, cx);
                (file, model)
            }
            Err((text, e)) => {
                let file = sources.add(display_path(p), text);
                problems.push(sources, file, e);
                (file, None)
            }
        },
    }
}

/// A stack file on its own (`mlk stack render|check`), with the source diagnostics point into.
pub struct LoadedStack {
    /// The stack as written.
    pub stack: StackFile,
    /// The stack file's id in [`LoadedStack::sources`].
    pub file: FileId,
    /// The file read, redacted.
    pub sources: Sources,
}

/// Reads a stack file alone; on failure, every problem found in it.
pub fn load_stack(stack: &StackRef) -> Result<LoadedStack, Problems> {
    let mut sources = Sources::default();
    let mut problems = Problems::default();
    let (file, model) = read_stack(stack, &mut sources, &mut problems);
    match model {
        Some(stack) if !problems.has_errors() => Ok(LoadedStack {
            stack,
            file,
            sources,
        }),
        _ => Err(problems),
    }
}

fn finish(sources: &mut Sources, problems: &mut Problems, file: FileId, mut cx: toml::Cx) {
    for r in cx.redact.drain(..) {
        sources.redact(file, r);
    }
    cx.errors.sort_by_key(|e| match e {
        LoadError::Syntax { at, .. }
        | LoadError::UnknownKey { at, .. }
        | LoadError::MissingKey { at, .. }
        | LoadError::WrongType { at, .. }
        | LoadError::OutOfRange { at, .. }
        | LoadError::BadQuantity { at, .. }
        | LoadError::BadDuration { at, .. }
        | LoadError::BadName { at, .. }
        | LoadError::BadValue { at, .. }
        | LoadError::LiteralSecret { at, .. }
        | LoadError::BadCron { at, .. }
        | LoadError::UnknownTimezone { at, .. }
        | LoadError::NotUtf8 { at, .. } => at.offset(),
        LoadError::Io { .. } | LoadError::NotAFile { .. } | LoadError::TooLarge { .. } => 0,
    });
    for e in cx.errors {
        problems.push(sources, file, e);
    }
}

/// A path as diagnostics show it: as given, with `/` separators on every platform.
pub fn display_path(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// Parses a TOML document, recording every syntax error.
fn parse<'i>(text: &'i str, cx: &mut toml::Cx) -> Option<::toml::Spanned<::toml::de::DeTable<'i>>> {
    let (doc, errors) = ::toml::de::DeTable::parse_recoverable(text);
    for e in &errors {
        let span = e.span().unwrap_or(0..0);
        let message = e.message().trim().to_owned();
        let help = if message.contains("duplicate key") {
            "each key may appear once per table; remove or rename one of them".to_owned()
        } else {
            "see the TOML syntax at toml.io; strings need quotes, tables start with [name]"
                .to_owned()
        };
        cx.error(LoadError::Syntax {
            message,
            help,
            at: span.into(),
        });
    }
    if errors.is_empty() { Some(doc) } else { None }
}
