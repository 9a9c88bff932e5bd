"""Lyapunov covariance and the analytic-FC fitting step: the solvers and steps before and after
issue 16 (item 6, "fast analytic objectives"), in the same run.

Workloads:
  solver    J Sigma + Sigma J^T = -D for the 200 x 200 Jacobian of a 100-region Stuart-Landau
            network at rest: forward, and value-and-gradient of sum(R * Sigma) w.r.t. J and D,
            for the oldest solver (60 fixed sign iterations in a `fori_loop`, autodiff through
            every iteration), the previous one (sign iteration to a tolerance, implicit
            derivatives whose tangent and adjoint solves rerun the iteration, an LU each), the
            new one (the same, the tangent and adjoint solves replaying the recorded inverses:
            matrix products only) and an eigendecomposition-based solve (its adjoint reusing
            the eigenvectors of J), with the error against scipy.
  fc_step   one jitted value-and-gradient of the FC objective (`fit.FCObjective` with
            `fit.Linear`, the generic path of `fit.fit_connectome_fc`) w.r.t. G and alpha of
            that network: the baseline (copies kept below of the fixed-iteration Newton
            equilibrium and the two-eig damping ratio), the previous step (early-stopping
            Newton, one-eig damping ratio, the previous solver), the new step (the new solver;
            the stability penalty's damping ratio from a Cholesky test, its eig only where the
            test fails) and the baseline with the oldest solver too; with the parts of the new
            step. Target: <= 0.05 s per step on 2 cores.
  regional_spectrum_step
            one value-and-gradient w.r.t. p of a regional spectral objective
            (`fit.SpectrumObjective(..., method=fit.Linear(), regional=True)`): 68 independent
            Jansen-Rit nodes (vmapped Newton), 40 frequencies; baseline and new.
  demo_fc_fit
            the demo's FC fit (`rosetta-jax demo`: `fit.fit_connectome_fc`, 100 steps at most,
            early stopping, its report and figure) in a fresh process, wall time with
            compilation; then the same fit twice more in that process (the compiled step,
            starts and report reused: no compilation). Target: < 15 s on 2 cores.

Times are seconds after compilation, median of the repeated calls (interleaved). XLA calls
LAPACK through scipy's OpenBLAS, whose thread pool stalls when the cores are shared with other
work (a 200 x 200 LU went from 0.7 ms to 130 ms on a busy 2-core machine): the figures in
benchmarks/results were taken with one BLAS thread (XLA's own thread pool uses the cores).

Usage: OPENBLAS_NUM_THREADS=1 python benchmarks/bench_lyapunov.py [--repeats 7]
"""

from __future__ import annotations

import argparse
import functools as ft
import json
import math
import os
import subprocess
import sys
import time
from contextlib import contextmanager

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import scipy.linalg as sla
from _common import emit, machine, time_interleaved

import rosetta_jax as rj
from rosetta_jax import fit, models, noise
from rosetta_jax.analysis import _linear, lyapunov_covariance
from rosetta_jax.analysis._dynamics import _flat_field, jacobian
from rosetta_jax.analysis._lyapunov import _h, _sign_solve
from rosetta_jax.fit import _methods
from rosetta_jax.fit._objectives import _corr, _upper


N_REGIONS = 100
SIGMA = 0.02
N_JR = 68


def old_lyapunov(J, D, iterations=60):
    """The solver before issue 16: a fixed number of scaled sign iterations, autodiff through
    all of them (the baseline)."""
    A, Q = jnp.asarray(J), jnp.asarray(D)
    n = A.shape[-1]

    def body(_, carry):
        A, Q = carry
        Ainv = jnp.linalg.inv(A)
        c = jnp.exp(-jnp.linalg.slogdet(A)[1] / n)
        return 0.5 * (c * A + Ainv / c), 0.5 * (c * Q + (Ainv @ Q @ jnp.conj(Ainv).T) / c)

    return 0.5 * jax.lax.fori_loop(0, iterations, body, (A, Q))[1]


def previous_lyapunov(J, D):
    """The solver before the recorded iterations: the sign iteration to a tolerance, its
    tangent and adjoint solves rerunning it (an LU per iteration)."""
    A, Q = jnp.asarray(J), jnp.asarray(D)
    return _previous(A, Q, math.sqrt(float(jnp.finfo(A.dtype).eps)), 50)


