"""Observation models: from simulated regional activity to what is recorded.

* The per-node observable is `network.observe(y)` (saved by `simulate` as `Solution.observed`).
* `LeadField(gain)` projects regional sources to EEG/MEG sensors. `sphere_gain` builds an
  EEG gain matrix for current dipoles in a homogeneous conducting sphere (closed form, no
  download); `standard_1020_positions` gives electrode positions on that sphere, from MNE's
  standard montages when MNE is installed (`pip install rosetta-jax[mne]`) or from the 10-20
  geometry otherwise.
* `BalloonWindkessel` and `bold` turn neural activity into a BOLD signal sampled at a TR.
"""

from __future__ import annotations

import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float

from ._validation import check_finite, check_positive


class LeadField(eqx.Module):
    """A linear forward model: sensors = gain @ regions.

    Args:
        gain: shape `(n_sensors, n_regions)`.
        sensor_names: optional names of the sensors.

    Calling it on an array whose last axis holds the regions returns the sensor signals
    (last axis = sensors): `LeadField(gain)(sol.observed)` has shape `(n_saves, n_sensors)`.
    """

    gain: Float[Array, "n_sensors n_regions"] = eqx.field(converter=jnp.asarray)
    sensor_names: tuple[str, ...] | None = eqx.field(default=None, static=True)

    def __check_init__(self):
        if jnp.ndim(self.gain) != 2:
            raise ValueError(
                f"LeadField.gain must be (n_sensors, n_regions); got shape {jnp.shape(self.gain)}."
            )
        check_finite("LeadField", "gain", self.gain)
        if self.sensor_names is not None and len(self.sensor_names) != self.gain.shape[0]:
            raise ValueError("LeadField.sensor_names must name every sensor (row of gain).")

    @property
    def n_sensors(self) -> int:
        return self.gain.shape[0]

    def __call__(
        self, regions: Float[ArrayLike, "*batch n_regions"]
    ) -> Float[Array, "*batch n_sensors"]:
        regions = jnp.asarray(regions)
        if regions.shape[-1] != self.gain.shape[1]:
            raise ValueError(
                f"LeadField expects {self.gain.shape[1]} regions on the last axis; "
                f"got shape {regions.shape}."
            )
        return regions @ self.gain.T


def sphere_gain(
    positions_mm: Float[ArrayLike, "n_regions 3"],
    sensors_mm: Float[ArrayLike, "n_sensors 3"],
    orientations: Float[ArrayLike, "n_regions 3"] | None = None,
    radius_mm: float | None = None,
    conductivity: float = 0.33,
    average_reference: bool = True,
    centre_mm: Float[ArrayLike, " 3"] | None = None,
) -> Float[np.ndarray, "n_sensors n_regions"]:
    """EEG gain of current dipoles in a homogeneous conducting sphere (closed form).

    The potential at a surface point $r$ of a dipole $q$ at $r_q$, with $d = r - r_q$,
    is (Brody, Terry & Ideker 1973; Mosher, Leahy & Lewis 1999)
    $$V = \\frac{q}{4\\pi\\sigma}\\cdot\\Big[\\frac{2d}{|d|^3}
    + \\frac{|d|\\,r + |r|\\,d}{|r||d|(|r||d| + r\\cdot d)}\\Big].$$

    Args:
        positions_mm: dipole (region) positions, shape `(n_regions, 3)`, mm.
        sensors_mm: electrode positions relative to the sphere's centre, shape
            `(n_sensors, 3)`, mm; projected onto the sphere.
        orientations: unit dipole orientations `(n_regions, 3)`; default radial (outward).
        radius_mm: sphere radius; default the mean electrode distance from the centre.
        conductivity: sigma [S/m], default 0.33.
        average_reference: re-reference to the average of the electrodes (default True).
        centre_mm: the sphere's centre in the coordinates of `positions_mm` (for MNI region
            centres, e.g. their mean); default the origin.

    Returns:
        gain `(n_sensors, n_regions)` in volts per ampere-metre (V/(A m)).
    """
    rq = np.asarray(positions_mm, dtype=float)
    if centre_mm is not None:
        rq = rq - np.asarray(centre_mm, dtype=float)
    rq = rq * 1e-3
    rs = np.asarray(sensors_mm, dtype=float) * 1e-3
    if rq.ndim != 2 or rq.shape[1] != 3 or rs.ndim != 2 or rs.shape[1] != 3:
        raise ValueError("positions_mm and sensors_mm must have shape (n, 3).")
    R = float(np.mean(np.linalg.norm(rs, axis=1))) if radius_mm is None else radius_mm * 1e-3
    rs = rs / np.linalg.norm(rs, axis=1, keepdims=True) * R
    if np.any(np.linalg.norm(rq, axis=1) >= R):
        raise ValueError(
            "Every dipole must lie inside the sphere (|position - centre| < radius); pass "
            "centre_mm (e.g. the mean of the region centres) or a larger radius_mm."
        )
    if orientations is None:
        norm = np.linalg.norm(rq, axis=1, keepdims=True)
        q = np.where(norm > 0, rq / np.where(norm > 0, norm, 1.0), np.array([0.0, 0.0, 1.0]))
    else:
        q = np.asarray(orientations, dtype=float)
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
    d = rs[:, None, :] - rq[None, :, :]  # (sensors, regions, 3)
    dn = np.linalg.norm(d, axis=-1)
    r = rs[:, None, :]
    rn = np.linalg.norm(rs, axis=-1)[:, None]
    rd = np.sum(r * d, axis=-1)
    term = (
        2 * d / dn[..., None] ** 3
        + (dn[..., None] * r + rn[..., None] * d) / ((rn * dn * (rn * dn + rd))[..., None])
    )
    gain = np.sum(term * q[None], axis=-1) / (4 * math.pi * conductivity)
    if average_reference:
        gain = gain - gain.mean(axis=0, keepdims=True)
    return gain


