//! Kubernetes name rules and the names mlk gives the objects it generates.
//!
//! This module owns the syntax checks for names, label keys and label values (as in
//! apimachinery's `validation.go`), and the one place object names are built from pipeline
//! and step names. Every generated name is a DNS-1035 label of at most [`MAX_OBJECT_NAME`]
//! bytes, which satisfies the rule of every kind mlk emits (Services, KServe and the
//! PyTorchJob webhook are the strictest).

use sha2::{Digest, Sha256};

/// The longest name mlk gives an object: 63 less room for controller suffixes such as
/// KServe's `-predictor`.
pub(crate) const MAX_OBJECT_NAME: usize = 52;

const MAX_LABEL: usize = 63;
const MAX_SUBDOMAIN: usize = 253;
/// Hex digits of a hash kept in a name.
const HASH_LEN: usize = 8;
/// How much of `<pipeline>-<step>` survives when a name must be shortened: room for
/// `-` and the hash.
const KEPT: usize = MAX_OBJECT_NAME - 1 - HASH_LEN;

/// Whether `s` is a DNS-1123 label: `[a-z0-9]([-a-z0-9]*[a-z0-9])?`, at most 63 bytes.
pub(crate) fn is_dns1123_label(s: &str) -> bool {
    s.len() <= MAX_LABEL && has_label_shape(s)
}

/// Whether `s` is a DNS-1123 subdomain: dot-separated DNS-1123 label shapes, at most 253
/// bytes in all.
pub(crate) fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= MAX_SUBDOMAIN && s.split('.').all(has_label_shape)
}

/// Whether `s` is a DNS-1035 label: `[a-z]([-a-z0-9]*[a-z0-9])?`, at most 63 bytes.
#[cfg(test)]
pub(crate) fn is_dns1035_label(s: &str) -> bool {
    is_dns1123_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

/// Whether `s` is a label or annotation key: an optional DNS-1123 subdomain prefix and `/`,
/// then a name of at most 63 bytes matching `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
pub(crate) fn is_qualified_name(s: &str) -> bool {
    let name = match s.split_once('/') {
        Some((prefix, name)) => {
            if !is_dns1123_subdomain(prefix) {
                return false;
            }
            name
        }
        None => s,
    };
    !name.is_empty() && is_label_value(name)
}

/// Whether `s` is a label value: empty, or at most 63 bytes matching
/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`.
pub(crate) fn is_label_value(s: &str) -> bool {
    s.is_empty()
        || (s.len() <= MAX_LABEL
            && edges_are(s, |c| c.is_ascii_alphanumeric())
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.".contains(&c)))
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?` without a length limit.
fn has_label_shape(s: &str) -> bool {
    let alnum = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    edges_are(s, alnum) && s.bytes().all(|c| alnum(c) || c == b'-')
}

/// Whether `s` is non-empty and its first and last bytes satisfy `ok`.
fn edges_are(s: &str, ok: impl Fn(u8) -> bool) -> bool {
    match (s.bytes().next(), s.bytes().next_back()) {
        (Some(first), Some(last)) => ok(first) && ok(last),
        _ => false,
    }
}

/// The name of a run-once workload (Job, PyTorchJob, TrainJob):
/// `<pipeline>-<step>-<first 8 hex of spec_hash_hex>`, a DNS-1035 label of at most 52 chars.
///
/// `pipeline` and `step` are DNS-1123 labels; when the pair starts with a digit the name
/// gets a `p-` prefix. When too long, `<pipeline>-<step>` is cut to 43 bytes; the spec hash
/// keeps the name unique. `spec_hash_hex` should be a lowercase hex digest; anything else
/// (too short, other characters) is hashed first, so the result is always a valid name.
pub(crate) fn workload_name(pipeline: &str, step: &str, spec_hash_hex: &str) -> String {
    let hash = match spec_hash_hex.get(..HASH_LEN) {
        Some(h)
            if h.bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)) =>
        {
            h.to_owned()
        }
        _ => sha256_hex8(spec_hash_hex),
    };
    let base = object_base(pipeline, step);
    let kept = if base.len() + 1 + HASH_LEN > MAX_OBJECT_NAME {
        cut(&base)
    } else {
        &base
    };
    format!("{kept}-{hash}")
}

/// How many characters the API server appends to a `generateName` prefix.
const GENERATED: usize = 5;

