#!/usr/bin/env python3
"""Render the Helm peer chart (bench/helm-chart) with Helm's own Go engine, in process.

    bench/helm_render.py PLAN.json [--repeat N] [--out FILE]

PLAN.json is `mlk plan PIPELINE -o json`: the same resolved steps mlk renders, so the chart
only has to template them (Helm does no resolving: this favours Helm). Loads the chart once
with helm-python-sdk (ctypes over libhelm_c, Helm v4's Go SDK; from PyPI), renders it, checks
one document per step, and writes the YAML to --out. With --repeat N it renders N more times
and prints the median in-process render time in milliseconds (no Python or library start-up).
"""

import argparse
import json
import os
import statistics
import sys
import time

import helm_python as helm

CHART = os.path.join(os.path.dirname(os.path.abspath(__file__)), "helm-chart")


def render(chart, plan):
    out = chart.render({"plan": plan}, name="bench", namespace=plan["stack"]["namespace"])
    return "".join(out[k] for k in sorted(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("plan")
    ap.add_argument("--repeat", type=int, default=0)
    ap.add_argument("--out")
    args = ap.parse_args()
    with open(args.plan) as f:
        plan = json.load(f)
    chart = helm.Chart.load(CHART)
    text = render(chart, plan)
    docs = text.count("\nkind: ")
    if docs != len(plan["steps"]):
        sys.exit(f"helm_render.py: rendered {docs} documents for {len(plan['steps'])} steps")
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    if args.repeat:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            render(chart, plan)
            times.append((time.perf_counter() - t) * 1000.0)
        print(f"{statistics.median(times):.2f}")


if __name__ == "__main__":
    main()
