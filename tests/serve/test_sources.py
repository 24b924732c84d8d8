"""updater.serve.sources: every source's payloads with valid, wrong and missing
authentication, the events that are valid but irrelevant, multi-arch pushes, and a
table of hostile bodies for every source (always one 400 line, never a traceback)."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from updater.serve.sources import (
    MAX_EVENTS,
    SOURCES,
    Incoming,
    PushEvent,
    Rejected,
    SourceSecrets,
    read_events,
)

PAYLOADS = Path(__file__).parent / "payloads"
SECRET = "s3cret-Üñí-value"
SECRETS = SourceSecrets(default=SECRET)
MAX_BODY = 1 << 20
IDX = "sha256:" + "1f" * 32
AMD = "sha256:" + "2e" * 32
ARM = "sha256:" + "3d" * 32
ONE = "sha256:" + "4c" * 32


def signature(body: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed(source: str, body: bytes, secret: str = SECRET) -> tuple[dict[str, str], dict[str, str]]:
    """The headers and query with which each source's sender proves the secret."""
    return {
        "distribution": ({"authorization": f"Bearer {secret}"}, {}),
        "github": ({"x-hub-signature-256": "sha256=" + signature(body, secret)}, {}),
        "dockerhub": ({}, {"secret": secret}),
        "harbor": ({"authorization": secret}, {}),
        "quay": ({}, {"secret": secret}),
        "acr": ({"x-updater-secret": secret}, {}),
        "artifactory": ({"x-jfrog-event-auth": secret}, {}),
        "generic": ({"x-signature": "sha256=" + signature(body, secret)}, {}),
    }[source]


def request(
    source: str,
    body: bytes,
    *,
    secret: str = SECRET,
    extra: dict[str, str] | None = None,
) -> Incoming:
    headers, query = signed(source, body, secret)
    return Incoming(source, {**headers, **(extra or {})}, query, body)


def fixture(name: str) -> bytes:
    return (PAYLOADS / f"{name}.json").read_bytes()


