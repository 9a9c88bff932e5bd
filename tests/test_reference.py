"""Compare every model's vector field with the independent numpy reference
(tests/reference_numpy.py).

For each model: 20 random states in physiologically plausible ranges, each with its own random
parameter perturbation (every float parameter times U[0.8, 1.2]; static ints kept) and a random
drive u in the model's input channel. Parameters whose default is 0 get a non-zero base value so
that every term of the equations is exercised.
"""

import jax.numpy as jnp
import numpy as np
import pytest
from reference_numpy import REFERENCES  # tests/ is on sys.path (rootdir-relative import)

import rosetta_jax.models as models


N_SAMPLES = 20
RTOL = 1e-10


def _u(lo, hi):
    return lambda rng: float(rng.uniform(lo, hi))


def _cu(lo, hi):
    return lambda rng: complex(rng.uniform(lo, hi), rng.uniform(lo, hi))


def _box(*ranges):
    """State sampler: one uniform range per state component."""
    lo = np.array([r[0] for r in ranges], dtype=np.float64)
    hi = np.array([r[1] for r in ranges], dtype=np.float64)
    return lambda rng: rng.uniform(lo, hi)


PSP = (-5.0, 15.0)
DPSP = (-300.0, 300.0)
RATE = (0.001, 0.5)
VOLT = (-3.0, 3.0)
ZSYN = (-0.1, 0.1)

LANMM_C = (108.0, 33.7, 1.0, 135.0, 33.75, 70.0, 550.0, 1.0, 200.0, 100.0, 80.0, 200.0, 30.0, 1.0)

# (case id, class name, base params, state sampler, drive sampler)
CASES = [
    (
        "HarmonicOscillator",
        "HarmonicOscillator",
        dict(omega=1.3),
        _box((-2, 2), (-2, 2)),
        _cu(-1, 1),
    ),
    (
        "DampedOscillator",
        "DampedOscillator",
        dict(alpha=-0.1, omega=1.0),
        _box((-2, 2), (-2, 2)),
        _cu(-1, 1),
    ),
    (
        "StuartLandau",
        "StuartLandau",
        dict(alpha=1.0, omega=1.0, gamma=1.0, beta=0.4),
        _box((-2, 2), (-2, 2)),
        _cu(-1, 1),
    ),
    (
        "Kuramoto-N1",
        "Kuramoto",
        dict(omega=1.0, K=1.5),
        _box((0, 2 * np.pi)),
        _u(-1, 1),
    ),
    (
        "Kuramoto-N5",
        "Kuramoto",
        dict(omega=np.array([0.7, 0.9, 1.0, 1.2, 1.5]), K=2.0),
        _box(*[(0, 2 * np.pi)] * 5),
        _u(-1, 1),
    ),
    (
        "WilsonCowan",
        "WilsonCowan",
        dict(
            tau_x=1.0,
            tau_y=1.0,
            w_xx=12.0,
            w_xy=12.0,
            w_yx=12.0,
            w_yy=2.0,
            P_x=0.5,
            P_y=-5.0,
            gamma_x=1.0,
            gamma_y=1.0,
            rho_x=1.0,
            rho_y=1.0,
            theta_x=0.3,
            theta_y=-0.2,
        ),
        _box((0, 1), (0, 1)),
        _u(-2, 2),
    ),
    (
        "EIMotif",
        "EIMotif",
        dict(
            tau_x=0.01,
            tau_y=0.02,
            gamma_x=0.0325,
            gamma_y=0.44,
            w_xx=2.0,
            w_xy=10.0,
            w_yx=75.0,
            w_yy=1.5,
            P_x=17.0,
            P_y=0.5,
            e0=2.5,
            v0=6.0,
            r=0.56,
        ),
        _box((0.0, 0.3), (0.0, 3.0), (-50, 50), (-50, 50)),
        _u(-5, 5),
    ),
    (
        "JansenRit",
        "JansenRit",
        dict(
            A=3.25,
            B=22.0,
            a=100.0,
            b=50.0,
            C=135.0,
            c1=1.0,
            c2=0.8,
            c3=0.25,
            c4=0.25,
            e0=2.5,
            v0=6.0,
            r=0.56,
            p=220.0,
        ),
        _box((-0.1, 0.3), PSP, PSP, DPSP, DPSP, DPSP),
        _u(-50, 50),
    ),
    (
        "Wendling",
        "Wendling",
        dict(
            A=3.25,
            B=22.0,
            G=10.0,
            a=100.0,
            b=50.0,
            g=500.0,
            C1=135.0,
            C2=108.0,
            C3=33.75,
            C4=33.75,
            C5=40.5,
            C6=13.5,
            C7=108.0,
            e0=2.5,
            v0=6.0,
            r=0.56,
            p=90.0,
        ),
        _box((-0.1, 0.3), PSP, PSP, PSP, DPSP, DPSP, DPSP, DPSP),
        _u(-50, 50),
    ),
    (
        "LaNMM",
        "LaNMM",
        dict(
            **{f"C{k + 1}": c for k, c in enumerate(LANMM_C)},
            A_AMPA=3.25,
            a_AMPA=100.0,
            A_GABA_slow=-22.0,
            a_GABA_slow=50.0,
            A_GABA_fast=-30.0,
            a_GABA_fast=220.0,
            e1=270.0,
            e2=90.0,
            pv=10.0,
            e_max=5.0,
            r=0.56,
            v0=6.0,
            v0_P2=1.0,
        ),
        _box(*[(-10.0, 10.0)] * 14, *[DPSP] * 14),
        _u(-50, 50),
    ),
    *[
        (
            f"MontbrioPazoRoxin-order{order}",
            "MontbrioPazoRoxin",
            dict(tau=10.0, Delta=1.0, eta=-5.0, J=15.0, I=1.5, tau_s=5.0, synapse_order=order),
            _box(RATE, VOLT, *[RATE, ZSYN][:order]),
            _u(-5, 5),
        )
        for order in (0, 1, 2)
    ],
    (
        "ING",
        "ING",
        dict(tau_m=7.5, tau_d=2.0, J=20.0, Delta=1.0, eta=0.7, I=10.0),
        _box(RATE, VOLT, RATE, ZSYN),
        _u(-5, 5),
    ),
    (
        "PING",
        "PING",
        dict(
            tau_e=15.0,
            tau_i=7.5,
            tau_a=10.0,
            tau_g=2.5,
            J_ee=1.0,
            J_ei=1.0,
            J_ie=1.0,
            J_ii=2.0,
            eta_e=0.4,
            eta_i=-0.3,
            Delta_e=1.0,
            Delta_i=1.0,
            I=10.0,
        ),
        _box(RATE, VOLT, RATE, ZSYN, RATE, VOLT, RATE, ZSYN),
        _u(-5, 5),
    ),
    (
        "MasterNMM",
        "MasterNMM",
        dict(
            tau_m=1.0,
            tau_r=0.5,
            tau_d=2.0,
            gamma=1.2,
            kappa=0.8,
            I_ext=0.3,
            e0=0.5,
            I0=0.2,
            rho=1.5,
        ),
        _box((0.0, 1.0), (0.0, 1.5), (-1.0, 1.0)),
        _u(-1, 1),
    ),
]


