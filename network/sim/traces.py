"""Parser for the Raca et al. (MMSys 2020) 5G trace CSVs, G-NetTrack Pro format. No Django.

Quirks handled (see ../shared/datasets/5g-raca2020/PROVENANCE.md):
- missing values are written "-" (also tolerate empty cells);
- 2^31 - 1 = 2147483647 (and its negative / float forms) is a "not available" sentinel -> missing;
- timestamps are local time "YYYY.MM.DD_HH.MM.SS", not ISO; two rows may share a second;
- physically impossible values (RSRP -200 with RSRQ -20 and SNR -30 in the same row) are the logger's
  "no measurement" marker: read as missing and counted in `Trace.out_of_range`;
- NetworkMode mixes 5G (NSA, anchor values), LTE, HSPA+...; callers choose which rows to keep.
A malformed file raises TraceFormatError naming the file and the 1-based line; nothing of it is returned.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

REQUIRED_COLUMNS = ("Timestamp", "Speed", "CellID", "NetworkMode", "RSRP", "RSRQ", "SNR", "CQI", "DL_bitrate", "State")
NUMERIC = {"Speed": "speed_kmh", "RSRP": "rsrp", "RSRQ": "rsrq", "SNR": "snr", "CQI": "cqi", "DL_bitrate": "dl_kbps",
           "UL_bitrate": "ul_kbps", "PINGAVG": "ping_ms", "PINGLOSS": "ping_loss", "Longitude": "lon", "Latitude": "lat"}
SENTINEL = 2**31 - 1
VALID_RANGES = {"rsrp": (-160.0, -20.0), "rsrq": (-45.0, 20.0), "snr": (-30.0, 60.0), "cqi": (0.0, 15.0),
                "dl_kbps": (0.0, 1e8), "speed_kmh": (0.0, 400.0)}


class TraceFormatError(ValueError):
    def __init__(self, path, line: int, reason: str):
        self.path, self.line, self.reason = str(path), line, reason
        super().__init__(f"{path}, line {line}: {reason}")


@dataclass
class Trace:
    path: str
    scenario: str  # "static" | "driving" | ""
    application: str
    started_at: datetime | None
    columns: dict[str, list] = field(default_factory=dict)  # name -> values (None = missing)
    network_mode: list[str] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    out_of_range: int = 0  # physically impossible values read as missing

    def __len__(self) -> int:
        return len(self.network_mode)


def _number(raw: str, path, line: int, column: str) -> float | None:
    raw = raw.strip()
    if raw in ("-", ""):
        return None
    try:
        value = float(raw)
    except ValueError:
        raise TraceFormatError(path, line, f"column {column}: {raw!r} is not a number or '-'") from None
    if not math.isfinite(value) or abs(value) >= SENTINEL:
        return None
    return value


def infer_context(path: Path) -> tuple[str, str]:
    """(scenario, application) from the path: the folder named Static / Driving gives the scenario, the folder
    just above it the application (Download, Netflix, Amazon_Prime, ... any name), lower-cased."""
    parts = [p.lower() for p in path.parts]
    scenario, app = "", ""
    for i, part in enumerate(parts[:-1]):
        if part in ("static", "driving"):
            scenario = part
            app = parts[i - 1] if i > 0 else ""
    if not app:
        for name in ("download", "netflix", "amazon_prime"):
            if name in parts:
                app = name
    return scenario, app


def parse_trace(path: str | Path) -> Trace:
    path = Path(path)
    scenario, app = infer_context(path)
    try:
        handle = path.open(newline="", encoding="ascii")
        text = handle.read()
        handle.close()
    except UnicodeDecodeError as exc:
        raise TraceFormatError(path, 1, f"not plain ASCII ({exc.reason})") from None
    reader = csv.reader(text.splitlines())
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise TraceFormatError(path, 1, "empty file (no header)") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise TraceFormatError(path, 1, f"header lacks column(s) {', '.join(missing)}")
    index = {name: i for i, name in enumerate(header)}
    trace = Trace(str(path), scenario, app, None, {key: [] for key in NUMERIC.values()} | {"cell": []})
    for line, row in enumerate(reader, start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise TraceFormatError(path, line, f"{len(row)} fields, the header has {len(header)}")
        stamp = row[index["Timestamp"]].strip()
        try:
            when = datetime.strptime(stamp, "%Y.%m.%d_%H.%M.%S")
        except ValueError:
            raise TraceFormatError(path, line, f"timestamp {stamp!r} is not YYYY.MM.DD_HH.MM.SS") from None
        if trace.started_at is None:
            trace.started_at = when
        for column, key in NUMERIC.items():
            if column not in index:
                trace.columns[key].append(None)
                continue
            value = _number(row[index[column]], path, line, column)
            bounds = VALID_RANGES.get(key)
            if value is not None and bounds and not bounds[0] <= value <= bounds[1]:
                trace.out_of_range += 1  # e.g. RSRP -200: the logger's "no measurement" marker
                value = None
            trace.columns[key].append(value)
        if trace.columns["rsrp"][-1] is None:  # -200/-20/-30 come together: the whole radio triplet is void
            trace.columns["rsrq"][-1] = trace.columns["snr"][-1] = None
        cell = row[index["CellID"]].strip()
        trace.columns["cell"].append(None if cell in ("-", "") else cell)
        trace.network_mode.append(row[index["NetworkMode"]].strip())
        trace.state.append(row[index["State"]].strip())
    if len(trace) == 0:
        raise TraceFormatError(path, 2, "no data rows")
    return trace


def find_traces(directory: str | Path) -> list[Path]:
    return sorted(p for p in Path(directory).rglob("*.csv") if p.is_file())


def kpi_values(traces: list[Trace], *, scenario: str | None = None, network_mode: str = "5G",
               downloading_only_for_throughput: bool = True) -> dict[str, list[float]]:
    """KPI samples pooled over traces: 5G rows only. Throughput (Mbit/s) only while the app downloads
    (State D) and, when the folder has them, only from bulk-download traces: video players fetch in
    app-limited bursts, so their bitrate says little about what the link could carry."""
    out = {"rsrp": [], "rsrq": [], "sinr": [], "cqi": [], "throughput_mbps": []}
    chosen = [t for t in traces if not scenario or t.scenario == scenario]
    bulk = {t.path for t in chosen if t.application == "download"}
    for t in chosen:
        use_throughput = not bulk or t.path in bulk
        for i, mode in enumerate(t.network_mode):
            if network_mode and mode != network_mode:
                continue
            for key, src in (("rsrp", "rsrp"), ("rsrq", "rsrq"), ("sinr", "snr"), ("cqi", "cqi")):
                v = t.columns[src][i]
                if v is not None:
                    out[key].append(v)
            dl = t.columns["dl_kbps"][i]
            if use_throughput and dl is not None and (not downloading_only_for_throughput or t.state[i] == "D"):
                out["throughput_mbps"].append(dl / 1000.0)
    return out
