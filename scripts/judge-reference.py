#!/usr/bin/python3
"""Reference values for the judge's statistics, computed with SciPy.

Writes src/analysis/judge/reference.json, which the unit tests read (they never need SciPy).
Run after changing a formula: `/usr/bin/python3 scripts/judge-reference.py` (Debian: apt-get install
python3-scipy). Each value is computed independently of Sluice's TypeScript: log-beta and the
regularized incomplete beta come from scipy.special, the confidence sequence by a brute-force
scan of the rate ratio.
"""
import json
import math
import os

import numpy as np
import scipy
from scipy import special, stats


def log_bf(x, y, theta0, k, side=None):
    a, b = k * theta0, k * (1 - theta0)
    log = special.betaln(a + x, b + y) - special.betaln(a, b) - x * math.log(theta0) - y * math.log1p(-theta0)
    if side == "greater":
        log += stats.beta.logsf(theta0, a + x, b + y) - stats.beta.logsf(theta0, a, b)
    elif side == "less":
        log += stats.beta.logcdf(theta0, a + x, b + y) - stats.beta.logcdf(theta0, a, b)
    return log


def theta(share, ratio):
    return share * ratio / (share * ratio + 1 - share)


def ratio_interval(segments, alpha, k):
    grid = np.exp(np.linspace(-6, 6, 240001))
    threshold = math.log(1 / alpha)
    logs = np.zeros_like(grid)
    for x, y, share in segments:
        t = theta(share, grid)
        a, b = k * t, k * (1 - t)
        logs += special.betaln(a + x, b + y) - special.betaln(a, b) - x * np.log(t) - y * np.log1p(-t)
    inside = grid[logs < threshold]
    return float(inside.min()), float(inside.max())


cases = []
for x, y, theta0, k, side in [
    (0, 0, 0.1, 10, "greater"),
    (3, 27, 0.1, 10, "greater"),
    (30, 90, 0.1, 10, "greater"),
    (30, 90, 0.1, 10, None),
    (30, 90, 0.1, 100, "greater"),
    (2.5, 40.25, 0.05, 10, "greater"),
    (5, 200, 0.2, 10, "less"),
    (120, 80, 0.5, 10, "greater"),
    (400, 4000, 0.1, 30, "greater"),
    (1, 0, 0.3, 10, None),
]:
    cases.append({"canary": x, "primary": y, "theta0": theta0, "k": k, "side": side, "logBf": log_bf(x, y, theta0, k, side)})

intervals = []
for segments, alpha, k in [
    ([(30, 90, 0.1)], 0.01, 10),
    ([(9, 27, 0.1), (20, 30, 0.2)], 0.01, 10),
    ([(50, 450, 0.1)], 0.001, 10),
]:
    lower, upper = ratio_interval(segments, alpha, k)
    intervals.append({"segments": [{"canary": x, "primary": y, "share": s} for x, y, s in segments], "alpha": alpha, "k": k, "lower": lower, "upper": upper})

bounds = []
for segments, alpha, k, side in [
    ([(17, 54, 0.1)], 0.01, 10, "greater"),
    ([(17, 54, 0.1)], 0.01, 10, "less"),
    ([(9, 27, 0.1), (20, 30, 0.2)], 0.01, 10, "greater"),
    ([(3, 120, 0.1)], 0.05, 10, "less"),
]:
    grid = np.exp(np.linspace(-6, 6, 24001))
    threshold = math.log(1 / alpha)
    rejected = [r for r in grid if sum(log_bf(x, y, theta(sh, r), k, side) for x, y, sh in segments) >= threshold]
    value = max(rejected) if side == "greater" else min(rejected)
    bounds.append({"segments": [{"canary": x, "primary": y, "share": sh} for x, y, sh in segments], "alpha": alpha, "k": k, "side": side, "value": float(value)})

out = {
    "generator": "scripts/judge-reference.py",
    "scipy": scipy.__version__,
    "betaln": [{"a": a, "b": b, "value": float(special.betaln(a, b))} for a, b in [(1, 9), (10, 90), (0.5, 4.5), (1000.5, 9000.25)]],
    "betaUpperTail": [{"x": x, "a": a, "b": b, "value": float(stats.beta.sf(x, a, b))} for x, a, b in [(0.1, 1, 9), (0.1, 31, 99), (0.25, 3, 30)]],
    "logBayesFactor": cases,
    "ratioInterval": intervals,
    "ratioBound": bounds,
}
path = os.path.join(os.path.dirname(__file__), "..", "src", "analysis", "judge", "reference.json")
with open(path, "w") as f:
    json.dump(out, f, indent=2)
    f.write("\n")
print(f"wrote {os.path.normpath(path)}")
