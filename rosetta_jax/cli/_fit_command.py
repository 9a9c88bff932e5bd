"""`rosetta-jax fit CONFIG.toml`: the [fit] task (the bundled real-data fits; `spectra`: any
recorded spectra from a .npz, .csv or .fif file, one node per channel with the aperiodic
observation model; or a [model]'s parameters fitted to one spectrum from a file), written as
fit.json, fit.npz and fit.png."""

from __future__ import annotations

import time

import numpy as np

from .._version import __version__
from . import _config as C
from ._output import public, save_figure, use_agg, write_json


def run_fit(cfg, say=print) -> dict:
    """`rosetta-jax fit`: fit.npz (loss history, parameters), fit.json (summary) and fit.png.
    Returns the summary."""
    return fit_config(cfg, say)[1]


def fit_config(cfg, say=print, default_out: str = "rosetta-out/fit"):
    """Run the [fit] task of `cfg` and write fit.npz, fit.json and fit.png into its [output]
    dir (default `default_out`). Returns the `FitResult` and the summary written."""
    use_agg()
    f = cfg["fit"]
    task = f["task"]
    if task not in C.FIT_TASKS:
        C.fail(cfg, f"[fit] task must be one of {', '.join(C.FIT_TASKS)}; got {task!r}.")
    out = C.out_dir(cfg, default_out)
    kw = _fit_options(f, out)
    node = C.build_model(cfg) if "model" in cfg else None
    say(f"fitting ({task}) -> {out}/")
    t = time.perf_counter()
    res = _run_task(cfg, task, node, kw)
    elapsed = time.perf_counter() - t
    summary = _write_fit(cfg, out, task, res, elapsed)
    say(res.summary())
    say(f"done in {elapsed:.1f} s: fit.json, fit.npz, fit.png")
    return res, summary


def _fit_options(f: dict, out) -> dict:
    """The keyword arguments every task takes from [fit]: key, progress bar, and the steps,
    learning rate and checkpoint folder where given."""
    import jax.random as jr

    kw = {"key": jr.key(int(f.get("seed", 0))), "progress": True}
    if "steps" in f:
        kw["steps"] = int(f["steps"])
    if "learning_rate" in f:
        kw["learning_rate"] = float(f["learning_rate"])
    if f.get("checkpoint", False):
        kw["checkpoint"] = out / "fit_checkpoint"
    return kw


def _run_task(cfg, task: str, node, kw: dict):
    """Run the [fit] task on `node` (None: the task's default model); the `FitResult`."""
    from .. import fit as F

    n_starts = int(cfg["fit"].get("n_starts", 1))
    if task == "regional_spectra":
        return F.fit_regional_spectra(node, n_starts=n_starts, **kw)
    if task == "connectome_fc":
        return F.fit_connectome_fc(node, n_starts=n_starts, **kw)
    if task == "network_spectra":
        return F.fit_network_spectra(node, **kw)
    if task == "spectra":
        target = _target_spectrum(cfg, cfg["fit"].get("target"))
        try:
            return F.fit_spectra(target, node, starts=max(n_starts, 1), **kw)
        except ValueError as e:
            C.fail(cfg, f"[fit] {str(e).splitlines()[0]}")
    return _fit_spectrum(cfg, node, kw)


def _fit_spectrum(cfg, node, kw: dict):
    """Task 'spectrum': the [fit] params of the [model] fitted to one spectrum through its
    analytic spectrum at the stable equilibrium."""
    import optax

    from .. import fit as F
    from ..analysis import stable_equilibrium
    from ..noise import Additive

    f = cfg["fit"]
    if node is None:
        C.fail(cfg, "[fit] task 'spectrum' needs a [model].")
    names = f.get("params")
    if not names or not all(isinstance(n, str) for n in names):
        C.fail(cfg, "[fit] task 'spectrum' needs params = [\"name\", ...] to fit.")
    target = _target_spectrum(cfg, f.get("target"))
    if target.n_channels != 1:
        C.fail(
            cfg,
            f"[fit] task 'spectrum' fits one spectrum; the target has "
            f"{target.n_channels} channels.",
        )
    transforms = _transforms(cfg, node, names)
    try:
        y = stable_equilibrium(node)
    except ValueError as e:
        C.fail(cfg, f"[model] {e}")
    obj = F.SpectrumObjective(
        target,
        Additive(float(f.get("noise", 1.0))),
        method=F.Linear(y_guess=y, min_damping=0.03),
        peak_weight=0.05,
    )
    return F.fit(
        node,
        obj,
        params=lambda m: tuple(getattr(m, n) for n in names),
        transforms=transforms,
        names=tuple(names),
        optimizer=optax.adam(kw.pop("learning_rate", 0.02)),
        steps=kw.pop("steps", 200),
        n_starts=int(f.get("n_starts", 1)),
        **kw,
    )


