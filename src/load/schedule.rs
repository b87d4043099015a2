//! `[pipeline] schedule`, `timezone` and `concurrency`: when an engine starts the pipeline.
//!
//! The cron syntax is the one Argo's CronWorkflow controller accepts (robfig/cron's standard
//! parser): five fields (minute, hour, day of month, month, day of week) made of `*`, `?`,
//! numbers, names (`JAN`, `MON`), ranges, steps and lists, or a descriptor (`@daily`,
//! `@every 1h`). It is checked here, field by field, so a bad field is shown where it is
//! written; time zone names are checked against the IANA database compiled into mlk.

use std::ops::Range;

use toml::de::DeValue;

use super::LoadError;
use super::toml::{Cx, Sp, Table};
use super::values::choice;
use crate::domain::Concurrency;

/// A pipeline's schedule as written.
#[derive(Debug, Clone)]
pub struct ScheduleDef {
    /// The cron expression.
    pub cron: Sp<String>,
    /// The IANA time zone (absent: the controller's, usually UTC).
    pub timezone: Option<Sp<String>>,
    /// What a new run does while the previous one is still going.
    pub concurrency: Concurrency,
}

/// Reads the schedule keys of the `[pipeline]` table.
pub(super) fn schedule(p: &mut Table<'_, '_>, cx: &mut Cx) -> Option<ScheduleDef> {
    let written = p.raw("schedule");
    let cron = written.and_then(|v| checked_cron(v, cx));
    let timezone: Option<Sp<String>> = p.opt("timezone", cx);
    let timezone = timezone.filter(|tz| known_timezone(tz, cx));
    let concurrency = p
        .raw("concurrency")
        .and_then(|c| choice(c, &["allow", "forbid", "replace"], cx))
        .map_or(Concurrency::Forbid, |c| match *c.get_ref() {
            "allow" => Concurrency::Allow,
            "replace" => Concurrency::Replace,
            _ => Concurrency::Forbid,
        });
    if written.is_none() {
        for key in ["timezone", "concurrency"] {
            if let Some(at) = p.key_span(key) {
                cx.error(LoadError::value(
                    at,
                    "needs a schedule",
                    format!("`{key}` only applies to a scheduled pipeline"),
                    "add `schedule = \"0 2 * * *\"` (a cron expression) to [pipeline], or remove this key",
                ));
            }
        }
    }
    Some(ScheduleDef {
        cron: cron?,
        timezone,
        concurrency,
    })
}

/// The schedule, if it is a valid cron expression; otherwise the bad field is reported.
fn checked_cron(v: &Sp<DeValue<'_>>, cx: &mut Cx) -> Option<Sp<String>> {
    cx.describe(v, || serde_json::json!({ "type": "string" }));
    let text: Sp<String> = super::toml::Decode::decode(v, cx)?;
    // Offsets inside the value map to the file only when the string is written as is
    // (one quote on each side, no escapes).
    let exact = matches!(v.get_ref(), DeValue::String(std::borrow::Cow::Borrowed(_)))
        && v.span().len() == text.get_ref().len() + 2;
    match check(text.get_ref()) {
        Ok(()) => Some(text),
        Err(bad) => {
            let at = match (&bad.at, exact) {
                (Some(r), true) => v.span().start + 1 + r.start..v.span().start + 1 + r.end,
                _ => v.span(),
            };
            cx.error(LoadError::BadCron {
                message: format!("schedule `{}`: {}", text.get_ref(), bad.message),
                at: at.into(),
                label: bad.label,
            });
            None
        }
    }
}

/// Whether `tz` names a time zone; an unknown one is reported.
fn known_timezone(tz: &Sp<String>, cx: &mut Cx) -> bool {
    let db = jiff::tz::db();
    let names: Vec<String> = db.available().map(|n| n.to_string()).collect();
    if names.iter().any(|n| n == tz.get_ref()) {
        return true;
    }
    let help = match crate::diag::did_you_mean(tz.get_ref(), names.iter().map(String::as_str)) {
        Some(m) => format!("did you mean \"{m}\"? (IANA names like \"Europe/Paris\" or \"UTC\")"),
        None => "use an IANA time zone name like \"Europe/Paris\", \"America/New_York\" or \"UTC\""
            .into(),
    };
    cx.error(LoadError::UnknownTimezone {
        name: tz.get_ref().clone(),
        help,
        at: tz.span().into(),
    });
    false
}

/// A bad part of a cron expression.
#[derive(Debug, PartialEq)]
struct Bad {
    message: String,
    label: &'static str,
    /// Byte range in the expression.
    at: Option<Range<usize>>,
}

/// The five fields: name, smallest and largest value, names for values.
const FIELDS: [(&str, u32, u32, &[&str]); 5] = [
    ("minute", 0, 59, &[]),
    ("hour", 0, 23, &[]),
    ("day of month", 1, 31, &[]),
    (
        "month",
        1,
        12,
        &[
            "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
        ],
    ),
    (
        "day of week",
        0,
        6,
        &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    ),
];

