"""Floating-point settings that make a fit's draws a pure function of its inputs.

PyTensor compiles the model's log density (and every other function the package evaluates)
with numba, by default with ``fastmath``: LLVM may then reassociate sums and contract
multiply-adds, and whether it does depends on which helper functions it can inline. Helpers
loaded from PyTensor's on-disk numba cache cannot be inlined, freshly compiled ones can, so
the same model gave different bits — and, after a few hundred leapfrog steps, different
draws — depending on what an earlier process had left in the cache (measured: a fit with
an empty cache and the same fit with a warm one differed in every draw). With ``fastmath``
off, LLVM keeps IEEE semantics and the order of operations written in the graph, so
inlining cannot change a result.

``use_reproducible_numerics()`` is called when ``bayes_koryo.model.graph`` is imported and again
before anything is compiled; it sets PyTensor's global flag (a process that imports
bayes_koryo compiles all numba code without ``fastmath``).
"""

from __future__ import annotations

import pytensor

REPRODUCIBLE_FLAGS = {"numba__fastmath": False}
"""PyTensor config flags the package relies on for bit-identical draws."""


def use_reproducible_numerics() -> None:
    """Set ``REPRODUCIBLE_FLAGS`` in PyTensor's global config (idempotent)."""
    for name, value in REPRODUCIBLE_FLAGS.items():
        if getattr(pytensor.config, name) != value:
            setattr(pytensor.config, name, value)


def numerics_settings() -> dict[str, object]:
    """Return the values of ``REPRODUCIBLE_FLAGS`` the package compiles with.

    Recorded in every run file. Sets them first, so the answer does not depend on what was
    imported before.
    """
    use_reproducible_numerics()
    return {name: getattr(pytensor.config, name) for name in REPRODUCIBLE_FLAGS}


__all__ = ["REPRODUCIBLE_FLAGS", "numerics_settings", "use_reproducible_numerics"]
