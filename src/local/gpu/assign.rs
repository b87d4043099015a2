//! Which of the machine's GPUs a step gets: the one rule that both the plan-time check
//! ([`super::check`]: does the step fit on the machine at all) and the scheduler's wait
//! ([`super::Gpus::reserve`]: does it fit next to the steps running now) apply.
//!
//! - `gpu = N` (whole): N devices that nothing else uses, per replica, of the step's GPU
//!   type, never a device in MIG mode (CUDA cannot use one whole).
//! - A fraction or `gpu_memory` (`kai` or `time-slicing` sharing): room on one shared device,
//!   by memory: the request's MiB (`gpu_memory`) or its share of the device's memory (the
//!   share the cluster's rule gives: `gpu = 0.25` is a quarter of the device). The device
//!   that fits it most tightly is chosen, so large requests still find room.
//! - A MIG profile (`mig` sharing): a free MIG instance of that profile.
//!
//! A step's GPU type matches a device when its node selector names the device's product
//! (`nvidia.com/gpu.product = "NVIDIA-H100-80GB-HBM3"`, spaces as dashes), else when every
//! dash-separated part of the type's name is in the device's name (`h100`, `a100-80gb`).

use super::inventory::Device;
use crate::resolve::{Gpu, Step};

/// The node label that names a GPU product (GPU feature discovery's).
const PRODUCT_LABEL: &str = "nvidia.com/gpu.product";

/// What one replica of a step asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Need {
    /// No GPU.
    None,
    /// Whole devices.
    Whole(u32),
    /// MiB on a shared device.
    Memory(u64),
    /// A share of a device's memory.
    Share(f64),
    /// A MIG instance of a profile.
    Mig(String),
}

/// A step's request, as the machine sees it.
#[derive(Debug, Clone)]
pub(crate) struct Ask {
    /// Per replica.
    pub need: Need,
    /// Processes, each with its own `need`.
    pub replicas: u32,
    /// The GPU type's name, if any.
    pub gpu_type: Option<String>,
    /// The product the node selector names, if any.
    pub product: Option<String>,
}

impl Ask {
    /// What `step` asks for.
    pub(crate) fn of(step: &Step) -> Self {
        let need = match &step.gpu {
            Gpu::None | Gpu::Whole { count: 0, .. } => Need::None,
            Gpu::Whole { count, .. } => Need::Whole(*count),
            Gpu::KaiMemory { mib, .. } => Need::Memory(*mib),
            Gpu::KaiFraction { fraction: s, .. } | Gpu::TimeSliced { share: s, .. } => {
                Need::Share(*s)
            }
            Gpu::Mig { profile, .. }
            | Gpu::Dra {
                profile: Some(profile),
                ..
            } => Need::Mig(profile.clone()),
            // A claim on a DRA stack: whole devices locally, as the claim gives the pod.
            Gpu::Dra { count, .. } => Need::Whole(*count),
        };
        Ask {
            need,
            replicas: step.replicas.max(1),
            gpu_type: step.gpu.gpu_type().map(str::to_owned),
            product: step.node_selector.get(PRODUCT_LABEL).cloned(),
        }
    }

    /// Whether `d` is of the asked type.
    pub(crate) fn matches(&self, d: &Device) -> bool {
        if let Some(p) = &self.product {
            return d.name.replace(' ', "-").eq_ignore_ascii_case(p);
        }
        let name = d.name.to_lowercase();
        self.gpu_type
            .as_ref()
            .is_none_or(|t| t.to_lowercase().split('-').all(|part| name.contains(part)))
    }

    /// `2 GPUs`, `20480 MiB of a shared GPU`, `a MIG 1g.10gb instance`, for all replicas.
    pub(crate) fn describe(&self) -> String {
        let typed = self
            .gpu_type
            .as_ref()
            .map_or_else(String::new, |t| format!("{t} "));
        match &self.need {
            Need::None => "no GPU".into(),
            Need::Whole(n) => {
                let n = n * self.replicas;
                format!("{n} {typed}GPU{}", if n == 1 { "" } else { "s" })
            }
            Need::Memory(mib) => format!("{mib} MiB of a shared {typed}GPU"),
            Need::Share(s) => format!("{s} of a shared {typed}GPU"),
            Need::Mig(p) => match self.replicas {
                1 => format!("a MIG {p} instance"),
                r => format!("{r} MIG {p} instances"),
            },
        }
    }
}

/// One device a replica gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    /// Position in the machine's device list.
    pub device: usize,
    /// The MIG instance, by position in the device's instances.
    pub instance: Option<usize>,
    /// MiB of a shared device.
    pub mib: Option<u64>,
}

/// What is in use on one device.
#[derive(Debug, Clone, Default)]
struct Slot {
    whole: bool,
    shared_mib: u64,
    sharers: u32,
    instances: Vec<bool>,
}

