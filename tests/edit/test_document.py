"""The two composers (libyaml through PyYAML, ruamel.yaml's own) locate every scalar of
every corpus file at the same offsets with the same values, so either may edit."""

from __future__ import annotations

import pytest

from tests.corpus import corpus_files
from tests.shared import needs
from updater.edit import document
from updater.edit.document import Document, parse, scalar_tag, scalars

pytestmark = needs("corpus")


def located(doc: Document) -> list[tuple[int, int, str, str]]:
    return [(doc.start(n), doc.end(n), n.value, scalar_tag(n)) for n in scalars(doc)]


@pytest.mark.parametrize("path", [p for p, _ in corpus_files()], ids=lambda p: p.name[:60])
def test_composers_agree(path: object, monkeypatch: pytest.MonkeyPatch) -> None:
    text = path.read_bytes().decode("utf-8")  # type: ignore[attr-defined]
    fast = parse(text, "f")
    assert document._loader_class is not None, "PyYAML's libyaml composer is not in use"

    def unavailable(text: str) -> None:
        raise ImportError

    monkeypatch.setattr(document, "_fast_loader", unavailable)
    slow = parse(text, "f")
    assert located(fast) == located(slow)
    for start, end, value, _ in located(fast):
        if value and "\n" not in text[start:end] and "\\" not in text[start:end]:
            assert value in text[start:end] or value.replace("'", "''") in text[start:end]


def test_malformed_yaml_names_the_line_with_either_composer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = "a: 1\nb: [\n"
    with pytest.raises(Exception, match=r"^x.yaml:3: malformed YAML"):
        parse(text, "x.yaml")
    monkeypatch.setattr(document, "_fast_loader", lambda text: (_ for _ in ()).throw(ImportError))
    with pytest.raises(Exception, match=r"^x.yaml:3: malformed YAML"):
        parse(text, "x.yaml")
