"""Mixed-model networks with the rest of the library: the linearised spectrum (with delays) and
FC against a NumPy transcription built from each node's own model by finite differences (and
scipy's Lyapunov solver), same-model groups against the homogeneous `Network`, equilibria
against the groups' own networks, `sweep` over group parameters against separate runs of
rebuilt networks, `fit.fit` by group-parameter paths, lead-field and BOLD observation, and
clear errors for unknown names.

Most tests share one network structure (Jansen-Rit on regions 0 and 2, Wilson-Cowan in 10 ms
units on 1 and 3, conduction delays), so that its compiled programs are reused."""

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import numpy as np
import optax
import pytest
import scipy.linalg

import rosetta_jax as rj
from rosetta_jax import analysis, fit, models, noise, observation


N = 4
W = np.array(
    [[0.0, 0.8, 0.5, 0.3], [0.8, 0.0, 0.4, 0.9], [0.5, 0.4, 0.0, 0.6], [0.3, 0.9, 0.6, 0.0]]
)
L = np.array(  # fibre lengths [mm]: 2 to 8 ms at 5 m/s
    [[0.0, 12.0, 30.0, 25.0], [12.0, 0.0, 18.0, 40.0], [30.0, 18.0, 0.0, 10.0], [25, 40, 10, 0]]
)
P_JR = (340.0, 400.0)  # Jansen-Rit inputs [1/s] with a single (stable) equilibrium
SIGMA = 1.5  # white noise in the common input [1/s per sqrt(s)]


def mixed(weights=W, *, C=135.0, p=P_JR, k_out=4.0, k_in=0.2, G=1.0, normalize=None):
    """Jansen-Rit (s; one equilibrium, a stable focus, at these inputs) on regions 0, 2 and
    Wilson-Cowan (10 ms per unit; P_x = 3: a stable focus) on 1, 3, in a network in s with
    delays."""
    groups = {
        "cortex": (models.JansenRit(C=C, p=jnp.asarray(p)), [0, 2]),
        "thal": (
            models.WilsonCowan(P_x=3.0),
            [1, 3],
            {"time_scale": 0.01, "efferent_scale": k_out, "input_scale": k_in},
        ),
    }
    return rj.Network.mixed(groups, weights, lengths=L, speed=5.0, G=G, normalize=normalize)


def jansen_rit_pair(p=(85.0, 90.0, 95.0, 92.0)):
    """The same Jansen-Rit network, homogeneous and as two interleaved groups."""
    p = jnp.asarray(p)
    kw = dict(lengths=L, speed=5.0, G=1.0)
    net = rj.Network(models.JansenRit(p=p), W, **kw)
    groups = {"a": (models.JansenRit(p=p[::2]), [0, 2]), "b": (models.JansenRit(p=p[1::2]), [1, 3])}
    return net, rj.Network.mixed(groups, W, **kw)


# ---------------------------------------------------------------------- NumPy reference


def node_parts(net):
    """Per region: its own single-node model (regional parameters indexed), k_in, k_out, T."""
    out = {}
    for g in net.groups:
        for k, i in enumerate(g.nodes):
            at = lambda v, k=k: float(np.asarray(v)[k] if np.ndim(v) == 1 else v)
            m = jax.tree.map(lambda v, k=k: v[k] if jnp.ndim(v) == 1 else v, g.model)
            out[i] = (m, at(g.input_scale), at(g.efferent_scale), float(g.time_scale))
    return [out[i] for i in range(net.n_nodes)]


def fd(f, x, h=1e-6):
    """Central finite differences of `f` at `x`: shape `(*f(x).shape, x.size)`."""
    x = np.asarray(x, dtype=float)
    cols = []
    for k in range(x.size):
        dx = np.zeros_like(x)
        dx[k] = h * max(1.0, abs(x[k]))
        cols.append((np.asarray(f(x + dx)) - np.asarray(f(x - dx))) / (2 * dx[k]))
    return np.stack(cols, axis=-1)


