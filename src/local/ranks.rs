//! The processes of one attempt: one for a job step, `replicas` for a PyTorch step, each
//! with its GPUs ([`super::gpu::Gpus::env`]) and, for PyTorch, the environment a
//! PyTorchJob's pods get and `torch.distributed`'s `env://` start-up reads: `MASTER_ADDR =
//! 127.0.0.1`, `MASTER_PORT` (a free port), `WORLD_SIZE`, `RANK`, `LOCAL_RANK`,
//! `LOCAL_WORLD_SIZE`. Each replica is one process (`nproc_per_node` is the cluster's); its
//! log lines carry `rank-N` as their replica.

use std::collections::BTreeMap;
use std::net::TcpListener;

use crate::domain::StepKind;
use crate::resolve::Step;

/// What one process of an attempt gets besides the step's own environment.
pub(crate) struct Rank {
    /// Its replica name in log lines (`rank-1`), for a step with several.
    pub replica: Option<String>,
    /// GPU and torchrun variables.
    pub env: BTreeMap<String, String>,
}

/// The processes of an attempt of `step`, given each replica's GPU variables (`gpu_env`,
/// one map per replica, or one for a step without replicas).
pub(crate) fn ranks(
    step: &Step,
    gpu_env: Vec<BTreeMap<String, String>>,
) -> Result<Vec<Rank>, String> {
    let pytorch = step.kind == StepKind::Pytorch;
    let n = if pytorch {
        step.replicas.max(1) as usize
    } else {
        1
    };
    let mut envs = gpu_env;
    envs.resize(n, BTreeMap::new());
    if pytorch {
        let port = free_port()?;
        for (rank, env) in envs.iter_mut().enumerate() {
            for (k, v) in [
                ("MASTER_ADDR", "127.0.0.1".to_owned()),
                ("MASTER_PORT", port.to_string()),
                ("WORLD_SIZE", n.to_string()),
                ("LOCAL_WORLD_SIZE", n.to_string()),
                ("RANK", rank.to_string()),
                ("LOCAL_RANK", rank.to_string()),
            ] {
                env.insert(k.into(), v);
            }
        }
    }
    Ok(envs
        .into_iter()
        .enumerate()
        .map(|(rank, env)| Rank {
            replica: (n > 1).then(|| format!("rank-{rank}")),
            env,
        })
        .collect())
}

/// A port on 127.0.0.1 that nothing listens on now (rank 0 binds it soon after).
fn free_port() -> Result<u16, String> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free port on 127.0.0.1 for MASTER_PORT: {e}"))
}
