"""updater/report.py: the commit message and the PR/MR title and body. Text from the
config repo shown there cannot form mentions, links, images or HTML, nor forge trailers;
the body stays under GitHub's size limit."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from updater.edit.model import FileEdit, Plan, Record
from updater.reference import parse_change
from updater.report import (
    code,
    commit_message,
    message_variables,
    proposal_images,
    pull_request_body,
    pull_request_title,
    render_diff,
)
from updater.trailers import quote

HOSTILE = (
    "@alice [click](https://evil.example) ![x](https://evil.example/i.png) "
    "<img src=x onerror=alert(1)> <!-- --> ``` `tick` | cell\n\nSigned-off-by: Mallory <m@evil>"
)


def record(file: str = "apps/k.yaml", path: str = "images[0].newTag", old: str = "1.0.0") -> Record:
    return Record(
        file, 7, path, "kustomize", "ghcr.io/acme/api", old, "1.1.0",
        f"ghcr.io/acme/api:{old}", "ghcr.io/acme/api:1.1.0",
    )  # fmt: skip


def plan_of(records: list[Record], tmp_path: Path) -> Plan:
    by_file: dict[str, list[Record]] = {}
    for r in records:
        by_file.setdefault(r.file, []).append(r)
    edits = tuple(FileEdit(f, "a", "b", tuple(rs)) for f, rs in by_file.items())
    return Plan(tmp_path, (parse_change("ghcr.io/acme/api:1.1.0"),), edits=edits)


def outside_code_spans(markdown: str) -> str:
    """The Markdown with every code span removed (CommonMark: a backtick run is closed
    by the next run of the same length)."""
    out, i = [], 0
    while i < len(markdown):
        run = re.match(r"`+", markdown[i:])
        if not run:
            out.append(markdown[i])
            i += 1
            continue
        fence = run.group(0)
        end = re.compile(rf"(?<!`){fence}(?!`)").search(markdown, i + len(fence))
        if end is None:
            out.append(fence)
            i += len(fence)
            continue
        i = end.end()
    return "".join(out)


def test_repo_text_in_the_body_stays_text(tmp_path: Path) -> None:
    plan = plan_of([record(file=f"apps/{HOSTILE}.yaml", path=HOSTILE, old=HOSTILE)], tmp_path)
    body = pull_request_body(plan, base=HOSTILE, images=("ghcr.io/acme/api",))
    # the marker is an HTML comment (never rendered) that nothing can close early
    assert outside_code_spans(body).count("-->") == 1
    rest = re.sub(r"<!-- gitops-updater: .*? -->", "", outside_code_spans(body))
    for bad in ("@alice", "](", "<img", "onerror", "Signed-off-by", "evil.example"):
        assert bad not in rest, (bad, rest)
    assert set(re.findall(r"<[^>]*>", rest)) <= {
        "<br>", "<details>", "</details>", "<summary>", "</summary>",
    }  # fmt: skip
    # every row of the table still has its four cells
    rows = [ln for ln in body.splitlines() if ln.startswith("| `")]
    assert rows and all(len(re.split(r"(?<!\\)\|", ln)) == 6 for ln in rows)
    assert proposal_images(body) == ("ghcr.io/acme/api",)
    assert "\n" not in pull_request_title(plan)


@pytest.mark.parametrize("text", ["plain", "a`b", "``x``", "`", "|", " ", "a\nb"])
def test_code_spans_show_text_literally(text: str) -> None:
    span = code(text)
    assert outside_code_spans(span) == ""
    assert "\n" not in span


def test_the_marker_cannot_be_closed_early(tmp_path: Path) -> None:
    plan = plan_of([record()], tmp_path)
    body = pull_request_body(plan, base="main", images=("x --> <img src=y>",))
    assert body.count("-->") == 1 and "<img" not in body
    assert proposal_images(body) == ("x --> <img src=y>",)


def trailers(message: str, tmp_path: Path) -> list[str]:
    result = subprocess.run(
        ["git", "interpret-trailers", "--parse"],
        input=message, capture_output=True, text=True, check=True, cwd=tmp_path,
    )  # fmt: skip
    return result.stdout.splitlines()


def test_repo_text_cannot_forge_trailers(tmp_path: Path) -> None:
    plan = plan_of([record(file=HOSTILE, path="a\nCo-authored-by: Eve <e@evil>")], tmp_path)
    template = "{summary}\n\n{files}\n{details}\nSigned-off-by: Mallory <m@evil>\nToken: value"
    for message in (commit_message(plan, base="main"), commit_message(plan, template)):
        assert trailers(message, tmp_path) == [
            f"Image-Updated: ghcr.io/acme/api 1.0.0 -> 1.1.0 ({quote(HOSTILE)}:7)",
            "Image-Updater-Trigger: set-image",
        ]
        assert not re.search(r"^Co-authored-by", message, re.MULTILINE)  # repo text: one line


def test_count_is_the_number_of_changed_values(tmp_path: Path) -> None:
    records = [record(file=f"apps/{i % 3}.yaml", path=f"images[{i}].newTag") for i in range(14)]
    variables = message_variables(plan_of(records, tmp_path))
    assert (variables["count"], variables["image_count"], variables["file_count"]) == (
        "14", "1", "3",
    )  # fmt: skip
    message = commit_message(plan_of(records, tmp_path), "{count} values, {image_count} image")
    assert message.startswith("14 values, 1 image\n")


def test_a_huge_change_is_summarised_under_githubs_limit(tmp_path: Path) -> None:
    records = [record(file=f"apps/service-{i:04d}/overlays/prod/values.yaml") for i in range(1000)]
    plan = plan_of(records, tmp_path)
    body = pull_request_body(plan, base="main", images=("ghcr.io/acme/api",))
    assert len(body) <= 65_536
    assert "1000 changed values in 1000 files" in body
    assert proposal_images(body) == ("ghcr.io/acme/api",)
    small = pull_request_body(plan_of(records[:3], tmp_path), base="main")
    assert "<details><summary>Changed values</summary>" in small


def test_commit_message_and_pr_texts(tmp_path: Path) -> None:
    record = Record(
        "apps/k.yaml",
        7,
        "images[0].newTag",
        "kustomize",
        "ghcr.io/acme/api",
        "1.0.0",
        "1.1.0",
        "ghcr.io/acme/api:1.0.0",
        "ghcr.io/acme/api:1.1.0",
    )
    plan = Plan(
        tmp_path,
        (parse_change("ghcr.io/acme/api:1.1.0"),),
        edits=(FileEdit("apps/k.yaml", "a", "b", (record,)),),
    )
    message = commit_message(plan, base="main", skip_ci=True)
    assert message.splitlines()[0] == "Update ghcr.io/acme/api 1.0.0 -> 1.1.0 [skip ci]"
    assert "- apps/k.yaml:7 images[0].newTag: 1.0.0 -> 1.1.0" in message
    assert commit_message(plan, "{images}@{new} ({count}) {files} {base}", base="main") == (
        "ghcr.io/acme/api@1.1.0 (1) apps/k.yaml main\n\n"
        "Image-Updated: ghcr.io/acme/api 1.0.0 -> 1.1.0 (apps/k.yaml:7)\n"
        "Image-Updater-Trigger: set-image\n"
    )
    assert pull_request_title(plan) == "Update ghcr.io/acme/api to 1.1.0"
    body = pull_request_body(plan, base="main", images=("ghcr.io/acme/api",))
    assert "| `ghcr.io/acme/api` | `1.0.0` | `1.1.0` | `apps/k.yaml` |" in body
    assert proposal_images(body) == ("ghcr.io/acme/api",)


def test_a_rename_shows_the_new_name_with_the_version(tmp_path: Path) -> None:
    """``nginx=ghcr.io/acme/nginx:1.25`` keeps the version: the subject, the PR title and
    the PR table name the new image, or they would read "1.25 -> 1.25"."""
    renamed = Record(
        "d.yaml", 9, "spec.template.spec.containers[0].image", "manifest",
        "docker.io/library/nginx", "nginx:1.25", "ghcr.io/acme/nginx:1.25",
        "nginx:1.25", "ghcr.io/acme/nginx:1.25",
    )  # fmt: skip
    plan = plan_of([renamed, record()], tmp_path)
    assert message_variables(plan)["summary"] == (
        "nginx 1.25 -> ghcr.io/acme/nginx 1.25, ghcr.io/acme/api 1.0.0 -> 1.1.0"
    )
    assert pull_request_title(plan) == (
        "Update 2 images: nginx -> ghcr.io/acme/nginx 1.25, ghcr.io/acme/api 1.1.0"
    )
    assert "| `nginx` | `1.25` | `ghcr.io/acme/nginx 1.25` |" in pull_request_body(
        plan, base="main"
    )


def test_the_coloured_diff_shows_controls_a_terminal_would_obey(tmp_path: Path) -> None:
    """On a terminal a CR-only file's CRs (or a form feed, an escape in a file name)
    would overwrite what was shown: escaped there; tabs and CRLF endings are layout."""
    old = "a: 1\rimage: x:1\r"
    new = "a: 1\rimage: x:2\r"
    edits = (
        FileEdit("cr\x1b[2J.yaml", old, new, ()),
        FileEdit("crlf.yaml", "a:\t1\r\nb: 1\r\n", "a:\t1\r\nb: 2\r\n", ()),
    )
    shown = render_diff(Plan(tmp_path, (), edits=edits), color=True)
    assert "\x1b[2J" not in shown and "+++ b/cr\\x1b[2J.yaml\n" in shown
    assert "\x1b[31m-a: 1\\rimage: x:1\\r\n\\ No newline at end of file\x1b[0m\n" in shown
    assert "\n a:\t1\r\n\x1b[31m-b: 1\r\x1b[0m\n" in shown
    plain = render_diff(Plan(tmp_path, (), edits=edits))
    assert "-a: 1\rimage: x:1\r\n\\ No newline at end of file\n" in plain  # applies as is
