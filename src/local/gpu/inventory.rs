//! The machine's NVIDIA GPUs, as `nvidia-smi` lists them, read once per command.
//!
//! Two commands, each bounded by [`LIMIT`] (an `nvidia-smi` that hangs on a sick driver must
//! not hang mlk):
//!
//! - `nvidia-smi --query-gpu=index,uuid,name,memory.total,mig.mode.current
//!   --format=csv,noheader,nounits`: one line per device, `0, GPU-…, NVIDIA H100 80GB HBM3,
//!   81559, Disabled` (memory in MiB; the MIG mode is `Enabled`, `Disabled` or `[N/A]`);
//! - `nvidia-smi -L`, only when a device is in MIG mode: its `GPU 7: … (UUID: GPU-…)` lines
//!   and, under each, `  MIG 1g.10gb     Device  0: (UUID: MIG-…)` for every MIG instance.
//!
//! No `nvidia-smi` on the PATH means no GPUs. One that fails or times out also means no GPUs,
//! with a note saying why, which the command shows as a warning.

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;

/// How long one `nvidia-smi` call may take.
pub(crate) const LIMIT: Duration = Duration::from_secs(5);

/// The arguments of the device query.
pub(crate) const QUERY: &[&str] = &[
    "--query-gpu=index,uuid,name,memory.total,mig.mode.current",
    "--format=csv,noheader,nounits",
];

/// One GPU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Device {
    /// `nvidia-smi`'s index (PCI bus order).
    pub index: u32,
    /// `GPU-…`.
    pub uuid: String,
    /// `NVIDIA H100 80GB HBM3`.
    pub name: String,
    /// Memory in MiB.
    pub memory_mib: u64,
    /// In MIG mode: usable only through its instances.
    pub mig: bool,
    /// Its MIG instances (in MIG mode).
    pub instances: Vec<MigInstance>,
}

/// One MIG instance of a device in MIG mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MigInstance {
    /// `MIG-…`.
    pub uuid: String,
    /// The profile, `1g.10gb`.
    pub profile: String,
}

/// What discovery found.
#[derive(Debug, Clone, Default)]
pub(crate) struct Inventory {
    /// Every device, by index.
    pub devices: Vec<Device>,
    /// Why there are none although `nvidia-smi` exists (it failed, timed out, printed
    /// something unreadable).
    pub note: Option<String>,
}

/// Runs `nvidia-smi` (found on the PATH) and reads the devices.
pub(crate) fn discover() -> Inventory {
    discover_with("nvidia-smi", LIMIT)
}

/// [`discover`] with another program and limit (tests).
pub(crate) fn discover_with(program: &str, limit: Duration) -> Inventory {
    let fail = |note: String| Inventory {
        devices: Vec::new(),
        note: Some(note),
    };
    let text = match run(program, QUERY, limit) {
        Ok(Some(text)) => text,
        Ok(None) => return Inventory::default(),
        Err(e) => return fail(e),
    };
    let mut devices = match parse_query(&text) {
        Ok(d) => d,
        Err(e) => return fail(e),
    };
    if devices.iter().any(|d| d.mig) {
        match run(program, &["-L"], limit) {
            Ok(Some(list)) => add_instances(&list, &mut devices),
            Ok(None) => {}
            Err(e) => return fail(e),
        }
    }
    Inventory {
        devices,
        note: None,
    }
}

/// The standard output of `program args`, or `None` when there is no such program; an
/// error when it fails or takes longer than `limit` (it is killed then).
fn run(program: &str, args: &[&str], limit: Duration) -> Result<Option<String>, String> {
    let shown = format!("`{program} {}`", args.join(" "));
    let mut child = match Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{shown}: {e}")),
    };
    // Read on a thread: a child that fills the pipe must not block its own exit.
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(mut out) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = out.read_to_string(&mut text);
            let _ = tx.send(text);
        });
    }
    let deadline = Instant::now() + limit;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                if let Ok(pid) = i32::try_from(child.id()) {
                    let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
                }
                let _ = child.wait();
                return Err(format!(
                    "{shown} did not answer within {}s",
                    limit.as_secs()
                ));
            }
            Err(e) => return Err(format!("{shown}: {e}")),
        }
    };
    if !status.success() {
        return Err(format!("{shown} failed ({status})"));
    }
    let left = deadline.saturating_duration_since(Instant::now());
    rx.recv_timeout(left.max(Duration::from_millis(100)))
        .map(Some)
        .map_err(|_| format!("{shown} left its output open"))
}

