"""``econt-yosys``: a yosys executable built on pyosys, for SiliconCompiler's stock yosys tasks.

SiliconCompiler 0.38 drives yosys as ``yosys -c script.tcl`` (and asks ``yosys --version``).
PyPI's pyosys 0.70 ships the yosys library but no executable, and Debian's yosys (0.23) is
too old for SC (needs >= 0.48). It is installed under a private name, so a real yosys on PATH
is never shadowed, and the flow uses it only when no yosys >= 0.48 is found
(econt.asic.flow.find_yosys). This entry point recreates the parts of yosys' Tcl front end
that SC's scripts use, with Tcl from Python's ``tkinter`` (no Tk window is opened):

* ``yosys <pass> <args...>``: run a pass on the global design. Like real yosys, the Tcl
  result is the scratchpad value ``result.string`` left by the pass (``tee -s result.string``).
* ``rtlil::has_attr / get_attr / set_attr`` on modules (``-mod``), used by SC's
  hierarchy-cost annotation.

``ECONT_YOSYS_SYNTH_ARGS`` (set per task through SC's ``env`` key) appends options to every
``synth`` pass, because SC 0.38's stock synthesis script builds the ``synth`` command line
itself (only ``-flatten``/``-hieropt``/``-extra-map``) and has no prescript hook; the kit
uses it for ``-booth`` (yosys 0.70 is ~35x slower on multipliers without it).
"""
from __future__ import annotations

import os
import sys
from typing import Sequence

SYNTH_ARGS_ENV = "ECONT_YOSYS_SYNTH_ARGS"

USAGE = """usage: econt-yosys [--version] [-q] [-c script.tcl] [-s script.ys] [-p 'cmd; cmd'] [file.v ...]
(econt pyosys shim: the subset of the yosys command line SiliconCompiler uses)"""


def _quote(arg: str) -> str:
    """Quote one word for yosys' own command parser (which splits on spaces)."""
    if arg == "" or any(c in arg for c in " \t\n;\""):
        return '"' + arg.replace('"', '\\"') + '"'
    return arg


_DESIGN = None


def _ys():
    from pyosys import libyosys as ys

    return ys


def _design():
    """The global yosys design, fetched once: each ``yosys_get_design()`` wrapper owns the
    pointer and frees the design when collected, so a second wrapper crashes yosys."""
    global _DESIGN
    if _DESIGN is None:
        _DESIGN = _ys().yosys_get_design()
    return _DESIGN


def version_string() -> str:
    return _ys().yosys_maybe_version() or "Yosys 0.70 (pyosys)"


def run_pass(words: Sequence[str]) -> str:
    """Run one yosys pass given as words; return the ``result.string`` scratchpad value."""
    ys = _ys()
    design = _design()
    words = list(words)
    extra = os.environ.get(SYNTH_ARGS_ENV, "").split()
    if words and words[0] == "synth" and extra:
        words += [a for a in extra if a not in words]
    design.scratchpad_unset("result.string")
    ys.run_pass(" ".join(_quote(w) for w in words), design)
    value = design.scratchpad_get_string("result.string")
    return value or ""