@ft.partial(jax.custom_jvp, nondiff_argnums=(2, 3))
def _previous(A, Q, tol, max_iterations):
    return _sign_solve(A, Q, tol, max_iterations)[0]


@_previous.defjvp
def _previous_jvp(tol, max_iterations, primals, tangents):
    A, Q = primals
    dA, dQ = tangents
    S = _previous(A, Q, tol, max_iterations)
    R = dQ + dA @ S + S @ _h(dA)
    return S, jax.lax.custom_linear_solve(
        lambda X: -(A @ X + X @ _h(A)),
        R,
        lambda _, b: _sign_solve(A, b, tol, max_iterations)[0],
        lambda _, b: _sign_solve(A.T, b, tol, max_iterations)[0],
    )


def _modal(V, Vinv, lam, Q):
    """X with J X + X J^T = -Q for real J = V diag(lam) V^{-1}."""
    C = Vinv @ Q @ jnp.conj(Vinv).T
    X = -C / (lam[:, None] + jnp.conj(lam)[None, :])
    return jnp.real(V @ X @ jnp.conj(V).T)


@jax.custom_vjp
def eig_lyapunov(J, D):
    """An eigendecomposition-based solve (real J): diagonalise, divide, transform back. Not
    robust: a defective or nearly defective J has an ill-conditioned eigenvector matrix."""
    return eig_lyapunov_fwd(J, D)[0]


def eig_lyapunov_fwd(J, D):
    lam, V = jnp.linalg.eig(J)
    Vinv = jnp.linalg.inv(V)
    S = _modal(V, Vinv, lam, D.astype(V.dtype))
    return S, (S, V, Vinv, lam)


def eig_lyapunov_bwd(res, G):
    # J^T = V^{-T} diag(lam) V^T: the adjoint equation J^T L + L J = -G reuses the eigenvectors.
    S, V, Vinv, lam = res
    L = _modal(Vinv.T, V.T, lam, G.astype(V.dtype))
    return L @ S.T + L.T @ S, L


eig_lyapunov.defvjp(eig_lyapunov_fwd, eig_lyapunov_bwd)


@contextmanager
def lyapunov_solver(solver):
    """Swap the solver that `linear_fc` calls (read when it is traced)."""
    saved = _linear.lyapunov_covariance
    _linear.lyapunov_covariance = solver
    try:
        yield
    finally:
        _linear.lyapunov_covariance = saved


def network(seed=0):
    """The 100-region Stuart-Landau network of the fits (random symmetric weights)."""
    rng = np.random.default_rng(seed)
    W = rng.uniform(size=(N_REGIONS, N_REGIONS))
    W = 0.5 * (W + W.T)
    np.fill_diagonal(W, 0.0)
    node = models.StuartLandau(alpha=-0.05, omega=2 * math.pi * 0.05)
    return rj.Network(node, W, G=0.5, normalize="max_eigenvalue")


def jacobian_and_noise(net):
    y = jnp.zeros_like(net.initial_state())
    J = _linear._fields_jacobian(net, y, None)
    return J, _linear._noise_covariance(net, y, None, noise.Additive(SIGMA))(0.0)