def _perturb(base, rng):
    """Multiply every float (or float array) parameter by U[0.8, 1.2]; keep static ints."""
    out = {}
    for k, v in base.items():
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            out[k] = v
        elif isinstance(v, np.ndarray):
            out[k] = v * rng.uniform(0.8, 1.2, size=v.shape)
        else:
            out[k] = float(v) * float(rng.uniform(0.8, 1.2))
    return out


_SYNAPSES = {0: models.Instantaneous, 1: models.FirstOrder, 2: models.SecondOrder}


def _as_model_kwargs(params):
    """The reference's parameters as model arguments (the synapse order as its object)."""
    out = {k: (jnp.asarray(v) if isinstance(v, np.ndarray) else v) for k, v in params.items()}
    if "synapse_order" in out:
        out["synapse"] = _SYNAPSES[out.pop("synapse_order")]()
    return out


def test_references_cover_all_models():
    names = {case[1] for case in CASES}
    assert names == set(REFERENCES)
    for name in names:
        assert hasattr(models, name), name


@pytest.mark.parametrize(
    "cls_name, base, sample_state, sample_u",
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_vector_field_matches_reference(cls_name, base, sample_state, sample_u):
    ref = REFERENCES[cls_name]
    cls = getattr(models, cls_name)
    seed = (
        sum(ord(c) for c in cls_name) * 1000
        + len(base)
        + sum(int(v) for v in base.values() if isinstance(v, int))
    )
    rng = np.random.default_rng(seed)
    for i in range(N_SAMPLES):
        params = _perturb(base, rng)
        y = sample_state(rng)
        u = sample_u(rng)
        model = cls(**_as_model_kwargs(params))
        got = np.asarray(model.vector_field(0.0, jnp.asarray(y), u))
        want = ref(y, params, u)
        assert got.shape == want.shape, (cls_name, got.shape, want.shape)
        atol = 1e-12 * (1.0 + np.max(np.abs(want)))
        np.testing.assert_allclose(
            got,
            want,
            rtol=RTOL,
            atol=atol,
            err_msg=f"{cls_name} sample {i}: y={y!r}, u={u!r}, params={params!r}",
        )
