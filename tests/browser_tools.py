"""Load an HTML page in headless Chromium the way a reader's browser would (helper for the
tests; not a test module)."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

BROWSER = next(
    (
        shutil.which(name)
        for name in ("chromium", "chromium-browser", "google-chrome")
        if shutil.which(name)
    ),
    None,
)
SKIP_REASON = (
    "no headless browser: install Debian's chromium (apt-get install chromium; "
    "`make test` does so as root on Debian)"
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--hide-scrollbars",
    "--no-first-run",
    "--disable-extensions",
)

PROBE = """<script>
window.__problems = [];
window.addEventListener("error", function (e) {
  window.__problems.push("error: " + (e.message || (e.target && e.target.src) || "resource"));
}, true);
document.addEventListener("securitypolicyviolation", function (e) {
  window.__problems.push("blocked by the page's policy: " + e.blockedURI);
});
["error", "warn"].forEach(function (level) {
  var original = console[level];
  console[level] = function () {
    window.__problems.push("console." + level + ": " + Array.prototype.join.call(arguments, " "));
    original.apply(console, arguments);
  };
});
window.addEventListener("load", function () {
  var images = Array.prototype.map.call(document.images, function (img) {
    return {naturalWidth: img.naturalWidth, complete: img.complete, alt: img.alt};
  });
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = JSON.stringify({images: images, problems: window.__problems});
  document.body.appendChild(pre);
});
</script>"""
"""Injected into a copy of the page: records every image's decoded width and every error,
console error or warning, and request the page's policy blocks."""


def require_browser() -> str:
    if BROWSER is None:
        pytest.skip(SKIP_REASON)
    return BROWSER


def _run(args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [require_browser(), *FLAGS, *args], capture_output=True, text=True, timeout=timeout
    )


def dom(page: Path) -> str:
    """The page's DOM after loading (scripts run, images decoded)."""
    proc = _run(["--virtual-time-budget=10000", "--dump-dom", page.resolve().as_uri()])
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def probe(page: Path, folder: Path) -> dict:
    """Load a copy of ``page`` with ``PROBE`` in its head; returns {"images": [...],
    "problems": [...]}. The copy's policy additionally allows the probe's inline script."""
    text = page.read_text(encoding="utf-8")
    text = re.sub(
        r'(http-equiv="Content-Security-Policy" content="[^"]*)"',
        r"\1; script-src 'unsafe-inline'" + '"',
        text,
        count=1,
    )
    text = text.replace("<head>", "<head>\n" + PROBE, 1)
    copy = folder / f"probe_{page.name}"
    copy.write_text(text, encoding="utf-8")
    found = re.search(r'<pre id="probe">(.*?)</pre>', dom(copy), flags=re.S)
    assert found, "the probe did not run"
    return json.loads(html.unescape(found.group(1)))


def visible_text(page: Path) -> str:
    """The page's text as a reader sees it (tags dropped, entities decoded, spaces joined)."""
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", dom(page), flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def screenshot(page: Path, out: Path, width: int = 1100, height: int = 1500) -> Path:
    proc = _run([f"--window-size={width},{height}", f"--screenshot={out}", page.resolve().as_uri()])
    assert proc.returncode == 0 and out.is_file(), proc.stderr[-2000:]
    return out


def print_to_pdf(page: Path, out: Path) -> Path:
    proc = _run([f"--print-to-pdf={out}", "--no-pdf-header-footer", page.resolve().as_uri()])
    assert proc.returncode == 0 and out.is_file(), proc.stderr[-2000:]
    return out
