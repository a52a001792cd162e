"""Trace parsing with the real files' quirks, and the import command (all-or-nothing per file)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from network.models import Link, LinkKind, TraceRecording
from network.sim.traces import TraceFormatError, find_traces, kpi_values, parse_trace

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "network"
DATASET = settings.BASE_DIR.parent / "shared" / "datasets" / "5g-raca2020"
GOOD = FIXTURES / "Driving" / "B_2020.01.01_10.00.00.csv"
BAD = FIXTURES / "bad" / "B_2020.01.02_11.00.00.csv"


@pytest.mark.quick
def test_parse_reads_dashes_sentinels_and_void_triplets_as_missing():
    trace = parse_trace(GOOD)
    assert len(trace) == 6 and trace.scenario == "driving"
    assert trace.columns["rsrp"][:2] == [-99.0, -97.0]
    assert trace.columns["snr"][2] is None and trace.columns["cqi"][2] is None  # "-"
    assert trace.columns["snr"][5] is None and trace.columns["cqi"][5] is None  # 2147483647 sentinels
    # RSRP -200 / RSRQ -20 / SNR -30: the logger's "no measurement" triplet
    assert trace.columns["rsrp"][4] is None and trace.columns["rsrq"][4] is None and trace.columns["snr"][4] is None
    assert trace.out_of_range == 1
    assert trace.columns["ping_ms"][1] == 18.5 and trace.columns["ping_ms"][0] is None
    assert trace.started_at.isoformat() == "2020-01-01T10:00:00"
    values = kpi_values([trace], scenario="driving")
    assert values["rsrp"] == [-99.0, -97.0, -97.0, -101.0, -95.0]  # 5G rows with a measurement
    assert values["throughput_mbps"] == [0.007, 25.0, 31.0, 12.0]  # State D only, kbit/s -> Mbit/s


@pytest.mark.quick
def test_malformed_file_names_file_and_line():
    with pytest.raises(TraceFormatError) as err:
        parse_trace(BAD)
    assert err.value.line == 4 and "RSRQ" in err.value.reason and str(BAD) in str(err.value)


@pytest.mark.django_db
def test_import_command_imports_good_files_and_rejects_the_malformed_one(store, capsys, tmp_path):
    for folder in ("Driving", "Static", "bad"):  # the three import fixtures (apps/ holds the calibration ones)
        shutil.copytree(FIXTURES / folder, tmp_path / folder)
    with pytest.raises(CommandError, match="1 file"):
        call_command("import_5g_traces", str(tmp_path), "--store", store.slug, verbosity=0)
    err = capsys.readouterr().err
    assert "B_2020.01.02_11.00.00.csv, line 4" in err
    names = set(TraceRecording.objects.for_store(store).values_list("name", flat=True))
    assert names == {"Driving/B_2020.01.01_10.00.00.csv", "Static/B_2020.01.03_09.00.00.csv"}
    assert Link.objects.for_store(store).filter(kind=LinkKind.REPLAY).count() == 2
    # Idempotent: importing the good file again adds nothing.
    call_command("import_5g_traces", str(GOOD), "--store", store.slug, verbosity=0)
    assert TraceRecording.objects.for_store(store).count() == 2


@pytest.mark.slow
@pytest.mark.skipif(not DATASET.exists(), reason=f"dataset not present at {DATASET}")
def test_every_real_trace_parses():
    paths = find_traces(DATASET)
    assert len(paths) >= 50
    traces = [parse_trace(p) for p in paths]
    assert sum(len(t) for t in traces) > 100_000
    values = kpi_values(traces, scenario="static")
    assert len(values["rsrp"]) > 40_000 and all(-160 <= v <= -20 for v in values["rsrp"])
    assert {t.scenario for t in traces} == {"static", "driving"}
