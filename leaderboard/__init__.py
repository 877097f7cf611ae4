"""Result records -> leaderboard (Markdown + static HTML). Pure: no torch, ray, av or sibling packages.

from leaderboard import write_leaderboard
write_leaderboard(["results/results.parquet"], "results/leaderboard")   # -> leaderboard.md, index.html
"""

from leaderboard.api import build_sections, write_leaderboard


__all__ = ["build_sections", "write_leaderboard"]
