#!/usr/bin/env python3
"""Start-up cost: `aix --version` and `aix provider list` on a 2,000-provider
config.json, against `jq . config.json` reading the same file, and on an
empty config. Median of RUNS runs each, stdout to /dev/null.

    cargo build --release
    python3 bench/startup_bench.py [--runs 50] [--providers 2000]
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time


def median_ms(cmd, env, runs):
    times = []
    with open(os.devnull, "wb") as null:
        for _ in range(runs + 3):
            t = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=null, stderr=null, check=True)
            times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times[3:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=50)
    ap.add_argument("--providers", type=int, default=2000)
    ap.add_argument("--aix", default="target/release/aix")
    args = ap.parse_args()
    aix = os.path.abspath(args.aix)
    big = tempfile.mkdtemp()
    empty = tempfile.mkdtemp()
    cfg = {
        "custom_providers": {
            f"p{i:05d}": {
                "base_url": f"http://host{i % 97}.lan:8000/v1",
                "default_model": f"model-{i}",
                "headers": {"X-Team": f"team-{i % 13}", "X-API-Key": "${env:KEY}"},
                "auth_type": "bearer",
            }
            for i in range(args.providers)
        },
        "api_keys": {f"p{i:05d}": f"sk-{i:032d}" for i in range(0, args.providers, 3)},
    }
    path = os.path.join(big, "config.json")
    with open(path, "w") as f:
        json.dump(cfg, f, indent=2)
    env_big = dict(os.environ, AIX_HOME=big, NO_COLOR="1")
    env_empty = dict(os.environ, AIX_HOME=empty, NO_COLOR="1")
    rows = [
        ("jq . config.json", ["jq", ".", path], env_big),
        ("aix --version", [aix, "--version"], env_big),
        (f"aix provider list ({args.providers})", [aix, "provider", "list"], env_big),
        ("aix provider list (empty)", [aix, "provider", "list"], env_empty),
    ]
    results = {}
    for name, cmd, env in rows:
        results[name] = median_ms(cmd, env, args.runs)
    jq = results["jq . config.json"]
    print(f"config.json: {os.path.getsize(path) / 1024:.0f} KiB, {args.providers} providers")
    for name, ms in results.items():
        ratio = "" if name.startswith("jq") else f"   {ms / jq:.2f}x jq"
        print(f"{name:<32} {ms:7.2f} ms{ratio}")


if __name__ == "__main__":
    main()
