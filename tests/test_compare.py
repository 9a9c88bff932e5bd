"""Model comparison (`fit.compare`, `rosetta-jax compare`): the ranking table against hand
computations from the Laplace numbers, the per-region winners, WAIC/PSIS-LOO against arviz
called directly, the refusals (different data, no Laplace, improper priors), and the command
line on two small fit configs."""

import dataclasses
import json
import math
import textwrap
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from rosetta_jax import fit, models
from rosetta_jax.cli import main
from rosetta_jax.fit._compare import Comparison, compare, kass_raftery
from rosetta_jax.noise import Additive


FREQS = np.linspace(2.0, 45.0, 87)


def _psd(n_channels=2, bump=10.0):
    """1/f spectra with an alpha bump, one column per channel."""
    psd = 1 / FREQS + 0.5 * np.exp(-((FREQS - bump) ** 2) / 4.5)
    return np.tile(psd[:, None], (1, n_channels)) * np.arange(1, n_channels + 1)


def _laplace(log_evidence, bic=None, aic=None, k=6, n_points=87, labels=None, converged=True):
    """A `Laplace` with the given evidence and criteria (n_problems = len(log_evidence));
    the parameter arrays are placeholders (compare does not read them)."""
    ev = np.asarray(log_evidence, dtype=float)
    n = ev.size
    z = np.zeros((n, k))
    return fit.Laplace(
        coords=tuple(f"c{i}" for i in range(k)),
        mode=z,
        se=z,
        ci90=np.zeros((n, k, 2)),
        ci95=np.zeros((n, k, 2)),
        mode_v=z,
        cov_v=np.zeros((n, k, k)),
        probit=np.zeros(k, bool),
        mode_u=z,
        cov_u=np.zeros((n, k, k)),
        correlation=np.zeros((n, k, k)),
        info_ratio=z,
        directions=np.zeros((n, k, k)),
        contraction=z,
        log_likelihood=ev + 1.0,
        log_prior=-np.ones(n),
        log_evidence=ev,
        bic=np.asarray(bic if bic is not None else -2 * ev, dtype=float),
        aic=np.asarray(aic if aic is not None else -2 * ev + 1.0, dtype=float),
        n_points=n_points,
        k=k,
        converged=np.full(n, converged),
        labels=labels,
    )


def _result(laplace, *, psd=None, band=None, model=None, mcmc=None, fc=None):
    """A `FitResult` of a spectrum (or FC) objective on given data, with `laplace` attached
    (no fitting: compare reads only the objective's data, the Laplace numbers and mcmc)."""
    if fc is not None:
        obj = fit.FCObjective(fit.FCTarget(fc), Additive(1.0))
    else:
        target = fit.SpectrumTarget(FREQS, _psd() if psd is None else psd)
        obj = fit.SpectrumObjective(target, Additive(1.0), band=band, regional=True)
    return fit.FitResult(
        model=models.DampedOscillator() if model is None else model,
        params={},
        loss_history=np.zeros((1, 1)),
        best_loss=0.0,
        best_start=0,
        goodness={},
        starts={},
        objective=obj,
        meta={},
        laplace=laplace,
        mcmc=mcmc,
    )


# Per-region log evidence of four models on two regions: A best in total; B wins region 0,
# C region 1; D hopeless (its Bayes factor overflows a float).
EVIDENCE = {
    "A": [10.0, -2.0],
    "B": [12.0, -5.5],
    "C": [5.0, 0.0],
    "D": [-400.0, -400.0],
}


@pytest.fixture(scope="module")
def four():
    labels = ("occipital", "frontal")
    fits = {n: _result(_laplace(ev, labels=labels)) for n, ev in EVIDENCE.items()}
    return compare(fits)


def test_table_is_the_hand_computation_from_the_log_evidence(four):
    t = four.table
    assert isinstance(four, Comparison) and four.best == "A"
    assert list(t.index) == ["A", "B", "C", "D"]  # totals 8, 6.5, 5, -800
    totals = {n: sum(ev) for n, ev in EVIDENCE.items()}
    for n, total in totals.items():
        assert t.loc[n, "log_evidence"] == pytest.approx(total, abs=1e-12)
        assert t.loc[n, "delta"] == pytest.approx(total - 8.0, abs=1e-12)
        assert t.loc[n, "log_bayes_factor"] == pytest.approx(8.0 - total, abs=1e-12)
    assert t.loc["B", "bayes_factor"] == pytest.approx(math.exp(1.5))
    assert t.loc["C", "bayes_factor"] == pytest.approx(math.exp(3.0))
    assert t.loc["D", "bayes_factor"] == np.inf and t.loc["D", "log_bayes_factor"] == 808.0
    # Posterior model probabilities, equal prior odds: exp(log evidence) normalised.
    w = {n: math.exp(v - 8.0) for n, v in totals.items()}
    for n in totals:
        assert t.loc[n, "posterior_prob"] == pytest.approx(w[n] / sum(w.values()), abs=1e-15)
    assert t["posterior_prob"].sum() == pytest.approx(1.0)
    # Kass & Raftery's scale on log10 B: 1.5/ln10 = 0.65, 3/ln10 = 1.30, 808/ln10 = 351.
    assert list(t["kass_raftery"]) == ["best", "substantial", "strong", "decisive"]
    # BIC and AIC summed over regions; k per region.
    assert t.loc["B", "bic"] == pytest.approx(-2 * 6.5) and t.loc["B", "aic"] == -11.0
    assert (t["k"] == 6).all() and t["converged"].all()


