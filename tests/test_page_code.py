"""The page's one rendering rule, checked in its source (no browser needed): no module of frontend/ parses HTML from
a string, so nothing the server sends can become markup (dom.js builds elements; text goes in as textContent)."""

from __future__ import annotations

import re
from pathlib import Path

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"
HTML_PARSING = re.compile(r"\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write(ln)?)\b")


def html_parsing(source: str) -> list[str]:
    """The lines of ``source`` that would parse a string as HTML, numbered."""
    return [f"{number}: {line.strip()}" for number, line in enumerate(source.splitlines(), 1) if HTML_PARSING.search(line)]


def test_no_module_of_the_page_parses_html_from_strings():
    modules = sorted(FRONTEND.glob("*.js"))
    assert {"app.js", "dom.js", "results.js", "upload.js"} <= {path.name for path in modules}  # the page is where it was
    found = {path.name: lines for path in modules if (lines := html_parsing(path.read_text()))}
    assert found == {}, f"build elements with h() (dom.js) or set textContent instead: {found}"


def test_the_check_finds_each_way_of_parsing_html():
    for line in ("el.innerHTML = name;", "node.outerHTML=x", 'list.insertAdjacentHTML("beforeend", row)', "document.write(s)"):
        assert html_parsing(line) == [f"1: {line}"], line
    assert html_parsing('el.textContent = "<b>innerHTMLish</b>";\nh("p", {}, text)') == []
