//! MIG profiles: the built-in tables (NVIDIA mig-parted v0.15.0 default config, K8S-CONVENTIONS
//! §7), profile parsing, which table a GPU type uses, and the choice of the smallest profile
//! that fits a request.
//!
//! A profile `<G>g.<M>gb[+me]` has G compute slices (of 7) and M GB of memory. Its memory is
//! compared with requests as M GiB: mlk's GPU types write device memory in Gi (`80Gi`), and
//! the profile names round the same way, so `0.25 × 80Gi = 20Gi` fits `1g.20gb` exactly.

use super::ResolveError;
use crate::load::GpuTypeDef;

/// One MIG profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Profile {
    /// The name as mig-parted writes it, e.g. `1g.10gb+me`.
    pub name: String,
    /// Compute slices (the `G` of `<G>g`).
    pub slices: u32,
    /// Memory in GB as named (the `M` of `<M>gb`).
    pub memory_gb: u32,
    /// Most instances of this profile on one GPU (from the built-in tables; 0 when unknown).
    pub per_gpu: u32,
}

impl Profile {
    /// The device-plugin resource of the profile in the `mixed` strategy:
    /// `nvidia.com/mig-<profile>` with `+` replaced by `.`.
    pub(super) fn resource(&self) -> String {
        format!("nvidia.com/mig-{}", self.name).replace('+', ".")
    }

    /// Memory in bytes, reading the profile's GB as GiB.
    pub(super) fn memory_bytes(&self) -> u128 {
        u128::from(self.memory_gb) << 30
    }
}