/// The `generateName` prefix of a run-once workload named `name` (`<base>-<hash>`, as
/// [`workload_name`] makes it) when an engine creates it once per run: `name-`, with `<base>`
/// cut so that the name the server makes (the prefix and 5 characters) stays within
/// [`MAX_OBJECT_NAME`], like every name mlk gives.
pub(crate) fn generate_prefix(name: &str) -> String {
    let room = MAX_OBJECT_NAME - GENERATED;
    if name.len() < room {
        return format!("{name}-");
    }
    let (base, hash) = name.rsplit_once('-').unwrap_or((name, ""));
    let keep = room.saturating_sub(hash.len() + 2).min(base.len());
    let base = base.get(..keep).unwrap_or(base).trim_end_matches('-');
    format!("{base}-{hash}-")
}

/// The name of a long-lived serving object (InferenceService): `<pipeline>-<step>`, stable
/// across spec changes, with a `p-` prefix when it would start with a digit.
///
/// When longer than 52 bytes it is cut to 43 and `-` plus the first 8 hex digits of the
/// SHA-256 of `<pipeline>-<step>` is appended, so two long names that share their first
/// 43 bytes still differ.
pub(crate) fn serve_name(pipeline: &str, step: &str) -> String {
    let base = object_base(pipeline, step);
    if base.len() <= MAX_OBJECT_NAME {
        return base;
    }
    let hash = sha256_hex8(&format!("{pipeline}-{step}"));
    format!("{}-{hash}", cut(&base))
}

/// `<pipeline>-<step>`, prefixed with `p-` if it starts with a digit, since DNS-1035 labels
/// must start with a letter.
fn object_base(pipeline: &str, step: &str) -> String {
    let base = format!("{pipeline}-{step}");
    if base.starts_with(|c: char| c.is_ascii_digit()) {
        format!("p-{base}")
    } else {
        base
    }
}

/// The first [`KEPT`] bytes of `base` (fewer if that would split a character), without
/// trailing `-`, so that the `-` before the hash is never doubled into an odd-looking name.
fn cut(base: &str) -> &str {
    let mut end = KEPT.min(base.len());
    while !base.is_char_boundary(end) {
        end -= 1;
    }
    base[..end].trim_end_matches('-')
}

/// The first 8 lowercase hex digits of the SHA-256 of `s`.
fn sha256_hex8(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    Sha256::digest(s.as_bytes())
        .iter()
        .take(HASH_LEN / 2)
        .flat_map(|b| [HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]])
        .map(char::from)
        .collect()
}

