"""A thalamo-cortical network: Jansen-Rit cortical columns on a connectome, driven by thalamic
relay nodes built from the NMM1 E-I motif, connected both ways with corticothalamic delays
(`thalamocortical`); its recommended noise (`thalamocortical_noise`) and its open-loop
variants (`open_loop`), which show what the loop adds to the cortex's alpha rhythm."""

from __future__ import annotations

from typing import Literal

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._mixed_network import MixedNetwork
from .connectome import MaxEigenvalue, normalize_weights
from .models import EIMotif, JansenRit
from .models._base import AbstractModel
from .noise import Additive


def default_cortex() -> JansenRit:
    """The default cortical column: Jansen-Rit with $C = 68$, a column with no alpha rhythm of
    its own (a single, strongly damped equilibrium at every input; Jansen & Rit 1995, Fig. 3).
    (Built on call: a model made at import would create arrays then.)"""
    return JansenRit(C=68.0, p=90.0)


def default_relay() -> EIMotif:
    """The default thalamic relay: the NMM1 E-I motif as relay (TC, $x$) and reticular (TRN,
    $y$) cells, a damped alpha resonator below its Hopf point (see `thalamocortical`)."""
    return EIMotif(w_xy=6.0, P_x=7.0)


def thalamocortical(
    weights: Float[ArrayLike, "n n"] | None = None,
    *,
    lengths: Float[ArrayLike, "n n"] | None = None,
    speed: float = 5.0,
    G: float = 0.0,
    cortex: AbstractModel | None = None,
    relay: AbstractModel | None = None,
    relay_of: ArrayLike | None = None,
    ct_gain: Float[ArrayLike, ""] = 5.0,
    tc_gain: Float[ArrayLike, ""] = 300.0,
    ct_delay: float = 0.04,
    tc_delay: float = 0.04,
    relay_time_scale: float | None = None,
) -> MixedNetwork:
    """A thalamo-cortical network whose cortex shows an alpha rhythm under noise.

    $n$ cortical regions (group `"cortex"`, rows $0..n-1$: Jansen-Rit columns, time in s) and
    $m$ thalamic relays (group `"thalamus"`, rows $n..n+m-1$). Cortical region $i$ is served
    by relay $r(i)$ (`relay_of`). In the notation of `MixedNetwork`:

    $$u_i = G \\sum_j \\hat W_{ij}\\, S_j(t - \\ell_{ij}/v) + k_{tc}\\, x_{r(i)}(t - \\tau_{tc}),
    \\qquad F_r = \\frac{k_{ct}}{n_r} \\sum_{i: r(i) = r} S_i(t - \\tau_{ct}),$$

    $u_i$ adding to the cortex's input rate $p$ [1/s] and $F_r$ entering the relay cells'
    sigmoid [mV]: $S_j$ is the pyramidal firing rate [1/s] of region $j$, $\\hat W$ the
    connectome divided by its largest eigenvalue, $x_r$ the relay's E PSP [mV] (its efferent
    signal, $\\gamma_x$ times the relay cells' low-pass filtered rate) and $n_r$ the number of
    regions relay $r$ serves (it receives their mean rate). A loop of positive feedback:
    cortex -> relay cells -> cortex, with the reticular cells' inhibition shaping the relay's
    response into a resonance near 10 Hz.

    Defaults and their sources:

    * Cortex (`default_cortex()`, when `cortex` is None): Jansen-Rit (Jansen & Rit, Biol.
      Cybern. 73:357, 1995) with its
      published synaptic constants ($A$ = 3.25 mV, $B$ = 22 mV, $a$ = 100 1/s, $b$ = 50 1/s,
      sigmoid $e_0$ = 2.5 1/s, $v_0$ = 6 mV, $r$ = 0.56 1/mV) and connectivity constant
      $C$ = 68, the lowest value of their Fig. 3, at which a column alone produces no alpha
      rhythm: its equilibrium is unique at every input and, here, a focus of 3 Hz damped at
      31 1/s. $p$ = 90 1/s of non-thalamic input, plus about 20 1/s from the thalamus. The
      alpha rhythm of this network therefore comes from the thalamus.
    * Relay (`default_relay()`, when `relay` is None): the NMM1 E-I push-pull motif
      (Castaldo et al. 2026, arXiv:2512.10982,
      section 6) as thalamic relay (E: thalamocortical cells) and reticular (I) cells, the
      structure of Lopes da Silva et al.'s thalamic alpha model (Kybernetik 15:27, 1974):
      relay cells excite reticular cells, which inhibit them back, through second-order
      synapses, with no relay-relay excitation. Jansen-Rit kinetics and gains: $\\tau_x$ =
      10 ms, $\\tau_y$ = 20 ms, $\\gamma_x$ = 3.25 mV / 100 1/s, $\\gamma_y$ = 22 mV / 50 1/s;
      weights $w_{yx}$ = 75, $w_{xy}$ = 6 (below the motif's default 10, so that the relay is a
      damped resonator rather than an oscillator; its Barkhausen frequency is
      $1/(2\\pi\\sqrt{\\tau_x\\tau_y})$ = 11.25 Hz, section 6), tonic input $P_x$ = 7 mV
      (e.g. sensory). With the cortical drive (3.4 mV) the relay cells' sigmoid input is
      5.4 mV, near its midpoint $v_0$ = 6 mV (rate 2.1 1/s), where the motif's equilibrium is
      a focus of 10.0 Hz with quality factor 4.3.
    * Gains: `ct_gain` $k_{ct}$ = 5 mV s (cortical rate -> relay membrane; the relay group's
      `input_scale`) and `tc_gain` $k_{tc}$ = 300 1/(mV s) (relay PSP -> cortical input rate,
      about 10 times the relay cells' rate $x/\\gamma_x$; the relay group's
      `efferent_scale`). They give the cortex a thalamic drive of 20 1/s and close the loop at
      about 3/4 of the gain ($k_{tc} \\approx$ 407 1/(mV s)) at which it starts to oscillate.
    * Delays: `ct_delay` = `tc_delay` = 40 ms, half the corticothalamic round-trip delay
      $t_0 \\approx$ 80 ms of Robinson, Rennie & Rowe (Phys. Rev. E 65:041924, 2002).
    * Cortico-cortical coupling: gain `G` (default 0) on the connectome divided by its
      largest eigenvalue, delays `lengths / speed` (mm / (m/s) = ms). Keep it small (a few
      units): it adds positive feedback at low frequencies (at `G` = 20 on the DK68
      connectome the cortex's spectrum is low-pass).

    With these values the single column's linearised EEG spectrum peaks at 9.8 Hz with ten
    times more power in 8-12 Hz than in 0.5-4 Hz. Opening the loop (`open_loop`) shows where
    it comes from: without the relays' output the cortex is low-pass (2.7 % of the alpha
    power left); without the cortex's feedback the relay's own resonance remains (42 %).

    Time: the network runs in s. A relay in s or ms needs nothing; a dimensionless relay
    (e.g. `models.WilsonCowan`) needs `relay_time_scale`, the duration of its time unit in s
    (e.g. 0.01 for $\\tau$ = 10 ms), and gains suited to its signals. Noise: see
    `thalamocortical_noise`.

    Args:
        weights: the cortical connectome, shape `(n, n)` (e.g. `data.load_dk68().weights`);
            None for a single cortical column.
        lengths: fibre lengths [mm], shape `(n, n)`, for cortico-cortical delays (None: none).
        speed: conduction speed [m/s] of the cortico-cortical fibres.
        G: cortico-cortical coupling gain (of the normalised connectome).
        cortex: the cortical column model (its parameters scalars or one per region);
            None: `default_cortex()`.
        relay: the thalamic relay model (its parameters scalars or one per relay); None:
            `default_relay()`.
        relay_of: the relay serving each cortical region, integers in `0..m-1`, shape `(n,)`;
            None: one relay for all regions.
        ct_gain: $k_{ct}$, corticothalamic gain (cortical rate [1/s] -> relay input).
        tc_gain: $k_{tc}$, thalamocortical gain (relay signal -> cortical input rate [1/s]).
        ct_delay, tc_delay: corticothalamic and thalamocortical delays [s], > 0.
        relay_time_scale: one time unit of a dimensionless relay, in s.

    Returns:
        A `MixedNetwork` (time in s) with groups `"cortex"` and `"thalamus"`; its
        `observe` gives the cortical EEG proxy $y_1 - y_2$ [mV] and the relays' $x$ [mV].

    Raises:
        ValueError: weights not square, lengths of another shape, `relay_of` of the wrong
            length or leaving a relay without regions, non-positive delays; the errors of
            `Network.mixed`.
    """
    cortex = default_cortex() if cortex is None else cortex
    relay = default_relay() if relay is None else relay
    n = 1 if weights is None else int(np.shape(weights)[0])
    W = np.zeros((1, 1)) if weights is None else np.asarray(weights, dtype=float)
    owner = _relay_of(relay_of, n)
    m = int(owner.max()) + 1
    for name, d in (("ct_delay", ct_delay), ("tc_delay", tc_delay)):
        if not float(d) > 0:
            raise ValueError(f"`{name}` must be a positive delay in s; got {d!r}.")
    C = np.zeros((n + m, n + m))
    C[:n, :n] = 0.0 if weights is None else float(G) * np.asarray(_normalised(W))
    served = np.zeros((m, n))
    served[owner, np.arange(n)] = 1.0
    C[:n, n:] = served.T  # region i <- its relay
    C[n:, :n] = served / served.sum(axis=1, keepdims=True)  # relay <- mean of its regions
    D = np.zeros_like(C)
    D[:n, :n] = _cortical_delays(lengths, speed, n)
    D[:n, n:], D[n:, :n] = tc_delay, ct_delay
    relay_opts = {"input_scale": ct_gain, "efferent_scale": tc_gain}
    if relay_time_scale is not None:
        relay_opts["time_scale"] = relay_time_scale
    groups = {"cortex": (cortex, range(n)), "thalamus": (relay, range(n, n + m), relay_opts)}
    dtype = jnp.result_type(float)
    return MixedNetwork(
        groups,
        jnp.asarray(C, dtype=dtype),
        delays=jnp.asarray(D, dtype=dtype),
        G=1.0,
        normalize=None,
        time_unit="s",
    )