/// The devices of the query's CSV lines.
pub(crate) fn parse_query(text: &str) -> Result<Vec<Device>, String> {
    let mut devices = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let bad = || format!("unexpected `nvidia-smi` line: {line}");
        if fields.len() < 5 {
            return Err(bad());
        }
        // A name with a comma in it spans several fields.
        let name = fields[2..fields.len() - 2].join(", ");
        let memory = fields[fields.len() - 2];
        devices.push(Device {
            index: fields[0].parse().map_err(|_| bad())?,
            uuid: fields[1].to_owned(),
            name,
            memory_mib: memory.parse().map_err(|_| bad())?,
            mig: fields[fields.len() - 1].eq_ignore_ascii_case("enabled"),
            instances: Vec::new(),
        });
    }
    Ok(devices)
}

/// Adds the MIG instances `nvidia-smi -L` lists under each device in MIG mode.
pub(crate) fn add_instances(list: &str, devices: &mut [Device]) {
    let mut current: Option<usize> = None;
    for line in list.lines() {
        let uuid = line
            .rsplit_once("(UUID: ")
            .and_then(|(_, rest)| rest.strip_suffix(')'))
            .map(str::trim);
        let trimmed = line.trim_start();
        if trimmed.starts_with("GPU ") {
            current = uuid.and_then(|u| devices.iter().position(|d| d.uuid == u));
        } else if let (Some(rest), Some(uuid), Some(d)) =
            (trimmed.strip_prefix("MIG "), uuid, current)
            && devices[d].mig
        {
            let profile = rest.split_whitespace().next().unwrap_or_default();
            devices[d].instances.push(MigInstance {
                uuid: uuid.to_owned(),
                profile: profile.to_owned(),
            });
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn query_lines_and_mig_instances() {
        let query = "0, GPU-aa, NVIDIA H100 80GB HBM3, 81559, Disabled\n\
                     1, GPU-bb, NVIDIA A10, 24564, [N/A]\n\
                     2, GPU-cc, NVIDIA H100 80GB HBM3, 81559, Enabled\n";
        let mut devices = parse_query(query).unwrap();
        assert_eq!(devices.len(), 3);
        assert_eq!(devices[1].name, "NVIDIA A10");
        assert_eq!(devices[0].memory_mib, 81559);
        assert!(devices[2].mig && !devices[1].mig);
        let list = "GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-aa)\n\
                    GPU 2: NVIDIA H100 80GB HBM3 (UUID: GPU-cc)\n  \
                    MIG 3g.40gb     Device  0: (UUID: MIG-c1)\n  \
                    MIG 1g.10gb     Device  1: (UUID: MIG-c2)\n";
        add_instances(list, &mut devices);
        assert!(devices[0].instances.is_empty());
        let profiles: Vec<_> = devices[2].instances.iter().map(|i| &i.profile).collect();
        assert_eq!(profiles, ["3g.40gb", "1g.10gb"]);
        assert_eq!(devices[2].instances[1].uuid, "MIG-c2");
        assert!(parse_query("garbage\n").is_err());
    }

    #[test]
    fn a_missing_program_is_no_gpus_and_a_hanging_one_is_bounded() {
        let none = discover_with("/nonexistent/nvidia-smi", LIMIT);
        assert!(none.devices.is_empty() && none.note.is_none());
        let dir = tempfile::tempdir().unwrap();
        let slow = dir.path().join("nvidia-smi");
        std::fs::write(&slow, "#!/bin/sh\nsleep 30\n").unwrap();
        std::fs::set_permissions(&slow, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let begun = Instant::now();
        let hung = discover_with(slow.to_str().unwrap(), Duration::from_millis(300));
        assert!(begun.elapsed() < Duration::from_secs(5));
        assert!(hung.devices.is_empty());
        assert!(hung.note.unwrap().contains("did not answer"));
    }
}
