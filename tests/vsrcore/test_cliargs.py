"""vsrcore.cliargs: the one-line entry point of `python -m` tools."""

from __future__ import annotations

import pytest


def test_one_line_main_keeps_the_exit_code_contract(capsys: pytest.CaptureFixture[str]) -> None:
    from vsrcore.cliargs import one_line_main
    from vsrcore.errors import UserFacingError

    def bad() -> str:
        raise UserFacingError("x.tsv: broken")

    def stopped() -> str:
        raise KeyboardInterrupt

    assert one_line_main("tool", lambda: "done") == 0 and capsys.readouterr().out == "done\n"
    assert one_line_main("tool", bad) == 2 and capsys.readouterr().err == "tool: x.tsv: broken\n"
    assert one_line_main("tool", stopped) == 130 and capsys.readouterr().err == "tool: interrupted\n"
