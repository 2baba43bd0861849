"""The report in real headless Chromium (Debian's `chromium`): no console errors, no request beyond the file
itself, every figure present and drawn, a screenshot taken. Talks the DevTools protocol over
--remote-debugging-pipe, so nothing listens on a port."""

from __future__ import annotations

import base64
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import system_unavailable
from report_synthetic import make_study

pytestmark = pytest.mark.browser

CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", shutil.which("chromium") or "",
                             shutil.which("chromium-browser") or "") if p and os.access(p, os.X_OK)), None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-default-apps",
         "--disable-extensions", "--mute-audio", "--window-size=1366,900", "--remote-debugging-pipe"]


class Browser:
    """A minimal DevTools-protocol client over the pipe pair Chromium reads on fd 3 and writes on fd 4."""

    def __init__(self, user_data_dir: Path):
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # Move the child's ends above 4 so dup2 onto 3 and 4 always makes new, inheritable descriptors.
        high_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 10)
        high_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_child_r)
        os.close(from_child_w)

        def child_fds():
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)

        self.process = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={user_data_dir}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            preexec_fn=child_fds, close_fds=False)
        os.close(high_r)
        os.close(high_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError(
                    "chromium closed the pipe: " + self.process.stderr.read().decode(errors="replace")[-2000:]
                )
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 60):
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_for(self, method: str, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if event.get("method") == method:
                return event
        while True:
            event = self._read_message(deadline)
            self.events.append(event)
            if event.get("method") == method:
                return event

    def close(self):
        with contextlib.suppress(Exception):
            self.send("Browser.close", timeout=10)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_child)
        os.close(self._from_child)


def inspect_page(html: Path, user_data_dir: Path, screenshot: Path) -> dict:
    """Load the file, collect console errors, exceptions, log errors and requests, count drawn figures."""
    browser = Browser(user_data_dir)
    try:
        target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Page.navigate", {"url": html.resolve().as_uri()}, session=session)
        browser.wait_for("Page.loadEventFired")
        figures = browser.send(
            "Runtime.evaluate",
            {
                "returnByValue": True,
                "expression": """(() => {
            const figs = [...document.querySelectorAll('figure.fig')];
            return {declared: Number(document.querySelector('meta[name=scalinglab-figures]').content),
                    figures: figs.length,
                    drawn: figs.filter(f => { const s = f.querySelector('svg');
                        if (!s) return false; const r = s.getBoundingClientRect();
                        return r.width > 100 && r.height > 100
                            && s.querySelectorAll('path, use, image').length > 10; }).length,
                    scripts: document.querySelectorAll('script').length,
                    overflow: document.documentElement.scrollWidth > window.innerWidth + 1,
                    title: document.title};
        })()""",
            },
            session=session,
        )["result"]["value"]
        options = {"format": "png"}
        if os.environ.get("SCALINGLAB_SCREENSHOT_FULL"):  # the whole page, for a person to look at
            size = browser.send("Page.getLayoutMetrics", session=session)["cssContentSize"]
            options.update(captureBeyondViewport=True,
                           clip={"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 0.6})
        shot = browser.send("Page.captureScreenshot", options, session=session)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        browser.send("Runtime.evaluate", {"expression": "1"}, session=session)  # flush pending events
    finally:
        browser.close()
    errors, requests = [], []
    for event in browser.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
            errors.append(("console", params))
        elif method == "Runtime.exceptionThrown":
            errors.append(("exception", params))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") in ("error", "warning"):
            errors.append(("log", params["entry"]))
        elif method == "Network.requestWillBeSent":
            requests.append(params["request"]["url"])
    return {"figures": figures, "errors": errors, "requests": requests}


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    if CHROMIUM is None:
        system_unavailable("chromium is not installed (Debian: apt-get install -y --no-install-recommends chromium)")
    from scalinglab.cli import main

    root = tmp_path_factory.mktemp("browser")
    study = make_study(root, sweep_name="width")
    out = root / "reports/report.html"
    assert main(["report", "--metrics", str(study["metrics"]), "--curves", str(study["curves"]),
                 "--fits", *map(str, study["fits"]), "--config-json", json.dumps(study["config"]),
                 "--out", str(out)]) == 0
    screenshot = Path(os.environ.get("SCALINGLAB_SCREENSHOT", root / "report.png"))
    result = inspect_page(out, root / "chromium-profile", screenshot)
    result["screenshot"] = screenshot
    return result


def test_no_console_errors(page):
    assert page["errors"] == []


def test_no_external_requests(page):
    assert all(url.startswith(("file://", "data:")) for url in page["requests"]), [u[:80] for u in page["requests"]]


def test_every_figure_present_and_drawn(page):
    figures = page["figures"]
    assert figures["declared"] >= 8
    assert figures["figures"] == figures["declared"]
    assert figures["drawn"] == figures["declared"]
    assert figures["scripts"] == 0
    assert not figures["overflow"], "the report is wider than a laptop screen"


def test_screenshot_taken(page):
    data = page["screenshot"].read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