def test_per_region_winners_and_counts(four):
    per = four.per_problem
    assert list(per.index) == ["occipital", "frontal"] and list(per.columns) == list("ABCD")
    np.testing.assert_array_equal(per["B"], EVIDENCE["B"])
    assert list(four.winners) == ["B", "C"]
    assert dict(four.counts) == {"A": 0, "B": 1, "C": 1, "D": 0}


def test_summary_json_and_plot(four):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    text = four.summary()
    assert "best 'A'" in text and "substantial" in text and "B 1, C 1" in text
    d = four.to_dict()
    json.dumps(d, allow_nan=False)  # strict JSON: the infinite Bayes factor is null
    assert d["ranking"] == ["A", "B", "C", "D"] and d["winners"] == ["B", "C"]
    assert d["table"][3]["bayes_factor"] is None and d["table"][3]["model"] == "D"
    assert d["per_problem"]["values"] == [[10.0, 12.0, 5.0, -400.0], [-2.0, -5.5, 0.0, -400.0]]
    fig = four.plot()
    assert len(fig.axes) == 3  # delta bars, per-region map and its colour bar
    plt.close(fig)
    fig, ax = plt.subplots()
    assert four.plot(ax=ax) is fig and len(fig.axes) == 1
    plt.close(fig)


def test_kass_raftery_scale():
    ln10 = math.log(10.0)
    assert kass_raftery(0.49 * ln10) == "not worth more than a bare mention"
    assert kass_raftery(0.51 * ln10) == "substantial"
    assert kass_raftery(1.01 * ln10) == "strong"
    assert kass_raftery(2.01 * ln10) == "decisive"


def test_default_names_and_a_sequence():
    obs = SimpleNamespace(generators=fit.default_generators())  # as an Observed names them
    fits = [
        _result(_laplace([1.0, 1.0]), model=obs),
        _result(_laplace([0.0, 3.0]), model=models.JansenRit()),
        _result(_laplace([0.0, 0.0]), model=models.JansenRit()),
    ]
    c = compare(fits)
    assert list(c.table.index) == [
        "JansenRit_1",
        "DampedOscillator+DampedOscillator",
        "JansenRit_2",
    ]
    assert list(compare(fits, names=["x", "y", "z"]).table.index) == ["y", "x", "z"]
    with pytest.raises(ValueError, match="one distinct name"):
        compare(fits, names=["x", "x", "z"])
    with pytest.raises(ValueError, match="a dict already names"):
        compare({"a": fits[0], "b": fits[1]}, names=["a", "b"])
    with pytest.raises(ValueError, match="at least two"):
        compare(fits[:1])
    with pytest.raises(ValueError, match="criterion"):
        compare(fits, criterion="dic")


def test_bic_and_aic_criteria_rank_by_their_own_scores():
    a = _result(_laplace([5.0, 5.0], bic=[-10.0, -10.0], aic=[-30.0, -30.0]))
    b = _result(_laplace([4.0, 4.0], bic=[-14.0, -12.0], aic=[-20.0, -20.0]))
    c = compare({"a": a, "b": b}, criterion="bic")  # -BIC/2: a 10, b 13
    assert c.best == "b" and c.table.loc["a", "log_bayes_factor"] == pytest.approx(3.0)
    np.testing.assert_allclose(c.per_problem["b"], [7.0, 6.0])
    assert c.table.loc["b", "log_evidence"] == 8.0  # the Laplace column stays the evidence
    c = compare({"a": a, "b": b}, criterion="aic")  # -AIC/2: a 30, b 20
    assert c.best == "a" and "kass_raftery" not in c.table


