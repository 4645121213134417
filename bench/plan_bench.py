#!/usr/bin/env python3
"""`aix plan`, `aix apply` and `aix validate` on large manifests.

For each size N: an N-provider manifest is applied to make the state;
then a version where a tenth of the providers changed is planned, applied
(to a fresh copy of that state each run) and validated. Each figure is the
median wall time of RUNS runs of the whole aix process, next to the time
Python's `tomllib` needs merely to parse the same manifest (the budget is
0.6x that), and the growth from one size to the next (linear is the
size ratio).

    cargo build --release
    python3 bench/plan_bench.py [--sizes 1000,5000,10000,20000] [--runs 7] [--markdown]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
import tomllib


def manifest(n: int, changed: bool) -> str:
    out = []
    for i in range(n):
        model = f"model-{i}-v2" if changed and i % 10 == 0 else f"model-{i}"
        out.append(
            f'[providers.p{i:05d}]\n'
            f'base_url = "http://host{i % 97}.lan:8000/v1"\n'
            f'default_model = "{model}"\n'
            f'headers = {{ X-Team = "team-{i % 13}", X-API-Key = "${{env:KEY_{i % 7}}}" }}\n\n'
        )
    return "".join(out)


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        times.append(fn())
    return statistics.median(times)


def timed(cmd, env, before=None) -> float:
    if before:
        before()
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


class Setup:
    """A home whose state is the applied N-provider manifest."""

    def __init__(self, aix: str, n: int):
        self.work = tempfile.mkdtemp()
        self.home = os.path.join(self.work, "home")
        self.env = dict(os.environ, AIX_HOME=self.home, NO_COLOR="1")
        self.first = os.path.join(self.work, "first.toml")
        self.second = os.path.join(self.work, "second.toml")
        with open(self.first, "w") as f:
            f.write(manifest(n, False))
        self.text = manifest(n, True)
        with open(self.second, "w") as f:
            f.write(self.text)
        subprocess.run([aix, "apply", "-f", self.first, "--yes"], env=self.env, check=True,
                       capture_output=True)
        self.saved = os.path.join(self.work, "config.json.saved")
        shutil.copy(os.path.join(self.home, "config.json"), self.saved)

    def restore(self):
        shutil.copy(self.saved, os.path.join(self.home, "config.json"))

    def close(self):
        shutil.rmtree(self.work, ignore_errors=True)


def measure(aix: str, n: int, runs: int) -> dict:
    s = Setup(aix, n)
    try:
        plan = [aix, "plan", "-f", s.second]
        apply = [aix, "apply", "-f", s.second, "--yes"]
        validate = [aix, "validate", s.second]
        subprocess.run(plan, env=s.env, check=True, capture_output=True)  # warm the cache
        out = {
            "tomllib": median_time(lambda: _tomllib(s.text), runs),
            "plan": median_time(lambda: timed(plan, s.env), runs),
            "apply": median_time(lambda: timed(apply, s.env, s.restore), runs),
            "validate": median_time(lambda: timed(validate, s.env), runs),
        }
        return out
    finally:
        s.close()


def _tomllib(text: str) -> float:
    start = time.perf_counter()
    tomllib.loads(text)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,5000,10000,20000")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--aix", default="target/release/aix")
    ap.add_argument("--markdown", action="store_true", help="print a BENCHMARKS.md table")
    args = ap.parse_args()
    aix = os.path.abspath(args.aix)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = []
    for n in sizes:
        rows.append((n, measure(aix, n, args.runs)))
    if args.markdown:
        print("| providers | tomllib parse | plan | apply | validate | plan / tomllib |")
        print("|---|---|---|---|---|---|")
        for n, m in rows:
            print(f"| {n:,} | {m['tomllib'] * 1e3:.1f} ms | {m['plan'] * 1e3:.1f} ms | "
                  f"{m['apply'] * 1e3:.1f} ms | {m['validate'] * 1e3:.1f} ms | "
                  f"{m['plan'] / m['tomllib']:.2f}x |")
    else:
        print(f"{'providers':>10} {'tomllib':>10} {'plan':>10} {'apply':>10} {'validate':>10} {'plan/tomllib':>13}")
        for n, m in rows:
            print(f"{n:>10} {m['tomllib'] * 1e3:>8.1f}ms {m['plan'] * 1e3:>8.1f}ms "
                  f"{m['apply'] * 1e3:>8.1f}ms {m['validate'] * 1e3:>8.1f}ms {m['plan'] / m['tomllib']:>12.2f}x")
    for (n1, a), (n2, b) in zip(rows, rows[1:]):
        growth = {k: b[k] / a[k] for k in ("plan", "apply", "validate")}
        print(f"growth {n1} -> {n2} (size x{n2 / n1:.1f}): " +
              ", ".join(f"{k} x{v:.2f}" for k, v in growth.items()))


if __name__ == "__main__":
    main()
