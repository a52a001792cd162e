"""manage.py calibrate_network: simulator vs real KPI distributions (G-NetTrack / Raca et al. CSV traces).

Modes (scenario = mobility_application from each trace's path: .../<App>/<Static|Driving>/...):

  --traces DIR                   the fixed calibration scenario vs every trace (percentiles + KS), as before;
  --fit DIR [--fit DIR ...] --holdout DIR
                                 fit ONLY on the --fit traces (network/sim/fitting.py), report KS per KPI and
                                 held-out scenario under holdout.<scenario>.<kpi>.ks (kpi: rsrp, rsrq, sinr, cqi,
                                 throughput_dl), radio and throughput separately, plus lag-1 autocorrelation and
                                 outage run lengths, real vs simulated;
  --loso DIR                     leave-one-scenario-out: every scenario of DIR held out once, fitted on the rest;
  --site-trace FILE              condition one static site on its trace (distance, location loss, load, users)
                                 and report the KS of the conditioned site against the trace;
                                 [--what-if KEY=VALUE ...] then simulates that site with the change (load, users,
                                 distance_m, location_loss_db, bearing_deg) beside it as fitted.
All take --json PATH. Malformed files are skipped and named (file and line) on stderr.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from network.sim import fitting
from network.sim.calibration import GOAL_KPIS, KPIS, PERCENTILES, CalibrationConfig, compare, simulate_scenario
from network.sim.traces import TraceFormatError, find_traces, kpi_values, parse_trace

GOAL_KS = 0.2


class Command(BaseCommand):
    help = "Compare the simulator's KPI distributions with real 5G traces (fit / hold-out / leave-one-scenario-out)."

    def add_arguments(self, parser):
        parser.add_argument("--traces", help="folder of trace CSVs: the fixed calibration scenario vs all of them")
        parser.add_argument("--fit", action="append", default=[], help="folder of traces to fit on (repeatable)")
        parser.add_argument("--holdout", help="folder of traces to evaluate the fit on")
        parser.add_argument("--loso", help="folder: leave-one-scenario-out over its scenarios")
        parser.add_argument("--site-trace", dest="site_trace", help="one static trace: fit that site's parameters")
        parser.add_argument("--what-if", dest="what_if", action="append", default=[], metavar="KEY=VALUE",
                            help="with --site-trace: simulate the fitted site with this change (repeatable; KEY: "
                                 + ", ".join(fitting.WHAT_IF_KEYS) + ")")
        parser.add_argument("--json", dest="json_path", default=None, help="write the figures as JSON here")
        parser.add_argument("--links", type=int, default=300, help="simulated links per scenario")
        parser.add_argument("--ticks", type=int, default=200, help="simulated seconds per scenario")
        parser.add_argument("--fit-links", type=int, default=200, help="simulated links per fitting run")
        parser.add_argument("--fit-ticks", type=int, default=120, help="simulated seconds per fitting run")
        parser.add_argument("--seed", type=int, default=2020)
        parser.add_argument("--no-conditioned", dest="conditioned", action="store_false",
                            help="skip conditioning the held-out static sites on their first seconds (faster)")

    def handle(self, *args, **opts):
        # --site-trace may take --fit (the population it starts from); otherwise --fit is a mode of its own.
        modes = [m for m in ("traces", "loso", "site_trace") if opts.get(m)] + (
            ["fit"] if opts["fit"] and not opts.get("site_trace") else [])
        if len(modes) != 1:
            raise CommandError("Give exactly one of --traces DIR, --fit DIR ... --holdout DIR, --loso DIR, --site-trace FILE "
                               "(--site-trace may be combined with --fit to start from a fitted population).")
        if opts["what_if"] and not opts.get("site_trace"):
            raise CommandError("--what-if needs --site-trace FILE (the site it changes).")
        try:
            opts["what_if"] = fitting.parse_what_if(opts["what_if"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        if opts["fit"] and not opts.get("site_trace") and not opts.get("holdout"):
            raise CommandError("--fit needs --holdout DIR (the traces the fit is judged on).")
        self.quiet = opts.get("verbosity", 1) == 0
        if opts.get("traces"):
            report = self._legacy(opts)
        elif opts.get("loso"):
            report = self._loso(opts)
        elif opts.get("site_trace"):
            report = self._site(opts)
        else:
            report = self._fit_holdout(opts)
        if opts["json_path"]:
            Path(opts["json_path"]).write_text(json.dumps(report, indent=2, default=float))
            self.stdout.write(f"Wrote {opts['json_path']}")

    # -- loading -------------------------------------------------------------------------------------
    def _load(self, root: str, *, single: bool = False):
        path = Path(root)
        paths = [path] if single and path.is_file() else (find_traces(path) if path.is_dir() else [])
        if not paths:
            raise CommandError(f"No trace CSVs at {path}.")
        parsed, rejected = [], []
        for p in tqdm(paths, unit="file", desc=f"parsing {path.name}", disable=self.quiet):
            try:
                parsed.append(parse_trace(p))
            except TraceFormatError as exc:
                rejected.append(str(exc))
        for r in rejected:
            self.stderr.write(f"skipped malformed trace: {r}")
        if single and not parsed:
            raise CommandError(rejected[0] if rejected else f"{path}: not a trace")
        return parsed, rejected

    def _bar(self, total: int, desc: str):
        return tqdm(total=total, unit="run", desc=desc, disable=self.quiet)

    # -- fit / hold-out ------------------------------------------------------------------------------
    def _fit_holdout(self, opts) -> dict:
        fit_traces, rejected = [], []
        for d in opts["fit"]:
            parsed, rej = self._load(d)
            fit_traces += parsed
            rejected += rej
        hold_traces, rej = self._load(opts["holdout"])
        rejected += rej
        held = {str(Path(t.path).resolve()) for t in hold_traces}
        overlap = [t for t in fit_traces if str(Path(t.path).resolve()) in held]
        if overlap:
            self.stderr.write(f"{len(overlap)} trace(s) are in both --fit and --holdout; they are used for the hold-out only.")
            fit_traces = [t for t in fit_traces if str(Path(t.path).resolve()) not in held]
        fit_groups, hold_groups = fitting.group_traces(fit_traces), fitting.group_traces(hold_traces)
        if not hold_groups:
            raise CommandError(f"No held-out traces with a Static/Driving folder in their path under {opts['holdout']}.")
        report = self._run_fold(opts, fit_groups, hold_groups, desc="fitting")
        report.update(fit=opts["fit"], holdout_dir=opts["holdout"], rejected=rejected)
        self._print_holdout(report["holdout"])
        self._goal(report)
        return report

    def _run_fold(self, opts, fit_groups, hold_groups, *, desc: str) -> dict:
        if not fit_groups:
            raise CommandError("No fit traces with a Static/Driving folder in their path.")
        mobilities = {s.mobility for s in fit_groups.values()}
        total = sum(fitting.mobility_steps(m, sum(1 for s in fit_groups.values() if s.mobility == m))
                    for m in mobilities) + len(hold_groups)
        if "static" in mobilities and opts["conditioned"]:  # every held-out static trace conditions its site on its first seconds
            total += fitting.site_steps() * sum(len(s.series) for s in hold_groups.values() if s.mobility == "static")
        bar = self._bar(total, desc)
        try:
            report = fitting.fit_and_holdout(CalibrationConfig(), fit_groups, hold_groups, fit_links=opts["fit_links"],
                                             fit_ticks=opts["fit_ticks"], links=opts["links"], ticks=opts["ticks"],
                                             seed=opts["seed"], on_step=lambda: bar.update(1),
                                             conditioned=opts["conditioned"])
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        finally:
            bar.close()
        report["settings"] = {k: opts[k] for k in ("links", "ticks", "fit_links", "fit_ticks", "seed")}
        return report

    def _loso(self, opts) -> dict:
        traces, rejected = self._load(opts["loso"])
        groups = fitting.group_traces(traces)
        if len(groups) < 2:
            raise CommandError(f"Leave-one-scenario-out needs at least two scenarios under {opts['loso']}; found "
                               f"{', '.join(groups) or 'none'}.")
        report = {"loso_dir": opts["loso"], "rejected": rejected, "scenarios": sorted(groups), "folds": {}, "holdout": {}}
        for name in sorted(groups):
            fit_groups = {k: v for k, v in groups.items() if k != name}
            fold = self._run_fold(opts, fit_groups, {name: groups[name]}, desc=f"fold: hold out {name}")
            report["folds"][name] = {"fit_scenarios": fold["fit_scenarios"], "fitted": fold["fitted"]}
            report["holdout"][name] = fold["holdout"][name]
            report["settings"] = fold["settings"]
        self._print_holdout(report["holdout"], title="Leave-one-scenario-out (each row: fitted on the other scenarios)")
        self._goal(report)
        return report

    def _site(self, opts) -> dict:
        traces, _ = self._load(opts["site_trace"], single=True)
        groups = fitting.group_traces(traces)
        if not groups:
            raise CommandError(f"{opts['site_trace']}: the path has no Static/Driving folder, so the scenario is unknown.")
        real = next(iter(groups.values()))
        if real.mobility != "static":
            raise CommandError(f"{opts['site_trace']} is a {real.mobility} trace: only static sites are conditioned "
                               "(driving routes keep the population model).")
        # The population the site starts from: fitted on the static --fit traces, else on this trace itself (its
        # measurement noise and drift are the spot's own either way; fit_site then places and loads the site).
        pool, source = [real], "the site's own trace"
        if opts["fit"]:
            fit_traces = []
            for d in opts["fit"]:
                fit_traces += self._load(d)[0]
            fit_groups = {k: v for k, v in fitting.group_traces(fit_traces).items() if v.mobility == "static"}
            if fit_groups:
                pool, source = list(fit_groups.values()), "the static --fit traces"
        bar = self._bar(fitting.mobility_steps("static", len(pool)), f"fitting the population on {source}")
        population = fitting.fit_mobility(CalibrationConfig(), pool, on_step=lambda: bar.update(1))
        bar.close()
        bar = self._bar(fitting.site_steps(), "fitting site")
        site, result = fitting.fit_site(CalibrationConfig(), population, real, on_step=lambda: bar.update(1))
        bar.close()
        self.stdout.write(f"Site {opts['site_trace']} ({real.name}): distance {site.distance_m:.0f} m, location loss "
                          f"{site.offset_db:.1f} dB, load {site.base_load:.2f}, background users {site.background_users:g}")
        self._print_holdout({real.name: result}, title="Conditioned site vs its trace")
        report = {"site_trace": opts["site_trace"], "scenario": real.name, "population": asdict(population),
                  "population_from": source, "site": result}
        if opts["what_if"]:
            report["what_if"] = fitting.what_if(CalibrationConfig(), site, fitting.RadioFit(**result["radio"]),
                                                result["traffic_model"], opts["what_if"])
            self._print_what_if(report["what_if"])
        return report

    def _print_what_if(self, w: dict) -> None:
        change = ", ".join(f"{k}={v:g}" for k, v in w["changes"].items())
        self.stdout.write("")
        self.stdout.write(f"What if ({change}): the conditioned site as fitted -> with the change, same random numbers")
        self.stdout.write(f"{'KPI':<16}" + "".join(f"{'p' + str(p):>18}" for p in fitting.PERCENTILES))
        for kpi in fitting.KPIS:
            a, b = w["fitted"][kpi], w["what_if"][kpi]
            cells = "".join(f"{(f'{a[str(p)]:.1f}' if a else '-') + ' -> ' + (f'{b[str(p)]:.1f}' if b else '-'):>18}"
                            for p in fitting.PERCENTILES)
            self.stdout.write(f"{kpi:<16}{cells}")
        self.stdout.write(f"{'no service':<16}{w['fitted']['outage_share']:>17.1%} -> {w['what_if']['outage_share']:.1%}")

    # -- printing ------------------------------------------------------------------------------------
    def _print_holdout(self, holdout: dict, title: str = "Held-out scenarios (fitted on --fit only)") -> None:
        self.stdout.write("")
        self.stdout.write(title)
        head = f"{'scenario':<24}{'model':<7}" + "".join(f"{k:>14}" for k in fitting.KPIS)
        self.stdout.write(head + "   (two-sample KS; radio | throughput)")
        for name, r in holdout.items():
            cells = "".join(f"{r[k]['ks']:>14.3f}" if r[k]["ks"] is not None else f"{'no data':>14}" for k in fitting.KPIS)
            self.stdout.write(f"{name:<24}{r.get('traffic_model', ''):<7}{cells}")
        self.stdout.write("")
        self.stdout.write(f"{'scenario':<24}{'lag-1 ACF real/sim: rsrp':>28}{'sinr':>14}{'thr':>14}"
                          f"{'outage mean run s real/sim':>30}{'outage share':>16}")
        for name, r in holdout.items():
            t = r["temporal"]

            def pair(key, t=t):
                a, b = t[key]["real"], t[key]["sim"]
                return f"{'-' if a is None else f'{a:.2f}'}/{'-' if b is None else f'{b:.2f}'}"

            o = t["outage"]
            self.stdout.write(f"{name:<24}{pair('rsrp_lag1'):>28}{pair('sinr_lag1'):>14}{pair('throughput_dl_lag1'):>14}"
                              f"{o['real']['mean_s']:>17.1f}/{o['sim']['mean_s']:<12.1f}"
                              f"{o['real']['fraction']:>9.3f}/{o['sim']['fraction']:<6.3f}")

        static = {name: r for name, r in holdout.items() if r.get("conditioned") or r.get("real_floor")}
        if static:
            self.stdout.write("")
            self.stdout.write(f"Static sites: each held-out trace (one indoor spot) conditions its site on its first "
                              f"{fitting.CONDITION_SHARE:.0%} of seconds and is judged on the rest; 'replay': those first "
                              "seconds replayed as the forecast of the rest (the peer); 'real vs real' is the KS "
                              "between the held-out and the fit traces of the same mobility (a population model fitted "
                              "to the fit spots cannot be closer to the held-out spots than this, less its own error)")
            self.stdout.write(f"{'scenario':<24}{'':<12}" + "".join(f"{k:>14}" for k in fitting.KPIS))
            for name, r in static.items():
                cond = r.get("conditioned") or {}
                rows = (("conditioned", {k: cond.get(k, {}).get("ks") for k in fitting.KPIS}),
                        ("replay", {k: cond.get(k, {}).get("replay_ks") for k in fitting.KPIS}),
                        ("real vs real", r.get("real_floor") or {}))
                for label, part in rows:
                    cells = "".join(f"{v:>14.3f}" if (v := part.get(k)) is not None else f"{'-':>14}" for k in fitting.KPIS)
                    self.stdout.write(f"{name:<24}{label:<12}{cells}")

    def _goal(self, report: dict) -> None:
        misses = fitting.goal_misses(report["holdout"])
        report["goal"] = {"ks_max": fitting.GOAL_KS, "kpis": list(fitting.KPIS), "missed": misses, "met": not misses}
        conditioned = fitting.conditioned_misses(report["holdout"])
        if conditioned is not None:
            report["goal"]["conditioned_missed"] = conditioned
        self.stdout.write("")
        self.stdout.write(f"Goal KS <= {fitting.GOAL_KS} on {', '.join(fitting.KPIS)} for every held-out scenario: "
                          + ("met." if not misses else "MISSED for " + ", ".join(misses)))
        if conditioned is not None:
            self.stdout.write("Static sites conditioned on their first seconds, judged on the rest: "
                              + ("met." if not conditioned else "MISSED for " + ", ".join(conditioned)))

    # -- the fixed calibration scenario (earlier interface) -------------------------------------------
    def _legacy(self, opts) -> dict:
        root = Path(opts["traces"])
        parsed, rejected = self._load(opts["traces"])
        speeds = [v for t in parsed if t.scenario == "driving" for v in t.columns["speed_kmh"] if v]
        cfg = CalibrationConfig(links=opts["links"], ticks=opts["ticks"], seed=opts["seed"],
                                driving_speeds_kmh=speeds or [30.0])
        report = {"traces": str(root), "files": len(parsed), "rejected": rejected, "config": {
            k: v for k, v in cfg.__dict__.items() if k != "driving_speeds_kmh"}, "scenarios": {}}
        report["config"]["driving_speed_samples"] = len(speeds)
        misses = []
        for scenario in ("static", "driving"):
            real = kpi_values(parsed, scenario=scenario)
            if not any(real.values()):
                self.stdout.write(f"No {scenario} traces in {root}; skipped.")
                continue
            bar = tqdm(total=cfg.ticks, unit="tick", desc=f"simulating {scenario}", disable=self.quiet)
            sim = simulate_scenario(cfg, scenario, on_tick=lambda _t, bar=bar: bar.update(1))
            bar.close()
            result = compare(real, sim)
            report["scenarios"][scenario] = result
            self._print_legacy(scenario, result)
            misses += [f"{scenario}/{k} (KS {result[k]['ks']:.3f})" for k in GOAL_KPIS
                       if result[k]["ks"] is None or result[k]["ks"] > GOAL_KS]
        report["goal"] = {"ks_max": GOAL_KS, "kpis": list(GOAL_KPIS), "missed": misses, "met": not misses}
        self.stdout.write("")
        self.stdout.write(f"Goal KS <= {GOAL_KS} on {', '.join(GOAL_KPIS)}: " +
                          ("met for both scenarios." if not misses else "MISSED for " + ", ".join(misses)))
        return report

    def _print_legacy(self, scenario: str, result: dict) -> None:
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
