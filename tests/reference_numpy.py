"""Independent plain-numpy reference vector fields for the Rosetta Stone models.

Each function transcribes the equations documented in docs/models.md (Castaldo et al. 2026 and
the primary sources; the paper's sections are cited in the docstrings as "sec.") plus the
package's documented interface conventions (state layouts, parameter names, where the external
drive ``u`` enters). It deliberately does not reuse any code
from ``rosetta_jax`` so that the tests comparing against it are an independent check.

Signature of every function: ``f(y, p, u=0.0) -> np.ndarray`` with ``y`` the state (float64),
``p`` a dict of parameter values keyed by the model's field names, and ``u`` the external drive in
the model's input channel (complex for the three oscillators).
"""

import math

import numpy as np


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def _logistic(s, rho, theta):
    """Logistic sigmoid with maximum 1: 1 / (1 + exp(-rho (s - theta)))  (sec. 5)."""
    return 1.0 / (1.0 + np.exp(-rho * (s - theta)))


def _jr_sigmoid(v, e0, v0, r):
    """JR sigmoid S(v) = 2 e0 / (1 + exp(r (v0 - v)))  (sec. 6.2)."""
    return 2.0 * e0 / (1.0 + np.exp(r * (v0 - v)))


def _second_order_synapse(u, du, gain, rate, drive):
    """u'' = K k R - 2 k u' - k^2 u  (sec. 6.2)."""
    return gain * rate * drive - 2.0 * rate * du - rate**2 * u


# ----------------------------------------------------------------------------------------------
# Rungs 0-2: oscillators
# ----------------------------------------------------------------------------------------------


def harmonic_oscillator(y, p, u=0.0):
    """Forced harmonic oscillator, sec. 2.1, 2.1.1.

    x' = -omega y + Re F,  y' = omega x + Im F  (z' = i omega z + F).
    """
    x, yy = float(y[0]), float(y[1])
    F = complex(u)
    w = p["omega"]
    return np.array([-w * yy + F.real, w * x + F.imag], dtype=np.float64)


def damped_oscillator(y, p, u=0.0):
    """Damped harmonic oscillator, sec. 2.2, 2.2.1: z' = (alpha + i omega) z + F."""
    z = complex(y[0], y[1])
    dz = (p["alpha"] + 1j * p["omega"]) * z + complex(u)
    return np.array([dz.real, dz.imag], dtype=np.float64)


def stuart_landau(y, p, u=0.0):
    """Stuart-Landau, sec. 3, 3.1: z' = (alpha + i omega) z - (gamma + i beta)|z|^2 z + F."""
    z = complex(y[0], y[1])
    dz = (
        (p["alpha"] + 1j * p["omega"]) * z
        - (p["gamma"] + 1j * p["beta"]) * abs(z) ** 2 * z
        + complex(u)
    )
    return np.array([dz.real, dz.imag], dtype=np.float64)


def kuramoto(y, p, u=0.0):
    """All-to-all Kuramoto, sec. 2.1.4: theta_i' = omega_i + (K/N) sum_j sin(theta_j - theta_i) +
    u."""
    theta = np.atleast_1d(np.asarray(y, dtype=np.float64))
    n = theta.shape[0]
    omega = np.broadcast_to(np.asarray(p["omega"], dtype=np.float64), (n,))
    out = np.empty(n)
    for i in range(n):
        coupling = 0.0
        for j in range(n):
            coupling += math.sin(theta[j] - theta[i])
        out[i] = omega[i] + p["K"] / n * coupling + u
    return out.reshape(np.shape(y))


# ----------------------------------------------------------------------------------------------
# Rung 3: Wilson-Cowan
# ----------------------------------------------------------------------------------------------


def wilson_cowan(y, p, u=0.0):
    """Wilson-Cowan, sec. 5, 5.1 (PSP form with gains gamma and optional P_y).

    tau_x x' + x = gamma_x sig_x(w_xx x - w_xy y + P_x + u)
    tau_y y' + y = gamma_y sig_y(w_yx x - w_yy y + P_y)
    """
    x, yy = y[0], y[1]
    sx = _logistic(p["w_xx"] * x - p["w_xy"] * yy + p["P_x"] + u, p["rho_x"], p["theta_x"])
    sy = _logistic(p["w_yx"] * x - p["w_yy"] * yy + p["P_y"], p["rho_y"], p["theta_y"])
    dx = (-x + p["gamma_x"] * sx) / p["tau_x"]
    dy = (-yy + p["gamma_y"] * sy) / p["tau_y"]
    return np.array([dx, dy], dtype=np.float64)


