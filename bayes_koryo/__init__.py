"""bayes_koryo: a Bayesian model of the unique people behind Koryolink's subscriber counts."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("bayes_koryo")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.4.0"

from bayes_koryo.data import load_observations  # noqa: E402

__all__ = ["KoryoModel", "__version__", "build_model", "default_config", "load_config",
           "load_observations", "load_run"]


def __getattr__(name: str):
    """Import the modelling API lazily, so that `bayes-koryo data` does not load PyMC."""
    if name == "KoryoModel":
        from bayes_koryo.inference import KoryoModel

        return KoryoModel
    if name in ("build_model", "load_config", "default_config", "load_run"):
        import importlib

        module = {"build_model": "model", "load_config": "config",
                  "default_config": "config", "load_run": "runs"}[name]
        return getattr(importlib.import_module(f"bayes_koryo.{module}"), name)
    raise AttributeError(f"module 'bayes_koryo' has no attribute {name!r}")
