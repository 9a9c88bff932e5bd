"""Analysis: linearised statistics (more in later releases)."""

from ._lyapunov import lyapunov_covariance as lyapunov_covariance
