"""Declarative YAML configuration, validated into frozen dataclasses.

Each stage defines its config as a (frozen) dataclass; :func:`load_config`
reads a YAML file and builds it, raising :class:`ConfigError` that names the
file, the field and the fix for unknown keys, missing fields and wrong types.
Nested dataclasses, ``tuple``/``list`` of scalars, ``Literal`` choices and
``Optional`` are supported.

Relative paths: a ``Path``-typed field given in a config file is resolved against the folder of
*that* file (for ``extends:`` chains, the file that sets the field); one given as an override
(``--set key=value``) against the current directory. Defaults written in the dataclasses
(e.g. ``configs/model/econt_default.yaml``) name files of the kit and are resolved by the stage
inside the package (:func:`econt.paths.kit_data`).

Config files the user names (:func:`kit_config_path`): an existing path is taken as given
(relative to the current directory); otherwise a bare name (``econt_chip``) or the kit's spelling
(``configs/rtl/econt_chip.yaml``) is the kit's own file in the package's ``configs/<kind>/``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from pathlib import Path
from typing import Any, Literal, Mapping, TypeVar, get_args, get_origin, get_type_hints

import yaml

from econt.errors import ConfigError
from econt.paths import build_root, kit_data, reports_root

T = TypeVar("T")


def kit_config_path(kind: str, name_or_path: str | Path) -> Path:
    """The config file ``name_or_path`` of kind ``kind`` (data, emd, model, rtl, sweep, train): the
    path as given when it is a file (or absolute), else ``configs/<kind>/<name>.yaml`` of the kit
    when that exists (a bare name, ``.yaml`` optional, or a kit-relative path); else as given."""
    p = Path(name_or_path)
    if p.suffix not in (".yaml", ".yml"):
        p = p.with_suffix(".yaml")
    if not p.is_file() and not p.is_absolute():
        cand = kit_data("configs", kind, p.name)
        if cand.is_file():
            return cand
    return p


def read_yaml(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found. Pass an existing YAML file or the name of one "
                          f"in the kit's configs ({kit_data('configs')}).")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}). Fix the syntax at the position shown.") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: top level must be a mapping of field: value, got {type(data).__name__}.")
    return data


#: Path values starting with one of these name a file under the working folder's reports/ or build/
#: (``{reports}/faults/protection_mask.json``), resolved when the config is loaded.
_OUTPUT_ROOTS = {"{reports}": reports_root, "{build}": build_root}

#: dotted field name → folder its relative paths are taken from (set while a file is being built)
_Origins = Mapping[str, Path]


def _coerce(value: Any, tp: Any, where: str, source: str, origins: _Origins | None = None) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin is typing.Union or origin is types.UnionType:
        args = get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where, source, origins)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(errors[-1] if errors else f"{source}: field '{where}' has an invalid value {value!r}.")
    if origin is Literal:
        choices = get_args(tp)
        if value not in choices:
            raise ConfigError(
                f"{source}: field '{where}' is {value!r}; allowed values are {', '.join(map(repr, choices))}."
            )
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{source}: field '{where}' must be a mapping (section), got {value!r}.")
        return build_dataclass(tp, value, source, prefix=where + ".", origins=origins)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{source}: field '{where}' must be a list, got {value!r}.")
        args = get_args(tp)
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{source}: field '{where}' must have {len(args)} entries, got {len(value)}.")
            items = [_coerce(v, a, f"{where}[{i}]", source, origins) for i, (v, a) in enumerate(zip(value, args))]
        else:
            item_tp = args[0] if args else Any
            items = [_coerce(v, item_tp, f"{where}[{i}]", source, origins) for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{source}: field '{where}' must be a mapping, got {value!r}.")
        return dict(value)
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{source}: field '{where}' must be true or false, got {value!r}.")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{source}: field '{where}' must be an integer, got {value!r}.")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{source}: field '{where}' must be a number, got {value!r}.")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{source}: field '{where}' must be a string, got {value!r}.")
        return value
    if tp is Path:
        if not isinstance(value, str):
            raise ConfigError(f"{source}: field '{where}' must be a path string, got {value!r}.")
        for token, root in _OUTPUT_ROOTS.items():
            if value == token or value.startswith(token + "/"):
                # an earlier stage's output: in the user's working folder, not beside the config file
                return root().joinpath(value[len(token) + 1:])
        path = Path(value).expanduser()
        base = (origins or {}).get(where.split("[")[0])
        return path if (path.is_absolute() or base is None) else base / path
    return value


def build_dataclass(cls: type[T], data: Mapping[str, Any], source: str = "<config>", prefix: str = "",
                    origins: _Origins | None = None) -> T:
    """Build dataclass ``cls`` from a mapping, validating names and types.

    After construction, a ``validate(self, source)`` method on the dataclass (if any)
    is called for cross-field checks; it should raise ConfigError itself.
    """
    hints = get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"{source}: unknown field(s) {', '.join(prefix + u for u in unknown)}; "
            f"valid fields here are {', '.join(prefix + f for f in fields)}. Fix the spelling or remove them."
        )
    kwargs = {}
    for name, field in fields.items():
        if name in data:
            kwargs[name] = _coerce(data[name], hints[name], prefix + name, source, origins)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"{source}: required field '{prefix}{name}' is missing. Add it to the file.")
    obj = cls(**kwargs)
    validate = getattr(obj, "validate", None)
    if callable(validate):
        validate(source)
    return obj


def _deep_merge(base: dict, top: dict) -> dict:
    out = dict(base)
    for key, value in top.items():
        out[key] = _deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def _leaf_origins(data: Mapping, folder: Path, prefix: str = "") -> dict[str, Path]:
    out: dict[str, Path] = {}
    for key, value in data.items():
        out[prefix + str(key)] = folder
        if isinstance(value, Mapping):
            out.update(_leaf_origins(value, folder, prefix + str(key) + "."))
    return out


def _read_with_origins(path: Path, _seen: tuple[Path, ...] = ()) -> tuple[dict, dict[str, Path]]:
    data = read_yaml(path)
    base = data.pop("extends", None)
    origins = _leaf_origins(data, path.resolve().parent)
    if base is None:
        return data, origins
    base_path = (path.parent / str(base)).resolve()
    if base_path in _seen or base_path == path.resolve():
        raise ConfigError(f"{path}: field 'extends' = {base!r} makes a cycle of config files; remove it.")
    if not base_path.is_file():
        raise ConfigError(f"{path}: field 'extends' = {base!r}: {base_path} does not exist; give a config file "
                          "path relative to this file.")
    base_data, base_origins = _read_with_origins(base_path, _seen + (path.resolve(),))
    return _deep_merge(base_data, data), {**base_origins, **origins}


def read_yaml_extended(path: str | Path, _seen: tuple[Path, ...] = ()) -> dict:
    """A config file with its optional ``extends: other.yaml`` (relative to the file) resolved:
    the file's fields are deep-merged over the base's."""
    return _read_with_origins(Path(path), _seen)[0]


def load_config(cls: type[T], path: str | Path, overrides: Mapping[str, Any] | None = None) -> T:
    """Read YAML ``path`` (and the file it ``extends``) into dataclass ``cls``; ``overrides``
    (dotted keys) win over the file. Relative ``Path`` fields resolve against the file that sets
    them; relative paths in overrides against the current directory."""
    data, origins = _read_with_origins(Path(path))
    for dotted, value in (overrides or {}).items():
        node = data
        *parents, leaf = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
        origins[dotted] = Path.cwd()
        if isinstance(value, Mapping):
            origins.update(_leaf_origins(value, Path.cwd(), dotted + "."))
    return build_dataclass(cls, data, source=str(path), origins=origins)


def to_plain(obj: Any) -> Any:
    """Dataclasses/tuples/Paths → JSON/YAML-friendly plain structures."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_plain(v) for v in obj]
    if isinstance(obj, dict):
        return {str(k): to_plain(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def config_hash(obj: Any) -> str:
    """Stable short hash of a config (dataclass or plain data)."""
    blob = json.dumps(to_plain(obj), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def write_resolved_config(outdir: str | Path, obj: Any, seed: int | None = None, name: str = "resolved_config.yaml") -> Path:
    """Write the fully resolved config (and seed) next to a run's outputs."""
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    plain = to_plain(obj)
    doc = {"config": plain, "config_hash": config_hash(plain)}
    if seed is not None:
        doc["seed"] = seed
    path = outdir / name
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path