def linearisation(net, y):
    """From each node's own model at the network state `y` (its first s_i entries), by finite
    differences: the drift $f_i(y_i, a_i) = f(y_i, k^{in} G a_i)/T$ and its Jacobian blocks
    $A_i$, $b_i = \\partial f_i/\\partial a_i$, the efferent gradient $c_i$ (times $k^{out}$),
    the noise gain $B_i$ (times $k^{in}/T$) and the observable's gradient $o_i$."""
    parts = node_parts(net)
    ys = [np.asarray(y[i, : m.initial_state().shape[0]]) for i, (m, *_) in enumerate(parts)]
    e = [
        ko * float(m.efferent(jnp.asarray(yi))) for (m, _, ko, _), yi in zip(parts, ys, strict=True)
    ]
    a = np.asarray(net.weights) @ np.array(e)
    return [
        node_linearisation(*p, yi, ai, float(net.G)) for p, yi, ai in zip(parts, ys, a, strict=True)
    ]


def node_linearisation(m, k_in, k_out, T, y, a, G):
    """`linearisation` of one node (model `m`) at its state `y` and afferent sum `a`."""
    field = lambda yy, aa: np.asarray(m.vector_field(0.0, jnp.asarray(yy), k_in * G * aa)) / T
    scalar = lambda fn: lambda yy: float(fn(jnp.asarray(yy)))
    return dict(
        f=field(y, a),
        A=fd(lambda yy: field(yy, a), y),
        b=fd(lambda aa: field(y, aa[0]), [a])[:, 0],
        c=k_out * fd(scalar(m.efferent), y),
        B=np.asarray(m.input_gain(jnp.asarray(y))).reshape(y.size, -1) * k_in / T,
        o=fd(scalar(m.observe), y),
    )


def numpy_spectrum_and_fc(net, y, freqs, sigma, delays=True):
    """$S(\\omega) = 2\\,O H D H^* O^T$, $H = (i\\omega - A - \\sum_{ij} K_{ij}
    e^{-i\\omega\\tau_{ij}})^{-1}$, $K_{ij} = C_{ij} b_i c_j^T$, on the models' own states
    (no padding); and the FC of $\\Sigma$ solving $J\\Sigma + \\Sigma J^T = -D$ (no delays)."""
    lin = linearisation(net, y)
    sizes = [len(p["f"]) for p in lin]
    off = np.concatenate([[0], np.cumsum(sizes)])
    Ns, C, tau = off[-1], np.asarray(net.weights), np.asarray(net.delay_matrix()) * delays
    A, D, O = np.zeros((Ns, Ns)), np.zeros((Ns, Ns)), np.zeros((net.n_nodes, Ns))
    K = np.zeros((net.n_nodes, net.n_nodes, Ns, Ns))
    for i, p in enumerate(lin):
        r = slice(off[i], off[i + 1])
        A[r, r], O[i, r] = p["A"], p["o"]
        D[r, r] = sigma**2 * p["B"] @ p["B"].T
        for j, q in enumerate(lin):
            K[i, j, r, off[j] : off[j + 1]] = C[i, j] * np.outer(p["b"], q["c"])
    psd = []
    for f in freqs:
        w = 2 * np.pi * f
        J = A + np.einsum("ijab,ij->ab", K, np.exp(-1j * w * tau))
        H = O @ np.linalg.inv(1j * w * np.eye(Ns) - J)
        psd.append(2 * np.real(np.diag(H @ D @ H.conj().T)))
    cov = O @ scipy.linalg.solve_continuous_lyapunov(A + K.sum(axis=(0, 1)), -D) @ O.T
    d = np.sqrt(np.diag(cov))
    return np.array(psd), cov / np.outer(d, d), lin


def rest(net):
    """The network's equilibrium from its initial state (Newton)."""
    return analysis.equilibrium(net, net.initial_state())


EXPLORE = dict(n_starts=4, t1=0.2, dt=1e-4)  # one compiled search for the tests' networks


def stable(net):
    """The least-damped stable equilibrium (`fixed_points` from a short exploratory run)."""
    return analysis.stable_equilibrium(net, **EXPLORE)


# ---------------------------------------------------------------------- linearised analyses