# ----------------------------------------------------------------------------------------------
# Rung 4: NMM1
# ----------------------------------------------------------------------------------------------


def ei_motif(y, p, u=0.0):
    """E-I push-pull motif, sec. 6 (alpha synapses, JR sigmoid).

    tau_x^2 x'' + 2 tau_x x' + x = gamma_x S(w_xx x - w_xy y + P_x + u)
    tau_y^2 y'' + 2 tau_y y' + y = gamma_y S(w_yx x - w_yy y + P_y)
    State (x, y, x', y').
    """
    x, yy, dx, dy = y
    S = lambda v: _jr_sigmoid(v, p["e0"], p["v0"], p["r"])  # noqa: E731
    rx = S(p["w_xx"] * x - p["w_xy"] * yy + p["P_x"] + u)
    ry = S(p["w_yx"] * x - p["w_yy"] * yy + p["P_y"])
    tx, ty = p["tau_x"], p["tau_y"]
    ddx = (p["gamma_x"] * rx - 2.0 * tx * dx - x) / tx**2
    ddy = (p["gamma_y"] * ry - 2.0 * ty * dy - yy) / ty**2
    return np.array([dx, dy, ddx, ddy], dtype=np.float64)


def jansen_rit(y, p, u=0.0):
    """Jansen-Rit, sec. 6.2 (six first-order states, seconds, mV).

    y0' = y3 ; y3' = A a S(y1 - y2) - 2a y3 - a^2 y0
    y1' = y4 ; y4' = A a (p + u + C2 S(C1 y0)) - 2a y4 - a^2 y1
    y2' = y5 ; y5' = B b C4 S(C3 y0) - 2b y5 - b^2 y2
    """
    y0, y1, y2, y3, y4, y5 = y
    A, B, a, b, C = p["A"], p["B"], p["a"], p["b"], p["C"]
    C1, C2, C3, C4 = p["c1"] * C, p["c2"] * C, p["c3"] * C, p["c4"] * C
    S = lambda v: _jr_sigmoid(v, p["e0"], p["v0"], p["r"])  # noqa: E731
    dy3 = A * a * S(y1 - y2) - 2.0 * a * y3 - a**2 * y0
    dy4 = A * a * (p["p"] + u + C2 * S(C1 * y0)) - 2.0 * a * y4 - a**2 * y1
    dy5 = B * b * C4 * S(C3 * y0) - 2.0 * b * y5 - b**2 * y2
    return np.array([y3, y4, y5, dy3, dy4, dy5], dtype=np.float64)


def wendling(y, p, u=0.0):
    """Wendling, sec. 6.2 with the Wendling-2002 conventions (+C2, C5 multiplies y0).

    y0: (A, a) driven by S(y1 - y2 - y3)
    y1: (A, a) driven by p + u + C2 S(C1 y0)
    y2: (B, b) driven by C4 S(C3 y0)
    y3: (G, g) driven by C7 S(C5 y0 - C6 y2)
    State (y0..y3, y0'..y3').
    """
    y0, y1, y2, y3, dy0, dy1, dy2, dy3 = y
    A, B, G = p["A"], p["B"], p["G"]
    a, b, g = p["a"], p["b"], p["g"]
    S = lambda v: _jr_sigmoid(v, p["e0"], p["v0"], p["r"])  # noqa: E731
    R0 = S(y1 - y2 - y3)
    R1 = p["p"] + u + p["C2"] * S(p["C1"] * y0)
    R2 = p["C4"] * S(p["C3"] * y0)
    R3 = p["C7"] * S(p["C5"] * y0 - p["C6"] * y2)
    return np.array(
        [
            dy0,
            dy1,
            dy2,
            dy3,
            _second_order_synapse(y0, dy0, A, a, R0),
            _second_order_synapse(y1, dy1, A, a, R1),
            _second_order_synapse(y2, dy2, B, b, R2),
            _second_order_synapse(y3, dy3, G, g, R3),
        ],
        dtype=np.float64,
    )


