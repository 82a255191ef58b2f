"""econt — open ASIC autoencoder design kit for the CMS HGCAL ECON-T.

Importing the package sets the environment that the ML stack needs *before*
TensorFlow is first imported anywhere:

* ``TF_USE_LEGACY_KERAS=1``: QKeras 0.9 only works with Keras 2 (``tf_keras``);
  with Keras 3 quantisation-aware training silently does not train.
* ``POT_BACKEND_DISABLE_TENSORFLOW=1``: ``import ot`` would otherwise import
  TensorFlow, which costs seconds in processes that only need exact EMD.
"""
from __future__ import annotations

import os as _os

_os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
_os.environ.setdefault("POT_BACKEND_DISABLE_TENSORFLOW", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"
