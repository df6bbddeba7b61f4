#!/usr/bin/env python3
"""Compares two `sqlrt` builds' driver rows, each against the raw C API of its own run.

    tools/bench/compare.py BEFORE_SQLRT AFTER_SQLRT BACKEND [ROUNDS]

Runs `sqlrt bench --quick --no-direct --json` with each binary ROUNDS times (default 4),
alternating which goes first, and prints for every cell the median ratio of the
driver row to the raw C API before and after, and after / before; then the geometric
mean of after / before over the KV cells (`sql_get` left out). Ratios to the raw C API
of the same run cancel most of the machine's noise between runs.
"""
import collections
import json
import math
import statistics
import subprocess
import sys


def run(binary, backend):
    out = subprocess.run(
        [binary, "bench", "--quick", "--backend", backend, "--no-direct", "--json"],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    before, after, backend = sys.argv[1:4]
    rounds = int(sys.argv[4]) if len(sys.argv) > 4 else 4
    ratios = collections.defaultdict(lambda: collections.defaultdict(list))
    for r in range(rounds):
        order = [("before", before), ("after", after)]
        for name, binary in order if r % 2 == 0 else reversed(order):
            for cell in run(binary, backend)["cells"]:
                for row in cell["rows"]:
                    if row["kind"] == "driver" and row.get("ratio_to_raw"):
                        key = (cell["workload"], cell["entries"], cell["synchronous"])
                        ratios[key][name].append(row["ratio_to_raw"])
    logs = []
    for key in sorted(ratios):
        seen = ratios[key]
        if "before" in seen and "after" in seen:
            b, a = statistics.median(seen["before"]), statistics.median(seen["after"])
            print(f"{key}: before {b:.3f} after {a:.3f} after/before {a / b:.3f}")
            if key[0] != "sql_get":
                logs.append(math.log(a / b))
        else:
            print(f"{key}: " + ", ".join(f"{k} {statistics.median(v):.3f}" for k, v in seen.items()))
    if logs:
        print(f"KV cells: {len(logs)}, geometric mean after/before {math.exp(sum(logs) / len(logs)):.3f}")


if __name__ == "__main__":
    main()