@pytest.mark.parametrize(
    "other, what",
    [
        (dict(psd=_psd() * 1.01), "target psd"),
        (dict(psd=_psd(n_channels=3)), "target psd"),
        (dict(band=(4.0, 30.0)), "band"),
        (dict(fc=np.eye(3)), "objective type"),
    ],
)
def test_fits_of_different_data_are_refused(other, what):
    a = _result(_laplace([1.0, 2.0]))
    b = _result(_laplace([0.0, 0.0]), **other)
    with pytest.raises(ValueError, match=f"not fitted to the same data: their {what}"):
        compare({"a": a, "b": b})


def test_different_points_or_problems_are_refused():
    a = _result(_laplace([1.0, 2.0]))
    with pytest.raises(ValueError, match="points per problem"):
        compare({"a": a, "b": _result(_laplace([1.0, 2.0], n_points=40))})
    with pytest.raises(ValueError, match="their problems differ"):
        compare({"a": a, "b": _result(_laplace([1.0]))})


def test_missing_laplace_and_improper_priors_are_refused():
    a = _result(_laplace([1.0, 2.0]))
    with pytest.raises(ValueError, match="'b' has no Laplace.*laplace=True"):
        compare({"a": a, "b": _result(None)})
    improper = _result(_laplace([np.nan, np.nan], bic=[1.0, 1.0]))
    with pytest.raises(ValueError, match="'b'.*improper prior.*criterion='bic'"):
        compare({"a": a, "b": improper})
    assert compare({"a": a, "b": improper}, criterion="bic").best == "a"  # -BIC/2: 3 vs -1
    with pytest.raises(ValueError, match="NUTS samples"):
        compare({"a": a, "b": improper}, criterion="loo")


def _idata(shift, seed, channels=("occipital", "frontal")):
    """An InferenceData laid out as `fit.sample` writes it, a pointwise log-likelihood `y`
    over (channel, point): 2 chains x 500 draws of a Gaussian log density around `shift`."""
    import arviz as az

    rng = np.random.default_rng(seed)
    theta = rng.normal(0.0, 0.3, (2, 500))
    y = rng.normal(0.0, 1.0, (len(channels), 87))
    ll = -0.5 * (y - shift - theta[..., None, None]) ** 2 - 0.5 * np.log(2 * np.pi)
    return az.from_dict(
        posterior={"theta": theta},
        log_likelihood={"y": ll},
        dims={"y": ["channel", "point"]},
        coords={"channel": list(channels)},
    )


def test_waic_and_loo_columns_are_arviz_and_rank_with_criterion_loo():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # arviz's, on import
        warnings.simplefilter("ignore", UserWarning)  # arviz's Pareto-k advice
        import arviz as az

        idata = {"near": _idata(0.0, 1), "far": _idata(0.8, 2)}
        direct = {
            n: (az.waic(d, pointwise=True), az.loo(d, pointwise=True)) for n, d in idata.items()
        }
    fits = {n: _result(_laplace([1.0, 2.0]), mcmc=d) for n, d in idata.items()}
    c = compare(fits)  # ranked by evidence (equal here), WAIC/LOO beside it
    for n, (w, lo) in direct.items():
        row = c.table.loc[n]
        assert row["elpd_waic"] == pytest.approx(float(w["elpd_waic"]), rel=1e-12)
        assert row["elpd_waic_se"] == pytest.approx(float(w["se"]), rel=1e-12)
        assert row["p_waic"] == pytest.approx(float(w["p_waic"]), rel=1e-12)
        assert row["elpd_loo"] == pytest.approx(float(lo["elpd_loo"]), rel=1e-12)
        assert row["elpd_loo_se"] == pytest.approx(float(lo["se"]), rel=1e-12)
        assert row["pareto_k_max"] == pytest.approx(float(lo["pareto_k"].max()))
        assert w["waic_i"].size == 2 * 87  # pointwise over every data point
    loo = compare(fits, criterion="loo")
    elpd = {n: float(lo["elpd_loo"]) for n, (_, lo) in direct.items()}
    assert loo.best == max(elpd, key=elpd.get)
    assert loo.table.loc[loo.best, "delta"] == 0.0
    for n, (_, lo) in direct.items():  # per channel: the pointwise elpd summed over freqs
        np.testing.assert_allclose(loo.per_problem[n], np.asarray(lo["loo_i"]).sum(axis=1))
    assert "kass_raftery" not in loo.table


def test_samples_of_different_channels_give_no_waic_or_loo():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        a = _result(_laplace([1.0, 2.0]), mcmc=_idata(0.0, 1))
        b = _result(_laplace([1.0, 1.0]), mcmc=_idata(0.0, 2, channels=("occipital",)))
    c = compare({"a": a, "b": b})
    assert c.best == "a" and "elpd_loo" not in c.table  # evidence only
    with pytest.raises(ValueError, match="same data points"):
        compare({"a": a, "b": b}, criterion="waic")


