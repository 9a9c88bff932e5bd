"""Mixed-model networks: the vector field against a plain loop over nodes written from the
equation of `rosetta_jax._mixed_network`, same-model groups against the homogeneous `Network`
(delays, white and coloured noise, float64 and float32), uncoupled groups against separate runs
(a model in ms inside a network in s, with the noise scaling of the module docstring),
gradients against central differences, the padding, and clear errors."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import pytest

import rosetta_jax as rj
from rosetta_jax import analysis, coupling, models, noise


def random_weights(n, seed, density=1.0):
    rng = np.random.default_rng(seed)
    W = rng.uniform(0.2, 1.0, (n, n)) * (rng.uniform(size=(n, n)) < density)
    W = 0.5 * (W + W.T)
    np.fill_diagonal(W, 0.0)
    return W


def three_rungs(W):
    """Jansen-Rit (s), Wilson-Cowan (dimensionless, 10 ms per unit) and MPR (ms), interleaved,
    in a network in s."""
    groups = {
        "jr": (models.JansenRit(p=jnp.array([120.0, 220.0, 90.0])), [0, 2, 4]),
        "wc": (
            models.WilsonCowan(P_x=jnp.array([0.5, -0.5])),
            [1, 3],
            {"time_scale": 0.01, "efferent_scale": 4.0, "input_scale": jnp.array([0.1, 0.3])},
        ),
        "mpr": rj.NodeGroup(models.MontbrioPazoRoxin(), [5], efferent_scale=30.0, input_scale=0.02),
    }
    return rj.Network.mixed(groups, W, G=3.0, time_unit="s")


def oscillators(W):
    """Stuart-Landau and damped oscillators (complex diffusive coupling) with a Kuramoto node
    (Sine coupling with a lag, state and input of shape (1,)), all dimensionless."""
    groups = {
        "sl": (models.StuartLandau(omega=jnp.array([1.0, 1.5])), [0, 2]),
        "kuramoto": (models.Kuramoto(omega=0.8), [1], {"coupling": coupling.Sine(lag=0.3)}),
        "dho": (models.DampedOscillator(), [3], {"time_scale": 2.0, "input_scale": 0.5}),
    }
    return rj.Network.mixed(groups, W, G=0.7)


def single_node(g, k):
    """Node k of group g as a single model (its regional parameters indexed)."""
    return jax.tree.map(lambda p: p[k] if jnp.ndim(p) == 1 else p, g.model)


def at(v, k):
    v = np.asarray(v)
    return v[k] if v.ndim == 1 else v


def loop_field(net, y, F):
    """$\\dot y_i = f_g(y_i, k^{in}_i [c_g(a_i, e_i) + F_i]) / T_g$, $e_j = k^{out}_j
    \\epsilon_g(y_j)$, $a_i = \\sum_j C_{ij} e_j$, padding $-y$: a plain loop over nodes."""
    W = np.asarray(net.weights)
    owner = {i: (g, k) for g in net.groups for k, i in enumerate(g.nodes)}
    size = {i: single_node(*owner[i]).initial_state().shape[0] for i in owner}
    e = []
    for j in range(net.n_nodes):
        g, k = owner[j]
        e.append(
            at(g.efferent_scale, k)
            * complex(g.coupling.efferent(single_node(g, k), y[j][: size[j]]))
        )
    out = []
    for i in range(net.n_nodes):
        g, k = owner[i]
        lag = g.coupling.edge_factor(net.n_nodes)
        a = sum(W[i, j] * e[j] * (1.0 if lag is None else complex(lag)) for j in range(net.n_nodes))
        u = g.coupling(jnp.asarray([a]), jnp.asarray([e[i]]), jnp.asarray(W[i : i + 1]), net.G)[0]
        u = at(g.input_scale, k) * (u + F[i])
        if not g.model.complex_input:
            u = jnp.real(u)
        T = float(g.time_scale)
        f = np.asarray(single_node(g, k).vector_field(0.0, y[i][: size[i]], u)) / T
        out.append(np.concatenate([f, -np.asarray(y[i][size[i] :])]))
    return np.stack(out)


@pytest.mark.parametrize("make, n", [(three_rungs, 6), (oscillators, 4)])
def test_vector_field_and_noise_gain_equal_a_loop_over_nodes(make, n):
    net = make(random_weights(n, 1, density=0.8))
    rng = np.random.default_rng(2)
    y = net.initial_state() + jnp.asarray(rng.normal(scale=0.05, size=net.initial_state().shape))
    y = jnp.where(jnp.asarray(net.state_mask()), y, 0.3)  # padding away from 0: it relaxes
    F = rng.normal(size=n)
    np.testing.assert_allclose(
        net.vector_field(0.0, y, jnp.asarray(F)), loop_field(net, y, F), rtol=1e-12, atol=1e-12
    )
    # White noise: g(y) xi equals the block-diagonal input gain, and each node's own gain
    # times k_in / T (and 1/sqrt(2) for a complex input among real ones).
    xi = jnp.asarray(rng.normal(size=net.noise_shape()))
    applied = net.apply_input_gain(y, xi)
    gain = net.input_gain(y)
    np.testing.assert_allclose(
        jnp.tensordot(gain, xi, axes=xi.ndim), applied, rtol=1e-12, atol=1e-12
    )
    for g in net.groups:
        for k, i in enumerate(g.nodes):
            m = single_node(g, k)
            s, ks = m.initial_state().shape[0], int(np.prod(m.noise_shape()))
            x = xi[i].reshape(-1)[:ks].reshape(m.noise_shape())
            half = 2**-0.5 if m.complex_input and not net.complex_input else 1.0
            own = m.apply_input_gain(y[i, :s], x) * at(g.input_scale, k) * half
            np.testing.assert_allclose(applied[i, :s], own / float(g.time_scale), rtol=1e-12)
            np.testing.assert_array_equal(applied[i, s:], 0.0)


def split_jansen_rit(W, ps, L, order):
    """The same Jansen-Rit network, homogeneous and as two groups (nodes `order` split in half)."""
    net = rj.Network(models.JansenRit(p=ps), W, lengths=L, speed=4.0, G=6.0)
    half = len(order) // 2
    a, b = np.asarray(order[:half]), np.asarray(order[half:])
    groups = {
        "a": (models.JansenRit(p=ps[a]), a),
        "b": rj.NodeGroup(models.JansenRit(p=ps[b]), b),
    }
    return net, rj.Network.mixed(groups, W, lengths=L, speed=4.0, G=6.0)


@pytest.mark.parametrize(
    "noise_, order",
    [
        (noise.Additive(jnp.linspace(1.0, 5.0, 6)), [0, 1, 2, 3, 4, 5]),
        (noise.OrnsteinUhlenbeck(30.0, 0.01), [4, 0, 2, 5, 1, 3]),
    ],
)
def test_same_model_groups_equal_the_homogeneous_network(noise_, order):
    W = random_weights(6, 3, density=0.8)
    L = np.random.default_rng(4).uniform(5.0, 40.0, (6, 6))
    net, mix = split_jansen_rit(W, jnp.linspace(90.0, 250.0, 6), L, order)
    assert mix.state_names == net.state_names and mix.history_length(1e-4) > 0
    kw = dict(t1=0.1, dt=1e-4, save_every=10, noise=noise_, key=jr.key(7))
    ref, got = rj.simulate(net, **kw), rj.simulate(mix, **kw)
    assert float(jnp.ptp(ref.observed)) > 1.0
    np.testing.assert_allclose(got.ys, ref.ys, rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(got.observed, ref.observed, rtol=1e-10, atol=1e-11)


def test_same_model_groups_equal_the_homogeneous_network_in_float32():
    # The two differ only by the order XLA fuses the same operations; over 1000 float32 steps
    # of a driven Jansen-Rit network (eps 6e-8, a few mV) that stays below 1e-3 mV.
    with jax.enable_x64(False):
        W = random_weights(6, 3, density=0.8).astype(np.float32)
        L = np.random.default_rng(4).uniform(5.0, 40.0, (6, 6)).astype(np.float32)
        net, mix = split_jansen_rit(W, jnp.linspace(90.0, 250.0, 6), L, [1, 3, 5, 0, 2, 4])
        kw = dict(t1=0.1, dt=1e-4, save_every=10, noise=noise.Additive(3.0), key=jr.key(7))
        ref, got = rj.simulate(net, **kw), rj.simulate(mix, **kw)
        assert got.observed.dtype == jnp.float32
        np.testing.assert_allclose(got.observed, ref.observed, rtol=0, atol=1e-3)


def wilson_cowan_split(W, P):
    """A Wilson-Cowan network, homogeneous and as two interleaved groups."""
    groups = {
        "a": (models.WilsonCowan(P_x=P[::2]), [0, 2]),
        "b": (models.WilsonCowan(P_x=P[1::2]), [1, 3]),
    }
    return rj.Network(models.WilsonCowan(P_x=P), W, G=1.5), rj.Network.mixed(groups, W, G=1.5)


def test_adaptive_path_equals_the_homogeneous_network():
    import diffrax as dfx

    P = jnp.array([0.5, 1.0, 1.5, 2.0])
    net, mix = wilson_cowan_split(random_weights(4, 16), P)
    kw = dict(
        t1=5.0, dt=0.01, save_every=10, stepsize_controller=dfx.PIDController(rtol=1e-8, atol=1e-10)
    )
    ref, got = rj.simulate(net, **kw), rj.simulate(mix, **kw)
    np.testing.assert_allclose(got.ys, ref.ys, rtol=1e-9, atol=1e-12)
    assert float(jnp.ptp(ref.observed)) > 0.01
    # The adaptive path's noise term is `input_gain` times sigma (see the slow test below).
    y = ref.y_final
    np.testing.assert_array_equal(mix.input_gain(y), net.input_gain(y))


@pytest.mark.slow
def test_adaptive_path_with_noise_equals_the_homogeneous_network():
    # diffrax's SDE path (constant steps, so that no accept/reject decision can flip on a
    # rounding difference): the noise enters through `input_gain` (Wilson-Cowan: E equation).
    import diffrax as dfx

    net, mix = wilson_cowan_split(random_weights(4, 16), jnp.array([0.5, 1.0, 1.5, 2.0]))
    kw = dict(
        t1=5.0,
        dt=0.01,
        save_every=10,
        noise=noise.Additive(jnp.array([0.02, 0.05, 0.02, 0.05])),
        key=jr.key(2),
        stepsize_controller=dfx.ConstantStepSize(),
        solver=dfx.Heun(),
    )
    ref, got = rj.simulate(net, **kw), rj.simulate(mix, **kw)
    np.testing.assert_allclose(got.ys, ref.ys, rtol=1e-9, atol=1e-12)
    assert float(jnp.ptp(ref.observed)) > 0.01


def test_uncoupled_groups_equal_separate_runs_with_a_model_in_ms():
    # Block-diagonal weights: Jansen-Rit (s) on regions 0-2, MPR (ms) on 3-4, in a network
    # in s with regional constant drives; the MPR block equals its own network run in ms
    # (t and dt times 1000), its coupling and drive entering through k_in.
    W = np.zeros((5, 5))
    W[:3, :3] = random_weights(3, 5)
    W[3:, 3:] = random_weights(2, 6)
    ps, etas, k_in = jnp.array([100.0, 150.0, 220.0]), jnp.array([-5.0, -4.0]), 2.0
    groups = {
        "jr": (models.JansenRit(p=ps), range(3)),
        "mpr": (models.MontbrioPazoRoxin(eta=etas), [3, 4], {"input_scale": k_in}),
    }
    mix = rj.Network.mixed(groups, W, G=2.0, normalize=None, time_unit="s")
    drive = jnp.array([20.0, 20.0, 20.0, 0.5, 0.5])
    got = rj.simulate(mix, t1=0.1, dt=1e-4, save_every=10, forcing=drive)
    jr_net = rj.Network(models.JansenRit(p=ps), W[:3, :3], G=2.0, normalize=None)
    jr_run = rj.simulate(jr_net, t1=0.1, dt=1e-4, save_every=10, forcing=20.0)
    # k_in scales the coupling too: G k_in in the MPR's own network.
    mpr_net = rj.Network(
        models.MontbrioPazoRoxin(eta=etas), W[3:, 3:], G=2.0 * k_in, normalize=None
    )
    mpr_run = rj.simulate(mpr_net, t1=100.0, dt=0.1, save_every=10, forcing=k_in * 0.5)
    np.testing.assert_allclose(got.ts * 1e3, mpr_run.ts, rtol=1e-12)
    np.testing.assert_allclose(got.observed[:, :3], jr_run.observed, rtol=1e-10, atol=1e-11)
    np.testing.assert_allclose(got.observed[:, 3:], mpr_run.observed, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.ys[:, 3:, :2], mpr_run.ys, rtol=1e-10, atol=1e-12)
    assert float(jnp.ptp(mpr_run.observed)) > 1e-3


@pytest.mark.parametrize("kind", ["white", "coloured"])
def test_noise_of_a_model_in_ms_in_a_network_in_s(kind):
    # White noise Additive(s) of the model in its own ms equals sigma = s sqrt(T) / k_in in the
    # network in s (T = 1e-3); OU noise (s, tau) equals (s / k_in, tau T).
    W, k_in, s, tau = random_weights(3, 8), 0.5, 0.4, 2.0
    node = models.MontbrioPazoRoxin(eta=jnp.array([-5.0, -4.5, -4.0]))
    mix = rj.Network.mixed({"mpr": (node, range(3), {"input_scale": k_in})}, W, time_unit="s")
    own = rj.Network(node, W, G=k_in)  # k_in scales the coupling too
    if kind == "white":
        in_s, in_ms = noise.Additive(s * np.sqrt(1e-3) / k_in), noise.Additive(s)
    else:
        in_s, in_ms = noise.OrnsteinUhlenbeck(s / k_in, tau * 1e-3), noise.OrnsteinUhlenbeck(s, tau)
    got = rj.simulate(mix, t1=0.05, dt=1e-4, save_every=5, noise=in_s, key=jr.key(3))
    ref = rj.simulate(own, t1=50.0, dt=0.1, save_every=5, noise=in_ms, key=jr.key(3))
    np.testing.assert_allclose(got.ys, ref.ys, rtol=1e-9, atol=1e-12)
    assert float(jnp.std(ref.ys[:, :, 1])) > 1e-2


def test_gradients_match_central_differences():
    # d loss / d (a shift of the Jansen-Rit inputs, the Wilson-Cowan efferent scale, its input
    # scale and its time scale), through delays and a deterministic run.
    W = random_weights(3, 9)
    L = np.random.default_rng(10).uniform(10.0, 40.0, (3, 3))
    groups = {
        "jr": (models.JansenRit(p=jnp.array([150.0, 200.0])), [0, 2]),
        "wc": (models.WilsonCowan(), [1], {"time_scale": 0.01, "efferent_scale": 50.0}),
    }
    net = rj.Network.mixed(groups, W, lengths=L, speed=5.0, G=1.0, max_delay=0.02)
    where = lambda m: (
        m.groups[0].model.p,
        m.groups[1].efferent_scale,
        m.groups[1].input_scale,
        m.groups[1].time_scale,
    )
    base = where(net)

    def loss(x):
        values = (base[0] + x[0], x[1], x[2], x[3])
        sol = rj.simulate(eqx.tree_at(where, net, values), t1=0.03, dt=1e-4, save_every=10)
        return jnp.mean(sol.observed**2)

    x = jnp.array([0.0, 50.0, 0.2, 0.01])
    grads = jax.grad(loss)(x)
    for k, h in enumerate((1e-3, 1e-3, 1e-5, 1e-7)):
        e = jnp.zeros(4).at[k].set(h)
        fd = (loss(x + e) - loss(x - e)) / (2 * h)
        np.testing.assert_allclose(grads[k], fd, rtol=1e-5)
        assert abs(float(grads[k])) > 0


def test_padding_stays_zero_and_keeps_the_jacobian_regular():
    W = random_weights(5, 11)
    L = np.random.default_rng(12).uniform(5.0, 40.0, (5, 5))
    groups = {
        "jr": (models.JansenRit(), [0, 2, 4]),
        "wc": (models.WilsonCowan(), [3, 1], {"time_scale": 0.01, "efferent_scale": 5.0}),
    }
    net = rj.Network.mixed(groups, W, lengths=L, speed=5.0, G=2.0)
    assert net.state_names == tuple(f"s{k}" for k in range(6))
    sol = rj.simulate(net, t1=0.1, dt=1e-4, save_every=10, noise=noise.Additive(5.0), key=jr.key(0))
    mask = net.state_mask()
    assert mask.sum() == 3 * 6 + 2 * 2
    np.testing.assert_array_equal(np.asarray(sol.ys)[:, ~mask], 0.0)
    assert float(jnp.std(sol.ys[:, 1, 0])) > 1e-3  # the WC nodes move
    wc = net.group_states(sol.ys)["wc"]
    assert wc.shape == (100, 2, 2)
    np.testing.assert_array_equal(wc, np.asarray(sol.ys)[:, [3, 1], :2])
    # Each padding entry relaxes alone: its row and column of the Jacobian are -1 on the
    # diagonal and 0 elsewhere, so the Jacobian is as regular as its models' blocks.
    J = np.asarray(eqx.filter_jit(analysis.jacobian)(net, sol.y_final))
    pad = np.flatnonzero(~mask.reshape(-1))
    np.testing.assert_array_equal(J[np.ix_(pad, pad)], -np.eye(pad.size))
    np.testing.assert_array_equal(np.delete(J[pad], pad, axis=1), 0.0)
    np.testing.assert_array_equal(np.delete(J[:, pad], pad, axis=0), 0.0)


def test_new_parameter_values_do_not_retrace():
    W = random_weights(3, 13)
    run = eqx.filter_jit(
        eqx.debug.assert_max_traces(
            lambda net: rj.simulate(net, t1=0.01, dt=1e-4).observed, max_traces=1
        )
    )
    make = lambda p, k: rj.Network.mixed(
        {
            "jr": (models.JansenRit(p=p), [0, 1]),
            "mpr": (models.MontbrioPazoRoxin(), [2], {"efferent_scale": k}),
        },
        W,
        time_unit="s",
    )
    run(make(150.0, 1.0))
    run(make(200.0, 2.0))


def test_a_network_rebuilt_from_its_groups_is_the_same():
    W = random_weights(6, 15)
    net = three_rungs(W)
    again = rj.Network.mixed(dict(zip(net.names, net.groups, strict=True)), W, G=3.0, time_unit="s")
    y = net.initial_state() + 0.01
    np.testing.assert_array_equal(again.vector_field(0.0, y, None), net.vector_field(0.0, y, None))
    assert again.group("mpr").time_scale == 1e-3
    assert net.rhythm_band is None  # Wilson-Cowan has none
    jr_mpr = {"jr": (models.JansenRit(), [0, 1]), "mpr": (models.MontbrioPazoRoxin(), [2])}
    assert rj.Network.mixed(jr_mpr, W[:3, :3], time_unit="s").rhythm_band == (1.0, 200.0)  # Hz
    with pytest.raises(ValueError, match=r"groups\['jr'\]: `time_scale` is for dimensionless"):
        rj.Network.mixed(dict(zip(net.names, net.groups, strict=True)), W, time_unit="ms")


JR, WC = models.JansenRit(), models.WilsonCowan()


@pytest.mark.parametrize(
    "groups, kwargs, error, match",
    [
        ({"a": (JR, [0, 1])}, {}, ValueError, r"regions \[2\] are in no group"),
        (
            {"a": (JR, [0, 1]), "b": (JR, [1, 2])},
            {},
            ValueError,
            r"`groups` must cover every region exactly once; regions \[1\] are in more than one",
        ),
        ({"a": (JR, [0, 1, 2, 3])}, {}, ValueError, r"groups\['a'\].nodes: regions \[3\] are out"),
        ({"a": (JR, [0, 1, 1])}, {}, ValueError, r"groups\['a'\]: `nodes` lists regions \[1\]"),
        (
            {"a": (models.JansenRit(p=jnp.ones(3)), [0, 1]), "b": (JR, [2])},
            {},
            ValueError,
            r"groups\['a'\]: JansenRit parameter `p` has shape \(3,\); in a group of 2 nodes",
        ),
        (
            {"a": (JR, [0, 1], {"efferent_scale": jnp.ones(3)}), "b": (JR, [2])},
            {},
            ValueError,
            r"groups\['a'\]: `efferent_scale` must be a scalar or have one value per node",
        ),
        (
            {"a": (JR, [0, 1]), "wc": (WC, [2])},
            {},
            ValueError,
            r"groups\['wc'\]: WilsonCowan has dimensionless time .* pass `time_scale`",
        ),
        (
            {"a": (JR, [0, 1]), "b": (models.MontbrioPazoRoxin(), [2])},
            {},
            ValueError,
            r"different time units \(ms: \['b'\]; s: \['a'\]\); pass time_unit=",
        ),
        (
            {"a": (JR, [0, 1], {"time_scale": 0.5}), "b": (JR, [2])},
            {},
            ValueError,
            r"groups\['a'\]: `time_scale` is for dimensionless models",
        ),
        (
            {"a": (JR, [0, 1]), "b": (models.StuartLandau(), [2], {"time_scale": 0.01})},
            {},
            ValueError,
            r"Groups \['b'\] send a complex signal",
        ),
        ({"a": (JR, [0, 1]), "b": (JR, [2])}, {"time_unit": "min"}, ValueError, "`time_unit`"),
        (
            {"a": (JR, [0, 1]), "b": (rj.Network(JR, np.ones((1, 1))), [2])},
            {},
            TypeError,
            r"groups\['b'\]: `model` must be a single-node",
        ),
        ({"a": (JR, [0.0, 1.0]), "b": (JR, [2])}, {}, TypeError, r"groups\['a'\]: `nodes` must be"),
        (
            {"a": (JR, [0, 1]), "b": (JR, [2], {"tau": 1.0})},
            {},
            TypeError,
            r"groups\['b'\]: the options",
        ),
        ([(JR, [0, 1, 2])], {}, TypeError, "`groups` must be a non-empty dict"),
        (
            {"a": (WC, [0, 1]), "b": (WC, [2])},
            {"lengths": np.ones((3, 3)), "speed": 5.0},
            ValueError,
            "MixedNetwork has dimensionless time",
        ),
    ],
)
def test_bad_mixed_network_arguments(groups, kwargs, error, match):
    with pytest.raises(error, match=match):
        rj.Network.mixed(groups, random_weights(3, 14), **kwargs)
