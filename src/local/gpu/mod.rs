//! The local machine's GPUs and who holds them: discovery ([`inventory`], once per command),
//! the devices mlk may use ([`Machine`]: the stack's `[gpu] devices` and the caller's own
//! `CUDA_VISIBLE_DEVICES` narrow what `nvidia-smi` lists), which devices a step gets
//! ([`assign`]), the plan-time check and the plan's GPU notes ([`check`]), and the devices
//! the running steps hold ([`Gpus`]), with each step's `CUDA_VISIBLE_DEVICES`.
//!
//! Isolation is what CUDA gives: `CUDA_VISIBLE_DEVICES` (device or MIG UUIDs) is a
//! visibility filter a process can undo, not enforcement; MPS limits
//! (`CUDA_MPS_PINNED_DEVICE_MEM_LIMIT`, `CUDA_MPS_ACTIVE_THREAD_PERCENTAGE`) bind only when
//! an MPS control daemon runs; a MIG instance is real isolation of memory and compute.

pub(crate) mod assign;
mod check;
pub(crate) mod inventory;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use assign::{Ask, Grant, Table};
pub(crate) use check::{check, waits};
use inventory::{Device, Inventory};

use crate::exec::Lease;
use crate::load::DeviceRef;
use crate::resolve::Step;

/// The devices mlk may hand to steps, and what it found.
#[derive(Debug, Clone, Default)]
pub(crate) struct Machine {
    /// Usable devices (MIG devices with only their usable instances).
    pub devices: Vec<Device>,
    /// Devices `nvidia-smi` listed, usable or not.
    pub found: usize,
    /// An MPS control daemon runs: shared devices get MPS limits.
    pub mps: bool,
    /// What to warn about: discovery problems, `[gpu] devices` entries that match nothing.
    pub notes: Vec<String>,
    /// Why discovery found nothing although `nvidia-smi` exists.
    pub failure: Option<String>,
}

impl Machine {
    /// Discovers the GPUs and narrows them to the stack's `cap` and mlk's own
    /// `CUDA_VISIBLE_DEVICES` (read through `lookup`, as is `CUDA_MPS_PIPE_DIRECTORY`).
    pub(crate) fn discover(
        cap: Option<&[toml::Spanned<DeviceRef>]>,
        lookup: &dyn Fn(&str) -> Option<String>,
    ) -> Self {
        let pipes = lookup("CUDA_MPS_PIPE_DIRECTORY").unwrap_or_else(|| "/tmp/nvidia-mps".into());
        let mps = PathBuf::from(pipes).join("control").exists();
        let cap: Option<Vec<String>> = cap.map(|c| {
            c.iter()
                .map(|d| match d.get_ref() {
                    DeviceRef::Index(i) => i.to_string(),
                    DeviceRef::Uuid(u) => u.clone(),
                })
                .collect()
        });
        let caller = lookup("CUDA_VISIBLE_DEVICES");
        Machine::of(
            inventory::discover(),
            cap.as_deref(),
            caller.as_deref(),
            mps,
        )
    }

    /// `inventory` narrowed to `cap` (`[gpu] devices`) and `caller` (a
    /// `CUDA_VISIBLE_DEVICES` value: indices or UUIDs, comma-separated).
    pub(crate) fn of(
        inv: Inventory,
        cap: Option<&[String]>,
        caller: Option<&str>,
        mps: bool,
    ) -> Self {
        let found = inv.devices.len();
        let failure = inv.note;
        let mut notes: Vec<String> = failure.iter().cloned().collect();
        let mut devices = inv.devices;
        if let Some(cap) = cap {
            let unmatched;
            (devices, unmatched) = restrict(devices, cap);
            if found > 0 {
                notes.extend(unmatched.into_iter().map(|e| {
                    format!(
                        "[gpu] devices: `{e}` is not a GPU of this machine (see `nvidia-smi -L`)"
                    )
                }));
            }
        }
        if let Some(caller) = caller {
            let entries: Vec<String> = caller
                .split(',')
                .map(|e| e.trim().to_owned())
                .filter(|e| !e.is_empty())
                .collect();
            devices = restrict(devices, &entries).0;
        }
        Machine {
            devices,
            found,
            mps,
            notes,
            failure,
        }
    }

    /// One line per usable device, for `mlk plan`: `0  GPU-…  NVIDIA H100 80GB HBM3  81559 MiB`,
    /// a MIG device with its instances.
    pub(crate) fn lines(&self) -> Vec<String> {
        self.devices
            .iter()
            .map(|d| {
                let mut line = format!("{}  {}  {}  {} MiB", d.index, d.uuid, d.name, d.memory_mib);
                if d.mig {
                    let profiles: Vec<&str> =
                        d.instances.iter().map(|m| m.profile.as_str()).collect();
                    line.push_str(&format!("  MIG: {}", profiles.join(", ")));
                }
                line
            })
            .collect()
    }

