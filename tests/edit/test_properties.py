"""Property tests: for generated documents and tags, the output differs from the input
only inside the edited scalars and parses to the same data except those values."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from tests.edit.checks import assert_only_values_changed
from tests.edit.helpers import make_repo, plan_for

TAGS = st.from_regex(r"\A[A-Za-z0-9_][A-Za-z0-9_.-]{0,24}\Z")
REPOS = st.sampled_from(
    ["ghcr.io/acme/api", "ghcr.io/acme/api-worker", "nginx", "quay.io/org/app", "localhost:5000/x"]
)
QUOTES = st.sampled_from(["", "'", '"'])
COMMENTS = st.sampled_from(["", "  # pinned by CI", " #x"])


def quoted(value: str, quote: str) -> str:
    if quote == "" and not value.replace(".", "").replace("-", "").replace("_", "").isalpha():
        quote = '"'  # keep the generated input itself unambiguous: 1.20 must stay a string
    return f"{quote}{value}{quote}"


@st.composite
def documents(draw: st.DrawFn) -> tuple[str, dict[str, Any], str]:
    indent = " " * draw(st.sampled_from([2, 4]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))
    bom = draw(st.sampled_from(["", "\ufeff"]))
    count = draw(st.integers(min_value=1, max_value=5))
    lines = [draw(st.sampled_from(["", "# values", "---"]))]
    data: dict[str, Any] = {}
    for index in range(count):
        repo = draw(REPOS)
        tag = draw(TAGS)
        shape = draw(st.sampled_from(["string", "block", "flow"]))
        key = f"app{index}"
        q1, q2 = draw(QUOTES), draw(QUOTES)
        comment = draw(COMMENTS)
        if shape == "string":
            lines += [f"{key}:", f"{indent}image: {quoted(f'{repo}:{tag}', q1)}{comment}"]
            data[key] = {"image": f"{repo}:{tag}"}
        elif shape == "block":
            lines += [
                f"{key}:",
                f"{indent}image:{comment}",
                f"{indent}{indent}repository: {quoted(repo, q1)}",
                f"{indent}{indent}tag: {quoted(tag, q2)}{comment}",
            ]
            data[key] = {"image": {"repository": repo, "tag": tag}}
        else:
            lines += [
                f"{key}:",
                f"{indent}image: {{repository: {quoted(repo, q1)}, tag: {quoted(tag, q2)}}}",
            ]
            data[key] = {"image": {"repository": repo, "tag": tag}}
        if draw(st.booleans()):
            lines.append(draw(st.sampled_from(["", f"{indent}# trailing", f"{indent}replicas: 1"])))
            if lines[-1].endswith("replicas: 1"):
                data[key]["replicas"] = 1
    text = bom + newline.join(line for line in lines) + draw(st.sampled_from(["", newline]))
    return text, data, draw(REPOS)


def load(text: str) -> Any:
    return YAML(typ="safe", pure=True).load(text.lstrip("\ufeff"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents(), TAGS)
def test_only_the_edited_scalars_change(
    document: tuple[str, dict[str, Any], str], tag: str
) -> None:
    text, data, target = document
    assert load(text) == data
    with tempfile.TemporaryDirectory() as directory:
        root = make_repo(Path(directory), {"values.yaml": text})
        result = plan_for(root, f"{target}:{tag}", aliases=())
    expected = {
        key: {
            **value,
            "image": (
                f"{target}:{tag}"
                if value["image"] == f"{target}:{value['image'].rpartition(':')[2]}"
                and isinstance(value["image"], str)
                and value["image"].rpartition(":")[0] == target
                else value["image"]
            )
            if isinstance(value["image"], str)
            else (
                {**value["image"], "tag": tag}
                if value["image"]["repository"] == target
                else value["image"]
            ),
        }
        for key, value in data.items()
    }
    if not result.edits:
        assert expected == data
        return
    (edit,) = result.edits
    assert_only_values_changed(edit)
    assert load(edit.new_text) == expected