def bench_solver(repeats):
    J, D = jacobian_and_noise(network())
    R = jnp.asarray(np.random.default_rng(1).standard_normal(J.shape))
    ref = sla.solve_continuous_lyapunov(np.asarray(J), -np.asarray(D))
    solvers = {
        "old": old_lyapunov,
        "previous": previous_lyapunov,
        "new": lyapunov_covariance,
        "eig": eig_lyapunov,
    }
    calls = {}
    for name, solve in solvers.items():
        loss = lambda J, D, solve=solve: jnp.sum(R * solve(J, D))
        calls[f"{name}_forward"] = (jax.jit(solve), (J, D))
        calls[f"{name}_value_and_grad"] = (jax.jit(jax.value_and_grad(loss, (0, 1))), (J, D))
    t = time_interleaved(calls, repeats=repeats)
    grads = {k: calls[f"{k}_value_and_grad"][0](J, D)[1] for k in solvers}
    out = {}
    for name in solvers:
        S = np.asarray(calls[f"{name}_forward"][0](J, D))
        out[name] = {
            "forward_s": t[f"{name}_forward"]["run_median_s"],
            "value_and_grad_s": t[f"{name}_value_and_grad"]["run_median_s"],
            "compile_forward_s": t[f"{name}_forward"]["compile_s"],
            "compile_value_and_grad_s": t[f"{name}_value_and_grad"]["compile_s"],
            "relative_error_vs_scipy": float(np.max(np.abs(S - ref)) / np.max(np.abs(ref))),
            "grad_J_relative_difference_vs_new": float(
                np.max(np.abs(grads[name][0] - grads["new"][0])) / np.max(np.abs(grads["new"][0]))
            ),
        }
    tol = math.sqrt(float(jnp.finfo(J.dtype).eps))
    out["new"]["iterations"] = out["previous"]["iterations"] = int(_sign_solve(J, D, tol, 50)[1])
    out["old"]["iterations"] = 60
    new_vg = out["new"]["value_and_grad_s"]
    out["speedup_value_and_grad"] = out["old"]["value_and_grad_s"] / new_vg
    out["speedup_value_and_grad_vs_previous"] = out["previous"]["value_and_grad_s"] / new_vg
    out["workload"] = f"{2 * N_REGIONS} x {2 * N_REGIONS} Jacobian, float64"
    return out


# The step as it was before the equilibrium and damping ratio were sped up (the baseline):
# Newton with a fixed number of iterations, each computing a least-squares (SVD) solve too,
# and the damping ratio from two eigendecompositions (J and J^T).


@eqx.filter_jit
def old_newton(model, y0, args, iterations=60):
    f, shape = _flat_field(model, args)
    x = y0.reshape(-1)

    def step(x):
        J = jax.jacfwd(f)(x)
        r = f(x)
        dx = jnp.linalg.solve(J, -r)
        dx = jnp.where(jnp.all(jnp.isfinite(dx)), dx, jnp.linalg.lstsq(J, -r)[0])
        scales = 0.5 ** jnp.arange(8)
        norms = jax.vmap(lambda s: jnp.linalg.norm(f(x + s * dx)))(scales)
        best = jnp.argmax(norms < jnp.linalg.norm(r))
        s = jnp.where(jnp.any(norms < jnp.linalg.norm(r)), scales[best], scales[-1])
        return jnp.where(jnp.all(jnp.isfinite(x + s * dx)), x + s * dx, x)

    x = jax.lax.fori_loop(0, iterations, lambda _, x: step(x), x)
    return x.reshape(shape), jnp.linalg.norm(f(x))


def old_equilibrium(model, y_guess, args=None, iterations=40):
    """`analysis.equilibrium` before: fixed iterations, then the implicit step (traced)."""
    shape = model.initial_state().shape
    frozen = jax.lax.stop_gradient(model)
    y, _ = old_newton(frozen, jax.lax.stop_gradient(jnp.asarray(y_guess)), args, iterations)
    f = lambda x: model.vector_field(0.0, x.reshape(shape), args).reshape(-1)
    x = jax.lax.stop_gradient(y.reshape(-1))
    J = jax.lax.stop_gradient(jax.jacfwd(f)(x))
    step = jnp.linalg.solve(J, f(x))
    tol = 10.0 * math.sqrt(float(jnp.finfo(x.dtype).eps))
    ok = jnp.linalg.norm(jax.lax.stop_gradient(step)) <= tol * (1.0 + jnp.linalg.norm(x))
    return jnp.where(ok, x - step, jnp.nan).reshape(shape)


def old_damping_ratio(model, y):
    """`fit.damping_ratio` before: right eigenvectors of J, left ones from eig(J^T)."""
    J = jacobian(model, y)
    Js = jax.lax.stop_gradient(J)
    lam, V = jnp.linalg.eig(Js)
    zeta = -lam.real / jnp.maximum(jnp.abs(lam), 1e-12)
    k = jnp.argmin(zeta)
    lam_k, v = lam[k], V[:, k]
    mu, U = jnp.linalg.eig(Js.T)
    u = U[:, jnp.argmin(jnp.abs(mu - lam_k))]
    lam_k = lam_k + (u @ (J - Js).astype(v.dtype) @ v) / (u @ v)
    return -lam_k.real / jnp.maximum(jnp.abs(lam_k), 1e-12)