# 10-20 electrodes: (name, polar angle from the vertex [deg], azimuth [deg], 0 = nose, + = left),
# one line per row of the montage, front to back.
# fmt: off
_TEN_TWENTY = (
    ("Fp1", 72, 18), ("Fpz", 72, 0), ("Fp2", 72, -18),
    ("F7", 72, 54), ("F3", 48, 40), ("Fz", 36, 0), ("F4", 48, -40), ("F8", 72, -54),
    ("T7", 72, 90), ("C3", 36, 90), ("Cz", 0, 0), ("C4", 36, -90), ("T8", 72, -90),
    ("P7", 72, 126), ("P3", 48, 140), ("Pz", 36, 180), ("P4", 48, -140), ("P8", 72, -126),
    ("O1", 72, 162), ("Oz", 72, 180), ("O2", 72, -162),
)
# fmt: on


def standard_1020_positions(
    radius_mm: float = 95.0, use_mne: bool | None = None
) -> tuple[tuple[str, ...], Float[np.ndarray, "n 3"]]:
    """Positions of the 10-20 EEG electrodes on a sphere, with no download.

    Args:
        radius_mm: sphere radius.
        use_mne: take MNE's `standard_1020` montage (projected to the sphere) when True; when
            None (default), use MNE if it is installed, else the 10-20 geometry.

    Returns:
        `(names, positions)` with positions of shape `(n, 3)` in mm (x right, y front, z up).
    """
    if use_mne is None or use_mne:
        try:
            import mne  # noqa: F401
        except ImportError:
            if use_mne:
                raise ImportError(
                    "use_mne=True needs MNE: pip install 'rosetta-jax[mne]'"
                ) from None
        else:
            montage = mne.channels.make_standard_montage("standard_1020")
            pos = montage.get_positions()["ch_pos"]
            names = [n for n, *_ in _TEN_TWENTY if n in pos]
            xyz = np.array([pos[n] for n in names])
            xyz = xyz - xyz.mean(axis=0) * np.array([1.0, 1.0, 0.0])
            xyz = xyz / np.linalg.norm(xyz, axis=1, keepdims=True) * radius_mm
            return tuple(names), xyz
    names, xyz = [], []
    for name, polar, azim in _TEN_TWENTY:
        th, ph = math.radians(polar), math.radians(azim)
        # azimuth 0 = nose (+y), +90 = left (-x)
        xyz.append([-math.sin(th) * math.sin(ph), math.sin(th) * math.cos(ph), math.cos(th)])
        names.append(name)
    return tuple(names), np.asarray(xyz) * radius_mm


