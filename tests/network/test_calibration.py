"""calibrate_network: percentiles and KS per KPI, --json, on any folder in the trace format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "network"
DATASET = settings.BASE_DIR.parent / "shared" / "datasets" / "5g-raca2020"


@pytest.mark.quick
def test_calibrate_on_a_small_folder_writes_percentiles_and_ks(tmp_path, capsys):
    out = tmp_path / "cal.json"
    call_command("calibrate_network", "--traces", str(FIXTURES), "--links", "20", "--ticks", "10",
                 "--json", str(out), verbosity=0)
    report = json.loads(out.read_text())
    assert len(report["rejected"]) == 1 and "line 4" in report["rejected"][0]  # the malformed fixture is reported
    for scenario in ("static", "driving"):
        rsrp = report["scenarios"][scenario]["rsrp"]
        assert 0.0 <= rsrp["ks"] <= 1.0 and set(rsrp["real"]) == set(rsrp["sim"]) == {"5", "10", "25", "50", "75", "90", "95"}
    printed = capsys.readouterr().out
    assert "KS" in printed and "Goal KS <= 0.2" in printed


@pytest.mark.slow
@pytest.mark.skipif(not DATASET.exists(), reason=f"dataset not present at {DATASET}")
def test_calibration_against_the_real_traces(tmp_path):
    out = tmp_path / "cal.json"
    call_command("calibrate_network", "--traces", str(DATASET), "--links", "300", "--ticks", "200",  # the command defaults
                 "--json", str(out), verbosity=0)
    scenarios = json.loads(out.read_text())["scenarios"]
    for kpi in ("rsrp", "rsrq", "cqi", "throughput_mbps"):
        assert scenarios["driving"][kpi]["ks"] <= 0.2, kpi
    for kpi in ("cqi", "throughput_mbps"):
        assert scenarios["static"][kpi]["ks"] <= 0.2, kpi


APPS = FIXTURES / "apps"
SMALL = ("--links", "12", "--ticks", "20", "--fit-links", "10", "--fit-ticks", "15")


@pytest.mark.quick
def test_fit_on_download_hold_out_netflix_reports_ks_per_scenario_and_kpi(tmp_path, capsys):
    out = tmp_path / "fit.json"
    call_command("calibrate_network", "--fit", str(APPS / "Download"), "--holdout", str(APPS / "Netflix"), *SMALL,
                 "--json", str(out), verbosity=0)
    report = json.loads(out.read_text())
    assert report["fit_scenarios"] == ["driving_download", "static_download"]  # fitted on --fit only
    assert set(report["holdout"]) == {"driving_netflix", "static_netflix"}
    for scenario, result in report["holdout"].items():
        assert result["traffic_model"] == "video"  # Netflix is simulated with the player, over the fitted radio
        for kpi in ("rsrp", "rsrq", "sinr", "cqi", "throughput_dl"):
            assert 0.0 <= result[kpi]["ks"] <= 1.0, (scenario, kpi)
            assert result[kpi]["n_real"] > 0 and result[kpi]["n_sim"] > 0
        assert set(result["temporal"]) == {"rsrp_lag1", "sinr_lag1", "throughput_dl_lag1", "outage"}
    assert set(report["fitted"]) == {"static", "driving"}
    printed = capsys.readouterr().out
    assert "static_netflix" in printed and "throughput_dl" in printed and "Goal KS <= 0.2" in printed


@pytest.mark.quick
def test_leave_one_scenario_out_holds_each_scenario_out_once(tmp_path):
    out = tmp_path / "loso.json"
    call_command("calibrate_network", "--loso", str(APPS), *SMALL, "--json", str(out), verbosity=0)
    report = json.loads(out.read_text())
    names = {"driving_download", "driving_netflix", "static_download", "static_netflix"}
    assert set(report["holdout"]) == set(report["folds"]) == names
    for name, fold in report["folds"].items():
        assert name not in fold["fit_scenarios"] and len(fold["fit_scenarios"]) == 3


@pytest.mark.quick
def test_site_trace_conditions_one_static_site(tmp_path):
    trace = sorted((APPS / "Download" / "Static").glob("*.csv"))[0]
    out = tmp_path / "site.json"
    call_command("calibrate_network", "--site-trace", str(trace), "--json", str(out), verbosity=0)
    site = json.loads(out.read_text())["site"]
    assert site["site"]["distance_m"] > 0 and 0 < site["site"]["base_load"] <= 1
    # The conditioned site reproduces its own RSRP level (the closed-form location loss) closely.
    assert site["rsrp"]["ks"] < 0.5 and abs(site["rsrp"]["sim"]["50"] - site["rsrp"]["real"]["50"]) < 3.0
    driving = sorted((APPS / "Download" / "Driving").glob("*.csv"))[0]
    with pytest.raises(CommandError, match="only static sites"):
        call_command("calibrate_network", "--site-trace", str(driving), verbosity=0)


@pytest.mark.quick
def test_bad_invocations_are_refused():
    with pytest.raises(CommandError, match="--holdout"):
        call_command("calibrate_network", "--fit", str(APPS / "Download"), verbosity=0)
    with pytest.raises(CommandError, match="exactly one"):
        call_command("calibrate_network", "--loso", str(APPS), "--traces", str(APPS), verbosity=0)
    with pytest.raises(CommandError, match="No trace CSVs"):
        call_command("calibrate_network", "--loso", str(APPS / "nowhere"), verbosity=0)


@pytest.mark.slow
@pytest.mark.skipif(not DATASET.exists(), reason=f"dataset not present at {DATASET}")
def test_netflix_held_out_is_simulated_with_the_player_not_as_a_download(tmp_path):
    """Fitted on the Download traces only: held-out Netflix throughput matches with the video model (on/off,
    mostly idle) and would not as a greedy download over the same radio."""
    out = tmp_path / "fit.json"
    root = DATASET / "5G-production-dataset"
    call_command("calibrate_network", "--fit", str(root / "Download"), "--holdout", str(root / "Netflix"),
                 "--links", "200", "--ticks", "150", "--no-conditioned", "--json", str(out), verbosity=0)
    holdout = json.loads(out.read_text())["holdout"]
    assert "conditioned" not in holdout["static_netflix"] and "real_floor" in holdout["static_netflix"]
    for scenario in ("static_netflix", "driving_netflix"):
        assert holdout[scenario]["throughput_dl"]["ks"] <= 0.2, scenario
        assert holdout[scenario]["throughput_dl"]["sim"]["50"] < 0.5  # idle most seconds, like the real player
    assert holdout["driving_netflix"]["cqi"]["ks"] <= 0.2


@pytest.mark.quick
def test_simulated_values_are_compared_at_the_phones_resolution():
    import numpy as np
    from scipy.stats import ks_2samp

    from network.sim import fitting

    rng = np.random.default_rng(4)
    real = np.round(rng.normal(-100.0, 1.0, 5000))  # G-NetTrack logs whole dB
    sim = rng.normal(-100.0, 1.0, 5000)  # the same spot, simulated
    assert ks_2samp(real, sim).statistic > 0.1  # the rounding steps alone
    assert fitting.ks(real, sim) < 0.05
    throughput = rng.exponential(20.0, 500)  # not whole numbers: left as they are
    assert fitting.ks(throughput, throughput + 0.4) == ks_2samp(throughput, throughput + 0.4).statistic


@pytest.mark.quick
def test_held_out_static_sites_are_conditioned_on_their_first_seconds_and_judged_on_the_rest(tmp_path):
    out = tmp_path / "fit.json"
    call_command("calibrate_network", "--fit", str(APPS / "Download"), "--holdout", str(APPS / "Netflix"), *SMALL,
                 "--json", str(out), verbosity=0)
    report = json.loads(out.read_text())
    static = report["holdout"]["static_netflix"]
    cond = static["conditioned"]
    assert len(cond["sites"]) == 2  # both static Netflix traces
    for site in cond["sites"]:
        assert site["fit_seconds"] == int(0.3 * (site["fit_seconds"] + site["test_seconds"]))
        assert site["distance_m"] > 0
    for kpi in ("rsrp", "rsrq", "sinr", "cqi", "throughput_dl"):
        assert 0.0 <= cond[kpi]["ks"] <= 1.0 and cond[kpi]["n_real"] > 0
        assert 0.0 <= cond[kpi]["replay_ks"] <= 1.0  # the peer: the first seconds replayed
        assert 0.0 <= static["real_floor"][kpi] <= 1.0
    assert "conditioned" not in report["holdout"]["driving_netflix"]  # driving routes keep the population model
    assert "conditioned_missed" in report["goal"]


@pytest.mark.slow
@pytest.mark.skipif(not DATASET.exists(), reason=f"dataset not present at {DATASET}")
def test_fitted_on_netflix_the_download_traces_are_within_the_goal(tmp_path):
    """Fitted on the Netflix traces only: held-out driving Download within KS 0.2 on every KPI, and the static
    Download sites, each conditioned on its first 30 % of seconds, within 0.2 on the rest of their seconds."""
    out = tmp_path / "fit.json"
    root = DATASET / "5G-production-dataset"
    call_command("calibrate_network", "--fit", str(root / "Netflix"), "--holdout", str(root / "Download"),
                 "--json", str(out), verbosity=0)
    holdout = json.loads(out.read_text())["holdout"]
    for kpi in ("rsrp", "rsrq", "sinr", "cqi", "throughput_dl"):
        assert holdout["driving_download"][kpi]["ks"] <= 0.2, kpi
        assert holdout["static_download"]["conditioned"][kpi]["ks"] <= 0.2, kpi


@pytest.mark.quick
def test_what_if_for_a_conditioned_site(tmp_path, capsys):
    """The site fitted to its trace, then simulated with a change on the same random numbers: a location loss of
    -20 dB weakens RSRP by its difference to the fitted loss (the fixture's spot fits near -31 dB); a full cell lowers the throughput a download gets."""
    trace = sorted((APPS / "Download" / "Static").glob("*.csv"))[0]
    out = tmp_path / "site.json"
    call_command("calibrate_network", "--site-trace", str(trace), "--fit", str(APPS / "Download"),
                 "--what-if", "location_loss_db=-20", "--what-if", "load=1", "--json", str(out), verbosity=0)
    report = json.loads(out.read_text())
    assert report["population_from"] == "the static --fit traces"  # --fit with --site-trace: where it starts
    w = report["what_if"]
    assert w["changes"] == {"location_loss_db": -20.0, "load": 1.0}
    fitted_loss = report["site"]["site"]["offset_db"]
    drop = w["fitted"]["rsrp"]["50"] - w["what_if"]["rsrp"]["50"]
    assert abs(drop - (-20.0 - fitted_loss)) < 2.0, (drop, fitted_loss)
    assert w["what_if"]["throughput_dl"]["50"] < w["fitted"]["throughput_dl"]["50"]
    assert "What if (location_loss_db=-20, load=1)" in capsys.readouterr().out
    for bad, message in ((["--what-if", "load=2"], "between 0 and 1"), (["--what-if", "speed=3"], "KEY=VALUE"),
                         (["--what-if", "load=x"], "not a number")):
        with pytest.raises(CommandError, match=message):
            call_command("calibrate_network", "--site-trace", str(trace), *bad, verbosity=0)
    with pytest.raises(CommandError, match="needs --site-trace"):
        call_command("calibrate_network", "--loso", str(APPS), "--what-if", "load=0.5", verbosity=0)
