//! Hand-written examples: round trips of the tricky strings, what is quoted, exact escapes,
//! a pinned Job document, numbers, long keys and errors.

use serde_yaml::{Mapping, Value};

use super::{TRICKY, assert_plain_scalars_are_strings, implicit_type, mapping, parse, string};
use crate::render::yaml::{EmitError, emit_document, emit_documents};

#[test]
fn tricky_strings_round_trip_as_values_keys_items_and_documents() {
    for &s in TRICKY {
        let docs = [
            string(s),
            mapping(&[("k", string(s))]),
            mapping(&[(s, string("v"))]),
            Value::Sequence(vec![string(s), mapping(&[(s, string(s))])]),
        ];
        for doc in docs {
            let text = emit_document(&doc).unwrap();
            assert_eq!(parse(&text), doc, "emitted as {text:?}");
            assert!(text.ends_with('\n') && !text.ends_with("\n\n"), "{text:?}");
            assert_plain_scalars_are_strings(&text);
        }
    }
}

#[test]
fn only_safe_strings_are_plain() {
    #[rustfmt::skip]
    let plain = [
        "app.kubernetes.io/name", "nvidia.com/gpu", "gpu-fraction", "_", "/", "a", "x1",
        "batch/v1", "Never", "inf", "NaN", "yess", "nope", "100m", "16Gi", "4G", "0.5Gi", "1E",
        "0755m",
    ];
    for s in plain {
        assert_eq!(emit_document(&string(s)).unwrap(), format!("{s}\n"));
        assert_eq!(
            emit_document(&mapping(&[(s, string(s))])).unwrap(),
            format!("{s}: {s}\n")
        );
    }
    #[rustfmt::skip]
    let quoted = [
        "0xA", "1e3", "1E3", "2", "0.25", "on", "yES", "~", "-x", "1.Gi", ".5Gi", "1_0m",
    ];
    for s in TRICKY.iter().chain(&quoted) {
        let text = emit_document(&string(s)).unwrap();
        assert!(
            text.starts_with('"'),
            "{s:?} should be quoted, got {text:?}"
        );
    }
}

