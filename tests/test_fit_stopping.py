"""Fits stop when done: the plateau rule (`fit.Plateau`), its state in checkpoints and the
fingerprint, and the default optimiser's learning-rate schedule (`fit.default_optimizer`).

The objectives are quadratics and a linear function of one parameter, whose optimum, loss
sequence under gradient descent and step sizes under Adam are known in closed form."""

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from rosetta_jax import fit
from rosetta_jax.fit import _steps
from rosetta_jax.store import StoreMismatchError


class _Point(eqx.Module):
    p: jax.Array


class _Quadratic(eqx.Module):
    """$(p - c)^2 + b$: minimum $b$ at $p = c$."""

    c: float
    b: float = 0.0

    def __call__(self, model, key):
        return jnp.sum((model.p - self.c) ** 2) + self.b, {}


class _Linear(eqx.Module):
    """$p$: a constant gradient of 1, so Adam's step is its learning rate."""

    def __call__(self, model, key):
        return jnp.sum(model.p), {}


def _fit(p0, objective, dtype=None, **kw):
    kw.setdefault("params", lambda m: m.p)
    kw.setdefault("progress", False)
    kw.setdefault("clip_norm", None)
    return fit.fit(_Point(jnp.asarray(p0, dtype)), objective, **kw)


def _plateau_rows(history, patience, rtol, atol):
    """Reference of the documented rule, a scalar loop per start: the number of steps after
    which every start has gone `patience` steps without a finite loss below its reference
    loss by `rtol |ref| + atol` (None if that never happens within `history`)."""
    n_starts = history.shape[1]
    ref, wait = [None] * n_starts, [0] * n_starts
    for k, row in enumerate(history):
        for s, loss in enumerate(row):
            if np.isfinite(loss) and (ref[s] is None or loss < ref[s] - rtol * abs(ref[s]) - atol):
                ref[s], wait[s] = loss, 0
            else:
                wait[s] += 1
        if min(wait) >= patience:
            return k + 1
    return None


@pytest.mark.parametrize("x64", [True, False], ids=["float64", "float32"])
def test_a_fit_that_reaches_its_optimum_stops_after_patience_steps(x64):
    # Gradient descent with rate 1/2 on (p - 3)^2 + 1 lands on p = 3 exactly in one step
    # (p = 1 - 0.5 * 2 * (1 - 3)); from then on the loss is 1 and never improves. Step 0 sets
    # the reference (loss 5), step 1 improves on it (loss 1), steps 2 .. patience + 1 do not:
    # the fit ends after patience + 2 steps, at p = 3.
    with jax.enable_x64(x64):
        dtype = jnp.float64 if x64 else jnp.float32
        res = _fit(1.0, _Quadratic(3.0, 1.0), dtype, optimizer=optax.sgd(0.5), steps=500)
        assert res.meta["stopped_at"] == 20 + 2 and res.meta["stop_reason"] == "plateau"
        assert res.loss_history.shape == (22, 1)
        np.testing.assert_array_equal(res.loss_history[:, 0], [5.0] + [1.0] * 21)
        assert res.params["param_0"].dtype == dtype and float(res.params["param_0"]) == 3.0
        assert res.meta["steps"] == 500
        assert res.meta["stop"] == {"patience": 20, "rtol": 1e-4, "atol": 1e-10}
        # stop=None: every step runs.
        res = _fit(1.0, _Quadratic(3.0, 1.0), dtype, optimizer=optax.sgd(0.5), steps=60, stop=None)
        assert res.loss_history.shape == (60, 1) and res.meta["stopped_at"] == 60
        assert res.meta["stop_reason"] == "max_steps" and res.meta["stop"] is None


def test_the_default_fit_stops_well_before_its_maximum_near_the_optimum():
    # Default optimiser and rule on (p - 3)^2 + 1 from p = 1. The rule stops once 20 steps
    # have not lowered the best loss by 1e-4 of it, so the fit stops with an excess loss of
    # the order of 1e-4 (|p - 3| of order 1e-2), and long before the 1000 steps allowed.
    res = _fit(1.0, _Quadratic(3.0, 1.0), steps=1000)
    assert res.meta["stop_reason"] == "plateau" and res.meta["stopped_at"] < 200
    assert abs(float(res.params["param_0"]) - 3.0) < 0.03
    assert res.best_loss - 1.0 < 1e-3
    assert _plateau_rows(res.loss_history, 20, 1e-4, 1e-10) == res.meta["stopped_at"]