def previous_equilibrium(model, y_guess):
    """`fit.Linear.equilibrium` (unchanged since the early-stopping Newton)."""
    return _methods.equilibrium(model, y_guess, iterations=40)


# The versions of the FC step written out as `FCObjective` computes them with `fit.Linear`
# (equilibrium, damping ratio, Lyapunov solver), for the baselines: `new` is the objective.
VERSIONS = {
    "baseline": (old_equilibrium, old_damping_ratio, previous_lyapunov),
    "previous": (previous_equilibrium, _methods.damping_ratio, previous_lyapunov),
    "old_solver_baseline": (old_equilibrium, old_damping_ratio, old_lyapunov),
}
REGIONAL_VERSIONS = {
    "baseline": (old_equilibrium, old_damping_ratio),
    "new": (_methods.equilibrium, _methods.damping_ratio),
}


def fc_losses(net):
    """The FC loss of `fit.FCObjective` (fit.Linear) as a function of (G, alpha), by version;
    its target is the model's own FC at other parameters. Also `at(G, alpha)`, the model."""
    y0 = jnp.zeros_like(net.initial_state())
    method = fit.Linear(y_guess=y0)
    at = lambda G, a: eqx.tree_at(lambda m: (m.G, m.node.alpha), net, (G, a))
    target = _linear.linear_fc(at(0.8, -0.1), noise.Additive(SIGMA), y_star=y0)
    objective = fit.FCObjective(fit.FCTarget(target), noise.Additive(SIGMA), method=method)
    losses = {"new": lambda G, a: objective(at(G, a))[0]}

    def written_out(G, a, equilibrium, damping):
        m = at(G, a)
        y = equilibrium(m, y0)
        fc = _linear.linear_fc(m, noise.Additive(SIGMA), y_star=y)
        return 1.0 - _corr(_upper(fc), _upper(target)) + method.penalty(damping(m, y))

    for name, (equilibrium, damping, _) in VERSIONS.items():
        losses[name] = ft.partial(written_out, equilibrium=equilibrium, damping=damping)
    return losses, at, method


def _compile(specs):
    """Jit and compile each `name: (fn, args[, solver])` with that Lyapunov solver in
    `linear_fc` (read at trace time). Returns the `(fn, args)` calls and each first call's
    time (compile and one run) [s]."""
    calls, first = {}, {}
    for name, (fn, args, *solver) in specs.items():
        jitted = jax.jit(fn)
        with lyapunov_solver(solver[0] if solver else lyapunov_covariance):
            t = time.perf_counter()
            jax.block_until_ready(jitted(*args))
            first[name] = time.perf_counter() - t
        calls[name] = (jitted, args)
    return calls, first


def _fc_step_parts(net, at, method, p):
    """The parts of the new step, each as a value-and-gradient w.r.t. (G, alpha)."""
    y0 = jnp.zeros_like(net.initial_state())
    vg = lambda f: jax.value_and_grad(f, (0, 1))
    fc = lambda G, a: jnp.sum(_linear.linear_fc(at(G, a), noise.Additive(SIGMA), y_star=y0))
    J, D = jacobian_and_noise(net)
    R = jnp.ones_like(J)
    return {
        "equilibrium": (vg(lambda G, a: jnp.sum(method.equilibrium(at(G, a)))), p),
        "penalised_damping": (vg(lambda G, a: method.penalised_damping(at(G, a), y0)), p),
        "exact_damping_ratio": (vg(lambda G, a: _methods.damping_ratio(at(G, a), y0)), p),
        "linear_fc": (vg(fc), p),
        "lyapunov_value_and_grad": (
            jax.value_and_grad(lambda J, D: jnp.sum(R * lyapunov_covariance(J, D)), (0, 1)),
            (J, D),
        ),
    }


