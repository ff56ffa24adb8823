"""Fitting the model and checking the fit.

The sampler (``fit``, :class:`~bayes_koryo.inference.fit.KoryoModel`), derived quantities
(``postprocess``), convergence diagnostics (``diagnostics``), predictive checks (``checks``)
and run files (``runs``).
"""
