//! Every pair of `examples/matrix.txt`: `render` and `plan -o json` snapshots, plus one `plan`
//! table.

use crate::{Pair, files, matrix, mlk, snapshots};

#[test]
fn every_example_pair_renders() {
    for pair in matrix() {
        let yaml = pair.render();
        snapshots().bind(|| {
            insta::assert_snapshot!(format!("examples__{}__{}", pair.pipeline, pair.stack), yaml);
        });
    }
}

#[test]
fn every_example_pair_plans_as_json() {
    for pair in matrix() {
        let stdout = pair.plan_json();
        snapshots().bind(|| {
            insta::assert_snapshot!(
                format!("plan_json__{}__{}", pair.pipeline, pair.stack),
                stdout
            );
        });
    }
}

#[test]
fn plan_table() {
    let pair = Pair {
        pipeline: "fraud-detection".into(),
        stack: "prod".into(),
    };
    let out = mlk(&["plan", &pair.pipeline_path(), "--stack", &pair.stack_path()]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    snapshots().bind(|| {
        insta::assert_snapshot!(
            "plan_table__fraud-detection__prod",
            format!("{}--- stderr\n{}", out.stdout, out.stderr)
        );
    });
}

/// A new example file that matrix.txt does not mention would never be tested.
#[test]
fn matrix_names_every_example_and_only_existing_files() {
    let pairs = matrix();
    for p in &pairs {
        assert!(
            crate::root().join(p.pipeline_path()).is_file(),
            "matrix.txt names a missing pipeline: {}",
            p.pipeline_path()
        );
        assert!(
            crate::root().join(p.stack_path()).is_file(),
            "matrix.txt names a missing stack: {}",
            p.stack_path()
        );
    }
    for dir in ["examples/pipelines", "examples/stacks"] {
        for f in files(dir, ".toml") {
            let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
            assert!(
                pairs.iter().any(|p| p.pipeline == stem || p.stack == stem),
                "{} is not used by any line of examples/matrix.txt",
                f.display()
            );
        }
    }
}