def _relay_of(relay_of, n: int) -> np.ndarray:
    if relay_of is None:
        return np.zeros(n, dtype=int)
    owner = np.asarray(relay_of)
    if owner.shape != (n,) or not np.issubdtype(owner.dtype, np.integer) or owner.min() < 0:
        raise ValueError(
            f"`relay_of` must give each of the {n} cortical regions a relay index >= 0 "
            f"(shape ({n},), integers); got {relay_of!r}."
        )
    unused = sorted(set(range(int(owner.max()) + 1)) - set(owner.tolist()))
    if unused:
        raise ValueError(f"`relay_of` leaves relays {unused} without cortical regions.")
    return owner


def _normalised(W: np.ndarray) -> Array:
    if W.ndim != 2 or W.shape[0] != W.shape[1]:
        raise ValueError(f"`weights` must be a square matrix; got shape {W.shape}.")
    return normalize_weights(jnp.asarray(W), MaxEigenvalue())


def _cortical_delays(lengths, speed: float, n: int) -> np.ndarray:
    """Cortico-cortical delays [s]: lengths [mm] / speed [m/s] is in ms."""
    if lengths is None:
        return np.zeros((n, n))
    L = np.asarray(lengths, dtype=float)
    if L.shape != (n, n):
        raise ValueError(f"`lengths` must have the shape of `weights`, {(n, n)}; got {L.shape}.")
    if not float(speed) > 0:
        raise ValueError(f"`speed` must be a positive number of m/s; got {speed!r}.")
    return L / float(speed) * 1e-3