FREQS = jnp.linspace(1.0, 60.0, 24)
linear_spectrum = eqx.filter_jit(analysis.linear_spectrum)


def test_linear_spectrum_of_same_model_groups_equals_the_homogeneous_network():
    net, mix = jansen_rit_pair()
    y = rest(net)
    assert np.max(np.abs(mix.vector_field(0.0, y, None))) < 1e-9  # the same equilibrium
    ref = linear_spectrum(net, FREQS, noise.Additive(SIGMA), y_star=y, cross=True)
    got = linear_spectrum(mix, FREQS, noise.Additive(SIGMA), y_star=y, cross=True)
    np.testing.assert_allclose(got.csd, ref.csd, rtol=1e-10, atol=1e-14 * np.abs(ref.csd).max())


def test_linear_spectrum_and_fc_of_a_mixed_network_equal_a_numpy_transcription():
    net = mixed()
    y = stable(net)
    ref_psd, ref_fc, lin = numpy_spectrum_and_fc(net, y, np.asarray(FREQS), SIGMA)
    assert max(np.max(np.abs(p["f"])) for p in lin) < 1e-9  # an equilibrium of every node
    got = linear_spectrum(net, FREQS, noise.Additive(SIGMA), y_star=y)
    np.testing.assert_allclose(got.psd, ref_psd, rtol=1e-6)
    undelayed = numpy_spectrum_and_fc(net, y, np.asarray(FREQS), SIGMA, delays=False)[0]
    # The delays matter (by 0.5 % here, far beyond the agreement above).
    assert np.max(np.abs(np.log(undelayed / ref_psd))) > 3e-3
    assert np.ptp(np.log(ref_psd[:, 0])) > 1.0 and np.ptp(np.log(ref_psd[:, 1])) > 1.0
    fc = eqx.filter_jit(analysis.linear_fc)(net, noise.Additive(SIGMA), y_star=y)
    np.testing.assert_allclose(fc, ref_fc, rtol=1e-6, atol=1e-8)
    assert np.min(np.abs(ref_fc)) > 1e-3


def test_equilibria_of_a_mixed_network():
    net = mixed()
    mask = net.state_mask()
    fps = analysis.fixed_points(net, **EXPLORE)
    assert any(fp.stable for fp in fps)
    for fp in fps:
        # An equilibrium of every node's own model, zero padding, no padding eigenvalues.
        lin = linearisation(net, fp.state)
        assert max(np.max(np.abs(p["f"])) for p in lin) < 1e-8
        np.testing.assert_array_equal(fp.state[~mask], 0.0)
        assert fp.eigenvalues.shape == (mask.sum(),)
    best = max((fp for fp in fps if fp.stable), key=lambda fp: fp.eigenvalues.real.max())
    np.testing.assert_allclose(stable(net), best.state, rtol=1e-8, atol=1e-10)


