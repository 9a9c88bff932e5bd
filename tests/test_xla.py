"""The CPU compiler options of large programs (`rosetta_jax._xla`): programs compiled with
them compute what numpy computes, and an option the jaxlib lacks is left out."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from rosetta_jax import _xla, models, noise
from rosetta_jax._xla import cpu_compiler_options, cpu_jit
from rosetta_jax.analysis import equilibrium, linear_spectrum


def test_an_unknown_option_is_left_out(monkeypatch):
    assert not _xla._knows("xla_cpu_no_such_option_at_all", True)
    monkeypatch.setitem(_xla._KNOWN, "xla_cpu_use_fusion_emitters", False)
    assert cpu_compiler_options(level=1) == {"xla_backend_optimization_level": 1}
    assert cpu_compiler_options() == {}


@pytest.mark.parametrize("x64", [True, False])
def test_a_models_spectrum_and_jacobian_compiled_with_them_match_numpy(x64):
    # Jansen-Rit's Jacobian (forward mode) and its one-observable spectrum, batched over two
    # inputs p, through `cpu_jit`. References in numpy float64: J by central differences of
    # the vector field; the one-sided PSD 2 |c (i w I - J)^-1 b|^2 sigma^2 from the whole
    # inverse, b the drive's entry (state 4, gain A a), c = e1 - e2.
    ps, sigma = (20.0, 60.0), 0.7
    freqs = np.linspace(1.0, 45.0, 12)
    refs_j, refs_psd, ys = [], [], []
    for p in ps:
        m = models.JansenRit(p=p)
        y = np.asarray(equilibrium(m, m.initial_state()))
        f = lambda x, m=m: np.asarray(m.vector_field(0.0, jnp.asarray(x), None))
        h, eye = 1e-6 * (1.0 + np.abs(y)), np.eye(6)
        J = np.stack(
            [(f(y + h[j] * e) - f(y - h[j] * e)) / (2 * h[j]) for j, e in enumerate(eye)], 1
        )
        b, c = np.zeros(6), np.array([0.0, 1.0, -1.0, 0.0, 0.0, 0.0])
        b[4] = float(m.A * m.a)
        G = [np.linalg.inv(2j * np.pi * fr * eye - J) for fr in freqs]
        refs_j.append(J)
        refs_psd.append([2 * sigma**2 * abs(c @ g @ b) ** 2 for g in G])
        ys.append(y)
    dtype = np.float64 if x64 else np.float32

    def both(p, y, freqs):
        m = models.JansenRit(p=p)
        jac = jax.jacfwd(lambda x: m.vector_field(0.0, x, None))(y)
        return jac, linear_spectrum(m, freqs, noise.Additive(sigma), y_star=y).psd[:, 0]

    with jax.enable_x64(x64):
        args = (jnp.asarray(ps, dtype), jnp.asarray(np.stack(ys), dtype))
        jac, psd = cpu_jit(jax.vmap(both, in_axes=(0, 0, None)), level=1)(
            *args, jnp.asarray(freqs, dtype)
        )
    assert psd.dtype == dtype
    err_j = np.max(np.abs(np.asarray(jac, float) - np.stack(refs_j)) / (1.0 + np.abs(refs_j)))
    err_psd = np.max(np.abs(np.asarray(psd, float) / np.asarray(refs_psd) - 1))
    # float64: the central differences' error (about 1e-9 here); float32: unit roundoff 6e-8
    # times the 6 x 6 system's condition (entries from 1 to a^2 = 1e4): measured 7e-9, 1e-8
    # (float64) and 2.5e-7, 4.6e-7 (float32).
    assert err_j < (1e-7 if x64 else 1e-5)
    assert err_psd < (1e-7 if x64 else 5e-6)