    /// The devices in one line, for diagnostics: `8 GPUs: 0-6 NVIDIA H100 80GB HBM3
    /// (81559 MiB), 7 NVIDIA H100 80GB HBM3 in MIG mode (1g.10gb ×2, 3g.40gb)`.
    pub(crate) fn summary(&self) -> String {
        if self.devices.is_empty() {
            let hidden = if self.found > 0 {
                format!(
                    " ({} found, none left by [gpu] devices and CUDA_VISIBLE_DEVICES)",
                    self.found
                )
            } else if let Some(why) = &self.failure {
                format!(" (no GPU found: {why})")
            } else {
                " (`nvidia-smi` lists none)".into()
            };
            return format!("no GPU mlk may use{hidden}");
        }
        // Runs of consecutive devices that look the same share one entry.
        let mut groups: Vec<(u32, u32, String)> = Vec::new();
        for d in &self.devices {
            let what = if d.mig {
                let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
                for m in &d.instances {
                    *counts.entry(&m.profile).or_default() += 1;
                }
                let counts: Vec<String> = counts
                    .into_iter()
                    .map(|(p, n)| {
                        if n == 1 {
                            p.into()
                        } else {
                            format!("{p} ×{n}")
                        }
                    })
                    .collect();
                format!("{} in MIG mode ({})", d.name, counts.join(", "))
            } else {
                format!("{} ({} MiB)", d.name, d.memory_mib)
            };
            match groups.last_mut() {
                Some((_, last, w)) if *w == what && *last + 1 == d.index => *last = d.index,
                _ => groups.push((d.index, d.index, what)),
            }
        }
        let parts: Vec<String> = groups
            .into_iter()
            .map(|(a, b, w)| {
                if a == b {
                    format!("{a} {w}")
                } else {
                    format!("{a}-{b} {w}")
                }
            })
            .collect();
        let n = self.devices.len();
        format!(
            "{n} GPU{}: {}",
            if n == 1 { "" } else { "s" },
            parts.join(", ")
        )
    }
}

/// The devices (and MIG instances) that some entry of `entries` names, and the entries that
/// name none. An entry is an index, or the start of a device or MIG instance UUID; a device
/// named by a MIG instance keeps only the instances named.
fn restrict(devices: Vec<Device>, entries: &[String]) -> (Vec<Device>, Vec<String>) {
    let names = |e: &str, index: Option<u32>, uuid: &str| {
        e.parse::<u32>()
            .ok()
            .zip(index)
            .is_some_and(|(n, i)| n == i)
            || (e.len() >= 4 && uuid.starts_with(e))
    };
    let mut used = vec![false; entries.len()];
    let mut kept = Vec::new();
    for mut d in devices {
        let whole = entries.iter().enumerate().fold(false, |any, (k, e)| {
            let hit = names(e, Some(d.index), &d.uuid);
            used[k] |= hit;
            any | hit
        });
        if !whole {
            d.instances.retain(|m| {
                entries.iter().enumerate().fold(false, |any, (k, e)| {
                    let hit = names(e, None, &m.uuid);
                    used[k] |= hit;
                    any | hit
                })
            });
            if d.instances.is_empty() {
                continue;
            }
        }
        kept.push(d);
    }
    let unmatched = entries
        .iter()
        .zip(used)
        .filter(|(_, u)| !u)
        .map(|(e, _)| e.clone())
        .collect();
    (kept, unmatched)
}

/// The machine's devices and what the running steps of one run hold of them.
#[derive(Debug)]
pub(crate) struct Gpus {
    machine: Machine,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    table: Table,
    /// What each running step holds, per replica.
    held: BTreeMap<String, Vec<Vec<Grant>>>,
}

/// A step's hold on its devices, given back when dropped.
struct Held {
    gpus: Arc<Gpus>,
    step: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut state = self.gpus.lock();
        if let Some(grants) = state.held.remove(&self.step) {
            state.table.give_back(&grants);
        }
    }
}