@pytest.mark.slow  # 20-30 s: default-run budget (the calibration test runs there)
def test_uncoupled_groups_have_their_own_networks_equilibria():
    # Connections within the groups only: the mixed network's least-damped stable
    # equilibrium is each group's own; its eigenvalues are the groups' (Wilson-Cowan's in
    # 1/(10 ms) units: times 100 in 1/s), without the padding's -1.
    Wb = np.where(np.add.outer(np.arange(N), np.arange(N)) % 2 == 0, W, 0.0)
    k_in, k_out, G = 0.5, 3.0, 2.0
    net = mixed(Wb, k_in=k_in, k_out=k_out, G=G)
    fps = analysis.fixed_points(net, **EXPLORE)
    best = max((fp for fp in fps if fp.stable), key=lambda fp: fp.eigenvalues.real.max())
    y = best.state
    jr_net = rj.Network(models.JansenRit(p=jnp.asarray(P_JR)), Wb[::2, ::2], G=G, normalize=None)
    wc_net = rj.Network(
        models.WilsonCowan(P_x=3.0), Wb[1::2, 1::2], G=G * k_in * k_out, normalize=None
    )
    # Their own searches, from their initial states, spread states and the mixed result.
    spread = lambda y0, s: y0 + s * jr.normal(jr.key(3), (12, *y0.shape))
    y_jr = analysis.stable_equilibrium(
        jr_net, starts=jnp.concatenate([spread(y[::2], 5.0), y[None, ::2]])
    )
    y_wc = analysis.stable_equilibrium(
        wc_net, starts=jnp.concatenate([spread(y[1::2, :2], 0.3), y[None, 1::2, :2]])
    )
    np.testing.assert_allclose(y[::2], y_jr, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(y[1::2, :2], y_wc, rtol=1e-8, atol=1e-10)
    own = np.concatenate(
        [
            np.linalg.eigvals(np.asarray(analysis.jacobian(jr_net, y_jr))),
            100.0 * np.linalg.eigvals(np.asarray(analysis.jacobian(wc_net, y_wc))),
        ]
    )
    np.testing.assert_allclose(
        np.sort_complex(best.eigenvalues), np.sort_complex(own), rtol=1e-7, atol=1e-7
    )


# ---------------------------------------------------------------------- sweep and fit

RUN = dict(t1=0.05, dt=1e-4, save_every=10)


@pytest.mark.parametrize("x64", [True, False])
def test_sweep_over_group_parameters_equals_separate_runs(x64):
    # Group parameters by path ("cortex.C", "thal.efferent_scale") and the network's G, with
    # delays and per-node noise; each sample against `simulate` of the network rebuilt with
    # those values (float32: the same to its rounding).
    values = {"cortex.C": [120.0, 135.0, 150.0], "thal.efferent_scale": [2.0, 4.0, 6.0]}
    values["G"] = [0.5, 1.0, 2.0]
    with jax.enable_x64(x64):
        dtype = jnp.float64 if x64 else jnp.float32
        sigma = noise.Additive(jnp.array([20.0, 0.05, 30.0, 0.1], dtype))
        net = mixed(W.astype(dtype))
        ds = rj.sweep(
            net,
            rj.Space.samples(values),
            features=["mean"],
            noise=sigma,
            key=jr.key(5),
            keep_trajectories=True,
            discard=0.0,
            progress=False,
            **RUN,
        )
        assert ds["observed"].shape == (3, 50, N) and ds["cortex.C"].dims == ("sample",)
        for i, (C, k_out, G) in enumerate(zip(*values.values(), strict=True)):
            rebuilt = mixed(W.astype(dtype), C=C, k_out=k_out, G=G)
            sol = rj.simulate(rebuilt, noise=sigma, key=jr.fold_in(jr.key(5), i), **RUN)
            assert sol.observed.dtype == dtype
            tol = dict(rtol=1e-9, atol=1e-12) if x64 else dict(rtol=1e-4, atol=1e-4)
            np.testing.assert_allclose(ds["observed"][i], sol.observed, **tol)
            assert float(np.ptp(sol.observed[:, 1])) > 1e-3  # the Wilson-Cowan nodes move


def spectrum_fit_problem(stability_weight):
    """A target spectrum of the mixed network at cortex.C = 135, its objective (the linearised
    spectrum, as `fit.Linear` computes it) and the network at cortex.C = 120."""
    truth = mixed(G=3.0)
    y = stable(truth)
    psd = linear_spectrum(truth, FREQS, noise.Additive(SIGMA), y_star=y).psd
    method = fit.Linear(y_guess=y, stability_weight=stability_weight)
    target = fit.SpectrumTarget(FREQS, psd)
    objective = fit.SpectrumObjective(target, noise.Additive(SIGMA), method=method)
    return objective, eqx.tree_at(lambda m: m.cortex.C, truth, jnp.asarray(120.0))


# 20-55 s: in the slow target (the default run's 15-minute budget on 2 cores).
@pytest.mark.slow
def test_gradient_of_a_spectral_objective_by_a_group_parameter():
    objective, start = spectrum_fit_problem(0.0)  # no damping penalty: a smaller program
    loss = lambda C: objective(eqx.tree_at(lambda m: m.cortex.C, start, C))[0]
    value_and_grad = eqx.filter_jit(jax.value_and_grad(loss))
    _, grad = value_and_grad(jnp.asarray(120.0))
    h = 0.01
    fd_grad = (value_and_grad(120.0 + h)[0] - value_and_grad(120.0 - h)[0]) / (2 * h)
    np.testing.assert_allclose(grad, fd_grad, rtol=1e-5)
    assert float(grad) < 0  # the loss falls towards C = 135


@pytest.mark.slow  # compiles a fitting step through Newton and the spectrum: a minute on CPU
def test_fit_recovers_a_group_parameter_by_its_path():
    objective, start = spectrum_fit_problem(1.0)
    result = fit.fit(
        start,
        objective,
        params=("cortex.C",),
        transforms=fit.Bounded(90.0, 180.0),
        optimizer=optax.adam(0.1),
        steps=60,
        progress=False,
    )
    assert set(result.params) == {"cortex.C"}
    np.testing.assert_allclose(result.params["cortex.C"], 135.0, rtol=2e-3)
    np.testing.assert_allclose(result.model.cortex.C, result.params["cortex.C"])


# ---------------------------------------------------------------------- observation


def test_lead_field_and_bold_of_a_mixed_run():
    net, mix = jansen_rit_pair()
    kw = dict(t1=0.2, dt=1e-4, save_every=10, noise=noise.Additive(20.0), key=jr.key(1))
    ref, got = rj.simulate(net, **kw), rj.simulate(mix, **kw)
    lead = observation.LeadField(np.random.default_rng(2).normal(size=(3, N)))
    assert lead(got.observed).shape == (200, 3)
    np.testing.assert_allclose(lead(got.observed), lead(ref.observed), rtol=1e-9, atol=1e-10)
    t_got, b_got = observation.bold(got.observed, 1e-3, 0.05)
    t_ref, b_ref = observation.bold(ref.observed, 1e-3, 0.05)
    assert b_got.shape == (4, N)
    np.testing.assert_allclose(b_got, b_ref, rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------- errors


def test_group_paths_and_clear_errors_for_unknown_names():
    net = mixed()
    assert net.cortex is net.group("cortex") and net.thal.P_x == net.groups[1].model.P_x
    edited = eqx.tree_at(lambda m: (m.cortex.p, m.thal.input_scale), net, (jnp.ones(2), 0.5))
    assert edited.groups[1].input_scale == 0.5 and edited.groups[0].model.p[0] == 1.0
    run = lambda names: rj.sweep(net, rj.Space.grid({n: [1.0] for n in names}), t1=0.05, dt=1e-4)
    with pytest.raises(ValueError, match=r"no parameter `cortx.C`.*'cortex': a parameter of"):
        run(["cortx.C"])
    with pytest.raises(ValueError, match=r"`cortex.Q`; in group 'cortex' name a parameter of"):
        run(["cortex.Q"])
    with pytest.raises(ValueError, match=r"`thal.nodes` is not a floating-point array leaf"):
        run(["thal.nodes"])
    objective = lambda m, key: (jnp.sum(m.G), {})
    with pytest.raises(ValueError, match=r"`thal.w_zz`; in group 'thal' name .*WilsonCowan"):
        fit.fit(net, objective, params=("G", "thal.w_zz"), steps=1, progress=False)
    with pytest.raises(AttributeError, match=r"no attribute or group 'node'"):
        net.node  # noqa: B018
    spectra = (np.asarray(FREQS), np.ones((24, N)))
    for lead_field in (np.eye(N), None):  # at once, before any equilibrium search
        with pytest.raises(TypeError, match=r"fit_spectra fits networks of one node.*fit\.fit"):
            fit.fit_spectra(spectra, net, lead_field=lead_field)
    with pytest.raises(TypeError, match=r"fit_fc fits networks of one node model.*FCObjective"):
        fit.fit_fc(np.eye(N), W, node=net)
    with pytest.raises(ValueError, match=r"Group name 'G' cannot address its group"):
        rj.Network.mixed({"G": (models.JansenRit(), range(N))}, W)