def thalamocortical_noise(
    net: MixedNetwork, *, cortex: float = 0.05, thalamus: float = 0.002
) -> Additive:
    """White noise for a `thalamocortical` network: `cortex` on the cortical columns' input
    rate $p$ [1/s s^(1/2)] and `thalamus` on the relays, whose noise enters the relay cells'
    E synapse through the relay group's `input_scale` $k_{ct}$ (a presynaptic rate of
    intensity $(k_{ct}\\,\\sigma)^2$). The relays' noise stands for their sensory input, the
    source Robinson et al. (2002) drive the corticothalamic system with. The defaults keep
    the network in its linear regime (for the single column: EEG standard deviation 0.02 mV;
    the simulated alpha power within 2 % of the linearised spectrum over 1000 s); at twice
    them the relay's sigmoid starts to cap the alpha power (-6 %), at ten times by half.

    Returns:
        `noise.Additive` with one amplitude per node.
    """
    sizes = [len(g.nodes) for g in net.groups]
    sigma = {"cortex": cortex, "thalamus": thalamus}
    parts = [jnp.full(s, sigma[name]) for name, s in zip(net.names, sizes, strict=True)]
    return Additive(jnp.concatenate(parts))


def open_loop(
    net: MixedNetwork,
    y_star: Float[ArrayLike, "nodes state"],
    *,
    cut: Literal["thalamocortical", "corticothalamic"] = "thalamocortical",
) -> tuple[MixedNetwork, Float[Array, " nodes"]]:
    """A `thalamocortical` network with one direction of its loop cut: the cut edges removed
    and replaced by the constant input they carry at the equilibrium `y_star`, so that every
    node keeps its operating point (and its linearisation) and only the loop is open.

    Args:
        net: a network made by `thalamocortical`.
        y_star: its equilibrium (e.g. `analysis.stable_equilibrium(net)`).
        cut: `"thalamocortical"` (the relays' output to the cortex: the cortex alone, with
            the relays' mean drive) or `"corticothalamic"` (the cortex's feedback to the
            relays: the relays alone, driven by the cortex's mean rate).

    Returns:
        `(open_net, forcing)`: pass `forcing` to `simulate` (or as `args` to the analyses).
    """
    if cut not in ("thalamocortical", "corticothalamic"):
        raise ValueError(f"`cut` must be 'thalamocortical' or 'corticothalamic'; got {cut!r}.")
    rows = np.asarray(net.group("cortex" if cut == "thalamocortical" else "thalamus").nodes)
    cols = np.asarray(net.group("thalamus" if cut == "thalamocortical" else "cortex").nodes)
    mask = np.zeros(net.weights.shape, dtype=bool)
    mask[np.ix_(rows, cols)] = True
    removed = jnp.where(jnp.asarray(mask), net.weights, 0.0)
    forcing = net.G * (removed @ net.efferent(jnp.asarray(y_star)))
    groups = dict(zip(net.names, net.groups, strict=True))
    opened = MixedNetwork(
        groups,
        jnp.where(jnp.asarray(mask), 0.0, net.weights),
        delays=net.delays,
        G=net.G,
        normalize=None,
        time_unit=net.unit,
    )
    return opened, forcing
