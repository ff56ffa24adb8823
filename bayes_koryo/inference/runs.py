"""Saved runs: one netCDF file per fit, written atomically, verified when read back.

Layout (``xarray.DataTree`` written with h5netcdf):

- groups ``posterior`` (parameters and derived quantities), ``sample_stats``,
  ``log_likelihood``, ``log_prior``, ``observed_data``, optionally ``posterior_predictive``,
  and ``input_data`` (the exact observations fitted, one row per ``observation``);
- not stored: the quantities of ``RECOMPUTED_ON_READ`` (``unique_users`` divided by a stored
  quantity, 2 × 7 MB of the posterior at 4 × 2000 draws); :func:`read_run` restores them in
  ``posterior`` and ``prior``, bit-identical to the values the fit computed (tested);
- root attributes: ``package``, ``package_version``, ``format_version``, ``run_id``,
  ``config_name``, ``config_json`` (the resolved config), ``data_hash``, ``coverage_hash``
  (the coverage figures of the bundled network file the model read), ``seed``,
  ``sampler`` and its settings, ``versions_json`` (Python and dependencies),
  ``diagnostics_json`` and ``converged`` (0/1).

Nothing here pickles anything. ``run_id`` is a hash of config, data, seed, sampler settings
and versions: it changes whenever any of them does.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import platform
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bayes_koryo.atomic import atomic_path
from bayes_koryo.data import OBSERVATION_COLUMNS, coverage_hash, data_hash, load_observations
from bayes_koryo.errors import MESSAGE_LIMIT, KoryoError, ResultFileError, one_line
from bayes_koryo.model.config import ModelConfig, config_from_dict
from bayes_koryo.version import PACKAGE, package_version

FORMAT_VERSION = 2
"""Format this version writes. 2: the ``RECOMPUTED_ON_READ`` quantities are not stored."""
READABLE_FORMATS = (1, 2)
"""Formats :func:`read_run` reads (format 1 stores every quantity; nothing to restore)."""
RECOMPUTED_ON_READ = {
    "penetration_10plus": "population_10plus",
    "penetration_addressable": "addressable_population",
}
"""Quantities left out of a run file: ``unique_users / <value>``, restored on read."""
RECOMPUTED_GROUPS = ("posterior", "prior")
DEPENDENCIES = (
    "pymc",
    "pytensor",
    "nutpie",
    "arviz",
    "arviz-base",
    "arviz-stats",
    "numpy",
    "pandas",
    "xarray",
    "h5netcdf",
    "numba",
)


def versions() -> dict[str, str]:
    """Return the versions of Python, bayes_koryo and the numerical dependencies.

    These are the versions in this process, plus the PyTensor flags the draws depend on
    (``bayes_koryo.model.numerics``).
    """
    from bayes_koryo.model.numerics import numerics_settings

    out = {"python": platform.python_version(), PACKAGE: package_version()}
    for name in DEPENDENCIES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[name] = metadata.version(name)
    out.update({f"pytensor.{flag}": str(value) for flag, value in numerics_settings().items()})
    return out


def run_id(
    config_json: str, data_digest: str, seed: int, sampler_json: str, versions_json: str
) -> str:
    """Short stable identifier of a run (16 hex digits)."""
    text = "\n".join([config_json, data_digest, str(seed), sampler_json, versions_json])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def observations_to_dataset(observations: pd.DataFrame) -> xr.Dataset:
    """Convert the observations table to a Dataset (dim ``observation``), strings as text."""
    data = {}
    for column in OBSERVATION_COLUMNS:
        values = observations[column]
        if column in ("value", "lower", "upper"):
            data[column] = ("observation", values.to_numpy(float))
        elif column == "date":
            data[column] = ("observation", values.to_numpy("datetime64[ns]"))
        else:
            data[column] = ("observation", np.asarray(values.astype(str), dtype=str))
    return xr.Dataset(data)


def observations_from_dataset(ds: xr.Dataset, origin: str) -> pd.DataFrame:
    """Rebuild and re-validate the observations stored in a run (via the CSV loader)."""
    frame = pd.DataFrame({c: ds[c].values for c in OBSERVATION_COLUMNS})
    frame["date"] = pd.to_datetime(frame["date"]).dt.strftime("%Y-%m-%d")
    for column in ("value", "lower", "upper"):
        frame[column] = [("" if np.isnan(v) else f"{v:.0f}") for v in frame[column]]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "input_data.csv"
        frame.to_csv(path, index=False)
        observations = load_observations(path)
    observations.attrs["source_file"] = origin
    return observations


def save_run(model, path: str | Path, overwrite: bool = False) -> Path:
    """Write ``model`` (a fitted KoryoModel) to ``path`` atomically; returns the path."""
    if model.idata is None:
        raise ResultFileError("save: the model has not been fitted")
    path = Path(path)
    if path.exists() and not overwrite:
        raise ResultFileError(f"{path}: exists already (use --force / overwrite=True)")
    tree = _without_recomputable(model.idata.copy())
    tree["input_data"] = xr.DataTree(observations_to_dataset(model.observations))
    tree.attrs.update(run_attributes(model))
    try:
        with atomic_path(path, overwrite=overwrite) as tmp:
            _write_tree(tree, tmp)
    except FileExistsError:  # another process saved there meanwhile
        raise ResultFileError(f"{path}: exists already (use --force / overwrite=True)") from None
    return path


def _without_recomputable(tree: xr.DataTree) -> xr.DataTree:
    """Drop the ``RECOMPUTED_ON_READ`` quantities from the groups that hold them."""
    for group in RECOMPUTED_GROUPS:
        if group in tree.children:
            ds = tree[group].to_dataset()
            tree[group] = xr.DataTree(ds.drop_vars(list(RECOMPUTED_ON_READ), errors="ignore"))
    return tree


def _restore_recomputable(tree: xr.DataTree) -> None:
    """Add the ``RECOMPUTED_ON_READ`` quantities back, in place, as the model computes them."""
    for group in RECOMPUTED_GROUPS:
        if group not in tree.children:
            continue
        ds = tree[group].to_dataset()
        added = {
            name: (ds["unique_users"] / ds[denominator]).transpose(*ds["unique_users"].dims)
            for name, denominator in RECOMPUTED_ON_READ.items()
            if name not in ds and "unique_users" in ds and denominator in ds
        }
        if added:
            tree[group] = xr.DataTree(ds.assign(added))


def _write_tree(tree: xr.DataTree, path: Path) -> None:
    """Write a run file's bytes: the only place that does (a hook for fault-injection tests)."""
    tree.to_netcdf(path, engine="h5netcdf")


