"""Render verification: render the kustomize roots and Helm charts a plan touches,
before and after, with the pull agents' own renderers, and accept only image updates."""

from __future__ import annotations

from updater.render.hook import CheckedPlanner, markdown_section, verification_of
from updater.render.verify import (
    MODES,
    RenderCheckError,
    Verification,
    VerifyOptions,
    verify,
)

__all__ = [
    "MODES",
    "CheckedPlanner",
    "RenderCheckError",
    "Verification",
    "VerifyOptions",
    "markdown_section",
    "verification_of",
    "verify",
]
