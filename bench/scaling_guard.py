#!/usr/bin/env python3
"""CI guard: `aix plan`, `aix apply` and `aix validate` grow linearly.

Times each command at N and 4N providers (best of RUNS, so a busy machine
can only make a run slower, never the ratio smaller by luck) and fails when
4x the providers costs 8x the time or more: linear work gives about 4x,
quadratic work 16x. Timing noise cannot turn one into the other.

    python3 bench/scaling_guard.py --aix target/release/aix [--n 4000] [--runs 3]
"""
import argparse
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from plan_bench import Setup  # noqa: E402

LIMIT = 8.0


def best(cmd, env, runs, before=None) -> float:
    out = float("inf")
    for _ in range(runs):
        if before:
            before()
        start = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        out = min(out, time.perf_counter() - start)
    return out


def times(aix: str, n: int, runs: int) -> dict:
    s = Setup(aix, n)
    try:
        return {
            "plan": best([aix, "plan", "-f", s.second], s.env, runs),
            "apply": best([aix, "apply", "-f", s.second, "--yes"], s.env, runs, s.restore),
            "validate": best([aix, "validate", s.second], s.env, runs),
        }
    finally:
        s.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--aix", default="target/release/aix")
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    aix = os.path.abspath(args.aix)
    small = times(aix, args.n, args.runs)
    large = times(aix, 4 * args.n, args.runs)
    failed = False
    for cmd in ("plan", "apply", "validate"):
        ratio = large[cmd] / small[cmd]
        ok = ratio < LIMIT
        failed |= not ok
        print(f"{cmd:>8}: {args.n} providers {small[cmd] * 1e3:7.1f} ms, "
              f"{4 * args.n} providers {large[cmd] * 1e3:7.1f} ms: x{ratio:.2f} "
              f"({'ok' if ok else f'NOT LINEAR: limit x{LIMIT}'})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