def test_several_starts_stop_only_when_every_start_has_plateaued():
    # Start 0 sits at the optimum of (p - 3)^2: its loss is 0 at every step, so alone it
    # stops after 20 + 1 steps. The other starts (3 + 0.3 z) converge geometrically under
    # gradient descent with rate 0.05: loss_k = 0.81^k loss_0, improving by 19 % a step
    # until the absolute tolerance (1e-10) stops them, about 100 steps later.
    kw = dict(optimizer=optax.sgd(0.05), steps=1000)
    alone = _fit(3.0, _Quadratic(3.0), **kw)
    assert alone.meta["stopped_at"] == 21 and np.all(alone.loss_history == 0.0)
    res = _fit(3.0, _Quadratic(3.0), n_starts=3, **kw)
    h = res.loss_history
    n = res.meta["stopped_at"]
    assert res.meta["stop_reason"] == "plateau" and n > 60
    np.testing.assert_array_equal(h[:, 0], 0.0)
    k = np.arange(n)[:, None]
    # (p_k - 3 carries the rounding of p_k, ~4e-16, so loss_k is exact to ~1e-19 absolute.)
    np.testing.assert_allclose(h[:, 1:], 0.81**k * h[0, 1:], rtol=1e-9, atol=1e-18)
    # The run ended at the first step at which every start had plateaued, not before: when
    # the slowest start did, long after start 0.
    assert _plateau_rows(h, 20, 1e-4, 1e-10) == n
    each = [_plateau_rows(h[:, [s]], 20, 1e-4, 1e-10) for s in range(3)]
    assert each[0] == 21 and max(each) == n


def test_nan_steps_count_as_no_improvement():
    # The loss is NaN beyond p = 1.5, which the first step crosses: no later step improves.
    res = _fit(
        1.0,
        lambda m, key: (jnp.where(m.p > 1.5, jnp.nan, (m.p - 3.0) ** 2), {}),
        optimizer=optax.sgd(0.4),
        steps=30,
        stop=fit.Plateau(patience=5),
    )
    assert res.meta["stopped_at"] == 6 and res.meta["stop_reason"] == "plateau"
    assert res.meta["rejected_steps"] == 5 and float(res.params["param_0"]) == 1.0


def _same(a, b):
    np.testing.assert_array_equal(a.loss_history, b.loss_history)
    np.testing.assert_array_equal(a.params["param_0"], b.params["param_0"])
    np.testing.assert_array_equal(a.starts["param_0"], b.starts["param_0"])
    assert a.best_loss == b.best_loss and a.best_start == b.best_start
    assert a.meta["stopped_at"] == b.meta["stopped_at"]
    assert a.meta["stop_reason"] == b.meta["stop_reason"]


def test_a_fit_interrupted_inside_a_plateau_resumes_to_the_same_stop(tmp_path):
    # Explicit Adam (its schedule does not depend on `steps`), three starts. The fit is cut
    # 5 steps before its uninterrupted stop, inside the last plateau window: a resumed fit
    # that lost the rule's counters would run `patience` more steps from there.
    kw = dict(optimizer=optax.adam(0.05), n_starts=3, steps=1000)
    full = _fit(1.0, _Quadratic(3.0, 1.0), **kw)
    n = full.meta["stopped_at"]
    assert full.meta["stop_reason"] == "plateau" and n < 500
    ckpt = dict(checkpoint=tmp_path, checkpoint_every=7)
    part = _fit(1.0, _Quadratic(3.0, 1.0), **{**kw, "steps": n - 5}, **ckpt)
    assert part.meta["stop_reason"] == "max_steps" and part.meta["stopped_at"] == n - 5
    resumed = _fit(1.0, _Quadratic(3.0, 1.0), **kw, **ckpt)
    _same(resumed, full)
    assert len(resumed.meta["step_seconds"]) == 5
    # Called again (even with more steps), the stopped fit returns the same result at once.
    again = _fit(1.0, _Quadratic(3.0, 1.0), **{**kw, "steps": 2000}, **ckpt)
    _same(again, full)
    assert len(again.meta["step_seconds"]) == 0
    # A run killed while writing its last checkpoint (the stop's): the damaged file is
    # skipped, the fit resumes from the one before it and stops at the same step.
    newest = tmp_path / f"state_{n:08d}.npz"
    newest.write_bytes(newest.read_bytes()[:-10])
    with pytest.warns(RuntimeWarning, match=f"state_{n:08d}.npz is damaged"):
        _same(_fit(1.0, _Quadratic(3.0, 1.0), **kw, **ckpt), full)


def test_a_fit_stopped_early_with_the_defaults_resumes_identically(tmp_path):
    full = _fit(1.0, _Quadratic(3.0, 1.0), n_starts=2, steps=400)
    assert full.meta["stop_reason"] == "plateau"
    first = _fit(1.0, _Quadratic(3.0, 1.0), n_starts=2, steps=400, checkpoint=tmp_path)
    again = _fit(1.0, _Quadratic(3.0, 1.0), n_starts=2, steps=400, checkpoint=tmp_path)
    _same(first, full)
    _same(again, full)
    # The default optimiser's schedule spans `steps`: other steps are another fit.
    with pytest.raises(StoreMismatchError, match=r"made with other inputs: optimizer"):
        _fit(1.0, _Quadratic(3.0, 1.0), n_starts=2, steps=500, checkpoint=tmp_path)


