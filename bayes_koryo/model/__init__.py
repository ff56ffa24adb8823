"""The model: its configuration (``config``), priors (``priors``), growth curves (``growth``),
numerical settings (``numerics``), the PyMC graph (``graph``) and data simulated from it
(``simulate``). Nothing here fits or writes anything.
"""
