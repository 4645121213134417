#!/usr/bin/env python3
"""`aix plan`, `aix apply` and `aix validate` on large manifests.

For each size N: an N-provider manifest is applied to make the state;
then a version where a tenth of the providers changed is planned, applied
(to a fresh copy of that state each run, restored outside the timing) and
validated. Every size is prepared first; then come RUNS rounds, each of
which times, for every size in turn, plan, apply and validate once each,
then Python's `tomllib` parsing each size's changed manifest, so a change
in the machine's load touches every figure alike instead of one block of
them. Each
figure is the median over the rounds: the wall time of the whole aix
process, next to the time `tomllib` needs merely to parse the same
manifest in-process (in a Python of its own, timed around the parse
alone; the budget is 0.6x that), and the growth from one
size to the next (linear is the size ratio).

    cargo build --release
    python3 bench/plan_bench.py [--sizes 1000,5000,10000,20000] [--runs 7] [--markdown] [--pause 3]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import sys
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


def timed(cmd, env, before=None, pause=0.0) -> float:
    if before:
        before()
    if pause:
        time.sleep(pause)
    start = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def peak_rss(cmd, env, before=None) -> int:
    """The peak RSS (KiB) of one run of `cmd`, by `/usr/bin/time -f %M`
    around it alone (a child of this Python would report this Python's
    own RSS, which its fork shared, when that is the larger)."""
    if before:
        before()
    with tempfile.NamedTemporaryFile("r") as out:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *cmd], env=env, check=True,
                       capture_output=True)
        return int(out.read().split()[-1])


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


COMMANDS = ("tomllib", "plan", "apply", "validate")


def measure(aix: str, sizes: list, runs: int, pause: float = 0.0) -> list:
    """The median of each figure per size, over `runs` interleaved rounds,
    and each command's peak RSS (`rss_plan`, ... in KiB) from a run after."""
    setups = []
    try:
        for n in sizes:
            setups.append(Setup(aix, n))
        cmds = []
        for s in setups:
            c = {
                "plan": [aix, "plan", "-f", s.second],
                "apply": [aix, "apply", "-f", s.second, "--yes"],
                "validate": [aix, "validate", s.second],
            }
            subprocess.run(c["plan"], env=s.env, check=True, capture_output=True)  # warm the cache
            cmds.append(c)
        times = [{k: [] for k in COMMANDS} for _ in sizes]
        for _ in range(runs):
            for s, c, t in zip(setups, cmds, times):
                t["plan"].append(timed(c["plan"], s.env, pause=pause))
                t["apply"].append(timed(c["apply"], s.env, s.restore, pause))
                t["validate"].append(timed(c["validate"], s.env, pause=pause))
            # The parses last: a large one leaves the kernel's memory
            # fragmented for a moment, and the aix run right after it took
            # 15% longer at 20,000 providers (more, smaller page faults).
            for s, t in zip(setups, times):
                t["tomllib"].append(_tomllib(s.second))
        rss = [{"rss_plan": peak_rss(c["plan"], s.env),
                "rss_apply": peak_rss(c["apply"], s.env, s.restore),
                "rss_validate": peak_rss(c["validate"], s.env)} for s, c in zip(setups, cmds)]
        return [{**{k: statistics.median(v) for k, v in t.items()}, **r}
                for t, r in zip(times, rss)]
    finally:
        for s in setups:
            s.close()


# The parse is timed inside a Python of its own, which then exits: parsed
# here, its hundreds of MB of objects stayed in this process's heap, and
# the aix run right after it paid for the memory the kernel had to find.
TOMLLIB = """
import sys, time, tomllib
text = open(sys.argv[1], encoding="utf-8").read()
start = time.perf_counter()
tomllib.loads(text)
print(time.perf_counter() - start)
"""


def _tomllib(path: str) -> float:
    out = subprocess.run([sys.executable, "-c", TOMLLIB, path], check=True,
                         capture_output=True, text=True)
    return float(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,5000,10000,20000")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--aix", default="target/release/aix")
    ap.add_argument("--markdown", action="store_true", help="print a BENCHMARKS.md table")
    ap.add_argument("--pause", type=float, default=0.0,
                    help="seconds idle before each aix run (untimed): a first run after idle, "
                         "as a user's usually is")
    args = ap.parse_args()
    aix = os.path.abspath(args.aix)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows = list(zip(sizes, measure(aix, sizes, args.runs, args.pause)))
    if args.markdown:
        print("| providers | tomllib parse | plan | apply | validate | plan / tomllib | apply / tomllib | validate / tomllib |")
        print("|---|---|---|---|---|---|---|---|")
        for n, m in rows:
            print(f"| {n:,} | {m['tomllib'] * 1e3:.1f} ms | {m['plan'] * 1e3:.1f} ms | "
                  f"{m['apply'] * 1e3:.1f} ms | {m['validate'] * 1e3:.1f} ms | "
                  f"{m['plan'] / m['tomllib']:.2f}x | {m['apply'] / m['tomllib']:.2f}x | "
                  f"{m['validate'] / m['tomllib']:.2f}x |")
    else:
        print(f"{'providers':>10} {'tomllib':>10} {'plan':>10} {'apply':>10} {'validate':>10} "
              f"{'plan/tomllib':>13} {'apply/tomllib':>14} {'validate/tomllib':>17}")
        for n, m in rows:
            print(f"{n:>10} {m['tomllib'] * 1e3:>8.1f}ms {m['plan'] * 1e3:>8.1f}ms "
                  f"{m['apply'] * 1e3:>8.1f}ms {m['validate'] * 1e3:>8.1f}ms "
                  f"{m['plan'] / m['tomllib']:>12.2f}x {m['apply'] / m['tomllib']:>13.2f}x "
                  f"{m['validate'] / m['tomllib']:>16.2f}x")
    print("peak RSS of the aix process (one more run each, /usr/bin/time -f %M): " + "; ".join(
        f"{n:,}: plan {m['rss_plan'] / 1024:.1f} MiB, apply {m['rss_apply'] / 1024:.1f} MiB, "
        f"validate {m['rss_validate'] / 1024:.1f} MiB" for n, m in rows))
    for (n1, a), (n2, b) in zip(rows, rows[1:]):
        growth = {k: b[k] / a[k] for k in ("plan", "apply", "validate")}
        print(f"growth {n1} -> {n2} (size x{n2 / n1:.1f}): " +
              ", ".join(f"{k} x{v:.2f}" for k, v in growth.items()))


if __name__ == "__main__":
    main()