impl Gpus {
    /// Nothing held yet on `machine`.
    pub(crate) fn new(machine: Machine) -> Arc<Self> {
        let table = Table::new(&machine.devices);
        Arc::new(Gpus {
            machine,
            state: Mutex::new(State {
                table,
                held: BTreeMap::new(),
            }),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the devices `step` needs while it runs, or says why it waits: `waiting for 2
    /// GPUs (1 free)`. A step that could never fit gets nothing here and fails to start
    /// ([`Gpus::env`]); the plan-time check stops it before a run.
    pub(crate) fn reserve(self: &Arc<Self>, step: &Step) -> Result<Lease, String> {
        let ask = Ask::of(step);
        let devices = &self.machine.devices;
        let mut state = self.lock();
        match state.table.assign(devices, &ask) {
            Ok(grants) => {
                state.table.take(&grants);
                state.held.insert(step.name.clone(), grants);
            }
            Err(short) if Table::new(devices).assign(devices, &ask).is_ok() => {
                return Err(format!("waiting for {} ({})", short.need, short.free));
            }
            Err(_) => {}
        }
        Ok(Box::new(Held {
            gpus: Arc::clone(self),
            step: step.name.clone(),
        }))
    }

    /// The GPU variables of each of `step`'s replicas: `CUDA_VISIBLE_DEVICES` and
    /// `NVIDIA_VISIBLE_DEVICES` (the UUIDs of its devices or MIG instances; none for a step
    /// without GPUs, on a machine that has some) and, on a shared device under MPS, its
    /// limits. Nothing on a machine without GPUs.
    pub(crate) fn env(&self, step: &Step) -> Result<Vec<BTreeMap<String, String>>, String> {
        let ask = Ask::of(step);
        let replicas = ask.replicas as usize;
        if self.machine.found == 0 && ask.need == assign::Need::None {
            return Ok(vec![BTreeMap::new(); replicas]);
        }
        let state = self.lock();
        let grants = match state.held.get(&step.name) {
            Some(g) => g.clone(),
            None if ask.need == assign::Need::None => vec![Vec::new(); replicas],
            None => {
                return Err(format!(
                    "it needs {} and this machine has {}",
                    ask.describe(),
                    self.machine.summary()
                ));
            }
        };
        Ok(grants.iter().map(|g| self.rank_env(g)).collect())
    }

    fn rank_env(&self, grants: &[Grant]) -> BTreeMap<String, String> {
        let devices = &self.machine.devices;
        let uuids: Vec<&str> = grants
            .iter()
            .map(|g| {
                let d = &devices[g.device];
                g.instance
                    .map_or(d.uuid.as_str(), |k| d.instances[k].uuid.as_str())
            })
            .collect();
        let mut env = BTreeMap::new();
        env.insert("CUDA_VISIBLE_DEVICES".into(), uuids.join(","));
        let nvidia = if uuids.is_empty() {
            "none".into()
        } else {
            uuids.join(",")
        };
        env.insert("NVIDIA_VISIBLE_DEVICES".into(), nvidia);
        if let (true, [g]) = (self.machine.mps, grants)
            && let Some(mib) = g.mib
        {
            let total = devices[g.device].memory_mib.max(1);
            // The share of the device, to the nearest percent.
            let percent = ((mib * 100 + total / 2) / total).clamp(1, 100);
            env.insert(
                "CUDA_MPS_PINNED_DEVICE_MEM_LIMIT".into(),
                format!("0={mib}M"),
            );
            env.insert(
                "CUDA_MPS_ACTIVE_THREAD_PERCENTAGE".into(),
                percent.to_string(),
            );
        }
        env
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn inventory() -> Inventory {
        let query = "0, GPU-a0, NVIDIA H100 80GB HBM3, 81559, Disabled\n\
                     1, GPU-b1, NVIDIA H100 80GB HBM3, 81559, Disabled\n\
                     2, GPU-c2, NVIDIA H100 80GB HBM3, 81559, Enabled\n";
        let mut devices = inventory::parse_query(query).unwrap();
        inventory::add_instances(
            "GPU 2: x (UUID: GPU-c2)\n  MIG 1g.10gb Device 0: (UUID: MIG-c2a)\n  MIG 1g.10gb Device 1: (UUID: MIG-c2b)\n",
            &mut devices,
        );
        Inventory {
            devices,
            note: None,
        }
    }

    fn indices(m: &Machine) -> Vec<u32> {
        m.devices.iter().map(|d| d.index).collect()
    }

    #[test]
    fn the_stack_cap_and_the_callers_visible_devices_both_narrow() {
        let all = Machine::of(inventory(), None, None, false);
        assert_eq!(indices(&all), [0, 1, 2]);
        assert_eq!(
            all.summary(),
            "3 GPUs: 0-1 NVIDIA H100 80GB HBM3 (81559 MiB), 2 NVIDIA H100 80GB HBM3 in MIG mode (1g.10gb ×2)"
        );
        let cap = ["1".to_owned(), "MIG-c2b".to_owned(), "GPU-zz".to_owned()];
        let capped = Machine::of(inventory(), Some(&cap), None, false);
        assert_eq!(indices(&capped), [1, 2]);
        assert_eq!(capped.devices[1].instances.len(), 1);
        assert_eq!(capped.notes.len(), 1, "{:?}", capped.notes);
        let both = Machine::of(inventory(), Some(&cap), Some("GPU-b1,0"), false);
        assert_eq!(indices(&both), [1]);
        let none = Machine::of(inventory(), None, Some(""), false);
        assert!(none.devices.is_empty());
        assert!(none.summary().contains("3 found"));
    }
}
