//! Loading: pipeline and stack files → models exactly as written, with spans.
//!
//! This is the only stage that reads user files ([`read`]: regular files only, bounded, UTF-8,
//! CRLF normalised). It checks what can be checked on one file in
//! isolation (syntax, duplicate keys, unknown keys, types, quantities, durations, names,
//! literal credentials) and reports every problem of a file at once. Defaults, references
//! between steps and anything that needs both files are the resolver's business.
//!
//! [`schema`] runs the same decoders in schema mode to produce the JSON Schemas of both formats.

mod pipeline;
mod read;
pub mod schema;
mod stack;
pub mod toml;
mod values;

use std::path::{Path, PathBuf};

use miette::{Diagnostic, SourceSpan};
use thiserror::Error;

pub use pipeline::looks_like_credential;
pub use pipeline::{
    AutoscaleDef, GpuAmount, InputDef, MinMax, ModelDef, ParamValue, PipelineFile, ReplicasDef,
    ResourcesDef, StepDef, StepSettings,
};
pub use read::MAX_FILE_BYTES;
pub use stack::{
    ArtifactsDef, CacheDef, CostDef, GpuDef, GpuTypeDef, LOCAL_STACK_TOML, MIG_TABLES, PolicyDef,
    PriorityDef, QueueDef, QuotaDef, SchedulerDef, StackDefaults, StackFile, TrainingDef,
};

use crate::diag::{FileId, Problems, Sources};

/// A problem in a pipeline or stack file.
#[derive(Debug, Error, Diagnostic)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {message}")]
    #[diagnostic(code(mlk::load::io), help("check the path and its permissions"))]
    Io {
        /// The path as given.
        path: String,
        /// What the operating system said.
        message: String,
        /// Whether the file does not exist (invalid input) rather than being unreadable.
        not_found: bool,
    },

    /// The path names something other than a regular file (a FIFO, a device, a directory).
    #[error("{path} is {kind}, not a regular file")]
    #[diagnostic(
        code(mlk::load::not_a_file),
        help("pass the path of a TOML file; mlk does not read pipes, devices or directories")
    )]
    NotAFile {
        /// The path as given.
        path: String,
        /// What it is instead ("a FIFO (named pipe)", "a directory", …).
        kind: &'static str,
    },

    /// The file is larger than any pipeline or stack should be.
    #[error("{path} is larger than {limit_mib} MiB")]
    #[diagnostic(
        code(mlk::load::too_large),
        help("check the path: pipeline and stack files are small TOML files")
    )]
    TooLarge {
        /// The path as given.
        path: String,
        /// The limit, in MiB.
        limit_mib: u64,
    },

    /// The file is not UTF-8 text.
    #[error("the file is not UTF-8: byte {byte} cannot start or continue a character")]
    #[diagnostic(
        code(mlk::load::encoding),
        help("TOML files are UTF-8; convert it (for example `iconv -f latin1 -t utf-8`)")
    )]
    NotUtf8 {
        /// The first invalid byte, as `0xE9`.
        byte: String,
        /// Where.
        #[label("not UTF-8")]
        at: SourceSpan,
    },

    /// TOML syntax error, including duplicate keys.
    #[error("{message}")]
    #[diagnostic(code(mlk::load::syntax), help("{help}"))]
    Syntax {
        /// The parser's message.
        message: String,
        /// How to fix it.
        help: String,
        /// Where.
        #[label("here")]
        at: SourceSpan,
    },

    /// A key the format does not define.
    #[error("unknown key `{key}` in {table}")]
    #[diagnostic(code(mlk::load::unknown_key), help("{help}"))]
    UnknownKey {
        /// The key as written.
        key: String,
        /// The table it is in.
        table: String,
        /// A "did you mean" hint or the list of known keys.
        help: String,
        /// The key.
        #[label("unknown key")]
        at: SourceSpan,
    },

    /// A required key is missing.
    #[error("{table} needs `{key}`")]
    #[diagnostic(
        code(mlk::load::missing_key),
        help("add `{key} = …` ({expected}) to {table}")
    )]
    MissingKey {
        /// The missing key.
        key: &'static str,
        /// The table that needs it.
        table: String,
        /// What its value looks like.
        expected: String,
        /// The table.
        #[label("in this table")]
        at: SourceSpan,
    },

    /// A value of the wrong TOML type.
    #[error("expected {expected}, found {found}")]
    #[diagnostic(code(mlk::load::wrong_type), help("write {expected} here"))]
    WrongType {
        /// What the format wants.
        expected: String,
        /// What was written.
        found: String,
        /// The value.
        #[label("{found}")]
        at: SourceSpan,
    },

    /// A number that does not fit.
    #[error("this {what} is out of range")]
    #[diagnostic(code(mlk::load::out_of_range), help("use a smaller {what}"))]
    OutOfRange {
        /// "integer" or "number".
        what: String,
        /// The value.
        #[label("out of range")]
        at: SourceSpan,
    },

    /// Not a Kubernetes resource quantity.
    #[error("{message}")]
    #[diagnostic(code(mlk::load::quantity), help("{help}"))]
    BadQuantity {
        /// What is wrong.
        message: String,
        /// How to write it.
        help: String,
        /// The value.
        #[label("not a Kubernetes quantity")]
        at: SourceSpan,
    },

    /// Not a duration.
    #[error("{message}")]
    #[diagnostic(code(mlk::load::duration), help("{help}"))]
    BadDuration {
        /// What is wrong.
        message: String,
        /// How to write it.
        help: String,
        /// The value.
        #[label("not a duration")]
        at: SourceSpan,
    },

    /// A name that Kubernetes would reject.
    #[error("{what} `{value}` is not a valid name: {reason}")]
    #[diagnostic(
        code(mlk::load::name),
        help(
            "names are DNS-1123 labels: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters"
        )
    )]
    BadName {
        /// What is being named ("step name", "pipeline name").
        what: &'static str,
        /// The name as written.
        value: String,
        /// Why it is not valid.
        reason: String,
        /// The name.
        #[label("invalid name")]
        at: SourceSpan,
    },

    /// A value outside the allowed set or range.
    #[error("{message}")]
    #[diagnostic(code(mlk::load::value), help("{help}"))]
    BadValue {
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
        /// The value.
        #[label("{label}")]
        at: SourceSpan,
        /// Short label text.
        label: String,
    },

    /// A literal value in an environment variable whose name looks like a credential.
    #[error("`{name}` looks like a credential but its value is written in the file")]
    #[diagnostic(
        code(mlk::load::literal_secret),
        help(
            "never put secrets in pipeline files; reference a Kubernetes Secret instead:\n    {name} = {{ secret = \"<secret-name>\", key = \"<key>\" }}"
        )
    )]
    LiteralSecret {
        /// The variable name.
        name: String,
        /// The variable's key (the value itself is redacted and never shown).
        #[label("use a secret reference")]
        at: SourceSpan,
    },
}

impl LoadError {
    /// Whether the problem is the environment's (exit 3) rather than the input's (exit 2).
    pub fn is_io(&self) -> bool {
        matches!(
            self,
            LoadError::Io {
                not_found: false,
                ..
            }
        )
    }

    /// A value-range problem with a label, a message and a fix.
    pub fn value(
        at: std::ops::Range<usize>,
        label: &str,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Self {
        LoadError::BadValue {
            message: message.into(),
            help: help.into(),
            at: at.into(),
            label: label.into(),
        }
    }
}

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
