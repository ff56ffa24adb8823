"""Digits a number may show: as many as its Monte Carlo standard error supports.

``supported_decimals`` picks the last decimal whose unit is at least 2 x MCSE (never more than
three significant digits); ``rounded`` and ``round_to`` format a number with them;
``significant`` gives two significant digits (prior intervals, MCSEs themselves).
"""

from __future__ import annotations

import math


def supported_decimals(mcse: float, max_significant: int = 3, value: float = 1.0) -> int:
    """Decimal places that a Monte Carlo standard error supports.

    The last digit shown is the one whose unit is at least 2 * MCSE (so the rounding error
    and the Monte Carlo error are of one size), never more than ``max_significant``
    significant digits of ``value``.
    """
    if not math.isfinite(mcse) or mcse <= 0:
        return max(0, max_significant - 1 - math.floor(math.log10(abs(value) or 1)))
    decimals = -math.ceil(math.log10(2.0 * mcse))
    if value:
        decimals = min(decimals, max_significant - 1 - math.floor(math.log10(abs(value))))
    return decimals


def round_to(value: float, decimals: int) -> str:
    """``value`` rounded to ``decimals`` places (negative: tens, hundreds...), as text."""
    if decimals >= 0:
        return f"{value:.{decimals}f}"
    return f"{round(value, decimals):.0f}"


def rounded(value: float, mcse: float, max_significant: int = 3) -> str:
    """``value`` with only the digits its Monte Carlo standard error supports."""
    if not math.isfinite(value):
        return ""
    return round_to(value, supported_decimals(mcse, max_significant, value))


def significant(x: float, digits: int = 2) -> str:
    """Format ``x`` with ``digits`` significant digits ("" when it is not finite)."""
    if not math.isfinite(x):
        return ""
    if x == 0:
        return "0"
    return round_to(x, max(digits - 1 - math.floor(math.log10(abs(x))), -12))


__all__ = ["round_to", "rounded", "significant", "supported_decimals"]
