"""Elementwise helpers for the engine's float32 hot path: same results as the obvious NumPy/SciPy call, cheaper.

- `select(mask, a, b)` is `np.where(mask, a, b)` bit for bit. On float32 it picks with integer bit operations:
  np.where branches per element and an irregular mask (LOS / NLOS, before / beyond the breakpoint) makes that
  branch unpredictable, several times slower than four branch-free passes.
- `phi_below(x, p)` is `scipy.special.ndtr(x) < p` for float32 x: the normal CDF from the Abramowitz & Stegun
  7.1.26 erfc approximation (|error| <= 1.5e-7 in erf, so <= 7.5e-8 in Phi) evaluated in float32, and the exact
  ndtr only where the approximation is within PHI_MARGIN of p (a few elements in 10^5). The decisions are the
  exact ones: outside the margin the approximation and ndtr are on the same side of p.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

_F32 = np.float32


def select(mask, a, b):
    """np.where(mask, a, b), bit for bit; branch-free for float32 operands (broadcasting like np.where)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype != _F32 or b.dtype != _F32 or np.ndim(mask) + a.ndim + b.ndim == 0:
        return np.where(mask, a, b)
    m = np.asarray(mask, bool).astype(np.int32)
    np.negative(m, out=m)  # 0 / -1 (all bits set); int32 like the operands (a mixed-type ufunc loop is slow)
    ai, bi = a.view(np.int32), b.view(np.int32)
    out = np.bitwise_xor(ai, bi)
    if out.shape == np.broadcast_shapes(out.shape, m.shape):
        np.bitwise_and(out, m, out=out)
    else:
        out = np.bitwise_and(out, m)
    np.bitwise_xor(out, bi, out=out)
    return out.view(_F32)


# Abramowitz & Stegun 7.1.26: erfc(z) ~ (a1 t + ... + a5 t^5) exp(-z^2), t = 1 / (1 + p z), z >= 0.
# Here for Q(x) = Phi(-|x|) = erfc(|x|/sqrt 2) / 2: the 1/2 goes into the coefficients, 1/sqrt 2 into p.
_AS_P = _F32(0.3275911 / np.sqrt(2.0))
_AS_A = tuple(_F32(0.5 * c) for c in (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429))
# Bound on |approximation - Phi| in float32: 7.5e-8 from the formula plus ~20 float32 roundings of values <= 1
# (each <= 6e-8); 2e-6 leaves a wide margin. Within it the exact ndtr decides.
PHI_MARGIN = 2e-6


def phi_below(x, p):
    """ndtr(x) < p elementwise for float32 arrays x and p (same shape), as scipy would decide it."""
    x = np.asarray(x, _F32)
    p = np.asarray(p, _F32)
    z = np.abs(x)
    t = np.multiply(z, _AS_P)
    t += _F32(1.0)
    np.reciprocal(t, out=t)
    a1, a2, a3, a4, a5 = _AS_A
    q = np.multiply(t, a5)
    for c in (a4, a3, a2, a1):
        q += c
        q *= t
    np.multiply(z, z, out=z)
    z *= _F32(-0.5)
    np.exp(z, out=z)
    q *= z  # Q(|x|) = Phi(-|x|); inf -> t = 0 -> q = 0
    phi = select(x < 0, q, np.subtract(_F32(1.0), q))
    phi -= p
    below = phi < 0
    np.abs(phi, out=phi)
    unsure = np.flatnonzero(phi <= _F32(PHI_MARGIN))
    if len(unsure):
        flat = below.reshape(-1)
        flat[unsure] = ndtr(x.reshape(-1)[unsure]) < p.reshape(-1)[unsure]
    return below
