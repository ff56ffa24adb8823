"""bayes_koryo: a Bayesian model of the unique people behind Koryolink's subscriber counts."""

from bayes_koryo.data import load_observations
from bayes_koryo.version import __version__

__all__ = [
    "KoryoModel",
    "__version__",
    "build_model",
    "default_config",
    "load_config",
    "load_observations",
    "load_run",
]


def __getattr__(name: str):
    """Import the modelling API lazily, so that `bayes-koryo data` does not load PyMC."""
    if name == "KoryoModel":
        from bayes_koryo.inference.fit import KoryoModel

        return KoryoModel
    if name in ("build_model", "load_config", "default_config", "load_run"):
        import importlib

        module = {
            "build_model": "model.graph",
            "load_config": "model.config",
            "default_config": "model.config",
            "load_run": "inference.fit",
        }[name]
        return getattr(importlib.import_module(f"bayes_koryo.{module}"), name)
    raise AttributeError(f"module 'bayes_koryo' has no attribute {name!r}")
