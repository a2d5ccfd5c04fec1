"""Help for everything, in the user's language (issue 15): every subcommand's --help under a
Chinese and an English locale; every option has help text; under zh_CN no user-visible string
has a run of three English words outside names, paths, commands, options and metavars."""

from __future__ import annotations

import argparse
import re

import pytest

from smseal.cli.main import build_parser, main

ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'-]*(?:[ ,;:]+[A-Za-z][A-Za-z'-]*){2,}")
# What may stay Latin in a Chinese sentence: 'quoted commands', {fields}, [ini sections],
# options, METAVARS, paths/files/$VARS.
_ALLOWED = re.compile(r"'[^']*'|\{[^}]*\}|\[[^\]]*\]|--?[A-Za-z][\w-]*|\b[A-Z][A-Z0-9_|]+\b|\S*[/.$@]\S*")


def english_runs(text: str) -> list[str]:
    """Runs of three or more English words left after removing what may stay Latin."""
    return [m.group(0) for m in ENGLISH_RUN.finditer(_ALLOWED.sub(" ", text))]


def _commands() -> list[list[str]]:
    found: list[list[str]] = []

    def walk(p: argparse.ArgumentParser, path: list[str]) -> None:
        found.append(path)
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                for name, sp in a.choices.items():
                    walk(sp, [*path, name])

    walk(build_parser(), [])
    return found


COMMANDS = _commands()


def _help(argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as e:
        main([*argv, "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a) or "smseal")
def test_help_in_chinese(argv, capsys, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    out = _help(argv, capsys)
    assert out.startswith("用法：")
    for english in ("usage:", "options:", "positional arguments", "show this help"):
        assert english not in out
    body = out.split("\n\n", 1)[-1]          # the usage block is command, option and metavar names
    assert not english_runs(body), english_runs(body)


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a) or "smseal")
def test_help_in_english(argv, capsys, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "en")
    out = _help(argv, capsys)
    assert out.startswith("usage: smseal")
    assert "用法" not in out and "选项" not in out


def test_every_option_and_command_has_help():
    missing = []

    def walk(p: argparse.ArgumentParser, path: str) -> None:
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                helps = {c.dest: c.help for c in a._choices_actions}
                for name, sp in a.choices.items():
                    if not helps.get(name):
                        missing.append(f"{path} {name}")
                    walk(sp, f"{path} {name}")
            elif not a.help and not isinstance(a, argparse._HelpAction):
                missing.append(f"{path} {'/'.join(a.option_strings) or a.dest}")

    walk(build_parser(), "smseal")
    assert not missing, missing


def test_send_and_open_help_mention_config_ini(capsys, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "en")
    assert "config.ini" in _help(["send"], capsys)
    assert "config.ini" in _help(["open"], capsys)


@pytest.mark.parametrize("lang", ["zh_CN", "en"])
@pytest.mark.parametrize("typo,meant", [(["sael"], "seal"), (["recipts"], "receipts"), (["keys", "lsit"], "list")])
def test_mistyped_subcommand_suggests_the_nearest(typo, meant, lang, capsys, monkeypatch):
    monkeypatch.setenv("LANGUAGE", lang)
    with pytest.raises(SystemExit) as e:
        main(typo)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert f"'{meant}'" in err
    if lang == "zh_CN":
        assert not english_runs(err), err


@pytest.mark.parametrize("argv", [["seal"], ["seal", "x", "--to", "A", "-o", "y", "--urgency", "fast"],
                                  ["open", "a", "b", "c"], ["keys", "rotate", "--role", "x"]])
def test_argparse_errors_in_chinese(argv, capsys, monkeypatch):
    monkeypatch.setenv("LANGUAGE", "zh_CN")
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "错误" in err and "usage:" not in err
    message = err.split("smseal：错误：", 1)[1]   # after the usage line
    assert not english_runs(message), err
