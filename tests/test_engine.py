"""The engine contract: every model gives its drift and, separately, its input gain (how white
noise in its input channel enters the state); noise is a term of its own, usable as a diffrax
SDE term on the adaptive path."""

import diffrax as dfx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import rosetta_jax as rj
from rosetta_jax import models, noise


ADDITIVE = [
    models.HarmonicOscillator(omega=2.0),
    models.DampedOscillator(alpha=-0.3, omega=1.5),
    models.StuartLandau(alpha=0.5),
    models.Kuramoto(omega=jnp.array([1.0, 1.2, 0.9])),
    models.JansenRit(A=3.5, a=90.0),
    models.Wendling(),
    models.LaNMM(),
    models.MontbrioPazoRoxin(tau=8.0),
    models.MontbrioPazoRoxin(synapse=models.SecondOrder()),
    models.ING(tau_m=6.0),
    models.PING(),
]


@pytest.mark.parametrize("model", ADDITIVE, ids=lambda m: type(m).__name__)
def test_declared_gain_is_the_derivative_of_the_drift_for_additive_inputs(model):
    # Where the input adds to the vector field, the gain is d f / d u (autodiff as the oracle),
    # at any state.
    y = model.initial_state() + 0.1
    n_shape = model.noise_shape()

    def f(u):
        drive = u[..., 0] + 1j * u[..., 1] if model.complex_input else u
        return model.vector_field(0.0, y, drive)

    expected = jax.jacfwd(f)(jnp.zeros(n_shape))
    np.testing.assert_allclose(model.input_gain(y), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "model, index, value",
    [
        (models.WilsonCowan(tau_x=2.0), 0, 1 / 2.0),  # tau_x x' = ... + xi
        (models.EIMotif(), 2, None),  # x'' = ... + gamma_x xi / tau_x^2
        (models.MasterNMM(tau_m=3.0), 0, 1 / 3.0),  # tau_m r' = ... + xi
    ],
)
def test_sigmoid_input_models_take_noise_on_their_input_population(model, index, value):
    if value is None:
        value = float(model.gamma_x / model.tau_x**2)
    g = np.asarray(model.input_gain(model.initial_state()))
    expected = np.zeros_like(g)
    expected[index] = value
    np.testing.assert_allclose(g, expected, rtol=1e-14)


def test_network_gain_is_block_diagonal():
    W = np.array([[0.0, 1.0, 0.2], [1.0, 0.0, 0.5], [0.2, 0.5, 0.0]])
    node = models.JansenRit(A=jnp.array([3.0, 3.25, 3.5]))
    net = rj.Network(node, W)
    g = np.asarray(net.input_gain(net.initial_state()))
    assert g.shape == (3, 6, 3)
    for i in range(3):
        for j in range(3):
            expected = np.zeros(6)
            if i == j:
                expected[4] = float(node.A[i] * node.a)
            np.testing.assert_allclose(g[i, :, j], expected)


# 20-55 s: in the slow target (the default run's 15-minute budget on 2 cores).
@pytest.mark.slow
def test_adaptive_path_takes_white_noise_as_an_sde_term():
    # dz = (alpha + i omega) z dt + sigma dW (complex): E|z|^2 = sigma^2 / (2 |alpha|) = 1 at
    # stationarity. 256 paths x 20 decorrelated saves: the estimate's standard error is ~2 %.
    m = models.DampedOscillator(alpha=-0.5, omega=2.0)

    def run(k):
        return rj.simulate(
            m,
            t1=60.0,
            dt=0.05,
            save_every=20,
            noise=noise.Additive(1.0),
            key=k,
            y0=jnp.zeros(2),
            stepsize_controller=dfx.PIDController(rtol=1e-2, atol=1e-2),
        ).ys

    ys = jax.vmap(run)(jr.split(jr.key(0), 256))
    power = float(jnp.mean(jnp.sum(ys[:, 10:] ** 2, axis=-1)))
    np.testing.assert_allclose(power, 1.0, rtol=0.08)
    with pytest.raises(ValueError, match="coloured noise needs the fixed-step path"):
        rj.simulate(
            m,
            t1=1.0,
            dt=0.01,
            noise=noise.OrnsteinUhlenbeck(1.0, 0.1),
            key=jr.key(0),
            stepsize_controller=dfx.PIDController(rtol=1e-3, atol=1e-3),
        )


