"""Every subcommand and every option of ``econt`` has a help line (walks the argparse tree)."""
from __future__ import annotations

import argparse

from econt.cli.main import build_parser


def _walk(parser: argparse.ArgumentParser, path: str, missing: list[str]) -> int:
    n = 0
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                if not (helps.get(name) or "").strip():
                    missing.append(f"{path} {name} (subcommand)")
                n += 1 + _walk(sub, f"{path} {name}", missing)
            continue
        n += 1
        if not (action.help or "").strip() or action.help == argparse.SUPPRESS:
            missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    return n


def test_every_subcommand_and_option_has_help():
    missing: list[str] = []
    n = _walk(build_parser(), "econt", missing)
    assert n > 50
    assert not missing, "no help line: " + ", ".join(missing)
