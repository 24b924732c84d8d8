"""The bot branch's name."""

from __future__ import annotations

import hashlib
import re

from updater.reference import split_domain

BOT_BRANCH_PREFIX = "updater"


def bot_branch(base: str, repositories: tuple[str, ...] | list[str]) -> str:
    """``updater/<base>/<slug>``: the same for the same base and image set, whatever the
    tags, so later runs update one branch and one PR."""
    parts = []
    for repository in sorted(set(repositories)):
        _, path = split_domain(repository)
        path = path.removeprefix("library/")
        parts.append(re.sub(r"[^a-z0-9.]+", "-", path.lower()).strip("-.") or "image")
    slug = "_".join(parts)
    if len(slug) > 80:
        digest = hashlib.sha256("\n".join(sorted(set(repositories))).encode()).hexdigest()[:12]
        slug = f"{slug[:60].rstrip('-_.')}-{digest}"
    return f"{BOT_BRANCH_PREFIX}/{base}/{slug}"
