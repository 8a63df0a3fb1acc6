"""Open a report page in headless Chromium (Debian's `chromium`), offline: what loaded, and a screenshot.

``inspect_page`` copies the page's folder, adds a script that runs once the page has loaded (so
every image has loaded or failed) and writes what it found into the DOM, and reads it back from
``--dump-dom``. ``screenshot`` renders the page at a given window size into a PNG.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CHECK_ID = "ganrepro-page-check"
CHECK_SCRIPT = """<script>
window.addEventListener("load", () => {
  const box = el => el.getBoundingClientRect();
  const images = [...document.images].map(i => ({src: i.getAttribute("src"), complete: i.complete,
    natural: [i.naturalWidth, i.naturalHeight], shown: [Math.round(box(i).width), Math.round(box(i).height)]}));
  const tables = [...document.querySelectorAll("table")].map(t => ({rows: t.rows.length,
    cells: [...t.querySelectorAll("td")].length,
    shown: [Math.round(box(t).width), Math.round(box(t).height)],
    header: [...t.querySelectorAll("th")].map(h => h.textContent)}));
  const out = document.createElement("pre");
  out.id = "CHECK_ID";
  out.textContent = JSON.stringify({title: document.title, images, tables,
    height: document.documentElement.scrollHeight, width: document.documentElement.scrollWidth});
  document.body.appendChild(out);
});
</script>""".replace("CHECK_ID", CHECK_ID)


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _run(args: list[str], profile: Path, timeout: int = 120) -> subprocess.CompletedProcess:
    cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-proxy-server", "--proxy-bypass-list=*", "--hide-scrollbars", f"--user-data-dir={profile}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def inspect_page(page: Path) -> dict:
    """Images (complete, natural and shown size), tables (rows, cells, shown size) and page size."""
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        shutil.copytree(page.parent, site)
        checked = site / f"_check_{page.name}"
        text = page.read_text()
        checked.write_text(text.replace("</body>", CHECK_SCRIPT + "\n</body>"))
        proc = _run(["--window-size=1280,1000", "--virtual-time-budget=20000", "--dump-dom", checked.as_uri()],
                    Path(tmp) / "profile")
    found = re.search(rf'<pre id="{CHECK_ID}">(.*?)</pre>', proc.stdout, re.S)
    if not found:
        raise AssertionError(f"the page check did not run (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(html.unescape(found.group(1)))


def screenshot(page: Path, out: Path, width: int = 1280, height: int = 3000) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        proc = _run([f"--window-size={width},{height}", "--virtual-time-budget=20000", f"--screenshot={out}",
                     page.resolve().as_uri()], Path(tmp) / "profile")
    if not out.is_file():
        raise AssertionError(f"no screenshot (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return out
