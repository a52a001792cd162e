"""Traffic models per link: the video player, demand vs capacity, queueing, and the engine vs the per-link loop
with traffic on."""

from __future__ import annotations

import numpy as np
import pytest

from network.sim import traffic as tm
from network.sim.calibration import CalibrationConfig, calibration_cells, calibration_links
from network.sim.engine import Faults, Links, LinkSimulator, SimParams, SimState
from network.sim.reference import plain, state_as_lists, tick_loop

pytestmark = pytest.mark.quick


def drive(mix: tm.TrafficMix, capacity: np.ndarray, seed: int = 1):
    """Run traffic.step over a capacity time series (ticks x links); yields (state copy, result) per tick."""
    state = tm.initial_state(mix, seed)
    rng = np.random.default_rng(seed)
    for t, cap in enumerate(capacity, start=1):
        res = tm.step(mix, state, cap, np.ones(len(mix), bool), rng.random((2, len(mix))), t, 1.0)
        yield tm.TrafficState(*(np.copy(getattr(state, f)) for f in ("buffer_s", "level", "est_mbps", "on",
                                                                        "pos_burst"))), res


def test_video_buffer_never_negative_and_abr_switches_down_when_capacity_drops():
    n = 20
    mix = tm.TrafficMix.single("video", n)
    capacity = np.concatenate([np.full((120, n), 60.0), np.full((120, n), 0.8)])
    capacity[:, :5] = 0.05  # some streams starve from the start: they must stall at 0, not go negative
    levels, buffers, on = [], [], []
    for state, res in drive(mix, capacity):
        assert (state.buffer_s >= 0).all()
        assert (res.throughput_mbps <= capacity[len(levels)] + 1e-9).all()
        levels.append(state.level.copy())
        buffers.append(state.buffer_s.copy())
        on.append(state.on.copy())
    levels, buffers, on = np.array(levels), np.array(buffers), np.array(on)
    top = len(mix.params.ladder_mbps) - 1
    assert (levels[110, 5:] == top).all()  # 60 Mbit/s: the top rung (5.8 Mbit/s x 1/0.8 safety fits)
    # After the drop to 0.8 Mbit/s the player ends on a rung it can sustain: <= 0.8 x 0.8 = 0.64 -> 0.56 Mbit/s.
    assert (np.asarray(mix.params.ladder_mbps)[levels[-1, 5:]] <= 0.64).all()
    assert (levels[-1, 5:] < levels[110, 5:]).all()
    assert (buffers[:, :5] == 0).any(axis=0).all()  # the starved ones hit empty (a stall) and stay >= 0
    # On/off: with plenty of capacity the player idles most of the time (buffer full, refills in bursts).
    assert 0.0 < on[20:110, 5:].mean() < 0.5


def test_throughput_never_exceeds_capacity_nor_demand_for_every_mix():
    rng = np.random.default_rng(3)
    n = 300
    mixes = [{name: float(rng.integers(0, 4)) for name in tm.KINDS if rng.random() < 0.6} for _ in range(n)]
    mix = tm.TrafficMix.build(mixes)
    capacity = rng.uniform(0.0, 50.0, (60, n))
    for _, res in drive(mix, capacity, seed=4):
        t = res.throughput_mbps
        assert (t >= 0).all()
        assert (t <= res.demand_mbps + 1e-9).all()
        assert ((0 <= res.queue_loss) & (res.queue_loss <= 1)).all()
    # and per tick against that tick's capacity
    for k, (_, res) in enumerate(drive(mix, capacity, seed=4)):
        assert (res.throughput_mbps <= capacity[k] + 1e-9).all()
    bulk_only = tm.TrafficMix.single("bulk", n)
    for k, (_, res) in enumerate(drive(bulk_only, capacity)):
        np.testing.assert_allclose(res.throughput_mbps, capacity[k])  # a greedy transfer fills the link


def test_latency_and_loss_rise_with_utilisation():
    n = 8
    mix = tm.TrafficMix.build([{"interactive": w} for w in (1, 2, 4, 8, 16, 32, 64, 128)])
    capacity = np.full((400, n), 40.0)
    queue, loss, util = [], [], []
    for _, res in drive(mix, capacity, seed=9):
        queue.append(res.queue_ms)
        loss.append(res.queue_loss)
        util.append(res.utilisation)
    queue, loss, util = np.mean(queue, 0), np.mean(loss, 0), np.mean(util, 0)
    assert np.all(np.diff(util) > 0)
    assert np.all(np.diff(queue) > 0)  # more demand on the same link: longer queues
    assert loss[-1] > 10 * loss[0] and loss[0] < 1e-3


