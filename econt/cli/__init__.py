"""Thin command-line layer: argument parsing and error reporting only."""
from __future__ import annotations


def parse_set_overrides(items: list[str] | None) -> dict:
    """``--set dotted.key=value`` arguments → ``{dotted.key: YAML-parsed value}``."""
    import yaml

    from econt.errors import ConfigError

    out = {}
    for item in items or []:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected dotted.key=value, e.g. --set fit.epochs=5")
        key, value = item.split("=", 1)
        out[key.strip()] = yaml.safe_load(value)
    return out
