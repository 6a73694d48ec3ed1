"""sha256, spelled once: of a file (inputs, outputs, packaged data) and of a text (configs)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks (extract files can be gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_sha256(path: Path) -> str:
    """Hex sha256 of an input table: of the file, or, for a folder of Parquet part files, of its
    files' relative names and hashes, one `name sha256` line each in name order (so renaming,
    adding or changing a part changes it)."""
    path = Path(path)
    if not path.is_dir():
        return file_sha256(path)
    lines = [f"{p.relative_to(path).as_posix()} {file_sha256(p)}\n"
             for p in sorted(path.rglob("*")) if p.is_file()]
    return text_sha256("".join(lines))


def text_sha256(text: str) -> str:
    """Hex sha256 of a text's UTF-8 bytes (canonical JSON of a config, a manifest entry)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
