"""The kit's measured switching activity as SAIF (IEEE 1801 Switching Activity Interchange Format).

Per net of every instance: ``T0``/``T1`` (time low/high) and ``TC`` (toggle count) over the window,
from the kit's zero-delay gate-level simulation (econt.asic.gatepower, ``record_activity=True``).
SAIF is compact where a full VCD of the full encoder would not be, and the field's tools read it
(OpenSTA ``read_saif``). One writer and its reader (for checks) live here.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path

from econt.errors import ToolError


def _escape(name: str) -> str:
    """SAIF identifiers escape the characters that are not plain identifier characters with ``\\``."""
    name = name[1:] if name.startswith("\\") else name
    return re.sub(r"([^A-Za-z0-9_])", r"\\\1", name)


def _unescape(name: str) -> str:
    return re.sub(r"\\(.)", r"\1", name)


def write_saif(activity: dict[str, dict[str, tuple[int, int]]], path: Path, design: str, cycles: int,
               clock_period_ns: float) -> Path:
    """Write ``{instance path: {net: (toggles, cycles high)}}`` as SAIF (timescale 1 ps).

    Instance paths are dot-separated from the top scope (e.g. ``tb.dut.u_conv``); the first
    component becomes the top ``INSTANCE`` and each further one a nested ``INSTANCE``."""
    period_ps = int(round(clock_period_ns * 1000))
    duration = cycles * period_ps
    tree: dict = {}
    for inst, nets in activity.items():
        node = tree
        for part in re.split(r"\.(?![^\[]*\])", inst):
            node = node.setdefault(part, {})
        node["\0nets"] = nets
    lines = ['(SAIFILE', '(SAIFVERSION "2.0")', '(DIRECTION "backward")', f'(DESIGN "{design}")',
             f'(DATE "{datetime.now(timezone.utc).strftime("%a %b %d %H:%M:%S %Y")}")',
             '(VENDOR "econt")', '(PROGRAM_NAME "econt.asic.saif")', '(VERSION "1")', '(DIVIDER . )',
             '(TIMESCALE 1 ps)', f'(DURATION {duration})']

    def emit(name: str, node: dict, depth: int) -> None:
        pad = "  " * depth
        lines.append(f"{pad}(INSTANCE {_escape(name)}")
        nets = node.get("\0nets")
        if nets:
            lines.append(f"{pad}  (NET")
            for net, (tc, high) in sorted(nets.items()):
                t1 = high * period_ps
                lines.append(f"{pad}    ({_escape(net)} (T0 {duration - t1}) (T1 {t1}) (TX 0) (TC {tc}))")
            lines.append(f"{pad}  )")
        for child, sub in node.items():
            if child != "\0nets":
                emit(child, sub, depth + 1)
        lines.append(f"{pad})")

    for top, node in tree.items():
        emit(top, node, 0)
    lines.append(")")
    path = Path(path)
    path.write_text("\n".join(lines) + "\n")
    return path


_SAIF_TOKEN = re.compile(r'"[^"]*"|\(|\)|(?:\\.|[^\s()\\])+')


def read_saif(path: Path) -> tuple[dict[str, dict[str, dict[str, int]]], int]:
    """``({instance path: {net: {"T0":…, "T1":…, "TC":…}}}, duration)`` of a SAIF file."""
    toks = _SAIF_TOKEN.findall(Path(path).read_text())
    out: dict[str, dict[str, dict[str, int]]] = {}
    duration = 0
    stack: list[str] = []   # instance path components
    i = 0
    depth_kinds: list[str] = []
    while i < len(toks):
        t = toks[i]
        if t == "(":
            kind = toks[i + 1]
            if kind == "INSTANCE":
                stack.append(_unescape(toks[i + 2]))
                depth_kinds.append("INSTANCE")
                i += 3
                continue
            if kind == "DURATION":
                duration = int(toks[i + 2])
            if depth_kinds and depth_kinds[-1] == "NET" and kind not in ("T0", "T1", "TX", "TC"):
                net = _unescape(kind)
                rec: dict[str, int] = {}
                j = i + 2
                while toks[j] == "(":
                    rec[toks[j + 1]] = int(toks[j + 2])
                    j += 4
                out.setdefault(".".join(stack), {})[net] = rec
                i = j + 1
                continue
            depth_kinds.append(kind)
            i += 2
            continue
        if t == ")":
            if not depth_kinds:
                raise ToolError(f"SAIF {path}: unbalanced ')' at token {i}")
            if depth_kinds.pop() == "INSTANCE":
                stack.pop()
        i += 1
    if depth_kinds:
        raise ToolError(f"SAIF {path}: file ends inside ({' '.join(depth_kinds)})")
    return out, duration