/// A built-in table: name, nominal device memory in GB, profiles with instance counts.
type Table = (&'static str, u32, &'static [(&'static str, u32)]);

/// The built-in tables.
const TABLES: &[Table] = &[
    (
        "a100-40gb",
        40,
        &[
            ("1g.5gb", 7),
            ("1g.5gb+me", 1),
            ("1g.10gb", 4),
            ("2g.10gb", 3),
            ("3g.20gb", 2),
            ("4g.20gb", 1),
            ("7g.40gb", 1),
        ],
    ),
    ("a100-80gb", 80, A100_H100_80GB),
    ("h100-80gb", 80, A100_H100_80GB),
    (
        "h100-nvl-94gb",
        94,
        &[
            ("1g.12gb", 7),
            ("1g.24gb", 4),
            ("2g.24gb", 3),
            ("3g.47gb", 2),
            ("4g.47gb", 1),
            ("7g.94gb", 1),
        ],
    ),
    (
        "h200-141gb",
        141,
        &[
            ("1g.18gb", 7),
            ("1g.35gb", 4),
            ("2g.35gb", 3),
            ("3g.71gb", 2),
            ("4g.71gb", 1),
            ("7g.141gb", 1),
        ],
    ),
];

const A100_H100_80GB: &[(&str, u32)] = &[
    ("1g.10gb", 7),
    ("1g.10gb+me", 1),
    ("1g.20gb", 4),
    ("2g.20gb", 3),
    ("3g.40gb", 2),
    ("4g.40gb", 1),
    ("7g.80gb", 1),
];

/// Parses `<G>g.<M>gb` or `<G>g.<M>gb+me`.
pub(super) fn parse(name: &str) -> Option<Profile> {
    let base = name.strip_suffix("+me").unwrap_or(name);
    let (g, m) = base.split_once("g.")?;
    let m = m.strip_suffix("gb")?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(g) || !digits(m) {
        return None;
    }
    let slices: u32 = g.parse().ok()?;
    let memory_gb: u32 = m.parse().ok()?;
    (1..=8).contains(&slices).then(|| Profile {
        name: name.to_owned(),
        slices,
        memory_gb,
        per_gpu: 0,
    })
}

/// The built-in table called `name` (one of [`crate::load::MIG_TABLES`]).
pub(super) fn table(name: &str) -> Option<Vec<Profile>> {
    TABLES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, _, profiles)| build(profiles))
}

/// The built-in table for a device of `memory_bytes`: the table whose nominal memory is
/// within 1 GB of the device's, read as GiB or as GB (`80Gi` and `80G` both pick 80 GB).
/// A100-80GB and H100-80GB have the same profiles, so either answer is right for 80 GB.
pub(super) fn table_for_memory(memory_bytes: u128) -> Option<(&'static str, Vec<Profile>)> {
    let gib = memory_bytes as f64 / f64::from(1u32 << 30);
    let gb = memory_bytes as f64 / 1e9;
    TABLES
        .iter()
        .find(|(_, nominal, _)| {
            let n = f64::from(*nominal);
            (gib - n).abs() < 1.0 || (gb - n).abs() < 1.0
        })
        .map(|(name, _, profiles)| (*name, build(profiles)))
}

fn build(profiles: &[(&str, u32)]) -> Vec<Profile> {
    profiles
        .iter()
        .filter_map(|(name, count)| {
            parse(name).map(|p| Profile {
                per_gpu: *count,
                ..p
            })
        })
        .collect()
}

/// The smallest profile whose memory is at least `request_bytes`: least memory first, then
/// fewest compute slices, then a plain profile before its `+me` twin (media extensions take
/// the GPU's only decoders, so they are chosen only when nothing else fits).
pub(super) fn smallest_fitting(profiles: &[Profile], request_bytes: u128) -> Option<&Profile> {
    profiles
        .iter()
        .filter(|p| p.memory_bytes() >= request_bytes)
        .min_by_key(|p| {
            (
                p.memory_gb,
                p.slices,
                p.name.ends_with("+me"),
                p.name.clone(),
            )
        })
}

/// The MIG profiles of GPU type `name`: its `mig_profiles`, else the built-in table named by
/// its `mig` key, else the built-in table matching its `memory`. Problems go to `report`.
pub(super) fn profiles_of(
    name: &str,
    t: &toml::Spanned<GpuTypeDef>,
    report: &mut impl FnMut(ResolveError),
) -> Vec<Profile> {
    let def = t.get_ref();
    match (&def.mig_profiles, &def.mig, &def.memory) {
        (Some(list), _, _) => {
            let mut out = Vec::new();
            for p in list {
                match parse(p.get_ref()) {
                    Some(profile) => out.push(profile),
                    None => report(ResolveError::MigProfileName {
                        name: p.get_ref().clone(),
                        at: p.span().into(),
                    }),
                }
            }
            out
        }
        (None, Some(m), _) => table(m.get_ref()).unwrap_or_default(),
        (None, None, Some(memory)) => {
            let bytes = u128::try_from(memory.get_ref().whole_ceil()).unwrap_or(0);
            match table_for_memory(bytes) {
                Some((_, p)) => p,
                None => {
                    report(ResolveError::MigTable {
                        memory: memory.get_ref().to_string(),
                        gpu_type: name.to_owned(),
                        tables: crate::load::MIG_TABLES.join(", "),
                        at: memory.span().into(),
                    });
                    Vec::new()
                }
            }
        }
        (None, None, None) => {
            report(ResolveError::GpuTypeMemory {
                gpu_type: Some(name.to_owned()),
                why: "the mig sharing mode picks the profile table by the type's memory".into(),
                at: t.span().into(),
            });
            Vec::new()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const GI: u128 = 1 << 30;

    fn pick(table_name: &str, request: u128) -> Option<String> {
        let t = table(table_name).unwrap();
        smallest_fitting(&t, request).map(|p| p.name.clone())
    }

    #[test]
    fn every_built_in_table_parses_completely() {
        for (name, _, profiles) in TABLES {
            assert_eq!(table(name).unwrap().len(), profiles.len(), "{name}");
        }
    }

    #[test]
    fn quarter_of_an_h100_is_1g_20gb() {
        assert_eq!(pick("h100-80gb", 20 * GI).as_deref(), Some("1g.20gb"));
    }

    #[test]
    fn exact_boundaries_fit_and_one_byte_more_does_not() {
        assert_eq!(pick("h100-80gb", 10 * GI).as_deref(), Some("1g.10gb"));
        assert_eq!(pick("h100-80gb", 10 * GI + 1).as_deref(), Some("1g.20gb"));
        assert_eq!(pick("h100-80gb", 40 * GI).as_deref(), Some("3g.40gb"));
        assert_eq!(pick("h100-80gb", 80 * GI).as_deref(), Some("7g.80gb"));
        assert_eq!(pick("h100-80gb", 80 * GI + 1), None);
        assert_eq!(pick("a100-40gb", 5 * GI).as_deref(), Some("1g.5gb"));
        assert_eq!(pick("a100-40gb", 6 * GI).as_deref(), Some("1g.10gb"));
        assert_eq!(pick("a100-40gb", 20 * GI).as_deref(), Some("3g.20gb"));
        assert_eq!(pick("h100-nvl-94gb", 24 * GI).as_deref(), Some("1g.24gb"));
        assert_eq!(pick("h100-nvl-94gb", 25 * GI).as_deref(), Some("3g.47gb"));
        assert_eq!(pick("h200-141gb", 18 * GI).as_deref(), Some("1g.18gb"));
        assert_eq!(pick("h200-141gb", 36 * GI).as_deref(), Some("3g.71gb"));
        assert_eq!(pick("h200-141gb", 141 * GI).as_deref(), Some("7g.141gb"));
    }

    #[test]
    fn media_extensions_only_when_nothing_else_fits() {
        assert_eq!(pick("a100-80gb", GI).as_deref(), Some("1g.10gb"));
        let only_me = vec![parse("1g.10gb+me").unwrap(), parse("2g.20gb").unwrap()];
        let p = smallest_fitting(&only_me, GI).unwrap();
        assert_eq!(p.name, "1g.10gb+me");
        assert_eq!(p.resource(), "nvidia.com/mig-1g.10gb.me");
    }

    #[test]
    fn resource_names_follow_the_device_plugin() {
        let p = parse("3g.40gb").unwrap();
        assert_eq!(p.resource(), "nvidia.com/mig-3g.40gb");
        assert_eq!(p.slices, 3);
        assert_eq!(p.memory_gb, 40);
    }

    #[test]
    fn bad_profile_names_are_rejected() {
        for bad in [
            "",
            "1g",
            "g.10gb",
            "1g.10",
            "1g.10gb+xe",
            "9g.10gb",
            "1g.-1gb",
            "a.bgb",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn tables_are_chosen_by_memory() {
        assert_eq!(table_for_memory(80 * GI).unwrap().0, "a100-80gb");
        assert_eq!(table_for_memory(80_000_000_000).unwrap().0, "a100-80gb");
        assert_eq!(table_for_memory(40 * GI).unwrap().0, "a100-40gb");
        assert_eq!(table_for_memory(94 * GI).unwrap().0, "h100-nvl-94gb");
        assert_eq!(table_for_memory(141 * GI).unwrap().0, "h200-141gb");
        assert!(table_for_memory(24 * GI).is_none());
    }
}
