"""docs/cli.md documents every command and every flag the parser accepts."""

from __future__ import annotations

import argparse
from pathlib import Path

from orchestrator.cli import build_parser

DOC = Path(__file__).resolve().parents[3] / "docs" / "cli.md"


def _walk(parser: argparse.ArgumentParser, path: tuple[str, ...]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for action in parser._actions:  # argparse has no public iterator over its actions
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out.append((" ".join((*path, name)), ""))
                out += _walk(sub, (*path, name))
        for opt in action.option_strings:
            if opt.startswith("--") and opt not in ("--help", "--version"):
                out.append((" ".join(path), opt))
    return out


def test_every_command_and_flag_is_documented() -> None:
    text = DOC.read_text()
    missing = []
    for command, flag in _walk(build_parser(), ("mlb",)):
        if command.startswith("mlb lab"):
            continue  # documented in docs/lab.md
        needle = flag or f"`{command}"
        if needle not in text:
            missing.append(f"{command} {flag}".strip())
    assert not missing, f"undocumented in docs/cli.md: {missing}"