class BalloonWindkessel(eqx.Module):
    """Balloon-Windkessel haemodynamics: neural activity to BOLD (Friston et al. 2000).

    $$\\dot s = z - \\kappa s - \\gamma(f - 1),\\quad \\dot f = s,\\quad
    \\tau\\dot v = f - v^{1/\\alpha},\\quad
    \\tau\\dot q = \\frac{f}{\\rho}\\big(1 - (1-\\rho)^{1/f}\\big) - v^{1/\\alpha}\\frac{q}{v},$$
    $$y = V_0\\,[k_1(1 - q) + k_2(1 - q/v) + k_3(1 - v)],\\quad k_1 = 7\\rho,\\ k_2 = 2,\\
    k_3 = 2\\rho - 0.2.$$

    State `(s, f, v, q)` (vasodilatory signal, inflow, volume, deoxyhaemoglobin), time in s.
    Defaults from Friston et al., NeuroImage 12:466 (2000).

    Args:
        kappa: signal decay [1/s], 0.65. gamma: autoregulation [1/s], 0.41.
        tau: transit time [s], 0.98. alpha: Grubb's exponent, 0.32.
        rho: resting oxygen extraction fraction, 0.34. V0: resting blood volume fraction, 0.02.
    """

    kappa: Array = eqx.field(default=0.65, converter=jnp.asarray)
    gamma: Array = eqx.field(default=0.41, converter=jnp.asarray)
    tau: Array = eqx.field(default=0.98, converter=jnp.asarray)
    alpha: Array = eqx.field(default=0.32, converter=jnp.asarray)
    rho: Array = eqx.field(default=0.34, converter=jnp.asarray)
    V0: Array = eqx.field(default=0.02, converter=jnp.asarray)

    def __check_init__(self):
        for name in ("kappa", "gamma", "tau", "alpha", "rho", "V0"):
            check_positive("BalloonWindkessel", name, getattr(self, name))

    def vector_field(
        self, t: ArrayLike, x: Float[Array, " 4 *shape"], z: Float[ArrayLike, "*shape"]
    ) -> Float[Array, " 4 *shape"]:
        """Time derivative [1/s] of the state `(s, f, v, q)` under the neural drive `z`."""
        s, f, v, q = x[0], x[1], x[2], x[3]
        E = 1.0 - (1.0 - self.rho) ** (1.0 / f)
        vout = v ** (1.0 / self.alpha)
        return jnp.stack(
            [
                z - self.kappa * s - self.gamma * (f - 1.0),
                s,
                (f - vout) / self.tau,
                (f * E / self.rho - vout * q / v) / self.tau,
            ]
        )

    def initial_state(self, shape: tuple[int, ...] = ()) -> Float[Array, " 4 *shape"]:
        """The resting state `(0, 1, 1, 1)`, for activity of shape `shape`."""
        one = jnp.ones(shape)
        return jnp.stack([0 * one, one, one, one])

    def signal(self, x: Float[Array, " 4 *shape"]) -> Float[Array, "*shape"]:
        """The BOLD signal $y$ of a state."""
        k1, k2, k3 = 7.0 * self.rho, 2.0, 2.0 * self.rho - 0.2
        v, q = x[2], x[3]
        return self.V0 * (k1 * (1 - q) + k2 * (1 - q / v) + k3 * (1 - v))

    def steady_state(
        self, z: Float[ArrayLike, "*shape"]
    ) -> tuple[Float[Array, " 4 *shape"], Float[Array, "*shape"]]:
        """State and BOLD value reached under a constant input `z`."""
        f = 1.0 + z / self.gamma
        v = f**self.alpha
        q = v * (1.0 - (1.0 - self.rho) ** (1.0 / f)) / self.rho
        x = jnp.stack([jnp.zeros_like(f), f, v, q])
        return x, self.signal(x)


def bold(
    activity: Float[ArrayLike, " n_times *shape"],
    dt: float,
    tr: float,
    model: BalloonWindkessel | None = None,
    substeps: int = 1,
) -> tuple[Float[Array, " n_tr"], Float[Array, " n_tr *shape"]]:
    """BOLD signal of neural activity sampled every `dt` seconds, returned every `tr` seconds.

    Args:
        activity: neural drive $z(t)$, shape `(n_times, ...)` (e.g. `sol.observed` or firing
            rates, scaled as you see fit), sampled every `dt` seconds.
        dt: sampling interval of `activity` [s] (convert ms to s for NMM2 models).
        tr: repetition time [s]; must be a multiple of `dt`.
        model: haemodynamic parameters (default `BalloonWindkessel()`).
        substeps: Euler substeps per sample (raise it when dt > 10 ms).

    Returns:
        `(times, bold)`: sample times [s] and the BOLD signal, shape `(n_tr, ...)`.
    """
    model = BalloonWindkessel() if model is None else model
    z = jnp.asarray(activity)
    ratio = tr / dt
    every = int(round(ratio))
    if every < 1 or abs(ratio - every) > 1e-6 * ratio:
        raise ValueError(f"`tr` ({tr}) must be a whole multiple of `dt` ({dt}).")
    n_tr = z.shape[0] // every
    if n_tr < 1:
        raise ValueError(f"The activity lasts {z.shape[0] * dt:g} s, shorter than one TR ({tr} s).")
    h = dt / substeps

    def step(x, zi):
        for _ in range(substeps):
            x = x + h * model.vector_field(0.0, x, zi)
        return x, None

    def per_tr(x, zs):
        x, _ = jax.lax.scan(step, x, zs)
        return x, model.signal(x)

    x0 = model.initial_state(z.shape[1:])
    zs = z[: n_tr * every].reshape(n_tr, every, *z.shape[1:])
    _, y = jax.lax.scan(per_tr, x0, zs)
    return tr * jnp.arange(1, n_tr + 1), y
