"""Console hygiene: TensorFlow's start-up noise hidden unless ``--verbose``.

TensorFlow (and tf_keras/QKeras) print, at import time and from C++ before absl logging is set
up, lines that say nothing to a user of the kit: the absl "All log messages before
absl::InitializeLog()" banner, oneDNN and missing-CUDA notices, tf.function retracing warnings
and QKeras' "keras.constraints.serialize() ... improper serialization" UserWarning.
:func:`quiet_ml_noise` hides exactly these (known patterns; anything else still reaches stderr,
and an import that fails replays everything it printed). ``--verbose`` (``ECONT_VERBOSE=1``,
inherited by pipeline stage subprocesses) shows all of it.
"""
from __future__ import annotations

import importlib.abc
import logging
import os
import re
import sys
import tempfile
import warnings

#: Lines printed by TensorFlow's native code at start-up that carry no information for the user.
NATIVE_NOISE = re.compile(
    r"All log messages before absl::InitializeLog\(\) is called|"
    r"oneDNN custom operations are on|"
    r"[Cc]ould not find cuda drivers|cuda|CUDA|cuDNN|cuFFT|cuBLAS|TensorRT|"
    r"This TensorFlow binary is optimized to use available CPU instructions|"
    r"To enable the following instructions|rebuild TensorFlow with the appropriate compiler flags|"
    r"computation_placer\.cc|Unable to register"
)
#: Python-level warnings of the ML stack that the kit knows to be harmless.
PY_NOISE_WARNINGS = (
    r"The `keras\.constraints\.serialize\(\)` API should only be used",
    r"You are saving your model as an HDF5 file via `model\.save\(\)`",
    r"distutils Version classes are deprecated",  # tensorflow_model_optimization (QKeras) at import
)
RETRACING = "triggered tf.function retracing"
_NOISY_PACKAGES = ("tensorflow", "tf_keras", "qkeras", "keras")


def verbose_requested() -> bool:
    return os.environ.get("ECONT_VERBOSE", "0") not in ("", "0")


class _DropRetracing(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return RETRACING not in record.getMessage()


class _QuietImport(importlib.abc.MetaPathFinder):
    """While a noisy package is imported for the first time, file descriptor 2 goes to a temporary
    file; afterwards the lines that are not known noise are written back to stderr."""

    def __init__(self) -> None:
        self._depth = 0
        self._saved_fd: int | None = None
        self._capture = None

    def find_spec(self, fullname, path=None, target=None):  # noqa: D401 - importlib protocol
        if fullname not in _NOISY_PACKAGES or fullname in sys.modules or self._depth:
            return None
        self._begin()
        try:
            self._depth += 1
            sys.meta_path.remove(self)
            try:
                __import__(fullname)
                if fullname == "tensorflow":  # the CUDA probe logs at first device use: do it now
                    sys.modules["tensorflow"].config.list_physical_devices("GPU")
            finally:
                sys.meta_path.insert(0, self)
                self._depth -= 1
        except BaseException:
            self._end(replay_all=True)
            raise
        self._end(replay_all=False)
        return importlib.util.find_spec(fullname) if fullname not in sys.modules else _AlreadyLoaded.spec(fullname)

    def _begin(self) -> None:
        sys.stderr.flush()
        self._capture = tempfile.TemporaryFile(mode="w+b")
        self._saved_fd = os.dup(2)
        os.dup2(self._capture.fileno(), 2)

    def _end(self, replay_all: bool) -> None:
        if self._saved_fd is None:
            return
        sys.stderr.flush()
        os.dup2(self._saved_fd, 2)
        os.close(self._saved_fd)
        self._saved_fd = None
        self._capture.seek(0)
        text = self._capture.read().decode(errors="replace")
        self._capture.close()
        keep = text.splitlines(keepends=True) if replay_all else \
            [ln for ln in text.splitlines(keepends=True) if not NATIVE_NOISE.search(ln)]
        if keep:
            sys.stderr.write("".join(keep))
            sys.stderr.flush()


class _AlreadyLoaded(importlib.abc.Loader):
    """Loader for a module our hook has just imported: hands back the module object."""

    @staticmethod
    def spec(fullname: str):
        import importlib.machinery

        return importlib.machinery.ModuleSpec(fullname, _AlreadyLoaded(), is_package=True)

    def create_module(self, spec):
        return sys.modules[spec.name]

    def exec_module(self, module) -> None:
        pass


_installed = False


def quiet_ml_noise(verbose: bool | None = None) -> None:
    """Hide TensorFlow/QKeras start-up noise (idempotent); ``verbose=True`` leaves everything on."""
    global _installed
    if verbose is None:
        verbose = verbose_requested()
    if verbose:
        os.environ["ECONT_VERBOSE"] = "1"
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "0"
        return
    if _installed:
        return
    _installed = True
    for message in PY_NOISE_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    logging.getLogger("tensorflow").addFilter(_DropRetracing())
    if not any(m in sys.modules for m in _NOISY_PACKAGES):
        sys.meta_path.insert(0, _QuietImport())
