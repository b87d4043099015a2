//! Test support: resolving a pipeline and a stack given as text, through `load` and `resolve`.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::{InputDigests, Options, Plan, resolve};
use crate::diag::Located;
use crate::load::{StackRef, load};

static N: AtomicUsize = AtomicUsize::new(0);

/// The plan of `pipeline` on `stack`, or every problem found.
pub(crate) fn resolve_texts(stack: &str, pipeline: &str) -> Result<Plan, Vec<Located>> {
    let dir = std::env::temp_dir().join(format!(
        "mlk-resolve-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    ));
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text);
    let written = std::fs::create_dir_all(&dir)
        .and_then(|()| write("stack.toml", stack))
        .and_then(|()| write("pipeline.toml", pipeline));
    assert!(written.is_ok(), "cannot write to {}", dir.display());
    let out = load(
        &dir.join("pipeline.toml"),
        &StackRef::Path(dir.join("stack.toml")),
    )
    .and_then(|l| resolve(&l, &Options::default(), &InputDigests::new()))
    .map(|r| r.plan)
    .map_err(|p| p.into_iter().collect());
    let _ = std::fs::remove_dir_all(&dir);
    out
}

/// The codes of the errors (not warnings) among `problems`.
pub(crate) fn error_codes(problems: &[Located]) -> Vec<String> {
    problems
        .iter()
        .filter(|d| d.is_error())
        .map(Located::code)
        .collect()
}