def bench_fc_step(repeats):
    net = network()
    losses, at, method = fc_losses(net)
    p = (jnp.asarray(net.G), jnp.asarray(net.node.alpha))
    vg = lambda f: jax.value_and_grad(f, (0, 1))
    specs = {}
    for version, loss in losses.items():
        solver = () if version == "new" else (VERSIONS[version][2],)
        specs[f"{version}_value_and_grad"] = (vg(loss), p, *solver)
        if version != "old_solver_baseline":
            specs[f"{version}_forward"] = (loss, p, *solver)
    parts = _fc_step_parts(net, at, method, p)
    specs.update({f"part_{k}": v for k, v in parts.items()})
    calls, first = _compile(specs)
    t = time_interleaved(calls, repeats=repeats)
    med = lambda k: t[k]["run_median_s"]
    out = {}
    for v in ("baseline", "previous", "new"):
        loss, grad = calls[f"{v}_value_and_grad"][0](*p)
        out[v] = {
            "forward_s": med(f"{v}_forward"),
            "value_and_grad_s": med(f"{v}_value_and_grad"),
            "value_and_grad_min_s": t[f"{v}_value_and_grad"]["run_s"],
            "first_call_value_and_grad_s": first[f"{v}_value_and_grad"],
            "loss": float(loss),
            "grad": [float(g) for g in grad],
        }
    out["new"]["parts_value_and_grad_s"] = {k: med(f"part_{k}") for k in parts}
    out["new"]["damping_ratio"] = float(
        _methods.damping_ratio(net, jnp.zeros(net.initial_state().shape))
    )
    out["old_solver_baseline_value_and_grad_s"] = med("old_solver_baseline_value_and_grad")
    out["speedup_value_and_grad"] = out["baseline"]["value_and_grad_s"] / med("new_value_and_grad")
    out["speedup_value_and_grad_vs_previous"] = out["previous"]["value_and_grad_s"] / med(
        "new_value_and_grad"
    )
    out["target_s"] = 0.05
    out["workload"] = (
        f"{N_REGIONS}-region Stuart-Landau network (alpha -0.05, omega 2 pi 0.05, G 0.5, "
        "random symmetric weights, max-eigenvalue normalised), fit.FCObjective with "
        "fit.Linear(y_guess=zeros), value_and_grad w.r.t. (G, alpha), float64; baseline: the "
        "fixed-iteration Newton (40 steps with an SVD each), the two-eig damping ratio and the "
        "previous solver; previous: the early-stopping Newton, the one-eig damping ratio and "
        "the previous solver; new: the objective itself (the new solver, the Cholesky test "
        "before the eig); old_solver_baseline: the baseline with the pre-issue-16 solver"
    )
    return out


def regional_loss():
    """A regional spectral fit: 68 independent Jansen-Rit nodes, 40 frequencies; loss of p."""
    node = models.JansenRit(p=jnp.full(N_JR, 20.0))
    freqs = np.linspace(2.0, 40.0, 40)
    psd = 1.0 / (1.0 + freqs[:, None]) * (1.0 + 0.01 * np.arange(N_JR))[None, :]
    objective = fit.SpectrumObjective(
        fit.SpectrumTarget(freqs, psd), noise.Additive(1.0), method=fit.Linear(), regional=True
    )
    return lambda p: objective(eqx.tree_at(lambda m: m.p, node, p))[0], node.p


@contextmanager
def linear_parts(version):
    """Swap the equilibrium and damping ratio that `fit.Linear.spectrum` calls."""
    saved = _methods.equilibrium, _methods.damping_ratio
    _methods.equilibrium, _methods.damping_ratio = REGIONAL_VERSIONS[version]
    try:
        yield
    finally:
        _methods.equilibrium, _methods.damping_ratio = saved


def bench_regional_step(repeats):
    loss, p = regional_loss()
    calls, first = {}, {}
    for version in REGIONAL_VERSIONS:
        for kind, fn in (("forward", loss), ("value_and_grad", jax.value_and_grad(loss))):
            name = f"{version}_{kind}"
            jitted = jax.jit(lambda p, fn=fn: fn(p))  # a fresh wrapper: traced with the swap
            with linear_parts(version):
                t = time.perf_counter()
                jax.block_until_ready(jitted(p))
                first[name] = time.perf_counter() - t
            calls[name] = (jitted, (p,))
    t = time_interleaved(calls, repeats=repeats)
    values = {v: calls[f"{v}_value_and_grad"][0](p) for v in REGIONAL_VERSIONS}
    out = {
        v: {
            "forward_s": t[f"{v}_forward"]["run_median_s"],
            "value_and_grad_s": t[f"{v}_value_and_grad"]["run_median_s"],
            "first_call_value_and_grad_s": first[f"{v}_value_and_grad"],
            "loss": float(values[v][0]),
        }
        for v in REGIONAL_VERSIONS
    }
    d = values["new"][1] - values["baseline"][1]
    out["grad_max_relative_difference"] = float(
        jnp.max(jnp.abs(d)) / jnp.max(jnp.abs(values["baseline"][1]))
    )
    out["speedup_value_and_grad"] = (
        out["baseline"]["value_and_grad_s"] / out["new"]["value_and_grad_s"]
    )
    out["workload"] = (
        f"fit.SpectrumObjective(regional=True, method=fit.Linear()) on JansenRit(p=full({N_JR}, "
        "20)), 40 frequencies 2-40 Hz, value_and_grad w.r.t. p, float64"
    )
    return out


