//! `{{ run.date }}`: the day a run started (`YYYY-MM-DD`) in the pipeline's time zone (its
//! schedule's `timezone`, else UTC). Which date a resolution uses, and the rule for steps
//! that read it: such a step is *dated*, and so is every step that reads a dated step's
//! outputs; a dated step's cache key ends in the date (`cache::key`), so a nightly run never
//! reuses the night before. Where an engine starts the run, the date is left to the run
//! (`$(MLK_RUN_DATE)`) and the launcher in the pod fills it in, key included (`launch`).

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::plan::Step;
use super::{Cx, ResolveError, RunDate};
use crate::domain::Engine;
use crate::load::Loaded;

/// The variable the launcher sets to the run's date.
pub const DATE_VARIABLE: &str = "MLK_RUN_DATE";

/// The date this resolution puts in `{{ run.date }}`; `None`: the run's own, left symbolic.
pub(super) fn date(l: &Loaded, d: &RunDate) -> Option<String> {
    match d {
        RunDate::AtRun => None,
        RunDate::Given(date) => Some(date.clone()),
        RunDate::Of(_) if l.stack.engine == Engine::Argo => None,
        RunDate::Of(t) => Some(date_of(*t, timezone(l))),
    }
}

/// The pipeline's time zone for its dates: its schedule's.
pub(super) fn timezone(l: &Loaded) -> Option<&str> {
    let s = l.pipeline.schedule.as_ref()?;
    s.timezone.as_ref().map(|t| t.get_ref().as_str())
}

/// The date of `t` in time zone `tz` (an IANA name; UTC when absent or unknown).
pub fn date_of(t: Timestamp, tz: Option<&str>) -> String {
    let zone = tz
        .and_then(|name| TimeZone::get(name).ok())
        .unwrap_or(TimeZone::UTC);
    t.to_zoned(zone).date().to_string()
}

/// Whether `text` is a date `{{ run.date }}` can be (`YYYY-MM-DD`, a real day).
pub fn valid_date(text: &str) -> bool {
    text.len() == 10 && text.parse::<jiff::civil::Date>().is_ok()
}

/// A dated step needs a date or a launcher to fill it in: on a stack whose runs mlk starts,
/// `mlk render` has no date (the run has not started); on an engine's stack the launcher
/// must wrap the step.
pub(super) fn check(cx: &mut Cx<'_>, steps: &[Step], known: bool) {
    if known {
        return;
    }
    let argo = cx.l.stack.engine == Engine::Argo;
    for step in steps
        .iter()
        .filter(|s| s.cache.components.run_date.is_some())
    {
        let sets_it = step.env.contains_key(DATE_VARIABLE);
        if argo && step.data.launcher && !sets_it {
            continue;
        }
        let (why, help) = if argo && sets_it {
            (
                "its env sets MLK_RUN_DATE, which Kubernetes would put in place of the date before the launcher can",
                "remove MLK_RUN_DATE from the step's env: the launcher sets it to the run's date",
            )
        } else if argo {
            (
                "its pods have no launcher to fill it in",
                "a step that reads the run's date runs through the launcher: give the stack an s3://, gs://, az:// or pvc:// `[artifacts] uri`",
            )
        } else {
            (
                "this stack's runs are started by `mlk run`, so there is no date to render",
                "use `mlk run` (it uses the day the run starts), give the date with `--run-date YYYY-MM-DD`, or render for a stack with `engine = \"argo\"`, whose runs fill it in",
            )
        };
        let at = cx.step_span(&step.name);
        cx.pipeline(ResolveError::RunDate {
            step: step.name.clone(),
            why,
            help,
            at: at.into(),
        });
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_date_is_the_day_in_the_pipelines_time_zone() {
        let t: Timestamp = "2026-12-06T23:30:00Z".parse().unwrap();
        assert_eq!(date_of(t, None), "2026-12-06");
        assert_eq!(date_of(t, Some("UTC")), "2026-12-06");
        assert_eq!(date_of(t, Some("Asia/Tokyo")), "2026-12-07");
        assert_eq!(date_of(t, Some("America/New_York")), "2026-12-06");
        let early: Timestamp = "2026-12-07T03:00:00Z".parse().unwrap();
        assert_eq!(date_of(early, Some("America/New_York")), "2026-12-06");
    }

    #[test]
    fn only_real_days_are_dates() {
        assert!(valid_date("2026-12-06"));
        assert!(valid_date("2028-02-29"));
        assert!(!valid_date("2026-02-29"));
        assert!(!valid_date("2026-12-6"));
        assert!(!valid_date("20261206"));
        assert!(!valid_date("$(MLK_RUN_DATE)"));
    }
}