/// What the running steps hold of the machine's devices.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    slots: Vec<Slot>,
}

/// Why a request does not fit now: what it needs and what is free of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Short {
    /// `2 GPUs`.
    pub need: String,
    /// `1 free`.
    pub free: String,
}

impl Table {
    /// Nothing in use on `devices`.
    pub(crate) fn new(devices: &[Device]) -> Self {
        let slots = devices
            .iter()
            .map(|d| Slot {
                instances: vec![false; d.instances.len()],
                ..Slot::default()
            })
            .collect();
        Table { slots }
    }

    /// The devices of `ask` for each replica, taken from what is free on `devices`, or what
    /// is short. Takes nothing: see [`Table::take`].
    pub(crate) fn assign(&self, devices: &[Device], ask: &Ask) -> Result<Vec<Vec<Grant>>, Short> {
        let r = ask.replicas as usize;
        match &ask.need {
            Need::None => Ok(vec![Vec::new(); r]),
            Need::Whole(n) => self.whole(devices, ask, *n as usize),
            Need::Memory(_) | Need::Share(_) => {
                // Replica by replica, each seeing what the ones before it took.
                let mut scratch = self.clone();
                let mut out = Vec::new();
                for _ in 0..r {
                    let g = vec![scratch.shared(devices, ask)?];
                    scratch.take(std::slice::from_ref(&g));
                    out.push(g);
                }
                Ok(out)
            }
            Need::Mig(profile) => self.mig(devices, ask, profile),
        }
    }

    /// `per` whole devices for each replica: free, of the type, not in MIG mode.
    fn whole(&self, devices: &[Device], ask: &Ask, per: usize) -> Result<Vec<Vec<Grant>>, Short> {
        let free: Vec<usize> = (0..devices.len())
            .filter(|&i| ask.matches(&devices[i]) && !devices[i].mig && self.unused(i))
            .collect();
        let total = per * ask.replicas as usize;
        if free.len() < total {
            return Err(short(ask, format!("{} free", free.len())));
        }
        Ok(free[..total]
            .chunks(per)
            .map(|c| c.iter().map(|&device| grant(device, None, None)).collect())
            .collect())
    }

    /// Room for one replica's share on the shared device it fits most tightly.
    fn shared(&self, devices: &[Device], ask: &Ask) -> Result<Grant, Short> {
        let want = |i: usize| match ask.need {
            Need::Memory(mib) => mib,
            Need::Share(s) => (s * devices[i].memory_mib as f64).ceil() as u64,
            _ => 0,
        };
        let room = |i: usize| {
            devices[i]
                .memory_mib
                .saturating_sub(self.slots[i].shared_mib)
        };
        let shared: Vec<usize> = (0..devices.len())
            .filter(|&i| ask.matches(&devices[i]) && !devices[i].mig && !self.slots[i].whole)
            .collect();
        let best = shared
            .iter()
            .filter(|&&i| room(i) >= want(i))
            .min_by_key(|&&i| room(i) - want(i));
        match best {
            Some(&i) => Ok(grant(i, None, Some(want(i)))),
            None => {
                let most = shared.iter().map(|&i| room(i)).max().unwrap_or(0);
                Err(short(ask, format!("{most} MiB free on one GPU at most")))
            }
        }
    }

    /// A free instance of `profile` for each replica.
    fn mig(&self, devices: &[Device], ask: &Ask, profile: &str) -> Result<Vec<Vec<Grant>>, Short> {
        let free: Vec<(usize, usize)> = (0..devices.len())
            .filter(|&i| ask.matches(&devices[i]))
            .flat_map(|i| {
                let slot = &self.slots[i];
                devices[i]
                    .instances
                    .iter()
                    .enumerate()
                    .filter(move |(k, m)| m.profile == profile && !slot.instances[*k])
                    .map(move |(k, _)| (i, k))
            })
            .collect();
        let r = ask.replicas as usize;
        if free.len() < r {
            return Err(short(ask, format!("{} free", free.len())));
        }
        Ok(free[..r]
            .iter()
            .map(|&(i, k)| vec![grant(i, Some(k), None)])
            .collect())
    }

    fn unused(&self, i: usize) -> bool {
        let s = &self.slots[i];
        !s.whole && s.sharers == 0 && !s.instances.iter().any(|u| *u)
    }

    /// Marks `grants` in use.
    pub(crate) fn take(&mut self, grants: &[Vec<Grant>]) {
        self.mark(grants, true);
    }

    /// Marks `grants` free again.
    pub(crate) fn give_back(&mut self, grants: &[Vec<Grant>]) {
        self.mark(grants, false);
    }

