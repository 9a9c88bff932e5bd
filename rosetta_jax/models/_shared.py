"""Building blocks shared by several models of the ladder."""

from __future__ import annotations

from typing import Any

from ._base import drive
from ._types import Drive, Scalar, State


def push_pull_inputs(model: Any, y: State, args: Drive) -> tuple[Scalar, Scalar]:
    """Net inputs of the E and I sigmoids of an E-I push-pull pair,
    $(w_{xx} x - w_{xy} y + P_x + F,\\ w_{yx} x - w_{yy} y + P_y)$.

    Args:
        model: a model with the weights `w_xx, w_xy, w_yx, w_yy` and tonic inputs `P_x, P_y`
            (Wilson-Cowan, the NMM1 E-I motif).
        y: its state, E activity first, then I activity.
        args: the drive $F$, into the E population (None: zero).
    """
    x, yy = y[0], y[1]
    s_x = model.w_xx * x - model.w_xy * yy + model.P_x + drive(args)
    s_y = model.w_yx * x - model.w_yy * yy + model.P_y
    return s_x, s_y
