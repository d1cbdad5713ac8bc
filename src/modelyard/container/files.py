"""Files of the training contract: the failure/success markers, tarballs in and out.

- :func:`write_failure_file` / :func:`write_success_file` inside the container, and
  :func:`read_failure_file` outside it (its text feeds :func:`errors.failure_reason`).
- :func:`tar_directory`: what the platform does, outside the container, after the job:
  ``model/`` -> ``model.tar.gz``, ``output/data/`` -> ``output.tar.gz``. SageMaker's
  toolkit does not tar anything itself; neither does ours. Archives are deterministic
  (sorted members, no owner names, gzip without a timestamp) and never follow a symlink
  out of the directory: one that leads out is refused (:class:`UnsafeArchiveError`),
  one that stays inside is stored as a relative link.
- :func:`stage_source_dir`: the source bundle (``sagemaker_submit_directory``) into
  ``<base>/code``: a directory, a tarball or a single file, by plain path or ``file://``
  URL. ``s3://`` bundles are the server's job: it downloads and extracts them into
  ``<base>/code`` before launch (a non-empty code directory is used as it is, as the
  toolkit does), so the container never talks to the object store.
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import stat
import tarfile
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from modelyard.container.archive import ArchiveReadError, safe_extract
from modelyard.container.errors import PlatformError, SourceDirError, UnsafeArchiveError

logger = logging.getLogger(__name__)

StrPath = str | os.PathLike[str]


def write_failure_file(output_dir: StrPath, text: str) -> bool:
    """Write ``output/failure`` unless the entry point already wrote its own.

    Returns whether the file was written. The toolkit keeps an existing failure file
    too: a script that explains its own failure should be believed.
    """
    path = Path(output_dir) / "failure"
    if path.exists():
        logger.info("%s exists: the entry point wrote its own failure reason", path)
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, text)
    return True


def write_success_file(output_dir: StrPath) -> None:
    """Write the empty ``output/success`` marker."""
    path = Path(output_dir) / "success"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("", encoding="utf-8")


def read_failure_file(output_dir: StrPath) -> str | None:
    """The text of ``output/failure``, or None when there is none."""
    try:
        return (Path(output_dir) / "failure").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# ---------------------------------------------------------------------------- tar out


def tar_directory(src: StrPath, dst: StrPath) -> None:
    """Archive the contents of ``src`` as the gzipped tarball ``dst`` (written atomically).

    Member names are relative to ``src`` (``model.pkl``, ``sub/weights.bin``), sorted.
    Regular files and directories are stored with their mode and mtime, owners zeroed;
    a symlink resolving inside ``src`` is stored as a relative symlink; one resolving
    outside raises :class:`UnsafeArchiveError` and no archive is written; sockets, FIFOs
    and devices are skipped with a warning.
    """
    root = Path(os.path.realpath(src))
    if not root.is_dir():
        raise FileNotFoundError(f"not a directory: {src}")
    target = Path(dst)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    skip = {os.path.realpath(tmp), os.path.realpath(target)}
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as zipped,
            tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as archive,
        ):
            _add_tree(archive, root, "", skip)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _tarinfo(name: str, st: os.stat_result) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.mode = stat.S_IMODE(st.st_mode)
    info.mtime = int(st.st_mtime)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _add_tree(archive: tarfile.TarFile, root: Path, rel_dir: str, skip: set[str]) -> None:
    directory = root / rel_dir if rel_dir else root
    with os.scandir(directory) as scan:
        entries = sorted(scan, key=lambda entry: entry.name)
    for entry in entries:
        rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
        if entry.path in skip:
            continue
        st = entry.stat(follow_symlinks=False)
        info = _tarinfo(rel, st)
        if stat.S_ISLNK(st.st_mode):
            info.type = tarfile.SYMTYPE
            info.linkname = _inside_link(root, directory, entry, rel)
            info.mode = 0o777
            archive.addfile(info)
        elif stat.S_ISDIR(st.st_mode):
            info.type = tarfile.DIRTYPE
            archive.addfile(info)
            _add_tree(archive, root, rel, skip)
        elif stat.S_ISREG(st.st_mode):
            info.size = st.st_size
            with open(entry.path, "rb") as handle:
                archive.addfile(info, handle)
        else:
            logger.warning("not archived: %s is neither a file, a directory nor a symlink", rel)


def _inside_link(root: Path, directory: Path, entry: os.DirEntry[str], rel: str) -> str:
    """The symlink's target relative to its directory, if it resolves inside ``root``."""
    resolved = os.path.realpath(entry.path)
    if resolved != str(root) and not resolved.startswith(str(root) + os.sep):
        raise UnsafeArchiveError(
            f"{rel} is a symlink to {os.readlink(entry.path)!r}, which resolves to "
            f"{resolved}, outside {root}: copy the file into the directory instead"
        )
    return os.path.relpath(resolved, directory)


# ---------------------------------------------------------------------------- source in


def extract_tarball(tarball: StrPath, dst: StrPath) -> None:
    """Extract a (possibly compressed) tarball through :func:`archive.safe_extract`.

    Members that are absolute, climb out with ``..``, link outside ``dst`` or are device
    files are refused (:class:`SourceDirError`) before anything is written.
    """
    try:
        safe_extract(tarball, dst)
    except UnsafeArchiveError as exc:
        raise SourceDirError(f"unsafe member in source bundle {tarball}: {exc}") from exc
    except ArchiveReadError as exc:
        raise SourceDirError(f"cannot extract source bundle {tarball}: {exc}") from exc


def _local_path(submit_dir: str) -> Path:
    parts = urlsplit(submit_dir)
    if parts.scheme == "file":
        return Path(unquote(parts.path))
    if parts.scheme and len(parts.scheme) > 1:
        raise PlatformError(
            f"sagemaker_submit_directory {submit_dir!r} was not staged: the server must "
            f"download a {parts.scheme}:// source bundle into the job's code/ directory "
            "before launch (the training container never talks to the object store)"
        )
    return Path(submit_dir)


def stage_source_dir(submit_dir: str | None, code_dir: StrPath) -> None:
    """Put the user's source into ``code_dir`` unless it is there already.

    ``submit_dir`` is the ``sagemaker_submit_directory`` hyperparameter: a directory,
    a tarball (``sourcedir.tar.gz``) or a single file, as a path or ``file://`` URL. A
    non-empty ``code_dir`` is kept as it is (the server staged it, or the image ships
    it), exactly as the toolkit skips its download then.
    """
    code = Path(code_dir)
    if code.is_dir() and any(code.iterdir()):
        logger.info("%s is not empty: using the source already staged there", code)
        return
    code.mkdir(parents=True, exist_ok=True)
    if not submit_dir:
        return
    source = _local_path(submit_dir)
    if source.is_dir():
        if os.path.realpath(source) == os.path.realpath(code):
            return
        shutil.copytree(source, code, symlinks=True, dirs_exist_ok=True)
    elif source.is_file() and tarfile.is_tarfile(source):
        extract_tarball(source, code)
    elif source.is_file():
        shutil.copy2(source, code)
    else:
        raise SourceDirError(
            f"sagemaker_submit_directory {submit_dir!r} does not exist in the container"
        )
    logger.info("staged %s into %s", submit_dir, code)
