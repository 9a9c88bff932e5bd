"""Features of a model's activity, one object per feature, shared by `sweep`,
`fit.sensitivity` and the fitting objectives.

A feature reads an `Activity`: the observable's signals `x` (time x channels) with their
sampling rate, and/or a power spectrum `(freqs, psd)` (given by the analytic linear method, or
estimated from `x` by Welch's method), and/or an FC matrix. Spectral features (peak frequency,
band power, PSD) work from either source, so a sweep of simulations and a sensitivity analysis
of the linearised model compute them the same way.

Frequencies are in Hz for models in s or ms and in cycles per time unit for dimensionless
models (`rosetta_jax.units`). A feature whose band is left unset takes the model's default when
it is bound to a model (`feature.bind(model, top)`): `PeakFrequency` the model's
`rhythm_band`, `BandPower` a named default band (`units.BANDS`). A band beyond the top of the
spectrum (the Nyquist frequency of the signal, or the end of an analytic grid) is an error.

Example:
    >>> from rosetta_jax import features as F
    >>> feats = [F.PeakFrequency(), F.BandPower("alpha"), F.FC()]
    >>> ds = rj.sweep(net, space, features=feats, t1=4.0, dt=1e-4, noise=noise.Additive(2.0))
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import equinox as eqx
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._activity import Activity as Activity
from .analysis._signal import analytic_phase, band_power, fcd, order_parameter, peak_frequency
from .units import TimeUnit, check_band


# A feature's output axes beyond the sample axis: their names and coordinates.
_Dims = tuple[tuple[str, ...], dict[str, np.ndarray]]
_Freqs = Float[np.ndarray, " n_freqs"] | None


class AbstractFeature(eqx.Module):
    """A feature: `feature(activity) -> array`, named, with its output dimensions.

    Subclasses implement `__call__`; `bind` fills defaults that depend on the model (bands)
    and checks them against the top of the spectrum; `dims` names the output axes (for
    `sweep`'s dataset; None for scalars)."""

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """The feature's name (a variable of a sweep's dataset, a key of a feature dict)."""

    @abc.abstractmethod
    def __call__(self, activity: Activity) -> Array:
        """The feature's value."""

    def bind(self, model: Any, top: float) -> AbstractFeature:
        """This feature with the model's defaults filled in, checked against the top of the
        spectrum `top` (Nyquist, or the end of an analytic grid)."""
        del model, top
        return self

    def dims(self, n_channels: int, freqs: _Freqs) -> _Dims:
        """The output's dimension names and coordinates (beyond the sample axis)."""
        del n_channels, freqs
        return (), {}


class PeakFrequency(AbstractFeature):
    """Frequency of the highest peak of the channel-mean spectrum in `band` (sub-bin,
    parabolic). Default band: the model's `rhythm_band`, clipped to what the spectrum
    resolves (the whole resolved spectrum when the model declares none)."""

    band: tuple[float, float] | None = eqx.field(default=None, static=True)
    label: str = eqx.field(default="peak_frequency", static=True)

    @property
    def name(self) -> str:
        return self.label

    def bind(self, model: Any, top: float) -> PeakFrequency:
        unit = TimeUnit.of(model)
        if self.band is not None:
            band = check_band(f"band of `{self.name}`", self.band, top, unit.frequency_unit)
        else:
            lo, hi = model.rhythm_band or (0.0, np.inf)
            band = (lo, min(hi, 0.9 * top))
            if band[0] >= band[1]:
                raise ValueError(
                    f"{type(model).__name__}'s rhythms lie in {model.rhythm_band} "
                    f"{unit.frequency_unit}, above what the spectrum resolves (up to {top:g}); "
                    "save more often (smaller save_every) or pass a band."
                )
        return PeakFrequency(band, self.label)

    def __call__(self, activity: Activity) -> Float[Array, ""]:
        f, p = activity.mean_spectrum()
        lo = jnp.maximum(self.band[0], f[1])  # above DC
        return peak_frequency(f, p, (lo, self.band[1]))


class BandPower(AbstractFeature):
    """Power in a band of the channel-mean spectrum, relative to the whole resolved spectrum
    (from its first non-zero frequency), optionally as log10.

    Args:
        band: a name of `units.BANDS` (`"alpha"`, ...) or of `bands` given to `bind`'s caller,
            or a pair `(low, high)`.
        log: log10 of the relative power.
        label: the feature's name (default `power_<name>`, or `log_power_<name>`).
    """

    band: str | tuple[float, float] = eqx.field(static=True)
    log: bool = eqx.field(default=False, static=True)
    label: str | None = eqx.field(default=None, static=True)
    extra_bands: tuple = eqx.field(default=(), static=True)

    @property
    def name(self) -> str:
        if self.label is not None:
            return self.label
        tag = self.band if isinstance(self.band, str) else f"{self.band[0]:g}_{self.band[1]:g}"
        return f"{'log_' if self.log else ''}power_{tag}"

    def bind(self, model: Any, top: float) -> BandPower:
        unit = TimeUnit.of(model)
        band = self.band
        if isinstance(band, str):
            bands = unit.bands(dict(self.extra_bands))
            if band not in bands:
                if not bands:
                    raise ValueError(
                        f"Feature `{self.name}`: a dimensionless model has no default bands; "
                        f"pass bands={{'{band}': (low, high)}} in cycles per time unit."
                    )
                raise ValueError(
                    f"Feature `{self.name}`: unknown band {band!r}; bands are "
                    f"{tuple(bands)} (add your own with bands={{name: (low, "
                    "high)}})."
                )
            band = bands[band]
        band = check_band(f"band of `{self.name}`", band, top, unit.frequency_unit)
        return BandPower(band, self.log, self.name)

    def __call__(self, activity: Activity) -> Float[Array, ""]:
        f, p = activity.mean_spectrum()
        rel = band_power(f, p, self.band) / band_power(f, p, (f[1], f[-1]))
        return jnp.log10(rel) if self.log else rel


class PSD(AbstractFeature):
    """The channel-mean power spectral density."""

    @property
    def name(self) -> str:
        return "psd"

    def __call__(self, activity: Activity) -> Float[Array, " n_freqs"]:
        return activity.mean_spectrum()[1]

    def dims(self, n_channels: int, freqs: _Freqs) -> _Dims:
        return ("freq",), {"freq": freqs}


class FC(AbstractFeature):
    """The functional connectivity matrix (channel correlations)."""

    @property
    def name(self) -> str:
        return "fc"

    def __call__(self, activity: Activity) -> Float[Array, "n_channels n_channels"]:
        return activity.fc()

    def dims(self, n_channels: int, freqs: _Freqs) -> _Dims:
        return ("region", "region_to"), {
            "region": np.arange(n_channels),
            "region_to": np.arange(n_channels),
        }


class FCStatistic(AbstractFeature):
    """The mean (`"mean"`) or spread (`"std"`) of the FC over region pairs."""

    statistic: str = eqx.field(default="mean", static=True)

    def __check_init__(self):
        if self.statistic not in ("mean", "std"):
            raise ValueError(f"`statistic` must be 'mean' or 'std'; got {self.statistic!r}.")

    @property
    def name(self) -> str:
        return f"{self.statistic}_fc"

    def __call__(self, activity: Activity) -> Float[Array, ""]:
        fc = activity.fc()
        i, j = np.triu_indices(fc.shape[0], 1)
        return (jnp.mean if self.statistic == "mean" else jnp.std)(fc[i, j])


class FCSCCorrelation(AbstractFeature):
    """Correlation over region pairs between the FC and a network's (symmetrised) weights."""

    weights: Float[Array, "n_nodes n_nodes"] | None = None

    @property
    def name(self) -> str:
        return "fc_sc_correlation"

    def bind(self, model: Any, top: float) -> FCSCCorrelation:
        from ._network_base import AbstractNetwork

        if self.weights is not None:
            return self
        if not isinstance(model, AbstractNetwork):
            raise ValueError("`fc_sc_correlation` needs a Network model (or weights=).")
        return FCSCCorrelation(jnp.asarray(model.weights))

    def __call__(self, activity: Activity) -> Float[Array, ""]:
        W = self.weights
        iu = np.triu_indices(W.shape[0], 1)
        a = activity.fc()[iu]
        b = W[iu] + W.T[iu]
        a, b = a - a.mean(), b - b.mean()
        return jnp.sum(a * b) / jnp.sqrt(jnp.sum(a * a) * jnp.sum(b * b))


class FCD(AbstractFeature):
    """Quantiles (5 % to 95 %) of the functional connectivity dynamics: correlations between
    sliding-window FCs of `window` samples, `step` apart."""

    window: int = eqx.field(static=True)
    step: int = eqx.field(static=True)
    n_quantiles: int = eqx.field(default=19, static=True)

    @property
    def name(self) -> str:
        return "fcd_quantiles"

    def __call__(self, activity: Activity) -> Float[Array, " n_quantiles"]:
        x = activity.signals(self.name)
        m = fcd(x, self.window, self.step)
        i, j = np.triu_indices(m.shape[0], 1)
        return jnp.quantile(m[i, j], jnp.linspace(0.05, 0.95, self.n_quantiles))

    def dims(self, n_channels: int, freqs: _Freqs) -> _Dims:
        return ("quantile",), {"quantile": np.linspace(0.05, 0.95, self.n_quantiles)}


class OrderParameter(AbstractFeature):
    """Time-mean Kuramoto order parameter R of the channels' analytic phases."""

    @property
    def name(self) -> str:
        return "order_parameter"

    def __call__(self, activity: Activity) -> Float[Array, ""]:
        x = activity.signals(self.name)
        return jnp.mean(jnp.abs(order_parameter(analytic_phase(x - x.mean(axis=0)), axis=-1)))


class Mean(AbstractFeature):
    """The observable's mean over time and channels."""

    @property
    def name(self) -> str:
        return "mean"

    def __call__(self, activity: Activity) -> Float[Array, ""]:
        return jnp.mean(activity.signals(self.name))


class Std(AbstractFeature):
    """The observable's standard deviation over time, averaged over channels."""

    @property
    def name(self) -> str:
        return "std"

    def __call__(self, activity: Activity) -> Float[Array, ""]:
        return jnp.mean(jnp.std(activity.signals(self.name), axis=0))


class Custom(AbstractFeature):
    """Your own feature `fn(x, fs) -> array` of the signals `(n_time, n_channels)` and their
    sampling rate."""

    label: str = eqx.field(static=True)
    fn: Callable[[Array, float], ArrayLike] = eqx.field(static=True)

    @property
    def name(self) -> str:
        return self.label

    def __call__(self, activity: Activity) -> Array:
        return jnp.asarray(self.fn(activity.signals(self.name), activity.fs))


_BY_NAME = {
    "peak_frequency": PeakFrequency,
    "psd": PSD,
    "fc": FC,
    "fc_sc_correlation": FCSCCorrelation,
    "order_parameter": OrderParameter,
    "mean": Mean,
    "std": Std,
    "mean_fc": lambda: FCStatistic("mean"),
    "std_fc": lambda: FCStatistic("std"),
}
NAMES = (*_BY_NAME, "power_<band>", "log_power_<band>")


def from_names(
    features: Any, bands: Mapping[str, tuple[float, float]] | None = None
) -> tuple[AbstractFeature, ...]:
    """Feature objects from what users pass: feature objects, built-in names (`NAMES`, with
    `power_<band>` for any band of `units.BANDS` or of `bands`), and dicts of custom
    functions `{name: fn(x, fs)}`."""
    extra = tuple(
        sorted((str(k), check_band(f"bands[{k!r}]", v)) for k, v in dict(bands or {}).items())
    )
    items: list[Any] = []
    seq = [features] if isinstance(features, (str, Mapping, AbstractFeature)) else features
    if not isinstance(seq, Sequence) and not hasattr(seq, "__iter__"):
        raise TypeError(f"`features` must be names, feature objects or a dict; got {features!r}.")
    for f in seq:
        if isinstance(f, Mapping):
            items.extend(Custom(str(k), v) for k, v in f.items())
        elif isinstance(f, AbstractFeature):
            items.append(f)
        elif isinstance(f, str):
            items.append(_from_name(f, extra))
        elif callable(f):
            raise TypeError("Give custom features as a dict {name: fn(x, fs)}.")
        else:
            raise TypeError(
                f"A feature is a name such as 'peak_frequency', a feature object or "
                f"a dict {{name: fn(x, fs)}}; got {f!r}."
            )
    if not items:
        raise ValueError("`features` is empty; name at least one, e.g. ['peak_frequency'].")
    names = [f.name for f in items]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup or {"diverged", "observed"} & set(names):
        raise ValueError(
            f"Feature names must be unique and not 'diverged' or 'observed'; got {names}."
        )
    return tuple(items)


def _from_name(name: str, extra) -> AbstractFeature:
    if name in _BY_NAME:
        return _BY_NAME[name]()
    for prefix, log in (("log_power_", True), ("power_", False)):
        if name.startswith(prefix):
            return BandPower(name[len(prefix) :], log=log, extra_bands=extra)
    raise ValueError(
        f"Unknown feature {name!r}; built-ins are {NAMES} (bands: "
        f"{tuple(b for b in dict(extra)) or 'units.BANDS'}); pass custom ones as a "
        "dict {name: fn(x, fs)}."
    )


def bind_all(
    features: Sequence[AbstractFeature], model: Any, top: float
) -> tuple[AbstractFeature, ...]:
    """Every feature bound to the model and checked against the top of the spectrum."""
    return tuple(f.bind(model, top) for f in features)


def compute(features: Sequence[AbstractFeature], activity: Activity) -> dict[str, Array]:
    """`{name: value}` of bound features."""
    return {f.name: f(activity) for f in features}
