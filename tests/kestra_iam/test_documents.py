"""The repository's Markdown renders as written: every table row belongs to a table (a heading
or a paragraph in the middle of one turns its later rows into text), and every relative link
points at a file that exists."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def prose_lines(path: Path):
    """(line number, line) outside fenced code blocks."""
    fenced = False
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            yield number, line


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_every_table_row_belongs_to_a_table(path):
    lines = dict(prose_lines(path))
    orphans = []
    for number, line in lines.items():
        if not line.startswith("|"):
            continue
        previous = lines.get(number - 1, "")
        following = lines.get(number + 1, "")
        starts_a_table = re.match(r"^\|[\s|:-]+\|$", following) is not None
        if not previous.startswith("|") and not starts_a_table:
            orphans.append(f"{path.name}:{number}: {line[:60]}")
    assert orphans == []


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_relative_links_point_at_files(path):
    missing = []
    for number, line in prose_lines(path):
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", line):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (path.parent / target).exists():
                missing.append(f"{path.name}:{number}: {target}")
    assert missing == []