# Run in a fresh process: the demo's FC fit, cold (its wall time includes every compilation),
# then the same one-call fit twice more, counting the XLA compilations of each.
DEMO_SCRIPT = """
import json, sys, tempfile, time
t0 = time.perf_counter()
import jax, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from pathlib import Path
from rosetta_jax import fit
from rosetta_jax.cli._demo import _demo_fit, _hcp_fc
compiles = []
jax.monitoring.register_event_duration_secs_listener(
    lambda name, d, **_: compiles.append(d)
    if name == "/jax/core/compile/backend_compile_duration" else None
)
out = {"import_s": time.perf_counter() - t0, "repeats": []}
with jax.enable_x64(True), tempfile.TemporaryDirectory() as tmp:
    demo = _demo_fit(fit.fit_connectome_fc, 100, "fit_fc.png", _hcp_fc, out=Path(tmp), plt=plt,
                     progress=False)
    out["demo"] = dict(demo, compilations=len(compiles), compile_s=sum(compiles))
    for _ in range(2):
        compiles.clear()
        t = time.perf_counter()
        res = fit.fit_connectome_fc(steps=100, progress=False)
        out["repeats"].append({
            "seconds": time.perf_counter() - t, "steps": int(res.meta["stopped_at"]),
            "first_step_s": float(res.meta["step_seconds"][0]),
            "fc_correlation": float(res.goodness["fc_correlation"]),
            "compilations": len(compiles), "compile_s": sum(compiles),
        })
print(json.dumps(out))
"""


def bench_demo_fc_fit():
    run = subprocess.run(
        [sys.executable, "-c", DEMO_SCRIPT], capture_output=True, text=True, check=True
    )
    out = json.loads(run.stdout.strip().splitlines()[-1])
    demo = out["demo"]
    step_s = np.median([r["seconds"] for r in out["repeats"]])
    return {
        "wall_s": demo["seconds"],
        "target_s": 15.0,
        "steps_run": demo["steps"],
        "fc_correlation": demo["fc_correlation"],
        "G": demo["G"],
        "alpha": demo["alpha"],
        "compilations": demo["compilations"],
        "compile_s": demo["compile_s"],
        "repeated_fit_s": [r["seconds"] for r in out["repeats"]],
        "repeated_fit_compilations": [r["compilations"] for r in out["repeats"]],
        "repeated_fit_first_step_s": [r["first_step_s"] for r in out["repeats"]],
        "speedup_repeated_vs_first": demo["seconds"] / step_s,
        "workload": (
            "rosetta-jax demo's FC fit: fit.fit_connectome_fc(steps=100) (80-region HCP "
            "connectome, Stuart-Landau nodes, G and alpha, fit.Linear FC, Adam, "
            "fit.Plateau early stopping), its report and figure, float64, a fresh process; "
            "then fit.fit_connectome_fc(steps=100) twice more in that process"
        ),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    jax.config.update("jax_enable_x64", True)
    result = {
        "benchmark": "lyapunov",
        "machine": machine(),
        "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
        "notes": "Median seconds after compilation; float64.",
        "solver": bench_solver(args.repeats),
        "fc_step": bench_fc_step(args.repeats),
        "regional_spectrum_step": bench_regional_step(args.repeats),
        "demo_fc_fit": bench_demo_fc_fit(),
    }
    emit("bench_lyapunov", result)


if __name__ == "__main__":
    main()
