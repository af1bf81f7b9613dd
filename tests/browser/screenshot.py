"""`make screenshot`: the README's picture of the golden example's diff page.

Builds the page the browser tests open (the golden plan against smaller
pretranslation chunks and an edited script), opens it in headless Chromium
and captures it from the title to the last phase's strip.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from .cdp import HOW_TO_GET, chromium_path, launch
from .pages import golden_diff_page
from .png import decode, encode_palette

WIDTH = 820


def capture(out: Path) -> int:
    chromium = chromium_path()
    if chromium is None:
        print(f"make screenshot: {HOW_TO_GET}", file=sys.stderr)
        return 2
    out = out.resolve()
    here = Path.cwd()
    with tempfile.TemporaryDirectory(prefix="shardplan-shot-") as work:
        # Relative paths, so the page names `old/…` and `new/…`, not a temporary directory.
        os.chdir(work)
        try:
            page = golden_diff_page(Path(".")).resolve()
        finally:
            os.chdir(here)
        with launch(chromium) as browser:
            browser.open(page, width=WIDTH, height=800)
            bottom = browser.evaluate(
                "(() => { const s = [...document.querySelectorAll('canvas.strip')].pop();"
                " const r = s.getBoundingClientRect(); return r.bottom + window.scrollY + 12; })()"
            )
            assert isinstance(bottom, int | float)
            png = encode_palette(decode(browser.screenshot((0, 0, WIDTH, float(bottom)))))
    out.write_bytes(png)
    print(f"make screenshot: wrote {out} ({len(png) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(capture(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/review-page.png")))
