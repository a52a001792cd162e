"""Edge-or-cloud advisor: end-to-end response time of an AI feature from a site, served at the edge or in the
cloud region. Pure Python, no Django.

response = radio/access RTT (the link's latency minus its core part) + core RTT to the serving location
         + (request + response bytes) * 8 / throughput + inference time at that location.
The link's latency KPI already contains the core RTT of its configured endpoint, so we remove it first.
"""

from __future__ import annotations

from dataclasses import dataclass

# Inference times: defaults from the other apps' benchmark scale (CPU box at the edge, GPU in the cloud);
# every number is configurable per store.
DEFAULT_FEATURES = {
    "copywriter_draft": {"label": "Copywriter draft", "request_kb": 2.0, "response_kb": 4.0,
                         "edge_inference_ms": 2500.0, "cloud_inference_ms": 900.0},
    "support_answer": {"label": "Support answer", "request_kb": 3.0, "response_kb": 2.0,
                       "edge_inference_ms": 1200.0, "cloud_inference_ms": 450.0},
    "recommendation": {"label": "Recommendation request", "request_kb": 1.0, "response_kb": 2.0,
                       "edge_inference_ms": 12.0, "cloud_inference_ms": 8.0},
}
DEFAULT_TRANSPORT = {"edge_core_ms": 1.0, "cloud_core_ms": 20.0}


@dataclass(frozen=True)
class Advice:
    feature: str
    label: str
    edge_ms: float
    cloud_ms: float
    recommendation: str  # "edge" | "cloud"
    margin_ms: float
    margin_pct: float


def advise(*, latency_p50_ms: float, throughput_mbps: float, link_core_ms: float,
           features: dict | None = None, transport: dict | None = None) -> list[Advice]:
    features = features or DEFAULT_FEATURES
    transport = {**DEFAULT_TRANSPORT, **(transport or {})}
    access_ms = max(float(latency_p50_ms) - float(link_core_ms), 0.0)
    rate_bps = max(float(throughput_mbps), 1e-3) * 1e6
    out = []
    for key, f in features.items():
        transfer_ms = (float(f["request_kb"]) + float(f["response_kb"])) * 8192.0 / rate_bps * 1000.0
        edge = access_ms + transport["edge_core_ms"] + transfer_ms + float(f["edge_inference_ms"])
        cloud = access_ms + transport["cloud_core_ms"] + transfer_ms + float(f["cloud_inference_ms"])
        best = "edge" if edge <= cloud else "cloud"
        margin = abs(cloud - edge)
        out.append(Advice(key, f.get("label", key), round(edge, 1), round(cloud, 1), best, round(margin, 1),
                          round(100.0 * margin / max(edge, cloud), 1)))
    return out