def _rtlil_command(interp, words: Sequence[str]) -> str:
    """``rtlil::{has,get,set}_attr -mod [-string|-int|-uint|-bool] <module> <attr> [value]``."""
    op, *args = words
    flags = {a for a in args if a.startswith("-")}
    pos = [a for a in args if not a.startswith("-")]
    if "-mod" not in flags:
        raise RuntimeError(f"rtlil::{op}: only -mod (module attributes) is supported by the econt shim")
    ys = _ys()
    design = _design()
    name = pos[0] if pos[0].startswith("\\") or pos[0].startswith("$") else "\\" + pos[0]
    module = design.module(name)
    if module is None:
        raise RuntimeError(f"rtlil::{op}: no module {pos[0]}")
    attr = pos[1] if pos[1].startswith("\\") else "\\" + pos[1]
    attr_id = ys.IdString(attr)
    if op == "has_attr":
        return "1" if module.has_attribute(attr_id) else "0"
    if op == "get_attr":
        if not module.has_attribute(attr_id):
            raise RuntimeError(f"rtlil::get_attr: module {pos[0]} has no attribute {pos[1]}")
        if "-string" in flags:
            return module.get_string_attribute(attr_id)
        if "-bool" in flags:
            return "1" if module.get_bool_attribute(attr_id) else "0"
        return str(module.attributes[attr_id].as_int("-int" in flags))
    if op == "set_attr":
        value = pos[2]
        if "-string" in flags:
            module.set_string_attribute(attr_id, value)
        elif "-bool" in flags:
            module.set_bool_attribute(attr_id, value not in ("0", "false"))
        else:
            module.attributes[attr_id] = ys.Const(int(value), 32)
        return ""
    raise RuntimeError(f"rtlil::{op} is not supported by the econt shim")


def run_tcl(script: str, script_args: Sequence[str] = ()) -> int:
    """Run a yosys Tcl script; returns the exit code (1 and an ERROR line on failure)."""
    _ys()  # load libyosys before Tcl: the reverse order crashes inside yosys' own Tcl hooks
    import tkinter

    interp = tkinter.Tcl()

    def yosys_cmd(*words: str) -> str:
        words = list(words)
        if words and words[0] == "-import":
            return ""  # passes are reached through `yosys <pass>`; nothing to import
        if words and words[0] == "-quiet":
            words = words[1:]
        return run_pass(words)

    interp.createcommand("yosys", yosys_cmd)
    for op in ("has_attr", "get_attr", "set_attr"):
        interp.createcommand(f"rtlil::{op}", lambda *w, _op=op: _rtlil_command(interp, [_op, *w]))
    interp.setvar("argv", " ".join(_quote(a) for a in script_args))
    interp.setvar("argc", str(len(script_args)))
    interp.setvar("argv0", script)
    try:
        interp.eval(f"source {{{script}}}")
    except tkinter.TclError as exc:
        sys.stdout.flush()
        info = interp.getvar("errorInfo") if interp.getvar("errorInfo") else str(exc)
        print(f"ERROR: {exc}\n{info}", flush=True)
        return 1
    finally:
        _ys().log_flush()
    sys.stdout.flush()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point. Exits the process with ``os._exit`` after flushing: tearing down
    libyosys' global state at interpreter exit segfaults with pyosys 0.70 (after all output
    is written), which SiliconCompiler would report as a failed step."""
    code = run(argv)
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        _ys().log_flush()
    except Exception:
        pass
    os._exit(code)


def run(argv: Sequence[str] | None = None) -> int:
    """Run a yosys command line in this process; returns the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 1
    if args[0] in ("--version", "-V"):
        print(version_string())
        return 0
    tcl_script = None
    commands: list[str] = []
    files: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a == "-c" and i + 1 < len(args):
            tcl_script = args[i + 1]
            i += 2
            continue
        if a == "-p" and i + 1 < len(args):
            commands.append(args[i + 1])
            i += 2
            continue
        if a == "-s" and i + 1 < len(args):
            commands.append(f"script {_quote(args[i + 1])}")
            i += 2
            continue
        if a in ("-q", "-Q", "-T"):
            i += 1
            continue
        if a == "-C":
            print("ERROR: the econt pyosys shim has no interactive Tcl shell (-C); run the script with -c",
                  file=sys.stderr)
            return 2
        if a.startswith("-"):
            print(f"ERROR: option {a} is not supported by the econt pyosys shim\n{USAGE}", file=sys.stderr)
            return 2
        files.append(a)
        i += 1
    try:
        for f in files:
            run_pass(["read", f] if not f.endswith(".ys") else ["script", f])
        if tcl_script is not None:
            return run_tcl(tcl_script, files)
        for cmd in commands:
            _ys().run_pass(cmd, _design())
    except Exception as exc:  # pyosys raises on a failing pass; report it like yosys does
        print(f"ERROR: {exc}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
