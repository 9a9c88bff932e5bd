"""The observation model of a recorded spectrum: the node's (or network's) linearised spectrum
seen on top of an aperiodic background, with a measurement floor.

A region's recording is modelled as background activity with an aperiodic spectrum
$A(f) = 1 / (f_k^{\\chi} + f^{\\chi})$ (specparam's aperiodic component with a knee frequency
$f_k$; Donoghue et al. 2020, Nat. Neurosci. 23:1655; Gao et al. 2017, NeuroImage 158:70) plus
the response of one or more generators (rungs of the ladder linearised at their stable focus,
Castaldo et al. 2026, arXiv:2512.10982, section 2.2.3) to that same coloured input, and a
white measurement floor, all seen through the recording's low-pass filter $L(f)$ when it has
one (`lowpass`):

$$P(f) = L(f)\\Big[A(f)\\Big(b + \\sum_g 10^{\\gamma_g}\\, \\hat S_g(f)\\Big) + 10^{\\phi}\\Big],
\\qquad L(f) = \\frac{1}{1 + (f/f_c)^{2n}}.$$

$\\hat S_g$ is generator $g$'s spectrum under white input, normalised to a peak of 1 over the
fitted frequencies, so $10^{\\gamma_g}$ is its peak-to-background ratio; $b = 1$ keeps the
background itself (`background=True`). A region is a patch of cortex whose sources do not all
share one time scale: with `dispersion` $\\sigma > 0$ each generator's spectrum is averaged over
log-normally distributed time scales, $\\hat S(f) \\propto \\sum_j w_j\\, S(f e^{-\\sigma x_j})
e^{-\\sigma x_j}$ (Gauss-Hermite nodes $x_j$), which widens peaks as a spread of local
frequencies does (any rung rescaled in time by $s$ has the spectrum $S(f/s)/s$). $L$ is the
power response of an order-$n$ Butterworth low-pass with cutoff $f_c$: source-reconstructed
MEG is often low-passed near the top of the analysed band (the spectrome spectra of Raj et al.
2020, Hum. Brain Mapp. 41:2980, fall steeply above about 40 Hz).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from .._validation import is_concrete
from ..analysis._dynamics import stable_equilibrium
from ..models._base import AbstractModel
from ._methods import Linear


def aperiodic(
    freqs: Float[ArrayLike, " n_freqs"],
    exponent: Float[ArrayLike, "*shape"],
    knee: Float[ArrayLike, "*shape"],
) -> Float[Array, "n_freqs ..."]:
    """The aperiodic component $1/(f_k^{\\chi} + f^{\\chi})$: $f_k$ the knee frequency [Hz] (0:
    no knee, a pure power law $f^{-\\chi}$), $\\chi$ the exponent. specparam writes the same
    curve as $10^b / (k + f^{\\chi})$ with $k = f_k^{\\chi}$."""
    f = jnp.asarray(freqs)
    f = f.reshape(f.shape + (1,) * jnp.ndim(exponent))
    return 1.0 / (jnp.asarray(knee) ** exponent + f**exponent)


def _mean_equilibrium(model: AbstractModel) -> Array:
    """The least-damped stable equilibrium of the model with each regional parameter array
    replaced by its mean (a start for Newton in every region); a network's own (its weights
    are not regional values)."""
    from .._network_base import AbstractNetwork

    if isinstance(model, AbstractNetwork):
        return stable_equilibrium(model)
    mean = jax.tree.map(lambda x: jnp.mean(x) if eqx.is_inexact_array(x) else x, model)
    return stable_equilibrium(mean)


class Observed(eqx.Module):
    """A recording model: generators (rungs of the ladder, or a network) seen through an
    aperiodic background and a measurement floor. Fit it with `fit.fit_spectra` or a
    `SpectrumObjective` (which recognises it); every field below is a fittable leaf, a scalar
    or an array with one value per channel.

    Args:
        generators: one model, or several whose spectra add (independent generators in one
            region, e.g. an alpha and a beta rhythm). Each is linearised at its stable focus.
        log_gain: $\\gamma_g$, one per generator: log10 of its peak-to-background power ratio
            (default 0: a peak as high as the background).
        exponent: aperiodic exponent $\\chi$ (default 1.5).
        knee: knee frequency $f_k$ [Hz] (default 5); `knee=False` fixes it at 0.
        log_floor: $\\phi$, log10 of the white measurement floor in units of the background
            at 1 Hz (default -6: negligible).
        dispersion: $\\sigma$, standard deviation of the log time scales within a region
            (default 0.1; dimensionless).
        background: keep the aperiodic background itself (`b = 1`; default True). False
            models the recording as the generators' response to coloured input alone.
        dispersion_nodes: Gauss-Hermite nodes of the time-scale average (default 5; 1 turns
            the dispersion off).
        lowpass: the recording's low-pass cutoff $f_c$ [Hz] (default False: no filter).
        lowpass_order: the order $n$ of its Butterworth response (default 16: a steep
            filter, as FIR low-passes are).
    """

    generators: tuple[AbstractModel, ...]
    log_gain: tuple[Float[Array, "*channels"], ...]
    exponent: Float[Array, "*channels"]
    knee: Float[Array, "*channels"]
    log_floor: Float[Array, "*channels"]
    dispersion: Float[Array, "*channels"]
    lowpass: Float[Array, "*channels"]
    anchors: tuple[tuple[AbstractModel, Array], ...] | None
    y_guess: tuple[tuple[tuple[int, ...], tuple[float, ...]], ...] = eqx.field(static=True)
    background: bool = eqx.field(static=True)
    fit_knee: bool = eqx.field(static=True)
    dispersion_nodes: int = eqx.field(static=True)
    lowpass_order: int = eqx.field(static=True)

    def __init__(
        self,
        generators: AbstractModel | Sequence[AbstractModel],
        *,
        log_gain: float | Sequence[float] = 0.0,
        exponent: float | ArrayLike = 1.5,
        knee: float | ArrayLike | bool = 5.0,
        log_floor: float | ArrayLike = -6.0,
        dispersion: float | ArrayLike = 0.1,
        background: bool = True,
        dispersion_nodes: int = 5,
        lowpass: float | ArrayLike | bool = False,
        lowpass_order: int = 16,
    ):
        gens = (generators,) if isinstance(generators, AbstractModel) else tuple(generators)
        if not gens or not all(isinstance(g, AbstractModel) for g in gens):
            raise TypeError(
                "`generators` must be a model or a sequence of models (e.g. "
                "models.DampedOscillator(...)); got "
                f"{type(generators).__name__}."
            )
        gains = (log_gain,) * len(gens) if np.ndim(log_gain) == 0 else tuple(log_gain)
        if len(gains) != len(gens):
            raise ValueError(f"`log_gain` needs one value per generator ({len(gens)}).")
        if int(dispersion_nodes) < 1:
            raise ValueError("`dispersion_nodes` must be >= 1.")
        self.generators = gens
        self.log_gain = tuple(jnp.asarray(g, dtype=float) for g in gains)
        self.fit_knee = knee is not False
        self.knee = jnp.asarray(0.0 if knee is False else knee, dtype=float)
        self.exponent = jnp.asarray(exponent, dtype=float)
        self.log_floor = jnp.asarray(log_floor, dtype=float)
        self.dispersion = jnp.asarray(dispersion, dtype=float)
        self.background = bool(background)
        self.dispersion_nodes = int(dispersion_nodes)
        if lowpass is True or int(lowpass_order) < 1:
            raise ValueError(
                "`lowpass` is a cutoff [Hz] (or False: no filter) and `lowpass_order` >= 1."
            )
        # 0 marks "no filter" (static), so the cutoff stays a fittable leaf otherwise.
        self.lowpass = jnp.asarray(0.0 if lowpass is False else lowpass, dtype=float)
        self.lowpass_order = 0 if lowpass is False else int(lowpass_order)
        # Newton starts, kept static (concrete numbers, not fitted or vmapped).
        self.y_guess = tuple(_as_static(_mean_equilibrium(g)) for g in gens)
        self.anchors = None

    def anchored(self, equilibria: Sequence[Array]) -> Observed:
        """The same recording model with each generator's equilibrium followed from its
        present parameters, where it is `equilibria[i]`, along its branch
        (`fit.Linear(anchor=...)`), rather than found by Newton from the static start: the
        posterior's samplers use it, so that a bistable generator (Jansen-Rit) moved far
        from its fitted values keeps its branch instead of jumping to the saddle. In a
        regional model each channel has its own anchor (`equilibria[i]` of shape
        `(n_channels, *state)`). The anchors are stored in `anchors` (None until then;
        not fitted)."""
        new = tuple(zip(self.generators, equilibria, strict=True))
        return eqx.tree_at(lambda o: o.anchors, self, new, is_leaf=lambda x: x is None)

    def __check_init__(self):
        for name, low, ok in (
            ("exponent", "> 0", np.greater),
            ("knee", ">= 0 Hz", np.greater_equal),
            ("dispersion", ">= 0", np.greater_equal),
            ("lowpass", "> 0 Hz (or False)", np.greater if self.lowpass_order else np.equal),
        ):
            value = getattr(self, name)
            if is_concrete(value) and not np.all(ok(np.asarray(value), 0.0)):
                raise ValueError(f"`{name}` must be {low}; got {np.asarray(value)}.")

    def _scales(self):
        """Time-scale factors $e^{\\sigma x_j}$ and weights of the Gauss-Hermite average."""
        if jnp.ndim(self.dispersion) != 0:
            raise ValueError(
                "`dispersion` must be one value per model spectrum: a scalar for a network, "
                "one per channel only in a regional fit (one node per channel)."
            )
        x, w = np.polynomial.hermite_e.hermegauss(self.dispersion_nodes)
        return jnp.exp(self.dispersion * jnp.asarray(x)), jnp.asarray(w / w.sum())

    def generator_spectra(self, method, noise, freqs, key=None, lead_field=None):
        """Each generator's normalised spectrum at `freqs` (time-scale averaged), shape
        `(n_generators, n_freqs, n_channels)`, and the smallest damping ratio."""
        f = jnp.asarray(freqs)
        spectra, zetas = [], []
        anchors = self.anchors or (None,) * len(self.generators)
        for gen, y0, anchor in zip(self.generators, self.y_guess, anchors, strict=True):
            m = _for_generator(method, y0, anchor)
            if self.dispersion_nodes == 1:
                psd, zeta = m.spectrum(gen, noise, f, key, lead_field)
            else:
                s, w = self._scales()
                psd, zeta = m.spectrum(gen, noise, (f[:, None] / s).reshape(-1), key, lead_field)
                psd = psd.reshape(f.shape[0], s.shape[0], -1) / s[None, :, None]
                psd = jnp.einsum("fjc,j->fc", psd, w)
            spectra.append(psd / jnp.max(psd, axis=0, keepdims=True))
            zetas.append(zeta)
        return jnp.stack(spectra), jnp.min(jnp.stack(zetas))

    def spectrum(self, method, noise, freqs, key=None, lead_field=None):
        """The observed spectrum $P(f)$, shape `(n_freqs, n_channels)`, and the smallest
        damping ratio of the generators."""
        spectra, zeta = self.generator_spectra(method, noise, freqs, key, lead_field)
        gains = jnp.stack([10.0**g for g in self.log_gain])  # (n_generators, *channels)
        periodic = jnp.sum(gains.reshape(gains.shape[0], 1, -1) * spectra, axis=0)
        knee = self.knee if self.fit_knee else jnp.zeros_like(self.knee)
        ap = aperiodic(freqs, self.exponent, knee)
        ap = ap if ap.ndim == 2 else ap[:, None]
        psd = ap * (float(self.background) + periodic) + 10.0**self.log_floor
        if self.lowpass_order:
            f = jnp.asarray(freqs).reshape(-1, *([1] * jnp.ndim(self.lowpass)))
            gain = 1.0 / (1.0 + (f / self.lowpass) ** (2 * self.lowpass_order))
            psd = psd * (gain if gain.ndim == 2 else gain[:, None])
        return psd, zeta


def anchored(model, method, parts: Callable):
    """A posterior's recording model `model` anchored at its fitted values
    (`Observed.anchored`), or `model` itself where there is nothing to follow: not a recording
    model with the linear `method`, only affine generators, or Newton failed there.

    Newton from the recording model's static start can land on the saddle of a bistable
    generator moved far from its fitted values (at 9 of 60 Laplace draws of a Jansen-Rit MEG
    region), a hole in the posterior's density where the stable state still exists; NUTS
    and importance sampling follow the branch instead. `parts`: the posterior's `parts`."""
    if not (isinstance(model, Observed) and isinstance(method, Linear)):
        return model
    if model.anchors is not None or all(getattr(g, "affine", False) for g in model.generators):
        return model
    ys = _generator_equilibria(method, *parts())
    if not all(np.all(np.isfinite(np.asarray(y))) for y in ys):
        return model
    return model.anchored(ys)


