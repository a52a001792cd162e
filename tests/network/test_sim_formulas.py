"""The numerical core against values computed by hand from the spec formulas (TR 38.901, TS 38.214/38.306)."""

from __future__ import annotations

import numpy as np
import pytest

from network.sim import phy
from network.sim.constants import SCENARIO_CODE
from network.sim.pathloss import large_scale, los_probability, o2i_through_wall_db
from network.sim.reference import los_probability_scalar, pathloss_scalar

pytestmark = pytest.mark.quick

# (scenario, fc GHz, d2D m, hBS, hUT, expected PL_LOS, expected PL_NLOS); hand arithmetic in the comments.
CASES = [
    # UMa, d'BP = 4*24*0.5*3.5e9/c = 560.4 m > 100 m: PL1 = 28 + 22 log10(102.72) + 20 log10(3.5) = 83.14
    ("UMa", 3.5, 100.0, 25.0, 1.5, 83.14, None),
    # UMa NLOS at 500 m: 13.54 + 39.08 log10(500.55) + 20 log10(3.5) = 129.92 (> PL_LOS 98.27)
    ("UMa", 3.5, 500.0, 25.0, 1.5, None, 129.92),
    # UMa beyond the breakpoint: 28 + 40 log10(1000.28) + 10.88 - 9 log10(560.39^2 + 23.5^2) = 109.41
    ("UMa", 3.5, 1000.0, 25.0, 1.5, 109.41, None),
    # UMi-SC at 28 GHz, 200 m: LOS 32.4 + 21 log10(200.18) + 20 log10(28) = 109.67; NLOS 35.3 log10(200.18)
    # + 22.4 + 21.3 log10(28) = 134.46
    ("UMi-Street-Canyon", 28.0, 200.0, 10.0, 1.5, 109.67, 134.46),
    # RMa at 2 km (d_BP = 2 pi 35 1.5 3.5e9 / c = 3851 m): PL1(2000.28) = 113.02; NLOS PL' = 142.05
    ("RMa", 3.5, 2000.0, 35.0, 1.5, 113.02, 142.05),
    # InH at 20 m: LOS 32.4 + 17.3 log10(20.06) + 20 log10(3.5) = 65.81; NLOS 38.3 log10(20.06) + 17.3
    # + 24.9 log10(3.5) = 80.72
    ("InH", 3.5, 20.0, 3.0, 1.5, 65.81, 80.72),
]


@pytest.mark.parametrize("scenario,fc,d2d,h_bs,h_ut,los,nlos", CASES)
def test_pathloss_matches_hand_computed_values(scenario, fc, d2d, h_bs, h_ut, los, nlos):
    pl_los, pl_nlos, *_ = large_scale(SCENARIO_CODE[scenario], np.array([d2d]), h_bs, h_ut, fc)
    s_los, s_nlos = pathloss_scalar(scenario, d2d, h_bs, h_ut, fc)
    if los is not None:
        assert float(pl_los[0]) == pytest.approx(los, abs=0.01)
        assert s_los == pytest.approx(los, abs=0.01)
    if nlos is not None:
        assert float(pl_nlos[0]) == pytest.approx(nlos, abs=0.01)
        assert s_nlos == pytest.approx(nlos, abs=0.01)


def test_nlos_is_never_below_los_and_distances_are_clamped():
    d = np.linspace(1, 20000, 500)
    for name, code in SCENARIO_CODE.items():
        pl_los, pl_nlos, p_los, *_ = large_scale(code, d, 25.0 if name == "UMa" else 10.0, 1.5, 3.5)
        assert np.all(pl_nlos >= pl_los - 1e-9)
        assert np.all((p_los >= 0) & (p_los <= 1))
    # Below the 10 m minimum of UMa the loss is that of 10 m (clamped), not extrapolated.
    near, *_ = large_scale(SCENARIO_CODE["UMa"], np.array([1.0, 10.0]), 25.0, 1.5, 3.5)
    assert near[0] == near[1]


@pytest.mark.parametrize("scenario,d,expected", [
    ("UMa", 18.0, 1.0),
    ("UMa", 100.0, 0.3477),  # 18/100 + exp(-100/63) (1 - 18/100)
    ("UMi-Street-Canyon", 100.0, 0.2310),  # 18/100 + exp(-100/36) (1 - 18/100)
    ("RMa", 510.0, 0.6065),  # exp(-(510 - 10)/1000)
    ("InH", 5.0, 0.4455),  # exp(-(5 - 1.2)/4.7)
    ("InH", 20.0, 0.2115),  # 0.32 exp(-(20 - 6.5)/32.6)
])
def test_los_probability(scenario, d, expected):
    assert float(los_probability(SCENARIO_CODE[scenario], np.array([d]), 1.5)[0]) == pytest.approx(expected, abs=1e-4)
    assert los_probability_scalar(scenario, d, 1.5) == pytest.approx(expected, abs=1e-4)


def test_o2i_low_loss_through_wall_at_3_5_ghz():
    # 5 - 10 log10(0.3 * 10^(-(2 + 0.2*3.5)/10) + 0.7 * 10^(-(5 + 4*3.5)/10)) = 12.70 dB
    assert float(o2i_through_wall_db(3.5)) == pytest.approx(12.70, abs=0.01)


@pytest.mark.parametrize("sinr,cqi", [
    (-10.0, 0), (-6.71, 0), (-6.7, 1), (-4.7, 2), (0.19, 3), (0.2, 4), (11.7, 10), (22.69, 14), (22.7, 15), (40.0, 15),
])
def test_cqi_switching_points(sinr, cqi):
    assert int(phy.sinr_to_cqi(np.array([sinr]))[0]) == cqi


def test_cqi_efficiencies_are_table_5_2_2_1_2():
    assert phy.cqi_to_efficiency(np.array([1, 6, 7, 9, 10, 15])).tolist() == [0.1523, 1.1758, 1.4766, 2.4063, 2.7305, 5.5547]


def test_throughput_at_known_sinr_follows_38_306():
    """SINR 25 dB -> CQI 15 (5.5547 b/s/Hz); 4 layers, 273 PRB, mu = 1, OH 0.14:
    1e-6 * 4 * 5.5547 * 12 * 273 / (1e-3 / 28) * 0.86 = 1752.75 Mbit/s."""
    cqi = phy.sinr_to_cqi(np.array([25.0]))
    rate = phy.peak_rate_mbps(efficiency=phy.cqi_to_efficiency(cqi), layers=phy.rank_layers(np.array([25.0]), 4),
                              n_prb=273, numerology=1, overhead=0.14)
    assert float(rate[0]) == pytest.approx(1752.75, abs=0.01)


def test_bler_is_ten_percent_at_the_switching_point_and_monotonic():
    thr = phy.cqi_threshold_db(np.array([9]))
    assert float(phy.bler(thr, thr)[0]) == pytest.approx(0.1, abs=1e-9)
    sinr = np.linspace(-5, 25, 100)
    b = phy.bler(sinr, np.full(100, 10.3))
    assert np.all(np.diff(b) < 0)
