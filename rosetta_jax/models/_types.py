"""jaxtyping aliases of the model interface (the shapes of `AbstractModel`'s methods)."""

from __future__ import annotations

from jaxtyping import Array, ArrayLike, Float, Inexact


State = Float[Array, " n_states"]
"""A model's state vector, laid out as its `state_names`."""

Scalar = Float[Array, ""]
"""One real number (an observable, a rate, a membrane potential)."""

Drive = Float[ArrayLike, ""] | None
"""The external drive into a model's input channel; None for no input."""

ComplexDrive = Inexact[ArrayLike, ""] | None
"""The drive $F = F_x + iF_y$ of the oscillators (a real one acts on $x$); None for none."""

# Where white noise in the input channel enters the state (`AbstractModel.input_entry`): the
# state entries (an index or a contiguous slice) and their gains.
InputEntry = tuple[int | slice, Float[ArrayLike, " *entries"]]
