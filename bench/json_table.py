#!/usr/bin/env python3
"""Prints an mhc-bench JSON file (--json) as a markdown table: op, T, C, S, weights, SKU, us, GB/s, % copy, verify."""
import json
import sys

data = json.load(open(sys.argv[1]))
print(f"{data['device']}, copy bandwidth {data['copy_gbps']:.0f} GB/s (read + write, same run)\n")
print("| op | T | C | S | w | SKU | us | GB/s | % copy | verify |")
print("|---|---|---|---|---|---|---|---|---|---|")
for r in data["results"]:
    print(f"| {r['op']} | {r['T']} | {r['C']} | {r['S']} | {r.get('w', 'tf32')} | {r['sku']} | {r['us']:.2f} | {r['gbps']:.0f} | "
          f"{r['pct_copy']:.1f} | {r['verify']} |")