def lanmm(y, p, u=0.0):
    """Laminar NMM, sec. 6.2 (14-synapse code form).

    u_s'' = a_s A_s C_s phi_s - 2 a_s u_s' - a_s^2 u_s for s = 1..14, with
    v_P1 = u1+u2+u3+u11, v_SS = u4, v_SST = u5, v_P2 = u6+u7+u8+u12, v_PV = u9+u10+u13+u14,
    sigma(v) = e_max / (1 + exp(r (v0 - v))) (v0_P2 for P2), presynaptic
    phi = (S_SS, S_SST, e1 + u, S_P1, S_P1, S_P2, S_PV, e2, S_P2, S_PV, S_P2, S_P1, S_P1, pv).
    Types: AMPA except s2 (GABA slow) and s7, s10 (GABA fast).
    State (u1..u14, u1'..u14').
    """
    y = np.asarray(y, dtype=np.float64)
    U = y[:14]
    dU = y[14:]
    u1, u2, u3, u4, u5, u6, u7, u8, u9, u10, u11, u12, u13, u14 = U

    def sig(v, v0):
        return p["e_max"] / (1.0 + np.exp(p["r"] * (v0 - v)))

    v_P1 = u1 + u2 + u3 + u11
    v_SS = u4
    v_SST = u5
    v_P2 = u6 + u7 + u8 + u12
    v_PV = u9 + u10 + u13 + u14

    S_P1 = sig(v_P1, p["v0"])
    S_SS = sig(v_SS, p["v0"])
    S_SST = sig(v_SST, p["v0"])
    S_P2 = sig(v_P2, p["v0_P2"])
    S_PV = sig(v_PV, p["v0"])

    phi = [
        S_SS,
        S_SST,
        p["e1"] + u,
        S_P1,
        S_P1,
        S_P2,
        S_PV,
        p["e2"],
        S_P2,
        S_PV,
        S_P2,
        S_P1,
        S_P1,
        p["pv"],
    ]
    ampa = (p["A_AMPA"], p["a_AMPA"])
    gslow = (p["A_GABA_slow"], p["a_GABA_slow"])
    gfast = (p["A_GABA_fast"], p["a_GABA_fast"])
    types = [ampa] * 14
    types[1] = gslow  # s2
    types[6] = gfast  # s7
    types[9] = gfast  # s10

    ddU = np.empty(14)
    for k in range(14):
        A_k, a_k = types[k]
        C_k = p[f"C{k + 1}"]
        ddU[k] = a_k * A_k * C_k * phi[k] - 2.0 * a_k * dU[k] - a_k**2 * U[k]
    return np.concatenate([dU, ddU])


# ----------------------------------------------------------------------------------------------
# Rung 5: NMM2
# ----------------------------------------------------------------------------------------------


def montbrio_pazo_roxin(y, p, u=0.0):
    """MPR, sec. 7, dimensional form (ms), with a synapse of order 0, 1 or 2.

    tau r' = Delta/(pi tau) + 2 r v
    tau v' = v^2 + eta + J tau s - (pi tau r)^2 + I + u
    order 0: s = r;  order 1: tau_s s' = r - s;  order 2: tau_s s' = z, tau_s z' = r - 2z - s.
    """
    order = int(p.get("synapse_order", 0))
    tau, Delta, eta, J, I, tau_s = (
        p["tau"],
        p["Delta"],
        p["eta"],
        p["J"],
        p["I"],
        p["tau_s"],
    )
    r, v = y[0], y[1]
    s = r if order == 0 else y[2]
    dr = (Delta / (math.pi * tau) + 2.0 * r * v) / tau
    dv = (v**2 + eta + J * tau * s - (math.pi * tau * r) ** 2 + I + u) / tau
    if order == 0:
        return np.array([dr, dv], dtype=np.float64)
    if order == 1:
        ds = (r - s) / tau_s
        return np.array([dr, dv, ds], dtype=np.float64)
    if order == 2:
        z = y[3]
        ds = z / tau_s
        dz = (r - 2.0 * z - s) / tau_s
        return np.array([dr, dv, ds, dz], dtype=np.float64)
    raise ValueError(f"synapse_order must be 0, 1 or 2, got {order}")


