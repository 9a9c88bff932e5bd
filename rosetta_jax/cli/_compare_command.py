"""`rosetta-jax compare CONFIG.toml CONFIG.toml ...`: fit several models to the same recording
(each config a [fit] config, as for `rosetta-jax fit`) and rank them by their Laplace log
evidence (`fit.compare`): compare.json, compare.csv (the ranking table) and compare.png, and
each fit's own fit.json, fit.npz and fit.png in a folder per model."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._version import __version__
from . import _config as C
from ._fit_command import _target_spectrum, finite, fit_config
from ._output import save_figure, use_agg, write_json


# The [fit] tasks whose result carries a Laplace approximation (a log evidence to compare):
# the regional spectral fits through `fit_spectra`.
LAPLACE_TASKS = ("regional_spectra", "spectra")


def _names(paths: list[Path]) -> list[str]:
    """One name per config: its file name without .toml, numbered when two coincide."""
    stems = [p.stem for p in paths]
    return [
        s if stems.count(s) == 1 else f"{s}_{stems[:i].count(s) + 1}" for i, s in enumerate(stems)
    ]


def _data(cfg) -> tuple[np.ndarray, np.ndarray]:
    """The spectra a config's fit will see (frequencies, PSD), read before any fit runs."""
    from .. import data
    from ..fit import SpectrumTarget

    if cfg["fit"]["task"] == "regional_spectra":
        target = SpectrumTarget.from_data(data.load_meg_spectra())
    else:
        target = _target_spectrum(cfg, cfg["fit"].get("target"))
    return np.asarray(target.freqs), np.asarray(target.psd)


def _check_before_fitting(cfgs: list[dict]) -> None:
    """The one-line errors found before minutes of fitting: a task without a log evidence,
    or configs whose targets are not the same recording."""
    for cfg in cfgs:
        task = cfg["fit"]["task"]
        if task not in LAPLACE_TASKS:
            C.fail(
                cfg,
                f"[fit] task {task!r} gives no Laplace log evidence to compare; use task "
                f"{' or '.join(map(repr, LAPLACE_TASKS))}.",
            )
    (f0, p0), first = _data(cfgs[0]), cfgs[0]
    for cfg in cfgs[1:]:
        f, p = _data(cfg)
        for what, a, b in (("frequencies", f0, f), ("spectra", p0, p)):
            if a.shape != b.shape or not np.allclose(a, b, rtol=1e-6, atol=0.0):
                C.fail(
                    cfg,
                    f"its target's {what} differ from those of {first['_path']}; compare needs "
                    "fits of the same recording.",
                )


def _fit_dirs(cfgs: list[dict], names: list[str], out: Path) -> list[Path]:
    """Where each fit writes: its config's [output] dir, else `out`/<name>; all distinct."""
    dirs = []
    for cfg, name in zip(cfgs, names, strict=True):
        given = cfg.get("output", {}).get("dir")
        d = out / name if given is None else Path(given)
        d = d if d.is_absolute() else Path.cwd() / d
        if d in dirs:
            C.fail(cfg, f"[output] dir {d} is another config's too; give each fit its own.")
        dirs.append(d)
    return dirs


def _write(out: Path, comparison, paths, names, dirs) -> dict:
    """compare.json (the comparison, the configs and the fits' folders), compare.csv and
    compare.png; returns the JSON summary."""
    comparison.table.to_csv(out / "compare.csv")
    summary = dict(
        comparison.to_dict(),
        configs={n: str(p) for n, p in zip(names, paths, strict=True)},
        fits={n: str(d) for n, d in zip(names, dirs, strict=True)},
        rosetta_jax=__version__,
    )
    write_json(out / "compare.json", finite(summary))
    save_figure({}, out / "compare.png", comparison.plot)
    return summary


def run_compare(paths, out: str | Path = "rosetta-out/compare", say=print) -> dict:
    """`rosetta-jax compare`: fit each config's model (its files in a folder per model), rank
    the models by their Laplace log evidence and write compare.json, compare.csv and
    compare.png into `out`. Returns the JSON summary.

    Raises:
        ConfigError: a bad config, fewer than two, a task without a log evidence, configs of
            different recordings (found before fitting), or fits `fit.compare` refuses.
    """
    from ..fit._compare import compare

    use_agg()
    paths = [Path(p) for p in paths]
    cfgs = [C.load(p, "fit") for p in paths]
    if len(cfgs) < 2:
        raise C.ConfigError("compare needs at least two fit configs (one per model).")
    _check_before_fitting(cfgs)
    names = _names(paths)
    out = Path(out) if Path(out).is_absolute() else Path.cwd() / out
    dirs = _fit_dirs(cfgs, names, out)
    results = {}
    for name, cfg, d in zip(names, cfgs, dirs, strict=True):
        say(f"model {name!r} ({cfg['_path']})")
        cfg = dict(cfg, output=dict(cfg.get("output", {}), dir=str(d)))
        results[name] = fit_config(cfg, say)[0]
    try:
        comparison = compare(results, criterion="laplace")
    except ValueError as e:
        raise C.ConfigError(str(e).splitlines()[0]) from None
    out.mkdir(parents=True, exist_ok=True)
    summary = _write(out, comparison, paths, names, dirs)
    say(comparison.table.to_string())
    say(comparison.summary())
    say(f"written to {out}/: compare.json, compare.csv, compare.png")
    return summary
