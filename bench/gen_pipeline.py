#!/usr/bin/env python3
"""Generate a large, realistic mlk pipeline for benchmarks.

    bench/gen_pipeline.py OUT.toml [--steps 1000] [--seed 42] [--stack examples/stacks/dev.toml]

The pipeline is a layered DAG: steps are grouped into layers of about sqrt(N) steps, and
every step after the first layer depends on 1-3 steps of earlier layers (mostly the layer
right before it), through `{{ steps.X.outputs.Y }}` references in its command or, for some
edges, an explicit `after`. One step in ten is a distributed PyTorch step (4 replicas,
2 GPUs each, /dev/shm); the rest are jobs with templated commands, parameters, environment
variables, URI inputs, retries and timeouts in varying mixes.

Serve steps (KServe InferenceServices that serve a PyTorch step's model) are added only
when --stack names a stack with a `[serving]` table, and use the autoscaling metric and the
canary only where the stack's serving mode allows them. GPU requests are whole devices
without a GPU type, so they take the stack's `[gpu] default_type`. Images are pinned by a
(made-up, stable) digest when the stack's `[policy]` requires digests.

The output depends only on the arguments (a seeded PRNG), so every run of the benchmark
renders the same file. Python 3.11+ standard library only.
"""

import argparse
import hashlib
import json
import math
import random
import sys
import tomllib

JOB_KINDS = ["prep", "features", "score", "eval", "report", "merge"]
IMAGES = [
    "registry.acme.io/bench/etl:2.4.1",
    "registry.acme.io/bench/features:1.9.0",
    "registry.acme.io/bench/eval:3.0.2",
]
TRAIN_IMAGE = "registry.acme.io/bench/train:5.1.0"
CPU = ["500m", "1", "2", "4", "8"]
MEMORY = ["1Gi", "2Gi", "4Gi", "8Gi", "16Gi"]
TIMEOUTS = ["15m", "30m", "1h", "2h", "6h"]


def q(s):
    """A TOML basic string (JSON string syntax is valid TOML for these values)."""
    return json.dumps(s)


def inline(table):
    """A TOML inline table of already-encoded values."""
    return "{ " + ", ".join(f"{k} = {v}" for k, v in table.items()) + " }"


def read_stack(stack_path):
    """The stack's serving mode ("knative" / "standard", None without serving) and whether
    its policy requires images pinned by digest."""
    if not stack_path:
        return None, False
    with open(stack_path, "rb") as f:
        stack = tomllib.load(f)
    serving = stack.get("serving")
    mode = None if serving is None else serving.get("mode", "standard")
    return mode, bool(stack.get("policy", {}).get("require_digest", False))


def image(ref, pin):
    """`ref`, or with `pin` the same repository at a made-up but stable digest."""
    if not pin:
        return ref
    repository = ref.rsplit(":", 1)[0]
    return f"{repository}@sha256:{hashlib.sha256(ref.encode()).hexdigest()}"


def plan_steps(n, serve_count, rng):
    """Names, kinds, layers and parents of every step, in generation order."""
    width = max(1, round(math.sqrt(n)))
    work = n - serve_count
    steps = []
    layers = []
    for i in range(work):
        layer = i // width
        if layer == len(layers):
            layers.append([])
        is_torch = i % 10 == 7
        prefix = "train" if is_torch else JOB_KINDS[i % len(JOB_KINDS)]
        name = f"{prefix}-{i:04d}"
        parents = []
        if layer > 0:
            previous = layers[layer - 1]
            earlier = [s for l in layers[:layer] for s in l]
            k = rng.randint(1, 3)
            parents.append(rng.choice(previous))
            while len(parents) < min(k, len(earlier)):
                pool = previous if rng.random() < 0.7 else earlier
                p = rng.choice(pool)
                if p not in parents:
                    parents.append(p)
        step = {
            "name": name,
            "kind": "pytorch" if is_torch else "job",
            "prefix": prefix,
            "layer": layer,
            "parents": parents,
        }
        steps.append(step)
        layers[layer].append(name)
    torch = [s["name"] for s in steps if s["kind"] == "pytorch"]
    for j in range(serve_count if torch else 0):
        model = torch[(j * 7919) % len(torch)]
        steps.append(
            {
                "name": f"serve-{work + j:04d}",
                "kind": "serve",
                "prefix": "serve",
                "layer": len(layers),
                "parents": [model],
            }
        )
    return steps


