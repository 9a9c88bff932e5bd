"""When a fit ends and how fast it moves: the plateau rule that stops it (`Plateau`) and the
default optimiser of `fit`, Adam with a warm-up and a cosine decay (`default_optimizer`).

The rule runs on the host, on the losses `fit` already brings back every step, so it costs
nothing on the device and its state (two small arrays per start) is saved in checkpoints
exactly."""

from __future__ import annotations

import math
from typing import NamedTuple

import equinox as eqx
import numpy as np
import optax


class _PlateauState(NamedTuple):
    """Where the plateau rule stands, per start: the loss of its last significant improvement
    (`inf` before its first finite loss) and the steps run since then."""

    best: np.ndarray  # (n_starts,) float64
    wait: np.ndarray  # (n_starts,) int64

    @classmethod
    def begin(cls, n_starts: int) -> _PlateauState:
        """Before the first step: no reference loss, no steps waited."""
        return cls(np.full(n_starts, np.inf), np.zeros(n_starts, np.int64))


class Plateau(eqx.Module):
    """Stop a fit when its loss has stopped improving.

    A start improves at a step when its loss $L$ is finite and below its reference loss
    $L^*$ (the loss at its last improvement) by more than the tolerance:
    $L < L^* - (\\text{rtol}\\,|L^*| + \\text{atol})$; then $L^* \\leftarrow L$. A start has
    plateaued once `patience` steps in a row brought no such improvement (a step with a
    NaN/inf loss, which `fit` rejects, counts as no improvement). With several starts the fit
    stops when every start has plateaued, so a slow start is never cut short by fast ones.
    This is the rule of `optax.contrib.reduce_on_plateau` and of Keras' `EarlyStopping`,
    with the tolerance taken relative to $|L^*|$ (so it holds for negative losses too).

    Adam circles a minimum for some tens of steps before it settles; a loss that falls to zero
    (an exact fit) can stop on one of these circles, with a small loss, before the minimum:
    raise `patience` there. An objective that resamples its noise every step improves its best
    loss by chance: set `rtol` near the loss's relative noise, or use None.

    Attributes:
        patience: steps without improvement before a start counts as plateaued (>= 1).
        rtol: relative tolerance of an improvement [dimensionless].
        atol: absolute tolerance of an improvement [loss units]; it stops a fit whose loss
            approaches zero, where every step improves by a constant fraction.

    Example:
        >>> fit.fit(model, objective, params=..., steps=2000, stop=fit.Plateau(patience=50))
    """

    patience: int = 20
    rtol: float = 1e-4
    atol: float = 1e-10

    def __check_init__(self):
        if isinstance(self.patience, bool) or not isinstance(self.patience, (int, np.integer)):
            raise TypeError(f"Plateau.patience must be an integer; got {self.patience!r}.")
        if self.patience < 1:
            raise ValueError(f"Plateau.patience must be >= 1 (steps); got {self.patience}.")
        for name in ("rtol", "atol"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float, np.floating)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"Plateau.{name} must be a finite number >= 0; got {v!r}.")

    def update(self, state: _PlateauState, loss) -> _PlateauState:
        """The state after a step whose loss per start is `loss`, shape `(n_starts,)`."""
        loss = np.asarray(loss, np.float64)
        first = ~np.isfinite(state.best)
        ref = np.where(first, 0.0, state.best)
        improved = np.isfinite(loss) & (
            first | (loss < ref - (self.rtol * np.abs(ref) + self.atol))
        )
        return _PlateauState(
            np.where(improved, loss, state.best), np.where(improved, 0, state.wait + 1)
        )

    def done(self, state: _PlateauState) -> bool:
        """Whether every start has plateaued."""
        return bool(np.all(state.wait >= self.patience))


def default_optimizer(
    learning_rate: float = 0.05, steps: int = 100
) -> optax.GradientTransformation:
    """The default optimiser of `fit`: Adam whose learning rate warms up linearly from
    `learning_rate / 10` to `learning_rate` over the first 5 % of `steps` (at least one step),
    then decays along a cosine to `learning_rate / 100` at `steps`
    (`optax.warmup_cosine_decay_schedule`). The warm-up tempers Adam's first steps, whose
    size is `learning_rate` in every coordinate whatever the gradient; the decay lets the fit
    settle into its minimum instead of circling it at a fixed step size.

    The schedule counts applied steps (a rejected NaN step does not advance it). A fit with
    this optimiser resumed from a checkpoint must keep its `steps`: the schedule spans them.

    Args:
        learning_rate: the peak learning rate [unconstrained parameter units per step].
        steps: the length of the schedule, normally the fit's `steps`.

    Returns:
        An optax optimiser.
    """
    if not (learning_rate > 0 and math.isfinite(learning_rate)):
        raise ValueError(f"`learning_rate` must be a finite number > 0; got {learning_rate!r}.")
    if steps < 1:
        raise ValueError(f"`steps` must be >= 1; got {steps}.")
    warmup = max(1, steps // 20)
    schedule = optax.warmup_cosine_decay_schedule(
        init_value=learning_rate / 10,
        peak_value=learning_rate,
        warmup_steps=warmup,
        decay_steps=max(steps, warmup + 1),  # optax counts the warm-up in `decay_steps`
        end_value=learning_rate / 100,
    )
    return optax.adam(schedule)
