"""Checks of the model and its inference across many fits.

Simulation-based calibration (``sbc``), prior and structural sensitivity (``sensitivity``),
leave-future-out prediction (``lfo``) and the sweep machinery they share (``sweeps``).
"""
