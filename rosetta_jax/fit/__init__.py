"""Fitting models to data: objectives (spectra, FC), constrained parameters, optax optimisers,
multi-start, checkpoints; and gradient-based sensitivity analysis.

Example:
    >>> from rosetta_jax import fit, models, noise, data
    >>> target = fit.SpectrumTarget.from_data(data.load_meg_spectra())
    >>> objective = fit.SpectrumObjective(target, noise.Additive(1.0))
"""

from ._bayes_api import (
    diagnostics as diagnostics,
    diagnostics_line as diagnostics_line,
    plot_corner as plot_corner,
    plot_predictive as plot_predictive,
    posterior_predictive as posterior_predictive,
    sample as sample,
)
from ._cohort import fit_cohort as fit_cohort
from ._compare import Comparison as Comparison, compare as compare, kass_raftery as kass_raftery
from ._fc import SimulatedBold as SimulatedBold, fit_fc as fit_fc
from ._fit import FitResult as FitResult, fit as fit
from ._importance import importance as importance
from ._laplace import Laplace as Laplace, laplace as laplace
from ._likelihoods import FisherZ as FisherZ, LogNormal as LogNormal
from ._methods import Linear as Linear, Simulated as Simulated, damping_ratio as damping_ratio
from ._objectives import (
    FCObjective as FCObjective,
    SpectrumObjective as SpectrumObjective,
    fcd_quantiles as fcd_quantiles,
)
from ._observed import Observed as Observed, aperiodic as aperiodic
from ._posterior import Posterior as Posterior
from ._priors import log_prior as log_prior
from ._real import (
    fit_connectome_fc as fit_connectome_fc,
    fit_network_spectra as fit_network_spectra,
    fit_regional_spectra as fit_regional_spectra,
)
from ._rungs import rung_parameters as rung_parameters
from ._sensitivity import (
    SensitivityResult as SensitivityResult,
    fc_features as fc_features,
    feature_function as feature_function,
    sensitivity as sensitivity,
    spectral_features as spectral_features,
)
from ._spectra_fit import (
    as_target as as_target,
    default_generators as default_generators,
    fit_spectra as fit_spectra,
)
from ._stopping import Plateau as Plateau, default_optimizer as default_optimizer
from ._targets import FCTarget as FCTarget, SpectrumTarget as SpectrumTarget
from ._transforms import (
    AbstractTransform as AbstractTransform,
    Bounded as Bounded,
    GaussianPrior as GaussianPrior,
    Identity as Identity,
    LogNormalPrior as LogNormalPrior,
    Positive as Positive,
)