/// Descriptors Argo's scheduler accepts in place of the five fields.
const DESCRIPTORS: &[&str] = &[
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
];

/// Checks a cron expression.
fn check(expr: &str) -> Result<(), Bad> {
    let trimmed = expr.trim();
    if let Some(rest) = trimmed.strip_prefix("@every ") {
        return match humantime::parse_duration(rest.trim()) {
            Ok(d) if d.as_secs() >= 1 => Ok(()),
            _ => Err(Bad {
                message: format!("`{}` is not a duration of at least 1s", rest.trim()),
                label: "not a duration",
                at: Some(expr.len() - rest.len()..expr.len()),
            }),
        };
    }
    if trimmed.starts_with('@') {
        if DESCRIPTORS.contains(&trimmed) {
            return Ok(());
        }
        return Err(Bad {
            message: format!("unknown descriptor `{trimmed}`"),
            label: "unknown descriptor",
            at: None,
        });
    }
    let fields = words(expr);
    if fields.len() != 5 {
        return Err(Bad {
            message: format!(
                "{} fields, expected 5 (minute hour day-of-month month day-of-week)",
                fields.len()
            ),
            label: "not 5 fields",
            at: None,
        });
    }
    for ((text, at), (name, min, max, names)) in fields.into_iter().zip(FIELDS) {
        for (part, offset) in split_keep(text, ',') {
            let part_at = at.start + offset..at.start + offset + part.len();
            field_part(part, name, min, max, names).map_err(|message| Bad {
                message,
                label: "bad field",
                at: Some(part_at),
            })?;
        }
    }
    Ok(())
}

/// The whitespace-separated words of `s` with their byte ranges.
fn words(s: &str) -> Vec<(&str, Range<usize>)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices().chain([(s.len(), ' ')]) {
        match (c.is_whitespace(), start) {
            (true, Some(b)) => {
                out.push((&s[b..i], b..i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    out
}

/// `s` split at `sep`, each piece with its offset.
fn split_keep(s: &str, sep: char) -> impl Iterator<Item = (&str, usize)> {
    let mut offset = 0;
    s.split(sep).map(move |p| {
        let o = offset;
        offset += p.len() + sep.len_utf8();
        (p, o)
    })
}

/// Checks one list element: `*`, `?`, `N`, `N-M`, each optionally `/STEP`.
fn field_part(part: &str, name: &str, min: u32, max: u32, names: &[&str]) -> Result<(), String> {
    let (range, step) = match part.split_once('/') {
        Some((r, s)) => (r, Some(s)),
        None => (part, None),
    };
    if let Some(step) = step {
        match step.parse::<u32>() {
            Ok(n) if n >= 1 => {}
            _ => {
                return Err(format!(
                    "the {name} step `{step}` is not a whole number ≥ 1"
                ));
            }
        }
    }
    if range == "*" || (range == "?" && (name == "day of month" || name == "day of week")) {
        return Ok(());
    }
    let value = |v: &str| -> Result<u32, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(v)) {
            return Ok(min + u32::try_from(i).unwrap_or(0));
        }
        match v.parse::<u32>() {
            Ok(n) if (min..=max).contains(&n) => Ok(n),
            Ok(n) => Err(format!("{name} {n} is out of range {min}-{max}")),
            Err(_) => Err(format!("`{v}` is not a {name} ({min}-{max})")),
        }
    };
    match range.split_once('-') {
        Some((a, b)) => {
            let (a, b) = (value(a)?, value(b)?);
            if a > b {
                return Err(format!("the {name} range {a}-{b} runs backwards"));
            }
            Ok(())
        }
        None => value(range).map(|_| ()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn at(expr: &str) -> Option<Range<usize>> {
        check(expr).unwrap_err().at
    }

    #[test]
    fn accepts_what_argo_accepts() {
        for ok in [
            "0 2 * * *",
            "*/15 * * * *",
            "30 6 * * MON-FRI",
            "0 0 1,15 * ?",
            "0 0 1 jan *",
            "5-10/2 0-23 1-31 1-12 0-6",
            "@daily",
            "@every 90m",
            "  0 2 * * *  ",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn points_at_the_bad_field() {
        assert_eq!(at("0 25 * * *"), Some(2..4));
        assert_eq!(at("0 2 * * 1,8"), Some(10..11));
        assert_eq!(at("0 2 * FOO *"), Some(6..9));
        assert_eq!(at("*/0 2 * * *"), Some(0..3));
        assert_eq!(at("0 2 5-1 * *"), Some(4..7));
        assert_eq!(at("@every soon"), Some(7..11));
        assert_eq!(at("0 2 * *"), None);
        assert_eq!(at("@nightly"), None);
        assert_eq!(at("0 ? * * *"), Some(2..3));
    }
}