def test_synapse_and_normalisation_are_objects():
    m = models.MontbrioPazoRoxin(synapse=models.FirstOrder())
    assert m.state_names == ("r", "v", "s") and m.initial_state().shape == (3,)
    with pytest.raises(TypeError, match=r"synapse must be models\.Instantaneous\(\)"):
        models.MontbrioPazoRoxin(synapse=3)
    W = np.array([[0.0, 2.0], [1.0, 0.0]])
    by_name = rj.Network(models.JansenRit(), W, normalize="row").weights
    by_object = rj.Network(models.JansenRit(), W, normalize=rj.connectome.RowSum()).weights
    np.testing.assert_array_equal(by_name, by_object)
    np.testing.assert_allclose(np.asarray(by_object).sum(axis=1), 1.0)  # rows sum to 1


def test_importing_the_package_creates_no_device_arrays():
    # No hidden global state: a fresh interpreter imports every public module with host to
    # device transfers disallowed, and no JAX array is alive afterwards (an array made at
    # import would also freeze the precision in force at import time).
    import subprocess
    import sys

    code = (
        "import jax\n"
        "with jax.transfer_guard('disallow'):\n"
        "    import rosetta_jax, rosetta_jax.cli, rosetta_jax.fit, rosetta_jax.analysis\n"
        "    import rosetta_jax.plotting, rosetta_jax.interop, rosetta_jax.data\n"
        "print(len(jax.live_arrays()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True
    )
    assert out.stdout.strip() == "0", out.stdout + out.stderr


@pytest.mark.parametrize("model", ADDITIVE, ids=lambda m: type(m).__name__)
def test_models_that_fold_noise_into_the_drive_give_drift_plus_gain_times_noise(model):
    # A model that declares noise_enters_as_drive is evaluated as f(t, y, u + xi) by the
    # engine; that must equal the contract's f(t, y, u) + g(y) xi (at any state and drive),
    # and only models whose gain is d f / d u (those of ADDITIVE) may declare it.
    if not model.noise_enters_as_drive:
        assert model.complex_input  # the oscillators take a real noise pair, not the drive
        return
    rng = np.random.default_rng(3)
    y = model.initial_state() + 0.1 * rng.standard_normal(model.initial_state().shape)
    xi = jnp.asarray(rng.standard_normal(model.noise_shape()))
    u = 0.3 * jnp.ones(model.input_shape())
    folded = model.noisy_vector_field(0.0, y, u, xi)
    expected = model.vector_field(0.0, y, u) + jnp.tensordot(model.input_gain(y), xi, axes=xi.ndim)
    np.testing.assert_allclose(folded, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(
    "node", [models.JansenRit(), models.WilsonCowan()], ids=lambda m: type(m).__name__
)
def test_network_noise_term_is_each_nodes_gain_times_its_noise(node):
    # Folded (JR) or added through the gain (WC), a network's noisy drift equals its drift
    # plus the block-diagonal gain times the per-node noise.
    W = np.random.default_rng(5).uniform(0.0, 1.0, (4, 4))
    net = rj.Network(node, W, G=2.0)
    rng = np.random.default_rng(6)
    y = net.initial_state() + 0.1 * rng.standard_normal(net.initial_state().shape)
    xi = jnp.asarray(rng.standard_normal(net.noise_shape()))
    expected = net.vector_field(0.0, y, None) + jnp.tensordot(net.input_gain(y), xi, axes=1)
    np.testing.assert_allclose(
        net.noisy_vector_field(0.0, y, None, xi), expected, rtol=1e-10, atol=1e-10
    )


def test_only_additive_input_models_fold_noise_into_the_drive():
    folding = {c.__name__ for c in models.LADDER if c.noise_enters_as_drive}
    additive = {type(m).__name__ for m in ADDITIVE if not m.complex_input}
    assert folding == additive
