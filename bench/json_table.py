#!/usr/bin/env python3
"""Prints an mhc-bench JSON file (--json) as a markdown table: op, T, C, S, weights, SKU, us, GB/s, % copy, verify.

    python3 bench/json_table.py FILE.json
    python3 bench/json_table.py --merge OUT.json IN.json...   (one file of several runs' rows; the
                                                               device and copy bandwidth of the first)
"""
import json
import sys


def merge(out, inputs):
    merged = None
    for path in inputs:
        data = json.load(open(path))
        if merged is None:
            merged = dict(data, results=[])
        merged["results"] += data["results"]
    json.dump(merged, open(out, "w"), indent=1)


def table(path):
    data = json.load(open(path))
    print(f"{data['device']}, copy bandwidth {data['copy_gbps']:.0f} GB/s (read + write, same run)\n")
    print("| op | T | C | S | w | SKU | us | GB/s | % copy | verify |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in data["results"]:
        print(f"| {r['op']} | {r['T']} | {r['C']} | {r['S']} | {r.get('w', 'tf32')} | {r['sku']} | {r['us']:.2f} | "
              f"{r['gbps']:.0f} | {r['pct_copy']:.1f} | {r['verify']} |")


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "--merge":
        merge(sys.argv[2], sys.argv[3:])
    elif len(sys.argv) == 2:
        table(sys.argv[1])
    else:
        sys.exit(__doc__)