    fn mark(&mut self, grants: &[Vec<Grant>], used: bool) {
        for g in grants.iter().flatten() {
            let slot = &mut self.slots[g.device];
            match (g.instance, g.mib) {
                (Some(k), _) => slot.instances[k] = used,
                (None, Some(mib)) if used => {
                    slot.shared_mib += mib;
                    slot.sharers += 1;
                }
                (None, Some(mib)) => {
                    slot.shared_mib = slot.shared_mib.saturating_sub(mib);
                    slot.sharers = slot.sharers.saturating_sub(1);
                }
                (None, None) => slot.whole = used,
            }
        }
    }
}

fn grant(device: usize, instance: Option<usize>, mib: Option<u64>) -> Grant {
    Grant {
        device,
        instance,
        mib,
    }
}

fn short(ask: &Ask, free: String) -> Short {
    Short {
        need: ask.describe(),
        free,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::super::inventory::MigInstance;
    use super::*;

    fn h100(index: u32, mig: &[&str]) -> Device {
        Device {
            index,
            uuid: format!("GPU-{index}"),
            name: "NVIDIA H100 80GB HBM3".into(),
            memory_mib: 81920,
            mig: !mig.is_empty(),
            instances: mig
                .iter()
                .enumerate()
                .map(|(k, p)| MigInstance {
                    uuid: format!("MIG-{index}-{k}"),
                    profile: (*p).into(),
                })
                .collect(),
        }
    }

    fn ask(need: Need, replicas: u32) -> Ask {
        Ask {
            need,
            replicas,
            gpu_type: None,
            product: None,
        }
    }

    #[test]
    fn whole_devices_are_exclusive_and_skip_mig_devices() {
        let devices = [h100(0, &[]), h100(1, &["1g.10gb"]), h100(2, &[])];
        let mut t = Table::new(&devices);
        let two = ask(Need::Whole(2), 1);
        let got = t.assign(&devices, &two).unwrap();
        assert_eq!(got[0].iter().map(|g| g.device).collect::<Vec<_>>(), [0, 2]);
        t.take(&got);
        let one = ask(Need::Whole(1), 1);
        let e = t.assign(&devices, &one).unwrap_err();
        assert_eq!((e.need.as_str(), e.free.as_str()), ("1 GPU", "0 free"));
        t.give_back(&got);
        assert!(t.assign(&devices, &ask(Need::Whole(1), 2)).is_ok());
        let e = t.assign(&devices, &ask(Need::Whole(2), 2)).unwrap_err();
        assert_eq!((e.need.as_str(), e.free.as_str()), ("4 GPUs", "2 free"));
    }

    #[test]
    fn shares_pack_by_memory_and_keep_whole_requests_off_shared_devices() {
        let devices = [h100(0, &[]), h100(1, &[])];
        let mut t = Table::new(&devices);
        let quarter = ask(Need::Share(0.25), 1);
        for _ in 0..4 {
            let g = t.assign(&devices, &quarter).unwrap();
            assert_eq!(g[0][0].device, 0, "packed onto the first device");
            assert_eq!(g[0][0].mib, Some(20480));
            t.take(&g);
        }
        // Two replicas' shares are two grants, each counted: two halves fit on device 1,
        // two of 50000 MiB do not.
        let two = t.assign(&devices, &ask(Need::Memory(40000), 2)).unwrap();
        assert_eq!((two[0][0].device, two[1][0].device), (1, 1));
        assert!(t.assign(&devices, &ask(Need::Memory(50000), 2)).is_err());
        let big = ask(Need::Memory(70000), 1);
        let g = t.assign(&devices, &big).unwrap();
        assert_eq!(g[0][0].device, 1);
        t.take(&g);
        // Both devices are shared now: no whole device is free.
        let e = t.assign(&devices, &ask(Need::Whole(1), 1)).unwrap_err();
        assert_eq!(e.free, "0 free");
        let e = t
            .assign(&devices, &ask(Need::Memory(20000), 1))
            .unwrap_err();
        assert_eq!(e.free, "11920 MiB free on one GPU at most");
    }

    #[test]
    fn mig_instances_by_profile_and_types_by_name() {
        let devices = [h100(0, &[]), h100(1, &["1g.10gb", "1g.10gb", "3g.40gb"])];
        let mut t = Table::new(&devices);
        let small = ask(Need::Mig("1g.10gb".into()), 1);
        let a = t.assign(&devices, &small).unwrap();
        t.take(&a);
        let b = t.assign(&devices, &small).unwrap();
        assert_ne!(a, b);
        t.take(&b);
        assert!(t.assign(&devices, &small).is_err());
        let mut typed = ask(Need::Whole(1), 1);
        typed.gpu_type = Some("a100-80gb".into());
        assert!(!typed.matches(&devices[0]));
        typed.gpu_type = Some("h100".into());
        assert!(typed.matches(&devices[0]));
        typed.product = Some("NVIDIA-H100-80GB-HBM3".into());
        assert!(typed.matches(&devices[0]));
    }
}
