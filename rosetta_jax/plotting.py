"""Figures of simulations: time series, phase portraits and spectra (matplotlib).

These functions take a `Solution` and return matplotlib objects; they never change global
state beyond creating figures. Time axes are labelled in the model's unit.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .engine import Solution
from .units import TimeUnit


def _plt():
    import matplotlib.pyplot as plt

    return plt


def periodogram(x, fs: float, discard: float = 0.0):
    """One-sided Hann-windowed periodogram of `x` (last axis), after discarding a fraction.

    Returns `(freqs, power)`; a plotting helper, not a spectral estimator (see
    `rosetta_jax.analysis.welch` for that).
    """
    x = np.asarray(x, dtype=float)
    x = x[..., int(discard * x.shape[-1]) :]
    x = x - x.mean(axis=-1, keepdims=True)
    w = np.hanning(x.shape[-1])
    spec = np.abs(np.fft.rfft(x * w, axis=-1)) ** 2 / (fs * np.sum(w**2))
    spec[..., 1:-1] *= 2
    return np.fft.rfftfreq(x.shape[-1], 1.0 / fs), spec


def plot_timeseries(sol: Solution, ax=None, states: Sequence[str] | None = None, **kwargs):
    """Plot the observable (default) or the named state variables against time."""
    plt = _plt()
    ax = ax if ax is not None else plt.subplots(figsize=(7, 2.5))[1]
    ts = np.asarray(sol.ts)
    if states is None:
        obs = np.asarray(sol.observed)
        ax.plot(ts, obs.reshape(len(ts), -1), lw=0.8, **kwargs)
        ax.set_ylabel("observable")
    else:
        for name in states:
            ax.plot(ts, np.asarray(sol.state(name)), lw=0.8, label=name, **kwargs)
        ax.legend(loc="upper right", fontsize="small")
    ax.set_xlabel(TimeUnit.of(sol).time_label)
    return ax


def plot_phase_portrait(sol: Solution, x: str, y: str, ax=None, discard: float = 0.0, **kwargs):
    """Plot state `y` against state `x` (a trajectory in the phase plane)."""
    plt = _plt()
    ax = ax if ax is not None else plt.subplots(figsize=(3.5, 3.5))[1]
    start = int(discard * len(sol.ts))
    xs, ys = np.asarray(sol.state(x))[start:], np.asarray(sol.state(y))[start:]
    ax.plot(xs, ys, lw=0.7, **kwargs)
    ax.plot(xs[-1:], ys[-1:], "o", ms=4, color="k")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    return ax


def plot_spectrum(
    sol: Solution, ax=None, discard: float = 0.2, fmax: float | None = None, **kwargs
):
    """Plot the periodogram of the observable (log power)."""
    plt = _plt()
    ax = ax if ax is not None else plt.subplots(figsize=(3.5, 3.5))[1]
    f, p = periodogram(
        np.asarray(sol.observed).reshape(len(sol.ts), -1).T, sol.sampling_rate, discard
    )
    keep = f > 0 if fmax is None else (f > 0) & (f <= fmax)
    ax.semilogy(f[keep], p[..., keep].T + 1e-300, lw=0.8, **kwargs)
    ax.set_xlabel(TimeUnit.of(sol).frequency_label)
    ax.set_ylabel("power")
    return ax


def plot_solution(
    sol: Solution,
    pair: tuple[str, str] | None = None,
    title: str | None = None,
    fmax: float | None = None,
    discard: float = 0.2,
):
    """A one-row summary figure: time series, phase portrait (if `pair`) and spectrum."""
    plt = _plt()
    ncols = 3 if pair else 2
    fig, axes = plt.subplots(
        1,
        ncols,
        figsize=(4.2 * ncols + 2, 3.2),
        gridspec_kw={"width_ratios": [2] + [1] * (ncols - 1)},
    )
    plot_timeseries(sol, axes[0])
    if pair:
        plot_phase_portrait(sol, *pair, ax=axes[1], discard=discard)
    plot_spectrum(sol, axes[-1], discard=discard, fmax=fmax)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