def run_attributes(model) -> dict:
    """Root attributes of a saved run (provenance; see module docstring)."""
    config_json = json.dumps(model.config.to_dict(), sort_keys=True)
    attrs = model.idata.attrs
    # .item(): attributes read back from a run file are numpy scalars; the JSON (and so the
    # run id) must be the same as when the run was first saved
    sampler = {
        k: getattr(attrs[k], "item", lambda v=attrs[k]: v)()
        for k in (
            "sampler",
            "draws",
            "tune",
            "chains",
            "target_accept",
            "adaptation",
            "max_tree_depth",
        )
    }
    sampler_json = json.dumps(sampler, sort_keys=True)
    versions_json = json.dumps(versions(), sort_keys=True)
    digest = data_hash(model.observations)
    coverage = coverage_hash()
    seed = int(attrs["seed"])
    summary = model.diagnostics.summary() if model.diagnostics is not None else {}
    return {
        "package": PACKAGE,
        "package_version": package_version(),
        "format_version": FORMAT_VERSION,
        "run_id": run_id(config_json, f"{digest}:{coverage}", seed, sampler_json, versions_json),
        "config_name": model.config.name,
        "config_json": config_json,
        "data_hash": digest,
        "coverage_hash": coverage,
        "seed": seed,
        "sampler_json": sampler_json,
        "versions_json": versions_json,
        "diagnostics_json": json.dumps(summary, sort_keys=True),
        "converged": int(bool(summary.get("converged", False))),
    }


REQUIRED_ATTRS = (
    "run_id",
    "config_json",
    "data_hash",
    "coverage_hash",
    "seed",
    "sampler_json",
    "versions_json",
    "diagnostics_json",
    "converged",
)
"""Root attributes every run file has (see the module docstring)."""


def _as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None


@dataclasses.dataclass(frozen=True)
class SavedRun:
    """The verified contents of a run file: its groups, resolved config and fitted data."""

    tree: xr.DataTree
    config: ModelConfig
    observations: pd.DataFrame


def read_run(path: str | Path) -> SavedRun:
    """Read and verify a saved run (package, format, groups, attributes, hashes, config).

    :func:`bayes_koryo.inference.fit.load_run` turns the result into a fitted KoryoModel.
    """
    path = Path(path)
    if not path.is_file():
        raise ResultFileError(f"{path}: no such run file")
    try:
        with xr.open_datatree(path, engine="h5netcdf") as opened:
            tree = opened.load()
    except Exception as exc:  # h5py / xarray raise many types on damaged files
        raise ResultFileError(
            f"{path}: not a readable netCDF run file ({type(exc).__name__}: {exc})"
        ) from None
    attrs = tree.attrs
    if attrs.get("package") != PACKAGE:
        raise ResultFileError(f"{path}: not a bayes_koryo run (no package attribute)")
    if _as_int(attrs.get("format_version")) not in READABLE_FORMATS:
        raise ResultFileError(
            f"{path}: run format {attrs.get('format_version')} is not supported (this "
            f"bayes_koryo reads formats {', '.join(map(str, READABLE_FORMATS))})"
        )
    saved = str(attrs.get("package_version", ""))
    if saved.split(".")[:2] != package_version().split(".")[:2]:
        raise ResultFileError(
            f"{path}: written by bayes_koryo {saved}, which is incompatible "
            f"with this version {package_version()}; refit the model"
        )
    for group in ("posterior", "sample_stats", "input_data"):
        if group not in tree.children:
            raise ResultFileError(f"{path}: group '{group}' is missing (truncated or foreign)")
    missing = [key for key in REQUIRED_ATTRS if key not in attrs]
    if missing:
        raise ResultFileError(
            f"{path}: attribute(s) {', '.join(missing)} missing (truncated or foreign)"
        )
    try:
        observations = observations_from_dataset(tree["input_data"].to_dataset(), f"{path}")
    except (KeyError, ValueError, TypeError, KoryoError) as exc:
        raise ResultFileError(
            f"{path}: the stored input data are unreadable ({one_line(exc, MESSAGE_LIMIT)})"
        ) from None
    if attrs.get("coverage_hash") != coverage_hash():
        raise ResultFileError(
            f"{path}: fitted with other coverage figures than this "
            "installation's bundled network file (coverage_hash differs); "
            "refit the model"
        )
    if data_hash(observations) != attrs.get("data_hash"):
        raise ResultFileError(
            f"{path}: the stored input data do not match the data hash "
            "recorded in the file (modified or corrupted)"
        )
    try:
        config = config_from_dict(json.loads(attrs["config_json"]), source=f"{path}:config")
    except (ValueError, TypeError, KoryoError) as exc:
        raise ResultFileError(
            f"{path}: the stored config is invalid ({one_line(exc, MESSAGE_LIMIT)})"
        ) from None
    del tree["input_data"]
    _restore_recomputable(tree)
    return SavedRun(tree, config, observations)