def job_or_torch(s, i, rng, pin):
    """The TOML lines of a job or pytorch step."""
    lines = []
    torch = s["kind"] == "pytorch"
    if torch:
        lines.append('kind = "pytorch"')
        lines.append(f"image = {q(image(TRAIN_IMAGE, pin))}")
    elif i % 3 == 0:
        lines.append(f"image = {q(image(IMAGES[i % len(IMAGES)], pin))}")
    outputs = ["model", "metrics"] if torch else ["data", "metrics"]
    lines.append("outputs = [" + ", ".join(q(o) for o in outputs) + "]")

    after = []
    command = ["torchrun", "-m", "bench.train"] if torch else ["python", "-m", f"bench.{s['prefix']}"]
    for p in s["parents"]:
        if rng.random() < 0.8:
            out = "model" if p.startswith("train-") else "data"
            command += ["--in", f"{{{{ steps.{p}.outputs.{out} }}}}"]
        else:
            after.append(p)
    if not s["parents"]:
        command += ["--in", "{{ params.dataset }}"]
        lines.append(f"inputs = {inline({'raw': q('{{ params.dataset }}')})}")
    if torch:
        command += [
            "--epochs", "{{ params.epochs }}",
            "--batch-size", "{{ params.batch_size }}",
            "--lr", "{{ params.learning_rate }}",
        ]
    elif i % 4 == 1:
        command += ["--threshold", "{{ params.threshold }}"]
    command += ["--seed", "{{ params.seed }}", "--run", "{{ run.id }}"]
    for o in outputs:
        command += [f"--{o}", f"{{{{ outputs.{o} }}}}"]
    if after:
        lines.append("after = [" + ", ".join(q(a) for a in after) + "]")
    lines.append("command = [" + ", ".join(q(c) for c in command) + "]")

    env = {"STEP_TAG": q("{{ pipeline.name }}/{{ step.name }}")}
    if i % 5 == 0:
        env["SHARD"] = q(str(i % 16))
    if torch:
        env["WANDB_PROJECT"] = q("bench")
        env["WANDB_API_KEY"] = inline({"secret": q("wandb"), "key": q("api-key")})
        lines.append("replicas = 4")
        res = {"cpu": q("16"), "memory": q("64Gi"), "gpu": "2", "shm": q("16Gi")}
        lines.append("retries = 2")
        lines.append('timeout = "6h"')
        lines.append('expected_duration = "3h"')
    else:
        res = {"cpu": q(CPU[i % len(CPU)]), "memory": q(MEMORY[(i // 2) % len(MEMORY)])}
        if i % 13 == 0:
            res["gpu"] = "1"
        if i % 4 == 0:
            lines.append(f"timeout = {q(TIMEOUTS[i % len(TIMEOUTS)])}")
        if i % 6 == 0:
            lines.append("retries = 1")
        if i % 17 == 0:
            lines.append("cache = false")
    lines.append(f"env = {inline(env)}")
    lines.append(f"resources = {inline(res)}")
    if i % 9 == 0:
        lines.append(f"labels = {inline({'stage': q(s['prefix'])})}")
    return lines


def serve(s, i, mode):
    """The TOML lines of a serve step."""
    (model,) = s["parents"]
    lines = [
        'kind = "serve"',
        f"model = {inline({'format': q('pytorch'), 'uri': q('{{ steps.' + model + '.outputs.model }}')})}",
        f"replicas = {inline({'min': '1', 'max': str(4 + i % 5)})}",
        f"resources = {inline({'cpu': q('2'), 'memory': q('8Gi'), 'gpu': '1'})}",
    ]
    if mode == "knative":
        lines.append(f"autoscale = {inline({'metric': q('concurrency'), 'target': '80'})}")
        lines.append("canary = 10")
    else:
        lines.append(f"autoscale = {inline({'metric': q('cpu'), 'target': '70'})}")
    return lines


def generate(n, seed, mode, pin):
    rng = random.Random(seed)
    serve_count = max(1, n // 200) if mode and n >= 10 else 0
    steps = plan_steps(n, serve_count, rng)
    out = [
        f"# Generated by bench/gen_pipeline.py --steps {n} --seed {seed}; do not edit.",
        "",
        "[pipeline]",
        f'name = "bench-{n}"',
        f"description = {q(f'Benchmark pipeline: {n} steps in a layered DAG')}",
        'cache_salt = "bench"',
        "",
        "[params]",
        'dataset = "s3://acme-ml-data/bench/2026-11-01/"',
        "epochs = 10",
        "batch_size = 4096",
        "learning_rate = 0.001",
        "threshold = 0.92",
        "seed = 1234",
        "",
        "[defaults]",
        f"image = {q(image(IMAGES[0], pin))}",
        f"env = {inline({'PYTHONUNBUFFERED': q('1'), 'LOG_LEVEL': q('info')})}",
        f"resources = {inline({'cpu': q('1'), 'memory': q('2Gi')})}",
        'timeout = "1h"',
    ]
    for i, s in enumerate(steps):
        out += ["", f"[steps.{s['name']}]"]
        out += serve(s, i, mode) if s["kind"] == "serve" else job_or_torch(s, i, rng, pin)
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out", help="output file ('-' for stdout)")
    ap.add_argument("--steps", type=int, default=1000, help="number of steps (default 1000)")
    ap.add_argument("--seed", type=int, default=42, help="PRNG seed (default 42)")
    ap.add_argument(
        "--stack",
        help="stack file: serve steps when it has [serving], digests when its policy wants them",
    )
    args = ap.parse_args()
    if args.steps < 1:
        ap.error("--steps must be at least 1")
    mode, pin = read_stack(args.stack)
    text = generate(args.steps, args.seed, mode, pin)
    if args.out == "-":
        sys.stdout.write(text)
    else:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
