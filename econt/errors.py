"""Exception types of the kit.

Every error a user can cause (bad data, bad config, missing tool or PDK) is an
``EcontError`` whose message names the file, the field or line, and the fix.
The CLI prints these without a traceback.
"""
from __future__ import annotations


class EcontError(Exception):
    """Base class for errors caused by user input or the environment."""


class DataError(EcontError):
    """Malformed or physically impossible input data."""


class ConfigError(EcontError):
    """A configuration file (YAML) that does not validate."""


class ToolError(EcontError):
    """An external tool (iverilog, yosys, OpenSTA, ...) is missing or failed."""


class StageError(EcontError):
    """A pipeline stage failed; names the stage, its log and the likely fix."""
