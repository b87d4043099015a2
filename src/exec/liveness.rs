//! Which process runs a run, and whether it still does.
//!
//! A run record names its mlk process by pid and by that process's start time (field 22 of
//! `/proc/PID/stat`, in clock ticks since boot): pids are reused, so a pid alone may name an
//! unrelated process long after the run's mlk ended. A process counts as the run's only when
//! both match. A record from an older version has the pid alone: while a process with that pid
//! exists, nothing can tell whether it is still the run's mlk, and nothing signals it.

use std::path::Path;

/// What became of the process that runs a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Liveness {
    /// The recorded process runs (same pid and start time), or the record names none.
    Alive,
    /// No process has the recorded pid, or the one that has it started at another time.
    Gone,
    /// A process has the recorded pid, but the record has no start time to tell whether it
    /// is the run's (a record of an older version, or a system without `/proc`).
    Unverifiable,
}

/// The start time of process `pid` (clock ticks since boot), if it exists and `/proc` says.
pub(crate) fn start_time(pid: u32) -> Option<u64> {
    stat_start_time(
        &std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("stat")).ok()?,
    )
}

/// Field 22 (`starttime`) of a `/proc/PID/stat` line. The command name (field 2) is in
/// parentheses and may itself hold spaces and parentheses: fields are counted after the last `)`.
fn stat_start_time(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    // `rest` starts with field 3 (the state).
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

/// What became of process `pid`, recorded as started at `start` (if recorded).
pub(crate) fn liveness(pid: Option<u32>, start: Option<u64>) -> Liveness {
    let Some(pid) = pid else {
        return Liveness::Alive;
    };
    if !exists(pid) {
        return Liveness::Gone;
    }
    match (start, start_time(pid)) {
        (Some(recorded), Some(now)) if recorded == now => Liveness::Alive,
        (Some(_), Some(_)) => Liveness::Gone,
        // The process ended between the two looks.
        (Some(_), None) if !exists(pid) => Liveness::Gone,
        _ => Liveness::Unverifiable,
    }
}

/// Whether process `pid` exists.
fn exists(pid: u32) -> bool {
    match signal(pid, None) {
        Ok(()) | Err(nix::errno::Errno::EPERM) => true,
        Err(_) => false,
    }
}

/// Sends `sig` to process `pid` (`None`: only checks that it exists). Refuses ids that name
/// a process group or every process (0, 1 and anything past `i32::MAX`).
pub(crate) fn signal(pid: u32, sig: Option<nix::sys::signal::Signal>) -> nix::Result<()> {
    match i32::try_from(pid) {
        Ok(raw) if raw > 1 => nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), sig),
        _ => Err(nix::errno::Errno::EINVAL),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_start_time_is_field_22_counted_after_the_command_name() {
        let stat =
            "4242 (a) b (c) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200";
        assert_eq!(stat_start_time(stat), Some(987_654));
        assert_eq!(stat_start_time("4242 (x) S 1"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_wrong_start_time_is_another_process() {
        let me = std::process::id();
        let start = start_time(me).unwrap();
        assert_eq!(liveness(Some(me), Some(start)), Liveness::Alive);
        assert_eq!(liveness(Some(me), Some(start + 1)), Liveness::Gone);
        assert_eq!(liveness(Some(me), None), Liveness::Unverifiable);
        assert_eq!(liveness(None, None), Liveness::Alive);
    }
}