def ing(y, p, u=0.0):
    """ING, sec. 7 (AUTO-code form, ms).

    tau_m v' = eta + I + u + v^2 - (pi tau_m r)^2 - tau_m J s
    tau_m r' = Delta/(pi tau_m) + 2 r v
    tau_d s' = z ;  tau_d z' = r - 2 z - s
    State (r, v, s, z).
    """
    r, v, s, z = y
    tm, td = p["tau_m"], p["tau_d"]
    dr = (p["Delta"] / (math.pi * tm) + 2.0 * r * v) / tm
    dv = (p["eta"] + p["I"] + u + v**2 - (math.pi * tm * r) ** 2 - tm * p["J"] * s) / tm
    ds = z / td
    dz = (r - 2.0 * z - s) / td
    return np.array([dr, dv, ds, dz], dtype=np.float64)


def ping(y, p, u=0.0):
    """PING, bifurcation-appendix form (ms), Delta/(pi tau) in the r equations.

    tau_e r_e' = Delta_e/(pi tau_e) + 2 r_e v_e
    tau_e v_e' = eta_e - (pi r_e tau_e)^2 + v_e^2 + tau_e (J_ee s_e - J_ei s_i) + I + u
    tau_a s_e' = z_e ; tau_a z_e' = r_e - 2 z_e - s_e
    tau_i r_i' = Delta_i/(pi tau_i) + 2 r_i v_i
    tau_i v_i' = eta_i - (pi r_i tau_i)^2 + v_i^2 + tau_i (J_ie s_e - J_ii s_i) + I
    tau_g s_i' = z_i ; tau_g z_i' = r_i - 2 z_i - s_i
    State (r_e, v_e, s_e, z_e, r_i, v_i, s_i, z_i).
    """
    re, ve, se, ze, ri, vi, si, zi = y
    te, ti, ta, tg = p["tau_e"], p["tau_i"], p["tau_a"], p["tau_g"]
    I = p["I"]
    dre = (p["Delta_e"] / (math.pi * te) + 2.0 * re * ve) / te
    dve = (
        p["eta_e"]
        - (math.pi * re * te) ** 2
        + ve**2
        + te * (p["J_ee"] * se - p["J_ei"] * si)
        + I
        + u
    ) / te
    dse = ze / ta
    dze = (re - 2.0 * ze - se) / ta
    dri = (p["Delta_i"] / (math.pi * ti) + 2.0 * ri * vi) / ti
    dvi = (
        p["eta_i"] - (math.pi * ri * ti) ** 2 + vi**2 + ti * (p["J_ie"] * se - p["J_ii"] * si) + I
    ) / ti
    dsi = zi / tg
    dzi = (ri - 2.0 * zi - si) / tg
    return np.array([dre, dve, dse, dze, dri, dvi, dsi, dzi], dtype=np.float64)


# ----------------------------------------------------------------------------------------------
# Interlude: master NMM
# ----------------------------------------------------------------------------------------------


def master_nmm(y, p, u=0.0):
    """Master NMM, sec. 4.1, 4.3, 4.4.

    tau_m r' = -r + phi(kappa s + I_ext + u),  phi(I) = 2 e0 / (1 + exp(rho (I0 - I)))
    tau_r tau_d s'' + (tau_r + tau_d) s' + s = gamma r
    State (r, s, s').
    """
    r, s, ds = y
    I = p["kappa"] * s + p["I_ext"] + u
    phi = 2.0 * p["e0"] / (1.0 + np.exp(p["rho"] * (p["I0"] - I)))
    dr = (-r + phi) / p["tau_m"]
    tr, td = p["tau_r"], p["tau_d"]
    dds = (p["gamma"] * r - (tr + td) * ds - s) / (tr * td)
    return np.array([dr, ds, dds], dtype=np.float64)


REFERENCES = {
    "HarmonicOscillator": harmonic_oscillator,
    "DampedOscillator": damped_oscillator,
    "StuartLandau": stuart_landau,
    "Kuramoto": kuramoto,
    "WilsonCowan": wilson_cowan,
    "EIMotif": ei_motif,
    "JansenRit": jansen_rit,
    "Wendling": wendling,
    "LaNMM": lanmm,
    "MontbrioPazoRoxin": montbrio_pazo_roxin,
    "ING": ing,
    "PING": ping,
    "MasterNMM": master_nmm,
}
