"""What may be read from a watched folder, checked before a byte is read.

Refused with a clear reason: names that are not valid UTF-8 or hold control characters,
links (symbolic or hard) that lead out of the source root, loops of symbolic links,
non-regular files, types Verity does not read, empty files and files over the size limit.
Temp, hidden and lock files are not refused but ignored: editors make them all the time.
"""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from core.errors import FileUnstable, RejectedFile
from ingest.parsing.media import media_type_for
from schemas import ReasonCode

_TEMP_SUFFIXES = (
    "~",
    ".tmp",
    ".temp",
    ".swp",
    ".swo",
    ".swx",
    ".part",
    ".crdownload",
    ".lock",
    ".lck",
    ".partial",
    ".download",
)


@dataclass(frozen=True)
class FileFacts:
    """A file that passed the checks, and its stat when checked."""

    path: Path
    media_type: str
    size: int
    mtime_ns: int


def is_ignored(rel_path: str) -> bool:
    """Temp, hidden and lock files (and anything inside hidden folders)."""
    parts = rel_path.split("/")
    if any(part.startswith(".") for part in parts):
        return True
    name = parts[-1]
    return (
        name.startswith(("~$", ".~lock", "#"))
        or name.endswith(_TEMP_SUFFIXES)
        or name == "4913"  # vim's probe file
    )


def printable_path(rel_path: str) -> str:
    """The path as it can be stored and shown: undecodable bytes escaped as \\xNN."""
    raw = rel_path.encode("utf-8", "surrogateescape")
    return raw.decode("utf-8", "backslashreplace")


def check_name(rel_path: str) -> None:
    """File names must be valid UTF-8 without control characters (newlines included)."""
    try:
        rel_path.encode("utf-8")
    except UnicodeEncodeError:
        raise RejectedFile(
            f"file name is not valid UTF-8: {printable_path(rel_path)!r}; rename it",
            ReasonCode.BAD_FILENAME,
        ) from None
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in rel_path):
        raise RejectedFile(
            f"file name holds a control character (newline?): {rel_path!r}; rename it",
            ReasonCode.BAD_FILENAME,
        )


def check_type(rel_path: str) -> str:
    """The media type of a file Verity reads (`RejectedFile` for any other type)."""
    media_type = media_type_for(rel_path)
    if media_type is None:
        raise RejectedFile(
            f"unsupported file type {Path(rel_path).suffix or '(none)'!r}; "
            "Verity reads .md .html .txt .pdf .docx",
            ReasonCode.UNSUPPORTED_TYPE,
        )
    return media_type


def inspect(root: Path, rel_path: str, max_bytes: int) -> FileFacts:
    """Check a file before reading it; `FileNotFoundError` if it is gone."""
    check_name(rel_path)
    path = root / rel_path
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode):
        target = _link_target(path)
        if not target.is_relative_to(root.resolve()):
            raise RejectedFile(
                f"symbolic link leads outside the source folder (to {target})",
                ReasonCode.OUTSIDE_ROOT,
            )
        st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise RejectedFile("not a regular file", ReasonCode.UNSUPPORTED_TYPE)
    if st.st_nlink > 1:
        raise RejectedFile(
            f"the file has {st.st_nlink} hard links, which may lead outside the source "
            "folder; copy it instead of linking",
            ReasonCode.HARD_LINK,
        )
    media_type = check_type(rel_path)
    if st.st_size > max_bytes:
        raise RejectedFile(
            f"file is {st.st_size / 2**20:,.1f} MB, over the {max_bytes / 2**20:,.1f} MB "
            "limit (VERITY_MAX_FILE_MB)",
            ReasonCode.TOO_LARGE,
        )
    if st.st_size == 0:
        raise RejectedFile("the file is empty", ReasonCode.EMPTY)
    return FileFacts(path, media_type, st.st_size, st.st_mtime_ns)


def _link_target(path: Path) -> Path:
    """Where a symbolic link leads; a loop of links is refused (ELOOP)."""
    try:
        return path.resolve()
    except (RuntimeError, OSError) as exc:  # Python 3.11 raises RuntimeError, later OSError
        if isinstance(exc, OSError) and exc.errno != errno.ELOOP:
            raise
        raise RejectedFile(
            "symbolic link loop: the link leads back to itself; remove or fix the link",
            ReasonCode.LINK_LOOP,
        ) from None


def read_stable(facts: FileFacts, max_bytes: int) -> bytes:
    """Read the whole file, then check that it did not change while being read."""
    with open(facts.path, "rb") as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise RejectedFile("file grew past the size limit while read", ReasonCode.TOO_LARGE)
    assert_unchanged(facts)
    if len(data) != facts.size:
        raise FileUnstable("the file changed while it was read")
    return data


def assert_unchanged(facts: FileFacts) -> None:
    """Raise `FileUnstable` if the file changed or vanished since it was inspected."""
    try:
        st = os.stat(facts.path)
    except FileNotFoundError:
        raise FileUnstable("the file vanished while it was being ingested") from None
    if (st.st_size, st.st_mtime_ns) != (facts.size, facts.mtime_ns):
        raise FileUnstable("the file changed while it was being ingested")