def test_other_stop_settings_are_refused_on_resume(tmp_path):
    # The rule decides where the fit ends: a checkpoint made under another rule could hold
    # steps past the new rule's stop (or a stop the new rule would not make). Refused, like
    # any other changed input; an equal rule written out is the same input.
    kw = dict(optimizer=optax.adam(0.05), steps=300, checkpoint=tmp_path)
    first = _fit(1.0, _Quadratic(3.0, 1.0), **kw)
    for stop, part in (
        (fit.Plateau(patience=30), r"stop \(stop.patience\)"),
        (fit.Plateau(rtol=1e-3), r"stop \(stop.rtol\)"),
        (None, "stop"),
    ):
        with pytest.raises(StoreMismatchError, match=rf"made with other inputs: {part}"):
            _fit(1.0, _Quadratic(3.0, 1.0), stop=stop, **kw)
    _same(_fit(1.0, _Quadratic(3.0, 1.0), stop=fit.Plateau(20, 1e-4, 1e-10), **kw), first)
    # resume=False starts over under the new rule.
    longer = _fit(1.0, _Quadratic(3.0, 1.0), stop=None, resume=False, **kw)
    assert longer.meta["stopped_at"] == 300


@pytest.mark.parametrize("x64", [True, False], ids=["float64", "float32"])
def test_the_default_learning_rate_warms_up_then_decays(x64):
    # On the loss p (gradient 1) every Adam step moves p by its learning rate / (1 + eps),
    # so the differences of the loss history are the schedule: from 0.005 up to 0.05 over
    # the first 5 steps of 100, then a cosine down to 0.0005 at step 100.
    with jax.enable_x64(x64):
        dtype = jnp.float64 if x64 else jnp.float32
        res = _fit(1.0, _Linear(), dtype, steps=100, stop=None)
        step = -np.diff(res.loss_history[:, 0])
        k = np.arange(99)
        lr = np.where(
            k < 5,
            0.005 + (0.05 - 0.005) * k / 5,
            0.0005 + (0.05 - 0.0005) * 0.5 * (1 + np.cos(np.pi * (k - 5) / 95)),
        )
        # optax evaluates schedules in float32 (the step count is an int32), ~2e-7 relative;
        # in float32 Adam's bias corrections add ~1e-5 relative, and each stored p (|p| < 2)
        # is rounded by up to 1.2e-7.
        tol = dict(rtol=1e-6, atol=0.0) if x64 else dict(rtol=2e-5, atol=2.5e-7)
        np.testing.assert_allclose(step, lr, **tol)
        assert step[-1] < step[5] / 50  # it decays
        explicit = _fit(
            1.0, _Linear(), dtype, steps=100, stop=None, optimizer=fit.default_optimizer(0.05, 100)
        )
        np.testing.assert_array_equal(explicit.loss_history, res.loss_history)


def test_the_progress_bar_is_closed_full_when_the_fit_stops_early(monkeypatch):
    bars = []

    class Bar:
        def __init__(self, total, initial):
            self.total, self.n, self.closed = total, initial, False
            bars.append(self)

        def update(self, n):
            self.n += n

        def set_postfix(self, **kw):
            pass

        def refresh(self):
            pass

        def close(self):
            self.closed = True

    monkeypatch.setattr(_steps, "_progress", lambda total, initial, on: Bar(total, initial))
    res = _fit(1.0, _Quadratic(3.0, 1.0), optimizer=optax.sgd(0.5), steps=500, progress=True)
    assert bars[-1].closed and bars[-1].n == bars[-1].total == res.meta["stopped_at"] == 22

    def broken(model, key):
        raise RuntimeError("objective failed")

    with pytest.raises(RuntimeError, match="objective failed"):
        _fit(1.0, broken, steps=10, progress=True)
    assert bars[-1].closed and bars[-1].n == 0


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: fit.Plateau(patience=0), ValueError, r"patience must be >= 1"),
        (lambda: fit.Plateau(patience=2.5), TypeError, r"patience must be an integer"),
        (lambda: fit.Plateau(rtol=-1e-3), ValueError, r"rtol must be a finite number >= 0"),
        (lambda: fit.Plateau(atol=float("nan")), ValueError, r"atol must be a finite number"),
        (lambda: fit.default_optimizer(0.0, 10), ValueError, r"`learning_rate` must be"),
        (lambda: fit.default_optimizer(0.1, 0), ValueError, r"`steps` must be >= 1"),
        (lambda: _fit(1.0, _Quadratic(3.0), steps=3, stop=20), TypeError, r"`stop` must be"),
    ],
)
def test_bad_stop_settings_raise_clear_errors(make, error, match):
    with pytest.raises(error, match=match):
        make()