@eqx.filter_jit
def _generator_equilibria(method, part, axes):
    """Each generator's equilibrium in the recording model `part[0]` (one per problem where
    `axes`, the parts' batch axes, are not None), Newton from its static start."""

    def equilibria(part):
        m = part[0]
        pairs = zip(m.generators, m.y_guess, strict=True)
        return tuple(_for_generator(method, y0).equilibrium(g) for g, y0 in pairs)

    return equilibria(part) if axes is None else jax.vmap(equilibria, in_axes=(axes,))(part)


def _as_static(y: Array) -> tuple[tuple[int, ...], tuple[float, ...]]:
    y = np.asarray(y, dtype=float)
    return y.shape, tuple(y.reshape(-1).tolist())


def _for_generator(method, y0, anchor=None):
    """The method with its equilibrium search started at `y0` (the linear method; a
    simulation needs no start), or continued from `anchor` (a generator and its
    equilibrium)."""
    if not isinstance(method, Linear):
        return method
    if anchor is None:
        start = jnp.asarray(y0[1]).reshape(y0[0])
        return eqx.tree_at(lambda m: m.y_guess, method, start, is_leaf=lambda x: x is None)
    where = lambda m: (m.y_guess, m.anchor)
    return eqx.tree_at(where, method, (anchor[1], anchor[0]), is_leaf=lambda x: x is None)
