//! Property tests: generated strings and trees read back by serde_yaml as they were.

use proptest::prelude::*;
use serde_yaml::Value;

use super::{PIECES, assert_plain_scalars_are_strings, implicit_type, mapping, parse};
use crate::render::yaml::emit_document;

fn tricky_string() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(prop::sample::select(PIECES), 0..6).prop_map(|p| p.concat()),
        "[0-9]{1,4}(\\.[0-9]{0,3})?(Ki|Mi|Gi|m|k|M|G|E|e|e3|x|_)?",
        "[A-Za-z_/~.-][A-Za-z0-9_./ -]{0,6}",
        any::<String>(),
    ]
}

fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), tricky_string()]
}

fn tree(leaf: BoxedStrategy<Value>) -> impl Strategy<Value = Value> {
    leaf.prop_recursive(4, 64, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Sequence),
            prop::collection::vec((any_string(), inner), 0..6).prop_map(|entries| {
                Value::Mapping(
                    entries
                        .into_iter()
                        .map(|(k, v)| (Value::String(k), v))
                        .collect(),
                )
            }),
        ]
    })
}

proptest! {
    #[test]
    fn any_string_round_trips_as_value_and_key(s in any::<String>(), t in tricky_string()) {
        for s in [&s, &t] {
            let single = emit_document(&Value::String(s.clone())).unwrap();
            prop_assert_eq!(single.matches('\n').count(), 1, "{:?}", single);
            prop_assert!(
                !single.contains(['\r', '\u{85}', '\u{2028}', '\u{2029}', '\u{feff}']),
                "raw line break or BOM in {:?}",
                single
            );
            let doc = Value::Sequence(vec![
                Value::String(s.clone()),
                mapping(&[(s, Value::String(s.clone())), ("k", Value::String(s.clone()))]),
            ]);
            let text = emit_document(&doc).unwrap();
            prop_assert_eq!(parse(&text), doc, "{}", text);
            assert_plain_scalars_are_strings(&text);
        }
    }

    #[test]
    fn string_trees_round_trip(doc in tree(any_string().prop_map(Value::String).boxed())) {
        let text = emit_document(&doc).unwrap();
        prop_assert_eq!(parse(&text), doc, "{}", text);
        assert_plain_scalars_are_strings(&text);
    }

    #[test]
    fn mixed_trees_round_trip(doc in tree(prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        any_string().prop_map(Value::String),
    ].boxed())) {
        let text = emit_document(&doc).unwrap();
        prop_assert_eq!(parse(&text), doc, "{}", text);
    }

    #[test]
    fn floats_read_back_as_the_same_float(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
        let text = emit_document(&Value::from(f)).unwrap();
        let plain = text.trim_end();
        prop_assert_eq!(parse(&text).as_f64(), Some(f));
        prop_assert_eq!(implicit_type(plain), Some("YAML 1.1 float".to_owned()), "{}", plain);
        prop_assert_eq!(plain.parse::<f64>().ok(), Some(f));
    }
}