def _write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def _spectra_csv(path, bump=10.0):
    with open(path, "w") as fh:
        fh.write("freq_hz,occipital\n")
        for f, p in zip(FREQS, _psd(1, bump)[:, 0], strict=True):
            fh.write(f"{f:g},{p:.6g}\n")


def test_compare_command_refuses_before_fitting(tmp_path, capsys):
    _spectra_csv(tmp_path / "a.csv")
    _spectra_csv(tmp_path / "b.csv", bump=11.0)
    a = _write(tmp_path / "a.toml", "[fit]\ntask = 'spectra'\ntarget = 'a.csv'\n")
    b = _write(tmp_path / "b.toml", "[fit]\ntask = 'spectra'\ntarget = 'b.csv'\n")
    s = _write(tmp_path / "s.toml", "[model]\nname = 'JansenRit'\n[fit]\ntask = 'spectrum'\n")
    out = str(tmp_path / "out")
    for argv, message in [
        ([a, b], "target's spectra differ from those of"),
        ([a, s], "task 'spectrum' gives no Laplace log evidence"),
        ([a], "at least two fit configs"),
        ([a, tmp_path / "none.toml"], "no such file"),
    ]:
        assert main(["compare", *map(str, argv), "--out", out, "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_compare_command_writes_the_ranking_of_the_in_process_compare(tmp_path):
    import jax
    import jax.random as jr
    import pandas as pd

    _spectra_csv(tmp_path / "spectra.csv")
    one = "[model]\nname = 'DampedOscillator'\nparams = { alpha = -12.0, omega = 62.8 }\n"
    common = "[fit]\ntask = 'spectra'\ntarget = 'spectra.csv'\nsteps = 8\n"
    paths = [_write(tmp_path / "two.toml", common), _write(tmp_path / "one.toml", one + common)]
    out = tmp_path / "out"
    assert main(["compare", *map(str, paths), "--out", str(out), "--quiet"]) == 0
    written = json.loads((out / "compare.json").read_text())
    table = pd.read_csv(out / "compare.csv", index_col="model")
    assert (out / "compare.png").stat().st_size > 10_000
    assert list(table.index) == written["ranking"] and set(written["ranking"]) == {"two", "one"}
    # The same two fits in process (the command's settings: one start, 8 steps, seed 0).
    target = (FREQS, _psd(1))
    kw = dict(starts=1, steps=8, key=jr.key(0), progress=False)
    with jax.enable_x64(True):
        nodes = {"two": None, "one": models.DampedOscillator(alpha=-12.0, omega=62.8)}
        c = compare({n: fit.fit_spectra(target, node, **kw) for n, node in nodes.items()})
    assert written["ranking"] == list(c.table.index) and written["best"] == c.best
    # The command's fits and these differ by rounding along the solver's path (3e-4 seen in the
    # log evidence, a Bayes factor of 1.0003): far below any difference worth a mention.
    np.testing.assert_allclose(table["log_evidence"], c.table["log_evidence"], atol=1e-3)
    # Each fit's files, with its Laplace results, in a folder per config.
    for name in ("two", "one"):
        fj = json.loads((out / name / "fit.json").read_text())
        z = np.load(out / name / "fit.npz")
        ev = table.loc[name, "log_evidence"]
        assert sum(fj["laplace"]["log_evidence"]) == pytest.approx(ev, rel=1e-12)
        assert z["laplace_log_evidence"].sum() == pytest.approx(ev, rel=1e-12)


def test_problems_without_a_valid_evidence_are_left_out_of_every_total():
    # Region 1: model b's Laplace mode was not reached (its evidence there is meaningless):
    # both models' totals then count region 0 only, and the summary says so.
    a = _result(_laplace([1.0, 50.0], labels=("r0", "r1")))
    lap_b = _laplace([3.0, -40.0], labels=("r0", "r1"))
    b = _result(dataclasses.replace(lap_b, converged=np.array([True, False])))
    c = compare({"a": a, "b": b})
    assert c.left_out == ("r1",) and c.best == "b"
    assert c.table.loc["b", "log_bayes_factor"] == 0.0
    assert c.table.loc["a", "log_bayes_factor"] == pytest.approx(2.0)
    assert "left out" in c.summary() and c.to_dict()["left_out"] == ["r1"]
    nowhere = _result(dataclasses.replace(lap_b, converged=np.array([False, False])))
    with pytest.raises(ValueError, match="no problem has a finite laplace score"):
        compare({"a": a, "b": nowhere})
