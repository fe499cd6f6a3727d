#!/usr/bin/env python3
"""Plots mhc-bench results (its --json files, or its printed table saved as a .log): for each op, time and % of copy bandwidth against T, one
line per (C, SKU, weight precision), so a reader sees the curves rather than reading rows.

    python3 bench/plot_bench.py engine.json [more.json or .log ...] -o docs/img/engine.png

Needs matplotlib (pip install matplotlib). Only rows whose output verified are drawn.
"""
import argparse
import collections
import json
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def load(path):
    """The results of one mhc-bench run: its JSON, or the table it printed."""
    if not path.endswith(".log"):
        return json.load(open(path))
    data = {"device": "?", "copy_gbps": 0.0, "results": []}
    head = re.compile(r"device: (.*?), \d+ SMs.*copy bandwidth (\d+) GB/s")
    row = re.compile(r"^(\w+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\w+)\s+(\w+)\s+(\S+)\s+([\d.]+)\s+(\d+)\s+([\d.]+)%\s+(.*)$")
    for line in open(path):
        if m := head.search(line):
            data["device"], data["copy_gbps"] = m.group(1), float(m.group(2))
        elif m := row.match(line.strip()):
            op, T, n, C, S, dtype, w, sku, us, gbps, pct, verify = m.groups()
            data["results"].append({"op": op, "T": int(T), "n": int(n), "C": int(C), "S": int(S), "dtype": dtype,
                                    "w": w, "sku": sku, "us": float(us), "gbps": float(gbps),
                                    "pct_copy": float(pct), "verify": verify})
    return data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json", nargs="+")
    ap.add_argument("-o", "--out", required=True, help="PNG to write")
    ap.add_argument("--ops", default="", help="comma-separated ops to draw (default: all)")
    a = ap.parse_args()

    lines = collections.defaultdict(list)  # (op, C, sku, w) -> [(T, us, pct)]
    devices = set()
    for path in a.json:
        data = load(path)
        devices.add(f"{data['device']}, copy {data['copy_gbps']:.0f} GB/s")
        for r in data["results"]:
            if not r["verify"].startswith("ok") or (a.ops and r["op"] not in a.ops.split(",")):
                continue
            lines[(r["op"], r["C"], r["sku"], r.get("w", "tf32"))].append((r["T"], r["us"], r["pct_copy"]))
    ops = sorted({k[0] for k in lines})
    if not ops:
        raise SystemExit("no verified rows to plot")
    fig, axes = plt.subplots(len(ops), 2, figsize=(13, 4.2 * len(ops)), squeeze=False)
    for row, op in enumerate(ops):
        t_ax, p_ax = axes[row]
        for key in sorted(k for k in lines if k[0] == op):
            pts = sorted(lines[key])
            _, C, sku, w = key
            label = f"C={C} {sku}" + ("" if w == "tf32" else f" ({w})")
            T = [p[0] for p in pts]
            t_ax.plot(T, [p[1] for p in pts], marker="o", label=label)
            p_ax.plot(T, [p[2] for p in pts], marker="o", label=label)
        t_ax.set(xscale="log", yscale="log", xlabel="T (tokens)", ylabel="us (CUDA-graph replay)", title=f"{op}: time")
        p_ax.set(xscale="log", xlabel="T (tokens)", ylabel="% of copy bandwidth", title=f"{op}: % of copy", ylim=(0, 105))
        for ax in (t_ax, p_ax):
            ax.grid(True, which="both", alpha=0.3)
        if p_ax.get_legend_handles_labels()[0]:
            p_ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("; ".join(sorted(devices)))
    fig.tight_layout(rect=(0, 0, 1, 0.985))
    fig.savefig(a.out, dpi=110)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
