"""The model: configuration, priors, growth curves, numerics, PyMC graph and simulated data.

Modules: ``config`` (its configuration), ``priors``, ``growth`` (growth curves), ``numerics``
(numerical settings), ``graph`` (the PyMC graph) and ``simulate`` (data simulated from it).
Nothing here fits or writes anything.
"""
