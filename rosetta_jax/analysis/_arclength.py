"""Pseudo-arclength kernels on an equilibrium branch, in scaled coordinates
$x = (y, p) / \\text{scale}$: the corrector, the tangent and the spectrum at a point.

Scaling each state variable by its size and the parameter by the range makes the arclength
treat them alike (see `continuation`).
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float

from ._dynamics import jacobian


def _field(model, where, args, scale) -> Callable[[Array], Array]:
    """The vector field f(y, p) (flattened) as a function of the scaled point x."""
    shape = model.initial_state().shape

    def f(x):
        xt = x * scale
        m = eqx.tree_at(where, model, xt[-1])
        return m.vector_field(0.0, xt[:-1].reshape(shape), args).reshape(-1)

    return f


@eqx.filter_jit
def _corrector(
    model, where, x_pred, tangent, args, scale, iterations: int = 12
) -> tuple[Float[Array, " n_plus_1"], Float[Array, ""]]:
    """Newton on [f(y, p) = 0; tangent . (x - x_pred) = 0] for x = (y, p) / scale."""
    f = _field(model, where, args, scale)

    def F(x):
        return jnp.concatenate([f(x), jnp.dot(tangent, x - x_pred)[None]])

    def body(_, x):
        dx = jnp.linalg.solve(jax.jacfwd(F)(x), -F(x))
        return x + dx

    x = jax.lax.fori_loop(0, iterations, body, x_pred)
    return x, jnp.linalg.norm(F(x))


@eqx.filter_jit
def _tangent(model, where, x, args, scale) -> Float[Array, " n_plus_1"]:
    """Unit null vector of the (n, n+1) Jacobian [f_y, f_p] at x = (y, p) / scale."""
    J = jax.jacfwd(_field(model, where, args, scale))(x)
    # The last right-singular vector spans the null space of a full-rank (n, n+1) matrix.
    v = jnp.linalg.svd(J, full_matrices=True)[2][-1]
    return v / jnp.linalg.norm(v)


@eqx.filter_jit
def _eigs(model, where, x, args, scale):
    """Eigenvalues and determinant of the state Jacobian f_y at x = (y, p) / scale."""
    shape = model.initial_state().shape
    xt = x * scale
    m = eqx.tree_at(where, model, xt[-1])
    J = jacobian(m, xt[:-1].reshape(shape), args)
    return jnp.linalg.eigvals(J), jnp.linalg.det(J)
