//! The committed JSON Schemas in `schemas/` are exactly what `mlk schema FORMAT` prints, and
//! every example file names its schema on its first line. `MLK_UPDATE_SCHEMAS=1 cargo test
//! schema` rewrites them.

use crate::{files, mlk};

#[test]
fn committed_schemas_are_up_to_date() {
    let update = std::env::var_os("MLK_UPDATE_SCHEMAS").is_some_and(|v| !v.is_empty());
    let mut stale = Vec::new();
    for format in ["pipeline", "stack"] {
        let out = mlk(&["schema", format]);
        assert_eq!(out.code, 0, "mlk schema {format}: {}", out.stderr);
        let schema: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(schema["additionalProperties"], false, "{format}");
        let rel = format!("schemas/{format}.schema.json");
        if crate::stale_generated_file(&rel, &out.stdout, update) {
            stale.push(rel);
        }
    }
    assert!(
        stale.is_empty(),
        "{} differ from `mlk schema FORMAT`; regenerate them with\n\n    MLK_UPDATE_SCHEMAS=1 cargo test schema\n\nand commit the result",
        stale.join(", ")
    );
}

#[test]
fn schemas_list_the_keys_the_loader_reads() {
    let out = mlk(&["schema", "pipeline"]);
    let s: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let step = &s["properties"]["steps"]["additionalProperties"];
    assert_eq!(step["additionalProperties"], false);
    for key in [
        "kind",
        "command",
        "resources",
        "env",
        "model",
        "autoscale",
        "canary",
    ] {
        assert!(
            step["properties"][key]["description"].is_string(),
            "{key}: {step}"
        );
    }
    assert_eq!(
        step["properties"]["kind"]["enum"],
        serde_json::json!(["job", "pytorch", "serve"])
    );
    assert_eq!(
        s["properties"]["pipeline"]["required"],
        serde_json::json!(["name"])
    );

    let out = mlk(&["schema", "stack"]);
    let s: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let sharing = &s["properties"]["gpu"]["properties"]["sharing"]["enum"];
    assert_eq!(
        *sharing,
        serde_json::json!(["none", "kai", "mig", "time-slicing", "dra"])
    );
    assert_eq!(
        s["properties"]["gpu"]["properties"]["strategy"]["enum"],
        serde_json::json!(["mig", "time-slicing", "mps"])
    );
    assert!(s["properties"]["gpu"]["properties"]["types"]["additionalProperties"]["properties"]["memory"].is_object());
}

#[test]
fn every_example_names_its_schema_on_the_first_line() {
    for (dir, schema) in [
        (
            "examples/pipelines",
            "#:schema ../../schemas/pipeline.schema.json",
        ),
        (
            "examples/stacks",
            "#:schema ../../schemas/stack.schema.json",
        ),
    ] {
        for f in files(dir, ".toml") {
            let text = std::fs::read_to_string(&f).unwrap();
            assert_eq!(text.lines().next(), Some(schema), "{}", f.display());
        }
    }
}

#[test]
fn an_unknown_format_is_a_usage_error() {
    let out = mlk(&["schema", "yaml"]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stdout, "");
}
