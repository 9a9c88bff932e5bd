"""Small resumable jobs that the reliability and multi-process tests run in subprocesses.

    python tests/jobs.py sweep STORE_DIR OUT.npz
    python tests/jobs.py fit STORE_DIR OUT.npz
    python tests/jobs.py distributed STORE_DIR OUT.npz PROCESS_ID PORT [KILL_AFTER_CHUNKS]

Each prints "ready" once imported (so a test can time a kill from then), runs its job into
STORE_DIR (resuming whatever is there) and writes its result to OUT.npz.
"""

import os
import signal
import sys


SWEEP_SPACE = {
    "p": [60.0, 90.0, 120.0, 150.0, 180.0, 210.0, 240.0, 270.0, 300.0, 330.0, 80.0, 110.0]
}


def sweep_job(path, chunk_size=1, on_chunk=None):
    import rosetta_jax as rj
    from rosetta_jax import models, noise

    space = rj.Space.samples(SWEEP_SPACE)
    return rj.sweep(
        models.JansenRit(),
        space,
        features=["mean", "std", "peak_frequency"],
        t1=0.5,
        dt=1e-4,
        noise=noise.Additive(30.0),
        path=path,
        chunk_size=chunk_size,
        progress=False,
        on_chunk=on_chunk,
    )


def fit_job(path):
    import jax.numpy as jnp
    import optax

    from rosetta_jax import fit, models, noise

    f = jnp.linspace(2.0, 40.0, 40)
    target = fit.SpectrumTarget(
        f, 1.0 / (1.0 + (f / 8.0) ** 2) + 0.3 * jnp.exp(-((f - 10.0) ** 2) / 4.0)
    )
    y0 = jnp.array([0.0935, 19.08, 12.54, 0.0, 0.0, 0.0])  # near JR's focus at p = 60
    obj = fit.SpectrumObjective(target, noise.Additive(1.0), method=fit.Linear(y_guess=y0))
    return fit.fit(
        models.JansenRit(p=60.0),
        obj,
        params=lambda m: (m.p, m.a),
        names=["p", "a"],
        transforms=[fit.Positive(100.0), fit.Positive(100.0)],
        optimizer=optax.adam(0.03),
        steps=40,
        n_starts=2,
        checkpoint=path,
        checkpoint_every=2,
        progress=False,
    )


def main(argv):
    kind, path, out = argv[:3]
    import jax

    if kind == "distributed":
        pid, port = int(argv[3]), int(argv[4])
        kill_after = int(argv[5]) if len(argv) > 5 else -1
        jax.distributed.initialize(
            f"localhost:{port}",
            num_processes=2,
            process_id=pid,
            initialization_timeout=120,
            heartbeat_timeout_seconds=10,
            shutdown_timeout_seconds=10,
        )
    jax.config.update("jax_enable_x64", True)
    import numpy as np

    import rosetta_jax  # noqa: F401  (imported before "ready": kills target the job itself)

    print("ready", flush=True)
    if kind == "sweep":
        ds = sweep_job(path)
        np.savez(out, **{k: ds[k].values for k in ("mean", "std", "peak_frequency")})
    elif kind == "fit":
        res = fit_job(path)
        np.savez(
            out,
            history=res.loss_history,
            p=res.params["p"],
            a=res.params["a"],
            starts_p=res.starts["p"],
        )
    elif kind == "distributed":
        done = []

        def on_chunk(c):
            done.append(c)
            if len(done) == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)

        ds = sweep_job(path, chunk_size=2, on_chunk=on_chunk)
        np.savez(out, computed=np.asarray(done, dtype=int), p=ds["p"].values)
    else:
        raise SystemExit(f"unknown job {kind!r}")
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
