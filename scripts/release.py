"""The release workflow's checks, as one script that the tests run too.

    python scripts/release.py check vX.Y.Z       # print X.Y.Z, or refuse the tag
    python scripts/release.py notes X.Y.Z        # the CHANGELOG section, for the release
    python scripts/release.py check-dist X.Y.Z dist/

``check`` refuses a tag that is not a release version, one the source tree does not
build as (setuptools-scm reads the version from the tag: a tag not on the checked-out
commit, or a dirty tree, builds as a .dev version), and one without a dated, non-empty
section in CHANGELOG.md. Each refusal is one line naming the file and line, exit 1.
Standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What PyPI and the image tags accept alike: X.Y.Z with an optional pre-release.
NUMBER = r"(?:0|[1-9][0-9]*)"
TAG = re.compile(rf"v(?P<version>{NUMBER}\.{NUMBER}\.{NUMBER}(?:(?:a|b|rc)[0-9]+)?)")
HEADING = re.compile(r"## \[(?P<version>[^\]]+)\](?:\s+-\s+(?P<date>\S+))?\s*$")
DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class Refused(Exception):
    """A check failed; the message is the one line to show."""


@dataclass(frozen=True)
class Section:
    version: str
    date: str | None
    line: int
    body: str


def sections(path: Path) -> list[Section]:
    lines = path.read_text(encoding="utf-8").splitlines()
    starts = [(number, HEADING.match(text)) for number, text in enumerate(lines)]
    found = [(number, match) for number, match in starts if match]
    result = []
    for index, (number, match) in enumerate(found):
        end = found[index + 1][0] if index + 1 < len(found) else len(lines)
        # Link references ([1.2.3]: https://...) at the end belong to no section.
        body = [text for text in lines[number + 1 : end] if not re.match(r"\[[^\]]+\]: ", text)]
        result.append(
            Section(match["version"], match["date"], number + 1, "\n".join(body).strip() + "\n")
        )
    return result


def section(path: Path, version: str) -> Section:
    for found in sections(path):
        if found.version == version:
            if found.date is None or not DATE.fullmatch(found.date):
                raise Refused(
                    f"{path.name}:{found.line}: the {version} section is dated "
                    f"{found.date or 'nothing'!r}; give it the release date (YYYY-MM-DD)"
                )
            if not found.body.strip():
                raise Refused(f"{path.name}:{found.line}: the {version} section is empty")
            return found
    raise Refused(f"{path.name}: no section for {version} (## [{version}] - YYYY-MM-DD)")


def tag_version(tag: str) -> str:
    match = TAG.fullmatch(tag)
    if not match:
        raise Refused(f"tag {tag!r} is not a release tag (vX.Y.Z, or vX.Y.ZrcN)")
    return match["version"]


def built_version(root: Path) -> str:
    """What setuptools-scm makes of the checkout: the version the wheel will carry."""
    done = subprocess.run(
        [sys.executable, "-m", "setuptools_scm"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise Refused(f"setuptools-scm failed in {root}: {last}")
    return done.stdout.strip()


def check(tag: str, root: Path) -> str:
    version = tag_version(tag)
    section(root / "CHANGELOG.md", version)
    built = built_version(root)
    if built != version:
        raise Refused(
            f"the checkout builds as {built}, not {version}: the tag must be on the "
            "checked-out commit and the tree clean"
        )
    return version


def check_dist(version: str, dist: Path) -> list[str]:
    expected = {f"gitops_updater-{version}-py3-none-any.whl", f"gitops_updater-{version}.tar.gz"}
    present = {path.name for path in dist.iterdir()} if dist.is_dir() else set()
    if present != expected:
        missing = ", ".join(sorted(expected - present)) or "nothing"
        extra = ", ".join(sorted(present - expected)) or "nothing"
        raise Refused(f"{dist}: missing {missing}; unexpected {extra}")
    return sorted(expected)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="the source tree")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check", help="refuse a tag that cannot be released").add_argument("tag")
    commands.add_parser("notes", help="print the CHANGELOG section").add_argument("version")
    dist = commands.add_parser("check-dist", help="exactly the wheel and sdist of VERSION")
    dist.add_argument("version")
    dist.add_argument("dist", type=Path)
    args = parser.parse_args(argv)
    try:
        if args.command == "check":
            print(check(args.tag, args.root))
        elif args.command == "notes":
            sys.stdout.write(section(args.root / "CHANGELOG.md", args.version).body)
        else:
            print("\n".join(check_dist(args.version, args.dist)))
    except Refused as refused:
        print(f"release: {refused}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
