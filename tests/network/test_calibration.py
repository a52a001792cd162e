"""calibrate_network: percentiles and KS per KPI, --json, on any folder in the trace format."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

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