/// A one-line explanation of why `s` is not a DNS-1123 label, naming every problem found,
/// e.g. `uppercase letters are not allowed (use lowercase)`.
pub(crate) fn explain_dns1123_label(s: &str) -> String {
    if s.is_empty() {
        return "must not be empty".to_owned();
    }
    let mut problems = Vec::new();
    if s.len() > MAX_LABEL {
        problems.push(format!(
            "is {} characters long; the limit is {MAX_LABEL}",
            s.len()
        ));
    }
    if s.contains(|c: char| c.is_ascii_uppercase()) {
        problems.push("uppercase letters are not allowed (use lowercase)".to_owned());
    }
    let mut others: Vec<char> = Vec::new();
    for c in s.chars() {
        let allowed = c.is_ascii_alphanumeric() || c == '-';
        if !allowed && !others.contains(&c) {
            others.push(c);
        }
    }
    for c in others {
        problems.push(match c {
            '_' | '.' | ' ' => format!("{c:?} is not allowed (use '-')"),
            _ => format!("{c:?} is not allowed (use lowercase letters, digits and '-')"),
        });
    }
    let edge_ok = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !edge_ok(s.chars().next()) || !edge_ok(s.chars().next_back()) {
        problems.push("must start and end with a letter or digit".to_owned());
    }
    if problems.is_empty() {
        return "is a valid DNS-1123 label".to_owned();
    }
    problems.join("; ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    #[test]
    fn a_generated_name_stays_within_the_limit() {
        let short = super::workload_name("p", "train", "0123456789abcdef");
        assert_eq!(super::generate_prefix(&short), "p-train-01234567-");
        let long = super::workload_name(&"a".repeat(40), &"b".repeat(30), "0123456789abcdef");
        assert_eq!(long.len(), super::MAX_OBJECT_NAME);
        let prefix = super::generate_prefix(&long);
        assert_eq!(
            prefix.len() + super::GENERATED,
            super::MAX_OBJECT_NAME,
            "{prefix}"
        );
        assert!(prefix.ends_with("-01234567-"), "{prefix}");
        assert!(
            super::is_dns1035_label(&format!("{prefix}x7k2q")),
            "{prefix}"
        );
    }

    use super::*;
    use proptest::prelude::*;

    const HASH: &str = "0123abcdef456789";

    #[test]
    fn checks_dns1123_labels() {
        for ok in ["a", "0", "abc-123", "1a", "a--b", &"a".repeat(63)] {
            assert!(is_dns1123_label(ok), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "A",
            "a_b",
            "a.b",
            "é",
            " a",
            &"a".repeat(64),
        ] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
    }

    #[test]
    fn checks_dns1123_subdomains() {
        let long_ok = format!("{}.{}", "a".repeat(126), "b".repeat(126));
        for ok in [
            "a",
            "a.b",
            "kueue.x-k8s.io",
            "1.2.3",
            &"a".repeat(100),
            &long_ok,
        ] {
            assert!(is_dns1123_subdomain(ok), "{ok}");
        }
        let long_bad = format!("{}.{}", "a".repeat(126), "b".repeat(127));
        for bad in ["", ".", "a.", ".a", "a..b", "a-.b", "A.b", "a_b", &long_bad] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
    }

    #[test]
    fn checks_dns1035_labels() {
        for ok in ["a", "a1", "resnet-predictor", &"a".repeat(63)] {
            assert!(is_dns1035_label(ok), "{ok}");
        }
        for bad in ["", "1a", "-a", "a-", "Ab", "a_b", &"a".repeat(64)] {
            assert!(!is_dns1035_label(bad), "{bad}");
        }
    }

    #[test]
    fn checks_qualified_names() {
        let name63 = "N".repeat(63);
        let prefixed = format!("{}/{}", "p".repeat(253), name63);
        for ok in [
            "app",
            "App.Name_1",
            "app.kubernetes.io/name",
            "kueue.x-k8s.io/queue-name",
            "a/b",
            &name63,
            &prefixed,
        ] {
            assert!(is_qualified_name(ok), "{ok}");
        }
        let long_prefix = format!("{}/n", "p".repeat(254));
        for bad in [
            "",
            "/name",
            "prefix/",
            "a/b/c",
            "Prefix.io/name",
            "example.com/-name",
            "example.com/name_",
            "na me",
            &"n".repeat(64),
            &long_prefix,
        ] {
            assert!(!is_qualified_name(bad), "{bad}");
        }
    }

    #[test]
    fn checks_label_values() {
        for ok in ["", "a", "1.0", "v1_2-3.x", "UPPER", &"v".repeat(63)] {
            assert!(is_label_value(ok), "{ok}");
        }
        for bad in ["-a", "a-", ".a", "_a", "a/b", "a b", "é", &"v".repeat(64)] {
            assert!(!is_label_value(bad), "{bad}");
        }
    }

    #[test]
    fn names_a_short_workload() {
        assert_eq!(
            workload_name("fraud", "train", HASH),
            "fraud-train-0123abcd"
        );
        assert_eq!(
            workload_name("2024-q1", "train", HASH),
            "p-2024-q1-train-0123abcd"
        );
        assert_eq!(workload_name("a", "1", HASH), "a-1-0123abcd");
    }

    #[test]
    fn workload_names_stop_at_52() {
        // base of 43 bytes + "-" + 8 hex = 52: kept whole
        let step = "s".repeat(43 - "pipe-".len());
        let name = workload_name("pipe", &step, HASH);
        assert_eq!(name.len(), MAX_OBJECT_NAME);
        assert_eq!(name, format!("pipe-{step}-0123abcd"));
        // one more byte: cut back to 43
        let step = "s".repeat(44 - "pipe-".len());
        let name = workload_name("pipe", &step, HASH);
        assert_eq!(name.len(), MAX_OBJECT_NAME);
        assert_eq!(name, format!("pipe-{}-0123abcd", &step[..38]));
    }

    #[test]
    fn cut_workload_names_lose_trailing_dashes() {
        // the cut lands right after "-" in "<42 bytes>-step"
        let pipeline = "p".repeat(42);
        let name = workload_name(&pipeline, "step", HASH);
        assert_eq!(name, format!("{pipeline}-0123abcd"));
        assert!(is_dns1035_label(&name));
    }

    #[test]
    fn digit_start_workload_names_count_their_prefix() {
        let pipeline = format!("1{}", "a".repeat(62));
        let name = workload_name(&pipeline, "train", HASH);
        assert_eq!(name, format!("p-1{}-0123abcd", "a".repeat(40)));
        assert!(is_dns1035_label(&name) && name.len() == MAX_OBJECT_NAME);
    }

    #[test]
    fn odd_spec_hashes_still_give_valid_names() {
        for hash in ["", "abc", "ABCDEF0123", "zzzzzzzzzz", "é1234567"] {
            let name = workload_name("pipe", "step", hash);
            assert!(is_dns1035_label(&name), "{hash}: {name}");
            assert_eq!(name.len(), "pipe-step-".len() + 8);
        }
        assert_ne!(workload_name("a", "b", "x"), workload_name("a", "b", "y"));
    }

    #[test]
    fn serve_names_stop_at_52() {
        let step52 = "s".repeat(52 - "pipe-".len());
        assert_eq!(serve_name("pipe", &step52), format!("pipe-{step52}"));
        let step53 = "s".repeat(53 - "pipe-".len());
        let name = serve_name("pipe", &step53);
        assert_eq!(name.len(), MAX_OBJECT_NAME);
        let hash = sha256_hex8(&format!("pipe-{step53}"));
        assert_eq!(name, format!("pipe-{}-{hash}", &step53[..38]));
        assert_eq!(serve_name("fraud", "serve"), "fraud-serve");
        assert_eq!(serve_name("9lives", "serve"), "p-9lives-serve");
    }

    #[test]
    fn long_names_differing_after_the_cut_stay_distinct() {
        let pipeline = "a".repeat(40);
        let one = serve_name(&pipeline, "serve-model-version-one");
        let two = serve_name(&pipeline, "serve-model-version-two");
        assert_ne!(one, two);
        assert_eq!(one[..43], two[..43]);
        let one = workload_name(&pipeline, "train-one-with-a-long-name", "11111111aa");
        let two = workload_name(&pipeline, "train-two-with-a-long-name", "22222222aa");
        assert_ne!(one, two);
    }

    #[test]
    fn hashes_as_sha256() {
        // SHA-256("abc") = ba7816bf 8f01cfea ...
        assert_eq!(sha256_hex8("abc"), "ba7816bf");
    }

    #[test]
    fn explains_every_label_problem() {
        let cases = [
            ("", "must not be empty"),
            ("Train", "uppercase letters are not allowed (use lowercase)"),
            ("my_step", "'_' is not allowed (use '-')"),
            ("v1.2", "'.' is not allowed (use '-')"),
            ("my step", "' ' is not allowed (use '-')"),
            (
                "a:b",
                "':' is not allowed (use lowercase letters, digits and '-')",
            ),
            ("-step", "must start and end with a letter or digit"),
            ("step-", "must start and end with a letter or digit"),
            ("train", "is a valid DNS-1123 label"),
            (
                "My_Step-",
                "uppercase letters are not allowed (use lowercase); '_' is not allowed \
                 (use '-'); must start and end with a letter or digit",
            ),
            (
                "é",
                "'é' is not allowed (use lowercase letters, digits and '-'); \
                 must start and end with a letter or digit",
            ),
        ];
        for (input, message) in cases {
            assert_eq!(explain_dns1123_label(input), message, "{input:?}");
        }
        assert_eq!(
            explain_dns1123_label(&"a".repeat(70)),
            "is 70 characters long; the limit is 63"
        );
    }

    #[test]
    fn explains_exactly_the_invalid_labels() {
        for s in [
            "a",
            "a-b",
            "Ab",
            "a_b",
            "-",
            &"a".repeat(63),
            &"a".repeat(64),
        ] {
            let valid = explain_dns1123_label(s) == "is a valid DNS-1123 label";
            assert_eq!(valid, is_dns1123_label(s), "{s}");
        }
    }

    proptest! {
        #[test]
        fn generated_names_are_dns1035_labels(
            pipeline in "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?",
            step in "[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?",
            hash in "[0-9a-f]{64}",
        ) {
            let workload = workload_name(&pipeline, &step, &hash);
            prop_assert!(is_dns1035_label(&workload), "{}", workload);
            prop_assert!(workload.len() <= MAX_OBJECT_NAME);
            prop_assert!(workload.ends_with(&hash[..8]));
            let serve = serve_name(&pipeline, &step);
            prop_assert!(is_dns1035_label(&serve), "{}", serve);
            prop_assert!(serve.len() <= MAX_OBJECT_NAME);
        }

        #[test]
        fn explanation_agrees_with_the_check(s in "[-a-zA-Z0-9_. ]{0,70}") {
            let valid = explain_dns1123_label(&s) == "is a valid DNS-1123 label";
            prop_assert_eq!(valid, is_dns1123_label(&s));
        }
    }
}
