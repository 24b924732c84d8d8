"""The step summary rendered the way GitHub renders it (cmark-gfm, GitHub's own Markdown
library, with its extensions): text from the repo or the registry never becomes a link,
an image, an HTML element or a mention, wherever in the report it sits."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from tests.ci.test_units import github
from updater.ci.invoke import CliResult, ErrorLine
from updater.ci.summary import markdown

HOSTILE = (
    "[click](https://evil.example/a) ![img](https://evil.example/i.png) "
    '<img src="https://evil.example/x.png"> <b>bold</b> <a href="https://evil.example">a</a> '
    "www.evil.example https://evil.example/auto mail@evil.example @alice `tick` *em* "
    "|pipe| \n\n# heading after a blank line\r\n<script>alert(1)</script>"
)
PR_URL = "https://github.example/acme/config/pull/7"
# What the summary itself may produce, and nothing else.
ALLOWED_TAGS = {"h3", "p", "strong", "table", "thead", "tbody", "tr", "th", "td", "code", "br", "a"}


def render(text: str) -> str:
    # GitHub renders with raw HTML allowed, then sanitises; rendering unsafe shows
    # everything the summary could smuggle in.
    extensions = ["table", "autolink", "strikethrough", "tagfilter", "tasklist"]
    return cmarkgfm.markdown_to_html_with_extensions(
        text, options=Options.CMARK_OPT_UNSAFE, extensions=extensions
    )


class Elements(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def elements(html: str) -> Elements:
    parser = Elements()
    parser.feed(html)
    return parser


def hostile_report() -> dict[str, Any]:
    return {
        "images": [
            {
                "name": f"ghcr.io/acme/api {HOSTILE}",
                "current": [f"ghcr.io/acme/api {HOSTILE}:1.0.0"],
                "chosen": f"1.2.0 {HOSTILE}",
                "reason": HOSTILE,
            },
            {"name": "ghcr.io/acme/worker", "current": "2.0.0", "error": HOSTILE},
        ],
        "plan": {
            "changed": True,
            "images": [
                {
                    "repository": HOSTILE,
                    "old_refs": [HOSTILE],
                    "new_ref": HOSTILE,
                    "files": [f"apps/{HOSTILE}.yaml", "apps/@bob.yaml"],
                }
            ],
            "up_to_date": [HOSTILE],
            "unmatched": [{"ref": HOSTILE}],
        },
        "delivery": {
            "pull_request_url": PR_URL,
            "pull_request_action": HOSTILE,
            "commit_sha": HOSTILE,
            "branch": HOSTILE,
        },
    }


@pytest.fixture(scope="module")
def rendered() -> Elements:
    settings = github(UPDATER_IMAGES="a:1", UPDATER_REPO="acme/config", UPDATER_MODE="push")
    errors = (ErrorLine(HOSTILE, f"apps/{HOSTILE}.yaml", 3), ErrorLine(HOSTILE))
    return elements(render(markdown(CliResult(5, hostile_report(), errors), settings)))


def test_only_the_summary_s_own_elements(rendered: Elements) -> None:
    tags = {tag for tag, _ in rendered.tags}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    assert "img" not in tags and "script" not in tags and "b" not in tags and "h1" not in tags


def test_the_one_link_is_the_pull_request(rendered: Elements) -> None:
    links = [attrs for tag, attrs in rendered.tags if tag == "a"]
    assert links == [{"href": PR_URL}]


def test_hostile_text_is_shown_as_text(rendered: Elements) -> None:
    text = "".join(rendered.text)
    # Every piece is there, as the characters it was, not as markup.
    for piece in ("[click](https://evil.example/a)", "![img]", "<b>bold</b>", "<script>"):
        assert piece in text
    assert "# heading after a blank line" in text


def test_no_mentions(rendered: Elements) -> None:
    # In prose the @ is followed by a zero-width space; in <code> GitHub links none.
    assert "@\u200balice" in "".join(rendered.text)
    summary = markdown(CliResult(1, {}, (ErrorLine("ping @alice and @bob-2"),)), None)
    assert "@&#8203;alice and @&#8203;bob-2" in summary
    # A digest is no mention and stays as it is.
    digest = "ghcr.io/acme/api@sha256:" + "a" * 64
    assert digest in markdown(CliResult(0, {"changed": False, "up_to_date": [digest]}), None)


def test_without_the_html_blocks_markdown_would_link(rendered: Elements) -> None:
    # The check above has teeth: the same text in plain Markdown becomes links.
    naive = elements(render(f"<code>{HOSTILE}</code>"))
    assert any(tag == "a" for tag, _ in naive.tags)


@pytest.mark.parametrize("value", ["x\n\ny", "x\r\ry", "x\r\n\r\ny"])
def test_a_line_break_cannot_end_a_block(value: str) -> None:
    report = {"changed": False, "up_to_date": [f"{value} [l](https://evil.example)"]}
    html = render(markdown(CliResult(0, report), None))
    assert "<a " not in html


def test_control_characters_never_reach_the_log() -> None:
    from updater.ci.summary import plain

    report = {"changed": False, "up_to_date": ["a\x1b[2K\x1b[1Gforged\x07"]}
    text = plain(CliResult(0, report), None) + markdown(CliResult(0, report), None)
    assert "\x1b" not in text and "\x07" not in text
