"""Fault sensitivity of the configuration bits: which single upsets cost reconstruction quality.

* :mod:`econt.faults.bits` — configuration bit ``b`` (register-map order, the I2C image) ↔
  (layer, weight, bit), and the code a persistent upset of that bit leaves behind.
* :mod:`econt.faults.scan` — the exhaustive scan: every bit flipped in the integer model, the
  encoder and the trained decoder run, the change of mean exact EMD over an evaluation set.
* :mod:`econt.faults.ranking` — the cheap (gradient, first-order Taylor) ranking, agreement,
  the protection curve and the protection mask file.
* :mod:`econt.faults.stage` — ``econt faults rank``: every exported weight set, union mask,
  ``reports/faults/``.
"""