def github_headers(kind: str) -> dict[str, str]:
    return {"x-github-event": kind, "x-github-delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}


def events(source: str, name: str, **extra: str) -> list[PushEvent]:
    return read_events(request(source, fixture(name), extra=extra), SECRETS, max_body=MAX_BODY)


def rejected(
    incoming: Incoming, secrets: SourceSecrets = SECRETS, max_body: int = MAX_BODY
) -> Rejected:
    with pytest.raises(Rejected) as caught:
        read_events(incoming, secrets, max_body=max_body)
    reason = str(caught.value)
    assert "\n" not in reason and "Traceback" not in reason and len(reason) < 300, reason
    assert SECRET not in reason
    return caught.value


# --------------------------------------------------------------------------- valid payloads

GH = "72d3162e-cc78-11e3-81ab-4c9367dc0958"
VALID: list[tuple[str, str, dict[str, str], list[PushEvent]]] = [
    (
        "distribution",
        "distribution-push",
        {},
        [
            PushEvent(
                "distribution", "7a1c-0001", "registry.acme.test:5000", "acme/api", "1.5.0", ONE
            )
        ],
    ),
    (
        "distribution",
        "distribution-docker-v2",
        {},
        [
            PushEvent(
                "distribution", "7a1c-0030", "registry.acme.test:5000", "team/worker", "v2.0.1", IDX
            )
        ],
    ),
    (
        "github",
        "github-package-published",
        github_headers("package"),
        [PushEvent("github", GH, "ghcr.io", "acme/api", "1.5.0", IDX)],
    ),
    (
        "github",
        "github-registry-package-updated",
        github_headers("registry_package"),
        [PushEvent("github", GH, "ghcr.io", "acme/api", "1.6.0", IDX)],
    ),
    (
        "dockerhub",
        "dockerhub-push",
        {},
        [PushEvent("dockerhub", None, "docker.io", "acme/api", "1.5.0", None)],
    ),
    (
        "dockerhub",
        "dockerhub-official",
        {},
        [PushEvent("dockerhub", None, "docker.io", "nginx", "1.27.4", None)],
    ),
    (
        "harbor",
        "harbor-push",
        {},
        [PushEvent("harbor", None, "harbor.acme.test", "acme/api", "1.5.0", IDX)],
    ),
    (
        "harbor",
        "harbor-push-two-tags",
        {},
        [
            PushEvent("harbor", None, "harbor.acme.test", "acme/api", "1.6.0", IDX),
            PushEvent("harbor", None, "harbor.acme.test", "acme/api", "latest", IDX),
        ],
    ),
    (
        "quay",
        "quay-push",
        {},
        [
            PushEvent("quay", None, "quay.io", "acme/api", "1.5.0", None),
            PushEvent("quay", None, "quay.io", "acme/api", "latest", None),
        ],
    ),
    (
        "quay",
        "quay-push-legacy",
        {},
        [PushEvent("quay", None, "quay.acme.test", "acme/api", "1.5.0", None)],
    ),
    (
        "acr",
        "acr-push",
        {},
        [PushEvent("acr", "5c7d1e2f-acr-0001", "acme.azurecr.io", "acme/api", "1.5.0", ONE)],
    ),
    (
        "artifactory",
        "artifactory-pushed",
        {},
        [PushEvent("artifactory", None, "acme.jfrog.io", "docker-local/acme/api", "1.5.0", IDX)],
    ),
    (
        "generic",
        "generic",
        {},
        [
            PushEvent(
                "generic",
                "gitlab-pipeline-1234-job-99",
                "registry.gitlab.com",
                "acme/api",
                "1.5.0",
                ONE,
            )
        ],
    ),
    (
        "generic",
        "generic-digest-in-image",
        {},
        [PushEvent("generic", None, "registry.acme.test:5000", "acme/api", "1.5.0", ONE)],
    ),
    (
        "generic",
        "generic-hub-short",
        {},
        [PushEvent("generic", None, "docker.io", "library/nginx", "1.27.4", None)],
    ),
]


@pytest.mark.parametrize(
    ("source", "name", "headers", "expected"), VALID, ids=[case[1] for case in VALID]
)
def test_valid_payload_gives_its_events(
    source: str, name: str, headers: dict[str, str], expected: list[PushEvent]
) -> None:
    assert events(source, name, **headers) == expected


def test_every_source_has_a_valid_payload() -> None:
    assert {case[0] for case in VALID} == set(SOURCES)


def test_name_is_host_and_repository() -> None:
    (event,) = events("github", "github-package-published", **github_headers("package"))
    assert event.name == "ghcr.io/acme/api"
    assert PushEvent("x", None, None, "acme/api", "1", None).name == "acme/api"


def test_header_names_are_case_insensitive() -> None:
    body = fixture("distribution-push")
    incoming = Incoming("distribution", {"Authorization": f"Bearer {SECRET}"}, {}, body)
    assert len(read_events(incoming, SECRETS, max_body=MAX_BODY)) == 1


def test_artifactory_accepts_a_signature_instead_of_the_secret() -> None:
    body = fixture("artifactory-pushed")
    incoming = Incoming("artifactory", {"x-jfrog-event-auth": signature(body)}, {}, body)
    assert len(read_events(incoming, SECRETS, max_body=MAX_BODY)) == 1


def test_a_per_source_secret_wins_over_the_default() -> None:
    secrets = SourceSecrets(default="other", per_source={"github": SECRET})
    body = fixture("github-package-published")
    ok = request("github", body, extra=github_headers("package"))
    assert len(read_events(ok, secrets, max_body=MAX_BODY)) == 1
    rejected_default = request("github", body, secret="other", extra=github_headers("package"))
    assert rejected(rejected_default, secrets).status == 401
    assert (
        len(
            read_events(
                request("quay", fixture("quay-push"), secret="other"), secrets, max_body=MAX_BODY
            )
        )
        == 2
    )


@pytest.mark.parametrize(
    ("given", "host"),
    [
        ("INDEX.docker.io", "docker.io"),
        ("registry-1.docker.io", "docker.io"),
        ("Registry.Acme.Test:5000", "registry.acme.test:5000"),
        ("[::1]:5000", "[::1]:5000"),
    ],
)
def test_hosts_are_normalised(given: str, host: str) -> None:
    doc = json.loads(fixture("distribution-push"))
    doc["events"][0]["request"]["host"] = given
    body = json.dumps(doc).encode()
    (event,) = read_events(request("distribution", body), SECRETS, max_body=MAX_BODY)
    assert event.host == host


# --------------------------------------------------------------------------- multi-arch


def test_distribution_multiarch_push_gives_every_manifest_and_no_blob() -> None:
    found = events("distribution", "distribution-multiarch")
    host = "registry.acme.test:5000"
    assert found == [
        PushEvent("distribution", "7a1c-0011", host, "acme/api", None, AMD),
        PushEvent("distribution", "7a1c-0012", host, "acme/api", None, ARM),
        PushEvent("distribution", "7a1c-0013", host, "acme/api", "1.6.0", IDX),
    ]
    # The platform manifests are told apart from the index: no tag, each its own digest.
    assert [e.tag for e in found if e.digest == IDX] == ["1.6.0"]
    assert len({e.event_id for e in found}) == 3


def test_github_platform_manifest_has_no_tag() -> None:
    assert events("github", "github-untagged-platform", **github_headers("package")) == [
        PushEvent("github", GH, "ghcr.io", "acme/api", None, AMD)
    ]


def test_distribution_host_falls_back_to_the_target_url() -> None:
    doc = json.loads(fixture("distribution-push"))
    del doc["events"][0]["request"]
    body = json.dumps(doc).encode()
    (event,) = read_events(request("distribution", body), SECRETS, max_body=MAX_BODY)
    assert event.host == "registry.acme.test:5000"


# --------------------------------------------------------------------------- irrelevant

IRRELEVANT = [
    ("distribution", "distribution-pull", {}),
    ("github", "github-ping", {"x-github-event": "ping"}),
    ("github", "github-npm", github_headers("package")),
    ("github", "github-package-published", github_headers("push")),
    ("harbor", "harbor-pull", {}),
    ("harbor", "harbor-delete", {}),
    ("acr", "acr-delete", {}),
    ("acr", "acr-ping", {}),
    ("artifactory", "artifactory-deleted", {}),
    ("artifactory", "artifactory-artifact-deployed", {}),
]


@pytest.mark.parametrize(
    ("source", "name", "headers"), IRRELEVANT, ids=[f"{c[1]}-{c[2]}" for c in IRRELEVANT]
)
def test_valid_but_irrelevant_payload_gives_nothing(
    source: str, name: str, headers: dict[str, str]
) -> None:
    assert events(source, name, **headers) == []


def test_github_action_other_than_published_or_updated_gives_nothing() -> None:
    doc = json.loads(fixture("github-package-published"))
    doc["action"] = "deleted"
    body = json.dumps(doc).encode()
    incoming = request("github", body, extra=github_headers("package"))
    assert read_events(incoming, SECRETS, max_body=MAX_BODY) == []


# --------------------------------------------------------------------------- authentication

FIRST_VALID = {case[0]: case for case in reversed(VALID)}


def valid_request(source: str, secret: str = SECRET) -> Incoming:
    _, name, headers, _ = FIRST_VALID[source]
    return request(source, fixture(name), secret=secret, extra=headers)


def unsigned(incoming: Incoming) -> Incoming:
    kept = {k: v for k, v in incoming.headers.items() if k.startswith("x-github-")}
    return Incoming(incoming.source, kept, {}, incoming.body)


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_wrong_secret_is_401(source: str) -> None:
    assert rejected(valid_request(source, secret="not-the-secret")).status == 401


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_missing_authentication_is_401(source: str) -> None:
    assert rejected(unsigned(valid_request(source))).status == 401


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_no_secret_configured_is_401_for_everyone(source: str) -> None:
    error = rejected(valid_request(source), SourceSecrets(default=None))
    assert error.status == 401 and "no secret" in str(error)
    assert rejected(valid_request(source, secret=""), SourceSecrets(default="")).status == 401


@pytest.mark.parametrize("source", ["github", "generic", "artifactory"])
def test_signature_covers_the_body(source: str) -> None:
    good = valid_request(source)
    if source == "artifactory":
        good = Incoming(source, {"x-jfrog-event-auth": signature(good.body)}, {}, good.body)
    tampered = Incoming(source, good.headers, good.query, good.body.replace(b"1.5.0", b"9.9.9"))
    assert rejected(tampered).status == 401


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_authentication_is_checked_before_the_body_is_read(source: str) -> None:
    incoming = valid_request(source, secret="wrong")
    garbage = Incoming(source, incoming.headers, incoming.query, b"\xff{not json")
    assert rejected(garbage).status == 401


def test_secret_with_non_ascii_header_spelling_does_not_raise() -> None:
    body = fixture("harbor-push")
    for value in ["\udcff\udcfe", "caf\xe9", "é" * 5000, "Bearer"]:
        assert rejected(Incoming("harbor", {"authorization": value}, {}, body)).status == 401


def test_bearer_needs_the_bearer_scheme() -> None:
    body = fixture("distribution-push")
    for value in [SECRET, f"Basic {SECRET}", f"Bearer{SECRET}", "Bearer "]:
        assert rejected(Incoming("distribution", {"authorization": value}, {}, body)).status == 401
    ok = Incoming("distribution", {"authorization": f"bearer  {SECRET} "}, {}, body)
    assert len(read_events(ok, SECRETS, max_body=MAX_BODY)) == 1


# --------------------------------------------------------------------------- status order


def test_unknown_source_is_404_and_names_the_known_ones() -> None:
    error = rejected(Incoming("gitlab\n\x1b[31m", {}, {}, b"{}"))
    assert error.status == 404 and "distribution" in str(error) and "\x1b" not in str(error)


def test_body_over_max_body_is_413_before_authentication() -> None:
    incoming = Incoming("github", {}, {}, b" " * 2049)
    assert rejected(incoming, max_body=2048).status == 413
    at_limit = valid_request("generic")
    assert read_events(at_limit, SECRETS, max_body=len(at_limit.body))


def test_too_many_events_is_400() -> None:
    doc = json.loads(fixture("quay-push"))
    doc["updated_tags"] = [f"v{i}" for i in range(MAX_EVENTS + 1)]
    error = rejected(request("quay", json.dumps(doc).encode()))
    assert error.status == 400 and str(MAX_EVENTS) in str(error)


# --------------------------------------------------------------------------- bad payloads

# (source, fixture, headers, JSON path to change, new value, words the reason contains)
FIELD_ERRORS: list[tuple[str, str, dict[str, str], tuple[Any, ...], Any, str]] = [
    ("distribution", "distribution-push", {}, ("events",), {"a": 1}, "events: expected a list"),
    ("distribution", "distribution-push", {}, ("events", 0), [], "events[0]: expected an object"),
    ("distribution", "distribution-push", {}, ("events", 0, "target"), "x", "events[0].target"),
    (
        "distribution",
        "distribution-push",
        {},
        ("events", 0, "target", "tag"),
        "1.5.0\n\x1b[2J",
        "events[0].target.tag: not a tag",
    ),
    (
        "distribution",
        "distribution-push",
        {},
        ("events", 0, "target", "repository"),
        "Acme/API",
        "events[0].target.repository: not a repository",
    ),
    (
        "distribution",
        "distribution-push",
        {},
        ("events", 0, "target", "digest"),
        "sha256:abc",
        "events[0].target.digest: not a digest",
    ),
    (
        "distribution",
        "distribution-push",
        {},
        ("events", 0, "request", "host"),
        "bad host/",
        "events[0].request.host: no registry host",
    ),
    (
        "distribution",
        "distribution-push",
        {},
        ("events", 0, "id"),
        "x" * 500,
        "events[0].id: not an event id",
    ),
    (
        "github",
        "github-package-published",
        github_headers("package"),
        ("package",),
        [],
        "package: expected an object",
    ),
    (
        "github",
        "github-package-published",
        github_headers("package"),
        ("package", "package_version", "container_metadata", "tag", "name"),
        "bad tag!",
        "package.package_version.container_metadata.tag.name: not a tag",
    ),
    (
        "github",
        "github-package-published",
        github_headers("package"),
        ("package", "owner", "login"),
        None,
        "package.owner.login: empty",
    ),
    (
        "dockerhub",
        "dockerhub-push",
        {},
        ("push_data", "tag"),
        7,
        "push_data.tag: expected a string, got a number",
    ),
    (
        "dockerhub",
        "dockerhub-push",
        {},
        ("repository", "repo_name"),
        "acme//api",
        "repository.repo_name: not a repository",
    ),
    (
        "harbor",
        "harbor-push",
        {},
        ("event_data", "resources", 0, "resource_url"),
        "https://user:pw@/acme/api:1",
        "event_data.resources[0].resource_url",
    ),
    (
        "harbor",
        "harbor-push",
        {},
        ("event_data", "resources"),
        "all",
        "event_data.resources: expected a list",
    ),
    ("quay", "quay-push", {}, ("updated_tags", 0), "", "updated_tags[0]: empty"),
    ("quay", "quay-push", {}, ("updated_tags",), None, "updated_tags: expected a list, got null"),
    ("acr", "acr-push", {}, ("target", "repository"), "", "target.repository: empty"),
    ("acr", "acr-push", {}, ("request",), ["acme.azurecr.io"], "request: expected an object"),
    (
        "artifactory",
        "artifactory-pushed",
        {},
        ("data", "sha256"),
        "1f" * 20,
        "data.sha256: not a sha256",
    ),
    ("artifactory", "artifactory-pushed", {}, ("data", "tag"), True, "data.tag: expected a string"),
    ("generic", "generic", {}, ("image",), "Acme/API:1", "image: not an image reference"),
    ("generic", "generic-hub-short", {}, ("image",), "nginx", "image: names neither"),
    (
        "generic",
        "generic-digest-in-image",
        {},
        ("digest",),
        "sha256:" + "0" * 64,
        "digest: differs",
    ),
]


def changed(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    doc = copy.deepcopy(doc)
    node = doc
    for key in path[:-1]:
        node = node[key]
    if isinstance(node, dict) and path[-1] not in node and value is None:
        return doc
    node[path[-1]] = value
    return doc


@pytest.mark.parametrize(
    ("source", "name", "headers", "path", "value", "words"),
    FIELD_ERRORS,
    ids=[f"{c[0]}-{'.'.join(map(str, c[3]))}" for c in FIELD_ERRORS],
)
def test_bad_field_is_400_naming_it(
    source: str, name: str, headers: dict[str, str], path: tuple[Any, ...], value: Any, words: str
) -> None:
    body = json.dumps(changed(json.loads(fixture(name)), path, value)).encode()
    error = rejected(request(source, body, extra=headers))
    assert error.status == 400
    assert words in str(error)
    assert "pw@" not in str(error)


def test_harbor_cloudevents_format_is_refused_not_ignored() -> None:
    doc = {"specversion": "1.0", "type": "harbor.artifact.pushed", "id": "x", "data": {}}
    error = rejected(request("harbor", json.dumps(doc).encode()))
    assert error.status == 400 and "payload format to Default" in str(error)


def test_missing_field_is_400_naming_it() -> None:
    doc = json.loads(fixture("harbor-push"))
    del doc["event_data"]["repository"]
    error = rejected(request("harbor", json.dumps(doc).encode()))
    assert str(error) == "payload field event_data.repository: missing"


GARBAGE: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("null", b"null"),
    ("list", b"[]"),
    ("string", b'"push"'),
    ("number", b"42"),
    ("not-utf8", b'{"image": "\xff\xfe"}'),
    ("utf16", '{"a": 1}'.encode("utf-16")),
    ("truncated", b'{"events": [{"action": "push"'),
    ("nan", b'{"events": NaN}'),
    ("huge-int", b'{"events": ' + b"9" * 5000 + b"}"),
    ("deep-lists", b"[" * 100_000 + b"]" * 100_000),
    ("deep-objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
    ("trailing-garbage", b'{"image": "a:1"} trailing'),
    ("nul-bytes", b'{"image": "nginx:1\\u0000"}'),
    ("control-chars", b'{"type": "PUSH_ARTIFACT\\u001b[31m", "action": "\\u0007"}'),
]


@pytest.mark.parametrize("source", sorted(SOURCES))
@pytest.mark.parametrize(("label", "body"), GARBAGE, ids=[g[0] for g in GARBAGE])
def test_garbage_body_is_one_400_line(source: str, label: str, body: bytes) -> None:
    headers = github_headers("package") if source == "github" else {}
    try:
        found = read_events(request(source, body, extra=headers), SECRETS, max_body=1 << 21)
    except Rejected as error:
        assert error.status == 400, (label, str(error))
        reason = str(error)
        assert "\n" not in reason and len(reason) < 300 and reason.isprintable(), reason
    else:
        # Only a payload this source ignores may pass (a Harbor "type" that is not a push).
        assert found == [], (label, found)


def mutations(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every place in a payload, each replaced by every wrong kind of value."""
    for wrong in ([], {}, 0, -1.5, True, None, "", "\x00\n\x1b[31m", "A" * 300, [[["x"]]]):
        if path and wrong != value:
            yield path, wrong
    if isinstance(value, dict):
        for key, child in value.items():
            yield from mutations(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from mutations(child, (*path, index))


@pytest.mark.parametrize(
    ("source", "name", "headers", "expected"), VALID, ids=[c[1] for c in VALID]
)
def test_every_wrong_type_anywhere_is_400_or_ignored(
    source: str, name: str, headers: dict[str, str], expected: list[PushEvent]
) -> None:
    original = json.loads(fixture(name))
    seen = 0
    for path, wrong in mutations(original):
        body = json.dumps(changed(original, path, wrong)).encode()
        try:
            found = read_events(request(source, body, extra=headers), SECRETS, max_body=MAX_BODY)
        except Rejected as error:
            assert error.status == 400, (path, wrong)
            reason = str(error)
            assert "\n" not in reason and len(reason) < 300 and reason.isprintable(), reason
        else:
            for event in found:  # what passes is still a well-formed event
                assert event.repository and "\n" not in event.name
                assert event.tag is None or event.tag.isprintable()
        seen += 1
    assert seen >= 10