#[test]
fn escapes_are_exact() {
    let cases = [
        ("", r#""""#),
        ("a\\b\"c", r#""a\\b\"c""#),
        ("\n\t\r\0", r#""\n\t\r\0""#),
        (
            "\u{1}\u{1f}\u{7f}\u{80}\u{85}\u{9f}",
            r#""\x01\x1F\x7F\x80\x85\x9F""#,
        ),
        (
            "\u{2028}\u{2029}\u{feff}\u{fffe}\u{ffff}",
            r#""\u2028\u2029\uFEFF\uFFFE\uFFFF""#,
        ),
        ("é日本🎉\u{a0}\u{10ffff}", "\"é日本🎉\u{a0}\u{10ffff}\""),
        (" lead", r#"" lead""#),
    ];
    for (input, expected) in cases {
        assert_eq!(
            emit_document(&string(input)).unwrap(),
            format!("{expected}\n")
        );
    }
}

#[test]
fn job_document_is_pinned() {
    let input = r#"
apiVersion: batch/v1
kind: Job
metadata:
  name: train-resnet
  labels:
    nvidia.com/gpu: "1"
    mlk.dev/step: "on"
    app.kubernetes.io/name: train
  annotations: {}
spec:
  backoffLimit: 0
  completions: null
  suspend: false
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: trainer
          image: ghcr.io/acme/train:1.2
          args: ["--lr", "0.25", "--epochs=3"]
          env:
            - name: MODE
              value: "yes"
          resources:
            limits:
              nvidia.com/gpu: 1
              memory: 16Gi
              cpu: 500m
          volumeMounts: []
      nodeSelector: {}
  mlkMatrix:
    - [a, 4.0]
    - - - x
      - {y: 0.25}
"#;
    let expected = r#"apiVersion: batch/v1
kind: Job
metadata:
  annotations: {}
  labels:
    app.kubernetes.io/name: train
    mlk.dev/step: "on"
    nvidia.com/gpu: "1"
  name: train-resnet
spec:
  backoffLimit: 0
  completions: null
  mlkMatrix:
  - - a
    - 4.0
  - - - x
    - "y": 0.25
  suspend: false
  template:
    spec:
      containers:
      - args:
        - "--lr"
        - "0.25"
        - "--epochs=3"
        env:
        - name: MODE
          value: "yes"
        image: "ghcr.io/acme/train:1.2"
        name: trainer
        resources:
          limits:
            cpu: 500m
            memory: 16Gi
            nvidia.com/gpu: 1
        volumeMounts: []
      nodeSelector: {}
      restartPolicy: Never
"#;
    let doc = parse(input);
    let text = emit_document(&doc).unwrap();
    assert_eq!(text, expected);
    assert_eq!(parse(&text), doc);
    assert_eq!(
        emit_document(&parse(&text)).unwrap(),
        text,
        "not idempotent"
    );
}

#[test]
fn documents_are_joined_with_separators() {
    assert_eq!(emit_documents(&[]).unwrap(), "");
    let docs = [
        mapping(&[("a", string("b"))]),
        string("---"),
        Value::Null,
        Value::Sequence(vec![]),
    ];
    let text = emit_documents(&docs).unwrap();
    assert_eq!(text, "a: b\n---\n\"---\"\n---\nnull\n---\n[]\n");
    // serde_yaml's multi-document reader needs the serde trait, which this crate does
    // not depend on; no line of a document is ever `---`, so splitting is exact.
    let back: Vec<Value> = text.split("---\n").map(parse).collect();
    assert_eq!(back, docs);
    assert_eq!(
        emit_document(&Value::Mapping(Mapping::new())).unwrap(),
        "{}\n"
    );
}

#[test]
fn numbers_keep_their_type() {
    let cases: [(Value, &str); 12] = [
        (Value::from(0), "0"),
        (Value::from(-7), "-7"),
        (Value::from(u64::MAX), "18446744073709551615"),
        (Value::from(i64::MIN), "-9223372036854775808"),
        (Value::from(4.0), "4.0"),
        (Value::from(0.25), "0.25"),
        (Value::from(-0.0), "-0.0"),
        (Value::from(1e30), "1.0e+30"),
        (Value::from(1.5e16), "1.5e+16"),
        (Value::from(1e-7), "1.0e-7"),
        (Value::from(5e-324), "5.0e-324"),
        (Value::from(f64::MAX), "1.7976931348623157e+308"),
    ];
    for (value, expected) in cases {
        let text = emit_document(&value).unwrap();
        assert_eq!(text, format!("{expected}\n"));
        assert_eq!(parse(&text), value);
        let kind = implicit_type(expected).unwrap();
        let want = if value.as_f64().is_some() && !value.is_i64() && !value.is_u64() {
            "float"
        } else {
            "int"
        };
        assert_eq!(kind, format!("YAML 1.1 {want}"), "{expected}");
    }
    assert_eq!(emit_document(&Value::Bool(false)).unwrap(), "false\n");
}

#[test]
fn long_keys_use_explicit_syntax() {
    let long = "k".repeat(1500);
    let quoted_long = format!("é{}", "\u{85}".repeat(400));
    let doc = mapping(&[
        (&long, mapping(&[("a", string("b"))])),
        (&quoted_long, Value::Sequence(vec![string("x")])),
        (
            "short",
            Value::Sequence(vec![mapping(&[(&long, string("v")), ("z", Value::Null)])]),
        ),
    ]);
    let text = emit_document(&doc).unwrap();
    assert!(
        text.starts_with(&format!("? {long}\n:\n  a: b\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("short:\n- ? {long}\n  : v\n  z: null\n")),
        "{text}"
    );
    assert_eq!(parse(&text), doc);
}

#[test]
fn errors_name_the_path() {
    let labels = Value::Mapping([(Value::from(5), string("x"))].into_iter().collect());
    let doc = mapping(&[(
        "spec",
        mapping(&[(
            "template",
            mapping(&[("metadata", mapping(&[("labels", labels)]))]),
        )]),
    )]);
    let err = emit_document(&doc).unwrap_err();
    assert_eq!(
        err,
        EmitError::NonStringKey {
            path: "spec.template.metadata.labels".to_owned(),
            key: "5".to_owned()
        }
    );
    assert_eq!(
        err.to_string(),
        "mapping at `spec.template.metadata.labels` has the non-string key `5`; keys must be strings"
    );

    let tagged: Value = parse("!secret x");
    let doc = mapping(&[(
        "spec",
        mapping(&[(
            "containers",
            Value::Sequence(vec![mapping(&[("app.kubernetes.io/name", tagged)])]),
        )]),
    )]);
    assert_eq!(
        emit_document(&doc).unwrap_err(),
        EmitError::Tagged {
            path: r#"spec.containers[0]["app.kubernetes.io/name"]"#.to_owned(),
            tag: "!secret".to_owned()
        }
    );

    let docs = [Value::Null, mapping(&[("ratio", Value::from(f64::NAN))])];
    assert_eq!(
        emit_documents(&docs).unwrap_err(),
        EmitError::NonFiniteFloat {
            path: "documents[1].ratio".to_owned(),
            value: "NaN".to_owned()
        }
    );
    assert_eq!(
        emit_document(&Value::from(f64::NEG_INFINITY))
            .unwrap_err()
            .to_string(),
        "number at `<root>` is -inf; only finite numbers can be emitted"
    );
    let bool_key = Value::Mapping([(Value::Bool(true), Value::Null)].into_iter().collect());
    assert!(matches!(
        emit_document(&Value::Sequence(vec![bool_key])),
        Err(EmitError::NonStringKey { path, key }) if path == "[0]" && key == "true"
    ));
}
