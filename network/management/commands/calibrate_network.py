"""manage.py calibrate_network --traces <dir> [--json PATH]: simulator vs real KPI distributions.

Builds a static and a driving scenario configured like the measurements (network/sim/calibration.py),
prints percentiles side by side and the Kolmogorov-Smirnov distance per KPI, and checks the goal
KS <= 0.2 on RSRP, RSRQ, CQI and throughput for both scenarios. Works on any folder of traces in the
G-NetTrack/Raca format whose paths contain "Static" / "Driving".
"""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from network.sim.calibration import GOAL_KPIS, KPIS, PERCENTILES, CalibrationConfig, compare, simulate_scenario
from network.sim.traces import TraceFormatError, find_traces, kpi_values, parse_trace

GOAL_KS = 0.2


class Command(BaseCommand):
    help = "Compare the simulator's KPI distributions with real 5G traces (percentiles + KS distance)."

    def add_arguments(self, parser):
        parser.add_argument("--traces", required=True, help="folder of trace CSVs (e.g. ../shared/datasets/5g-raca2020)")
        parser.add_argument("--json", dest="json_path", default=None, help="write the figures as JSON here")
        parser.add_argument("--links", type=int, default=300, help="simulated links per scenario")
        parser.add_argument("--ticks", type=int, default=200, help="simulated seconds per scenario")
        parser.add_argument("--seed", type=int, default=2020)

    def handle(self, *args, traces, json_path, links, ticks, seed, **options):
        root = Path(traces)
        paths = find_traces(root) if root.is_dir() else []
        if not paths:
            raise CommandError(f"No trace CSVs under {root}.")
        parsed, rejected = [], []
        for path in tqdm(paths, unit="file", desc="parsing", disable=options.get("verbosity", 1) == 0):
            try:
                parsed.append(parse_trace(path))
            except TraceFormatError as exc:
                rejected.append(str(exc))
        for r in rejected:
            self.stderr.write(f"skipped malformed trace: {r}")
        speeds = [v for t in parsed if t.scenario == "driving" for v in t.columns["speed_kmh"] if v]
        cfg = CalibrationConfig(links=links, ticks=ticks, seed=seed, driving_speeds_kmh=speeds or [30.0])
        report = {"traces": str(root), "files": len(parsed), "rejected": rejected, "config": {
            k: v for k, v in cfg.__dict__.items() if k != "driving_speeds_kmh"}, "scenarios": {}}
        report["config"]["driving_speed_samples"] = len(speeds)
        misses = []
        for scenario in ("static", "driving"):
            real = kpi_values(parsed, scenario=scenario)
            if not any(real.values()):
                self.stdout.write(f"No {scenario} traces in {root}; skipped.")
                continue
            bar = tqdm(total=cfg.ticks, unit="tick", desc=f"simulating {scenario}",
                       disable=options.get("verbosity", 1) == 0)
            sim = simulate_scenario(cfg, scenario, on_tick=lambda _t, bar=bar: bar.update(1))
            bar.close()
            result = compare(real, sim)
            report["scenarios"][scenario] = result
            self._print(scenario, result)
            misses += [f"{scenario}/{k} (KS {result[k]['ks']:.3f})" for k in GOAL_KPIS
                       if result[k]["ks"] is None or result[k]["ks"] > GOAL_KS]
        report["goal"] = {"ks_max": GOAL_KS, "kpis": list(GOAL_KPIS), "missed": misses, "met": not misses}
        self.stdout.write("")
        self.stdout.write(f"Goal KS <= {GOAL_KS} on {', '.join(GOAL_KPIS)}: " +
                          ("met for both scenarios." if not misses else "MISSED for " + ", ".join(misses)))
        if json_path:
            Path(json_path).write_text(json.dumps(report, indent=2))
            self.stdout.write(f"Wrote {json_path}")

    def _print(self, scenario: str, result: dict) -> None:
        self.stdout.write("")
        self.stdout.write(f"== {scenario} ==")
        head = f"{'KPI':<16}{'src':<5}" + "".join(f"{'p' + str(p):>9}" for p in PERCENTILES) + f"{'n':>9}{'KS':>8}"
        self.stdout.write(head)
        for kpi in KPIS:
            r = result[kpi]
            if r.get("ks") is None:
                self.stdout.write(f"{kpi:<16}no data")
                continue
            for src in ("real", "sim"):
                vals = "".join(f"{r[src][str(p)]:>9.1f}" for p in PERCENTILES)
                n = r["n_real"] if src == "real" else r["n_sim"]
                ks = f"{r['ks']:>8.3f}" if src == "sim" else ""
                self.stdout.write(f"{kpi if src == 'real' else '':<16}{src:<5}{vals}{n:>9}{ks}")
