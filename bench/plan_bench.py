#!/usr/bin/env python3
"""`aix plan` on an N-provider manifest against an N-provider state.

The state is made by applying the manifest once; then a tenth of the
manifest's providers change, so the plan has real work (diffs) as well as
matches. Reports the median wall time of RUNS runs for each N.

    cargo build --release
    python3 bench/plan_bench.py [--sizes 1000,5000,10000,20000] [--runs 7]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time


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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,5000,10000,20000")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--aix", default="target/release/aix")
    args = ap.parse_args()
    aix = os.path.abspath(args.aix)
    print(f"{'providers':>10} {'median':>10} {'per provider':>14}")
    for n in (int(s) for s in args.sizes.split(",")):
        work = tempfile.mkdtemp()
        env = dict(os.environ, AIX_HOME=os.path.join(work, "home"), NO_COLOR="1")
        first = os.path.join(work, "first.toml")
        second = os.path.join(work, "second.toml")
        with open(first, "w") as f:
            f.write(manifest(n, False))
        with open(second, "w") as f:
            f.write(manifest(n, True))
        subprocess.run([aix, "apply", "-f", first], env=env, check=True, capture_output=True)
        cmd = [aix, "plan", "-f", second]
        subprocess.run(cmd, env=env, check=True, capture_output=True)  # warm the cache
        times = []
        for _ in range(args.runs):
            start = time.perf_counter()
            out = subprocess.run(cmd, env=env, check=True, capture_output=True)
            times.append(time.perf_counter() - start)
        last = out.stdout.decode().strip().splitlines()[-1]
        med = statistics.median(times)
        print(f"{n:>10} {med * 1000:>8.1f} ms {med * 1e6 / n:>11.1f} us   ({last})")


if __name__ == "__main__":
    main()