def _transforms(cfg, node, names) -> tuple:
    """One transform per fitted parameter: `Bounded` within its [fit.bounds], else `Positive`
    at the scale of its current value."""
    from .. import fit as F

    bounds = cfg["fit"].get("bounds", {})
    transforms = []
    for n in names:
        if not hasattr(node, n):
            C.fail(cfg, f"[fit] params: {type(node).__name__} has no parameter '{n}'.")
        b = bounds.get(n)
        if b is not None and (len(b) != 2 or b[0] >= b[1]):
            C.fail(cfg, f"[fit.bounds] {n} must be [low, high] with low < high.")
        transforms.append(
            F.Bounded(float(b[0]), float(b[1]))
            if b is not None
            else F.Positive(abs(float(getattr(node, n))) or 1.0)
        )
    return tuple(transforms)


def _target_spectrum(cfg, value):
    """A spectrum target from a file: .npz with `freqs` and `psd` (or `amplitude`), or an MNE
    file (.fif) read through `rosetta_jax.interop`."""
    from .. import data
    from ..fit import SpectrumTarget

    if value in (None, "meg_spectra", "bundled"):
        return SpectrumTarget.from_data(data.load_meg_spectra())
    p = C.resolve(cfg, value)
    if p.suffix == ".npz":
        z = C.load_npz(
            cfg, p, "[fit] target", required=("freqs",), numeric=("freqs", "psd", "amplitude")
        )
        if not ("psd" in z or "amplitude" in z):
            C.fail(cfg, f"[fit] target {value} needs arrays 'freqs' and 'psd' (or 'amplitude').")
        labels = list(z["labels"]) if "labels" in z else None
        try:
            if "psd" in z:
                return SpectrumTarget(z["freqs"], z["psd"], labels)
            return SpectrumTarget.from_amplitude(z["freqs"], z["amplitude"], labels)
        except ValueError as e:
            C.fail(cfg, f"[fit] target: {str(e).splitlines()[0]}")
    if p.suffix in (".fif", ".csv") or p.name.endswith(".fif.gz"):
        from ..interop import spectrum_target

        try:
            return spectrum_target(str(p), fmin=0.0, fmax=np.inf)
        except (ValueError, FileNotFoundError) as e:
            C.fail(cfg, f"[fit] target: {str(e).splitlines()[0]}")
    C.fail(cfg, f"[fit] target must be 'meg_spectra', an .npz, .csv or .fif file; got {value!r}.")


def finite(x):
    """`x` (nested dicts, lists, numpy values) as plain Python with NaN and infinities as None,
    as strict JSON needs."""
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple, np.ndarray)):
        return [finite(v) for v in (x.tolist() if isinstance(x, np.ndarray) else x)]
    if isinstance(x, np.generic):
        x = x.item()
    return None if isinstance(x, float) and not np.isfinite(x) else x


def _write_fit(cfg, out, task: str, res, elapsed: float) -> dict:
    """fit.npz, fit.json and fit.png of a `FitResult` (with its Laplace approximation when it
    has one); returns the summary written to JSON."""
    goodness = {k: v for k, v in res.goodness.items() if k not in ("model_psd", "model_fc")}
    laplace = res.laplace.arrays() if res.laplace is not None else {}
    np.savez(
        out / "fit.npz",
        loss_history=res.loss_history,
        **{f"param_{k}": np.asarray(v) for k, v in res.params.items()},
        **laplace,
    )
    summary = {
        "config": public(cfg),
        "task": task,
        "params": res.params,
        "best_loss": res.best_loss,
        "goodness": goodness,
        "elapsed_s": elapsed,
        "meta": {k: v for k, v in res.meta.items() if k != "step_seconds"},
        "rosetta_jax": __version__,
    }
    if res.laplace is not None:
        summary["laplace"] = finite(res.laplace.to_dict())
    write_json(out / "fit.json", summary)
    save_figure(cfg, out / "fit.png", res.plot, close_all=True)
    return summary