def test_iot_is_periodic_and_pos_bursts():
    n = 30
    iot = tm.TrafficMix.single("iot", n)
    demand = np.array([res.demand_mbps for _, res in drive(iot, np.full((90, n), 10.0))])
    period = int(iot.params.iot_period_s)
    assert ((demand > 0).sum(axis=0) == 90 // period).all()  # one gateway batch per period per link
    pos = tm.TrafficMix.single("pos", n)
    demand = np.array([res.demand_mbps for _, res in drive(pos, np.full((600, n), 10.0))])
    burst = demand > pos.params.pos_idle_mbps * 1.5
    share = burst.mean()
    expected = pos.params.pos_start_p / (pos.params.pos_start_p + pos.params.pos_end_p)
    assert abs(share - expected) < 0.05


def test_unknown_model_or_bad_weight_is_refused():
    with pytest.raises(ValueError, match="unknown traffic model"):
        tm.TrafficMix.build([{"torrent": 1.0}])
    with pytest.raises(ValueError, match=">= 0"):
        tm.TrafficMix.build([{"video": -1.0}])
    assert tm.app_model("Amazon_Prime") == "video" and tm.app_model("download") == "bulk"
    assert tm.site_mix("store", "video")["video"] == 1.0 and tm.site_mix("store", "video")["pos"] == 3.0


def _topology(n_links=40):
    cfg = CalibrationConfig(links=n_links, seed=2)
    static, driving = calibration_links(cfg, "static"), calibration_links(cfg, "driving")
    half = n_links // 2
    links = Links(**{k: np.concatenate([getattr(static, k)[:half], getattr(driving, k)[:half]])
                     for k in static.__dataclass_fields__})
    return calibration_cells(cfg), links


def test_engine_agrees_with_the_per_link_loop_with_traffic_on():
    cells, links = _topology()
    n = len(links)
    mix = tm.TrafficMix.build([{tm.KINDS[i % 5]: 1.0 + i % 3, "interactive": 1.0} for i in range(n)])
    params = SimParams()
    sim = LinkSimulator(cells, links, seed=5, params=params, traffic=mix)
    state = sim.initial_state()
    faults = Faults.none(len(cells), n)
    loop_state = state_as_lists(state)
    for t in range(40):
        if t == 20:
            faults.cell_extra_load[:] = 0.5  # capacity drops: the video players react in both
        noise = sim.noise(state.tick + 1)
        fast = sim.tick(state, faults, noise)
        slow = tick_loop(plain(cells), plain(links), loop_state, plain(faults), noise, params, traffic=mix)
        for k in ("throughput_mbps", "capacity_mbps", "latency_ms", "loss"):
            np.testing.assert_allclose(getattr(fast, k), getattr(slow, k), rtol=1e-3, atol=2e-3, err_msg=f"{k} tick {t}")  # float32 radio
        assert (fast.throughput_mbps <= fast.capacity_mbps + 1e-9).all()
        np.testing.assert_array_equal(state.traffic.level, [s["level"] for s in loop_state.traffic])
        np.testing.assert_array_equal(state.traffic.on, [s["on"] for s in loop_state.traffic])
    # The state (traffic part included) survives the save/load the service does.
    restored = SimState.from_arrays(state.to_arrays())
    np.testing.assert_array_equal(restored.traffic.buffer_s, state.traffic.buffer_s)


def test_traffic_changes_what_the_monitor_sees():
    """The same radio with light POS traffic vs a greedy transfer: far less throughput, far lower latency."""
    cells, links = _topology(30)
    results = {}
    for model in ("pos", "bulk"):
        sim = LinkSimulator(cells, links, seed=8, traffic=tm.TrafficMix.single(model, len(links)))
        state = sim.initial_state()
        faults = Faults.none(len(cells), len(links))
        thr, lat, cap = [], [], []
        for _ in range(30):
            r = sim.tick(state, faults)
            thr.append(r.throughput_mbps)
            lat.append(r.latency_ms)
            cap.append(r.capacity_mbps)
        results[model] = (np.nanmean(thr), np.nanmedian(lat), np.nanmean(cap))
    assert results["pos"][0] < 0.1 * results["bulk"][0]
    assert results["pos"][1] < results["bulk"][1]
    np.testing.assert_allclose(results["pos"][2], results["bulk"][2], rtol=1e-6)  # same radio, same capacity
