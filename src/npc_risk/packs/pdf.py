"""Printable PDFs of the pack pages, by headless Chromium's own print (Debian's `chromium`).

One Chromium process per page, `--print-to-pdf`, with the flags a closed network needs (no
background networking, no component updates, a fresh profile folder) so it never tries to reach
Google's hosts. The page itself needs no network: its charts are inline SVG and it has no fonts
or scripts to fetch. A missing browser is a user error naming the fix (install it, or
`--no-pdf`), never a traceback.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from npc_risk.errors import OutputError

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-pdf-header-footer", "--run-all-compositor-stages-before-draw")
TIMEOUT_SECONDS = 120
MAX_PARALLEL = 4


def find_browser() -> str | None:
    """The Chromium to print with: $NPC_RISK_CHROMIUM, else the first of BROWSERS on the PATH."""
    chosen = os.environ.get("NPC_RISK_CHROMIUM")
    if chosen:
        return chosen if Path(chosen).exists() else None
    return next((path for name in BROWSERS if (path := shutil.which(name))), None)


def print_pdfs(pages: Sequence[Path]) -> list[Path]:
    """Print each HTML page to a PDF beside it; return the PDFs. Pages are printed a few at a
    time (one Chromium each, its own profile folder), in the order given."""
    browser = find_browser()
    if browser is None:
        raise OutputError("cannot print the pack PDFs: no Chromium found (install Debian's `chromium`, set "
                          "NPC_RISK_CHROMIUM to its path, or pass --no-pdf)")
    workers = max(1, min(len(pages), os.cpu_count() or 1, MAX_PARALLEL))
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda page: _print(browser, page), pages))


def _print(browser: str, page: Path) -> Path:
    target = page.with_suffix(".pdf")
    with tempfile.TemporaryDirectory(prefix="npc-risk-chromium-") as profile:
        command = [browser, *FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={target}",
                   page.resolve().as_uri()]
        try:
            done = subprocess.run(command, capture_output=True, timeout=TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise OutputError(f"{page.name}: Chromium could not print it ({type(exc).__name__}); "
                              "check the browser runs, or pass --no-pdf") from None
    if done.returncode != 0 or not target.exists():
        raise OutputError(f"{page.name}: Chromium exited {done.returncode} without a PDF; check the "
                          "browser runs headless here, or pass --no-pdf")
    return target
