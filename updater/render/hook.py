"""``--verify-render`` around a command's planner: every plan delivery asks for (the
first, and each re-plan after a lost push race) is rendered and judged before delivery
writes or pushes anything."""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from updater.edit.model import Plan
from updater.render.verify import RenderCheckError, Verification, VerifyOptions, verify

# The verification of each plan delivery was handed, so texts rendered from that plan
# (the PR body) can show what will deploy. Keyed by identity; the plan is kept alive.
_VERIFIED: dict[int, tuple[Plan, Verification]] = {}


class CheckedPlanner:
    def __init__(self, make_plan: Callable[[Path], Plan], options: VerifyOptions) -> None:
        self.make_plan = make_plan
        self.options = options
        self.verification: Verification | None = None

    def __call__(self, root: Path) -> Plan:
        plan = self.make_plan(root)
        verification = verify(plan, self.options)
        self.verification = verification
        if not verification.ok:
            failures = verification.failures
            more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
            raise RenderCheckError(
                f"render check failed: {failures[0]}{more}; nothing was written",
                verification,
                plan,
            )
        _VERIFIED.clear()
        _VERIFIED[id(plan)] = (plan, verification)
        return plan


def verification_of(plan: Plan) -> Verification | None:
    found = _VERIFIED.get(id(plan))
    return found[1] if found is not None and found[0] is plan else None


def markdown_section(plan: Plan) -> list[str]:
    """The PR/MR body's "What deploys" section; empty when the plan was not rendered."""
    verification = verification_of(plan)
    if verification is None:
        return []
    lines = ["", "#### Rendered", ""]
    summary = verification.summary_lines()
    if not summary:
        lines.append("Nothing this change touches is rendered by a kustomize root or chart.")
    lines += [f"- <code>{html.escape(line)}</code>" for line in summary]
    return lines
