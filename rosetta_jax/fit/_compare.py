"""Which model explains the recording best: Bayesian model comparison of fits to the same data.

Each fit's Laplace approximation (`FitResult.laplace`) gives the log model evidence
$\\log p(y \\mid M)$: the probability of the recording under the model, its parameters
integrated over their prior. Two models compare by their Bayes factor $B_{12} = p(y \\mid
M_1)/p(y \\mid M_2)$, read on the verbal scale of Kass & Raftery (1995, J. Am. Stat. Assoc.
90:773); with equal prior odds the posterior model probabilities are the softmax of the log
evidences. After NUTS (`fit.sample`), WAIC and PSIS leave-one-out cross-validation (Vehtari,
Gelman & Gabry 2017, Stat. Comput. 27:1413) add the out-of-sample predictive accuracy. A
regional fit is one independent problem per region: the evidence sums them, each has a winner.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._compare_predictive import _by_problem, _elpd, _sampled


REFERENCES = (
    "Kass RE, Raftery AE (1995) Bayes factors. J. Am. Stat. Assoc. 90:773-795.",
    "Vehtari A, Gelman A, Gabry J (2017) Practical Bayesian model evaluation using "
    "leave-one-out cross-validation and WAIC. Stat. Comput. 27:1413-1432.",
)
CRITERIA = ("laplace", "bic", "aic", "waic", "loo")
_KASS_RAFTERY = ((2.0, "decisive"), (1.0, "strong"), (0.5, "substantial"))
_BARE = "not worth more than a bare mention"


def kass_raftery(log_bayes_factor: float) -> str:
    """The verbal scale of Kass & Raftery (1995, their section 3.2) for the Bayes factor of
    the better model over the worse, given as its natural log: "decisive" ($\\log_{10} B >
    2$), "strong" (> 1), "substantial" (> 1/2), else "not worth more than a bare mention"."""
    log10 = float(log_bayes_factor) / np.log(10.0)
    return next((word for limit, word in _KASS_RAFTERY if log10 > limit), _BARE)


@dataclasses.dataclass(frozen=True, eq=False)
class Comparison:
    """Several models fitted to the same recording, ranked (see `compare`).

    Attributes:
        table: one row per model, best first: `log_evidence` (Laplace, summed over
            problems), `delta` (score minus the best's; 0 for the best), `log_bayes_factor`
            and `bayes_factor` (best over this model), `posterior_prob` (equal prior odds),
            `kass_raftery` (the verbal scale; evidence criteria only), `k` (parameters per
            problem), `bic`, `aic` (summed over problems), `converged` (the Laplace mode was
            reached in every problem) and, when every fit has NUTS samples, `elpd_waic`,
            `elpd_waic_se`, `p_waic`, `elpd_loo`, `elpd_loo_se`, `p_loo`, `pareto_k_max`.
        per_problem: the score per problem (rows: regions/channels; columns: models).
        winners: the best model per problem; counts: how many problems each model wins.
        best: the name of the best model; criterion: the score that ranks them.
        left_out: the problems left out of every total because some model has no valid
            score there (its Laplace mode was not reached, so its evidence is undefined).
    """

    table: Any
    per_problem: Any
    winners: Any
    counts: Any
    best: str
    criterion: str
    left_out: tuple[str, ...] = ()

    def summary(self) -> str:
        """The ranking as text: evidence, Bayes factors, probabilities and per-problem wins."""
        t = self.table
        lines = [f"Model comparison ({self.criterion}): best {self.best!r}"]
        for name, row in t.iterrows():
            words = f", {row['kass_raftery']}" if "kass_raftery" in t else ""
            lines.append(
                f"  {name}: log-evidence {row['log_evidence']:.6g}, delta {row['delta']:.4g}, "
                f"log BF {row['log_bayes_factor']:.4g}{words}, "
                f"P(model | data) {row['posterior_prob']:.3g}, BIC {row['bic']:.6g}"
                + (f", elpd_loo {row['elpd_loo']:.6g}" if "elpd_loo" in t else "")
            )
        if len(self.per_problem) > 1:
            wins = ", ".join(f"{m} {int(c)}" for m, c in self.counts.items())
            lines.append(f"  best per problem ({len(self.per_problem)} problems): {wins}")
        if self.left_out:
            lines.append(
                f"  left out of the totals ({len(self.left_out)}: some model's Laplace mode "
                f"not reached): {', '.join(self.left_out)}"
            )
        if "pareto_k_max" in t and (t["pareto_k_max"] > 0.7).any():
            lines.append("  PSIS-LOO unreliable (Pareto k > 0.7) for some data points")
        return "\n".join(lines)

    def plot(self, ax=None):
        """Delta of the score per model (bars; 0 for the best) and, with several problems and
        no `ax` given, a problems x models map of each problem's delta with the win counts.
        Returns the figure."""
        import matplotlib.pyplot as plt

        several = len(self.per_problem) > 1 and ax is None
        if ax is None:
            fig, axes = plt.subplots(1, 2 if several else 1, figsize=(11 if several else 6, 4))
            ax = axes[0] if several else axes
        fig = ax.figure
        t = self.table
        bars = ax.barh(list(map(str, t.index))[::-1], t["delta"].to_numpy()[::-1], color="C0")
        ax.bar_label(bars, fmt="%.3g", padding=2)
        ax.axvline(0.0, color="k", lw=0.8)
        ax.set_xlabel(f"delta {_LABEL[self.criterion]} (vs best)")
        ax.set_title(f"best: {self.best}")
        if several:
            self._plot_problems(axes[1])
        fig.tight_layout()
        return fig

    def _plot_problems(self, ax) -> None:
        d = self.per_problem.to_numpy()
        d = np.maximum(d - d.max(axis=1, keepdims=True), -10.0).T
        im = ax.imshow(d, aspect="auto", cmap="viridis", vmin=-10.0, vmax=0.0)
        ax.set_yticks(range(d.shape[0]), list(map(str, self.per_problem.columns)))
        if d.shape[1] <= 20:
            ax.set_xticks(range(d.shape[1]), list(map(str, self.per_problem.index)), rotation=30)
        ax.set_xlabel("problem (region / channel)")
        ax.set_title("per problem: " + ", ".join(f"{m} {c}" for m, c in self.counts.items()))
        ax.figure.colorbar(im, ax=ax, label="delta (clipped at -10)")

    def to_dict(self) -> dict[str, Any]:
        """Everything as plain lists, numbers and strings (NaN as None), for JSON."""
        t, per = self.table, self.per_problem
        out = dict(criterion=self.criterion, best=self.best, ranking=list(map(str, t.index)))
        out["table"] = [{"model": str(n), **row} for n, row in t.to_dict("index").items()]
        rows, cols = list(map(str, per.index)), list(map(str, per.columns))
        out["per_problem"] = dict(problems=rows, models=cols, values=per.to_numpy().tolist())
        out["winners"] = list(map(str, self.winners))
        out["counts"] = {str(k): int(v) for k, v in self.counts.items()}
        out["left_out"] = list(self.left_out)
        return _plain(dict(out, references=list(REFERENCES)))


_LABEL = dict(laplace="log evidence", bic="-BIC/2", aic="-AIC/2", waic="elpd", loo="elpd")


def _plain(x):
    """`x` with numpy values as Python ones and non-finite floats as None."""
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not np.isfinite(x):
        return None
    return x


def _model_name(model) -> str:
    """A model's short name: its class, the generators of an `Observed` joined by '+', or
    `Network(node)`."""
    gens = getattr(model, "generators", None)
    if gens is not None:
        return "+".join(type(g).__name__ for g in gens)
    node = getattr(model, "node", None)
    if node is not None:
        return f"Network({type(node).__name__})"
    return type(model).__name__


def _named(results, names) -> dict[str, Any]:
    """The fits by name: the dict given, or the sequence with `names` (default: the models'
    class names, numbered when repeated)."""
    if isinstance(results, Mapping):
        if names is not None:
            raise ValueError("`names` is for a sequence of results; a dict already names them.")
        out = {str(k): v for k, v in results.items()}
    else:
        results = list(results)
        if names is None:
            base = [_model_name(r.model) for r in results]
            names = [
                b if base.count(b) == 1 else f"{b}_{base[:i].count(b) + 1}"
                for i, b in enumerate(base)
            ]
        if len(names) != len(results) or len(set(map(str, names))) != len(results):
            raise ValueError("`names` must be one distinct name per result.")
        out = dict(zip(map(str, names), results, strict=True))
    if len(out) < 2:
        raise ValueError("compare needs at least two fits.")
    return out


def _signature(result) -> dict[str, Any]:
    """What identifies the data a fit saw: objective kind, target arrays, frequency band."""
    obj = result.objective
    target = getattr(obj, "target", None)
    if target is None:
        raise ValueError(f"cannot tell the data a {type(obj).__name__} saw (no `target`).")
    sig = {"objective type": type(obj).__name__}
    for field in ("freqs", "psd", "fc"):
        if hasattr(target, field):
            sig[f"target {field}"] = np.asarray(getattr(target, field))
    if getattr(obj, "band", None) is not None:
        sig["band"] = np.asarray(obj.band, dtype=float)
    return sig


def _differs(a, b) -> bool:
    if not (isinstance(a, np.ndarray) or isinstance(b, np.ndarray)):
        return a != b
    a, b = np.asarray(a), np.asarray(b)
    return a.shape != b.shape or not np.allclose(a, b, rtol=1e-6, atol=0.0, equal_nan=True)


def _check(fits: dict[str, Any]) -> None:
    """Every fit has a Laplace approximation and saw the same data (else a ValueError naming
    the model and what differs)."""
    for name, r in fits.items():
        if getattr(r, "laplace", None) is None:
            raise ValueError(
                f"model {name!r} has no Laplace approximation (log evidence): fit it with "
                "laplace=True (the default of fit_spectra; `fit` needs a likelihood)."
            )
    (first, ref), *rest = fits.items()
    sig0 = _signature(ref)
    for name, r in rest:
        sig = _signature(r)
        for s_, lap in ((sig0, ref.laplace), (sig, r.laplace)):
            s_.update({"problems": lap.log_evidence.shape[0], "points per problem": lap.n_points})
        for what in dict.fromkeys([*sig0, *sig]):
            if _differs(sig0.get(what), sig.get(what)):
                raise ValueError(
                    f"models {first!r} and {name!r} were not fitted to the same data: their "
                    f"{what} differ(s); compare fits of one recording (same target and band)."
                )


def _scores(fits, criterion: str, n: int):
    """The score per model (higher is better; a log-evidence-like scale) and per problem, and
    the WAIC/LOO rows (empty unless every fit has samples)."""
    sampled = _sampled(fits)
    if criterion in ("waic", "loo") and not sampled:
        raise ValueError(
            f"criterion {criterion!r} needs NUTS samples of every fit over the same data points "
            "(fit.sample of each, on the same channels)."
        )
    elpd = {name: _elpd(r.mcmc) for name, r in fits.items()} if sampled else {}
    per = {}
    for name, r in fits.items():
        if criterion in ("waic", "loo"):
            per[name] = _by_problem(elpd[name][1 if criterion == "waic" else 2], n)
        else:
            lap = r.laplace  # -BIC/2 and -AIC/2: on the scale of a log evidence
            per[name] = lap.log_evidence if criterion == "laplace" else -getattr(lap, criterion) / 2
        per[name] = np.asarray(per[name], dtype=float).reshape(n)
    usable = np.all([np.isfinite(v) for v in per.values()], axis=0)
    if criterion != "aic" and criterion != "bic":  # the evidence needs the mode
        usable &= np.all([np.asarray(r.laplace.converged) for r in fits.values()], axis=0)
    if not np.any(usable):
        bad = [name for name, v in per.items() if not np.any(np.isfinite(v))]
        raise ValueError(
            f"no problem has a finite {criterion} score for every model"
            + (f" (none for {', '.join(map(repr, bad))})" if bad else "")
            + ": an improper prior leaves the Laplace log evidence undefined, and so does a "
            "mode not reached; give every fitted parameter a proper prior, refit, or compare "
            "with criterion='bic'."
        )
    return per, {name: e[0] for name, e in elpd.items()}, usable


def _table(fits, per: dict[str, np.ndarray], elpd: dict[str, dict], criterion: str, usable):
    """The ranking table, best first (see `Comparison.table`)."""
    import pandas as pd

    score = {name: float(np.sum(v[usable])) for name, v in per.items()}
    top = max(score.values())
    log_bf = {name: top - s for name, s in score.items()}
    z = np.array(list(score.values())) - top
    prob = np.exp(z) / np.sum(np.exp(z))  # softmax, shifted: no overflow
    rows = {}
    for (name, r), p in zip(fits.items(), prob, strict=True):
        lap = r.laplace
        with np.errstate(over="ignore"):
            bf = float(np.exp(log_bf[name]))
        row = {
            "log_evidence": float(np.sum(lap.log_evidence[usable])),
            "delta": score[name] - top,
            "log_bayes_factor": log_bf[name],
            "bayes_factor": bf,
            "posterior_prob": float(p),
        }
        if criterion in ("laplace", "bic"):
            row["kass_raftery"] = "best" if log_bf[name] == 0 else kass_raftery(log_bf[name])
        row.update(
            k=int(lap.k),
            bic=float(np.sum(lap.bic[usable])),
            aic=float(np.sum(lap.aic[usable])),
            converged=bool(np.all(lap.converged)),
            **elpd.get(name, {}),
        )
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table.sort_values("delta", ascending=False, kind="stable")


def compare(
    results: Mapping[str, Any] | Sequence[Any],
    *,
    names: Sequence[str] | None = None,
    criterion: str = "laplace",
) -> Comparison:
    """Rank models fitted to the same recording by their evidence.

    Fit each candidate model to the same spectra (or FC) with its Laplace approximation
    (`fit_spectra(..., laplace=True)`, the default), then compare: the model with the largest
    log evidence is the one the data favour, with its complexity (the prior volume its
    parameters give up to fit) already paid for. With several regions, each region is a
    separate problem: the total evidence sums them and `per_problem` says which model wins
    where (e.g. one rhythm generator in frontal regions, two in occipital ones). A problem
    where some model has no valid score (its Laplace mode was not reached, or its prior is
    improper) is left out of every model's totals and listed in `left_out`.

    Args:
        results: the fits, a dict name -> `FitResult` or a sequence of them.
        names: names for a sequence of fits (default: the models' class names, e.g.
            "JansenRit" or "DampedOscillator+DampedOscillator", numbered when repeated).
        criterion: the score that ranks the models (higher is better):
            "laplace" (the Laplace log evidence; the default), "bic" (-BIC/2, Schwarz's
            approximation of the log evidence, Kass & Raftery 1995 section 4.1.3), "aic"
            (-AIC/2), "waic" or "loo" (the expected log predictive density by WAIC or
            PSIS-LOO, Vehtari et al. 2017; needs NUTS samples of every fit). `delta`, the
            Bayes factors and the probabilities are computed on this score: Bayes factors
            and posterior model probabilities for "laplace" and "bic"; for the predictive
            criteria they are Akaike-type weights (relative predictive accuracy), not
            Bayes factors, and `kass_raftery` is left out.

    Returns:
        A `Comparison`: the ranking `table`, the score `per_problem`, the `winners` and win
        `counts` per problem, the `best` model, `summary()`, `plot()` and `to_dict()`.

    Raises:
        ValueError: fewer than two fits; a fit without a Laplace approximation; fits of
            different data (target arrays, band, objective, problems, points); a score not
            finite (an improper prior leaves the evidence undefined); WAIC/LOO unsampled.

    Example:
        >>> two = fit.fit_spectra(target)  # alpha + beta damped oscillators
        >>> c = fit.compare({"two": two, "JR": fit.fit_spectra(target, models.JansenRit())})
    """
    import pandas as pd

    if criterion not in CRITERIA:
        raise ValueError(f"`criterion` must be one of {', '.join(CRITERIA)}; got {criterion!r}.")
    fits = _named(results, names)
    _check(fits)
    n = int(next(iter(fits.values())).laplace.log_evidence.shape[0])
    per, elpd, usable = _scores(fits, criterion, n)
    table = _table(fits, per, elpd, criterion, usable)
    lab = next(iter(fits.values())).laplace.labels
    lab = list(map(str, lab)) if lab and len(lab) == n else [f"problem {i}" for i in range(n)]
    per_problem = pd.DataFrame(per, index=lab)[list(table.index)]
    per_problem.index.name = "problem"
    winners = per_problem.idxmax(axis=1).rename("winner")
    counts = winners.value_counts().reindex(table.index, fill_value=0).rename("wins")
    return Comparison(
        table=table,
        per_problem=per_problem,
        winners=winners,
        counts=counts,
        best=str(table.index[0]),
        criterion=criterion,
        left_out=tuple(lab[i] for i in np.nonzero(~usable)[0]),
    )
