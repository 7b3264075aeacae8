"""``bgplab lab ui`` in a real headless browser, on a running seed lab.

The page is opened once and never reloaded (a marker set in the page must
survive): a node's speaker is killed and its session turns down on the
picture and in the session table; the speaker comes back and the session
turns green again; then ``bgplab lab fault`` run from the command line
shows its timeline on the page while it runs. The router's looking glass,
linked from the page, lists what ``bgplabc`` lists.
"""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bgplab.lab.check import wait_converged
from bgplab.lab.lab import Lab, down_any
from bgplab.lab.scenarios import get_scenario
from bgplab.lab.speakers import usable
from bgplab.lab.topology import load_topology
from tests.web import browser

pytestmark = [
    pytest.mark.root,
    pytest.mark.lab,
    pytest.mark.slow,
    pytest.mark.skipif(not browser.available(), reason="chromium/chromedriver/selenium missing"),
]

PREFIX = f"bgplab-t{os.getpid()}-ui-"
RUNDIR = Path(f"/run/bgplab/lab-t{os.getpid()}-ui")
NODE = "rke-node4"
EDGE = f"router--{NODE}"


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    if not usable("bgplabd"):
        pytest.skip("bgplabd is not usable")
    lab = Lab(load_topology(), get_scenario("rr"), "bgplabd", "bgplabd", PREFIX, RUNDIR)
    try:
        lab.up()
        assert wait_converged(lab, 60) is not None, "the lab did not converge"
        yield lab
    finally:
        lab.down()
        down_any(RUNDIR, PREFIX)


def _bgplab(*args: str) -> list[str]:
    return [sys.executable, "-m", "bgplab.app", "lab", "--rundir", str(RUNDIR),
            "--prefix", PREFIX, *args]  # fmt: skip


@pytest.fixture(scope="module")
def ui(lab: Lab) -> Iterator[str]:
    # port 0: the view and every looking glass on a free port (fixed ports
    # after a free one can be taken by anything else on a busy machine)
    proc = subprocess.Popen(
        _bgplab("ui", "--port", "0"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        base = _view_url(proc)
        import urllib.request

        urllib.request.urlopen(base + "/api/lab", timeout=10).read()
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def test_a_taken_port_is_one_clear_line(lab: Lab) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        out = subprocess.run(_bgplab("ui", "--port", str(port)), capture_output=True, text=True,
                             timeout=60)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr + out.stdout
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in out.stderr


def _view_url(proc: subprocess.Popen[bytes]) -> str:
    """The address `bgplab lab ui` says it serves the lab view on."""
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.5)
        if not ready:
            continue
        line = proc.stdout.readline()
        if not line:
            break  # it exited
        seen += line
        m = re.search(rb"lab view on (http://\S+?)/?\s*$", line)
        if m:
            return m.group(1).decode()
    pytest.fail(f"bgplab lab ui did not say where it serves: {seen.decode()}")


def _state(driver: Any, edge: str) -> str:
    return str(
        driver.execute_script(
            "for (const l of document.querySelectorAll('polyline.session'))"
            " if (l.dataset.session === arguments[0]) return l.dataset.state; return null;",
            edge,
        )
    )


def _states(driver: Any) -> list[str]:
    return list(
        driver.execute_script(
            "return [...document.querySelectorAll('polyline.session')].map(l => l.dataset.state)"
        )
    )


def test_killed_speaker_turns_its_session_down_live(lab: Lab, ui: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    shots = Path(os.environ.get("BGPLAB_LG_SHOTS", "/tmp"))
    with browser.chromium() as chrome:
        chrome.get(ui + "/")
        WebDriverWait(chrome, 30).until(
            lambda d: len(_states(d)) == 4 and set(_states(d)) == {"Established"}
        )
        chrome.execute_script("window.notReloaded = 1")

        os.kill(lab.speakers[NODE].pid, signal.SIGKILL)
        WebDriverWait(chrome, 30).until(lambda d: _state(d, EDGE) != "Established")
        assert _state(chrome, EDGE) != "Established"
        assert {_state(chrome, f"router--{n}") for n in ("rke-node3", "rke-node6")} == {
            "Established"
        }
        WebDriverWait(chrome, 10).until(
            lambda d: (
                d.find_element(By.CSS_SELECTOR, f'span[data-alive="{NODE}"]').text == "not running"
            )
        )
        stroke = chrome.execute_script(
            "for (const l of document.querySelectorAll('polyline.session'))"
            " if (l.dataset.session === arguments[0]) return l.getAttribute('stroke');",
            EDGE,
        )
        assert stroke != "#2e9d4f"  # not green
        browser.screenshot(chrome, shots / "lab-ui-session-down.png")
        assert chrome.execute_script("return window.notReloaded") == 1

        lab.start_node(NODE)
        WebDriverWait(chrome, 60).until(lambda d: _state(d, EDGE) == "Established")
        WebDriverWait(chrome, 10).until(
            lambda d: (
                d.find_element(By.CSS_SELECTOR, f'span[data-alive="{NODE}"]').text == "running"
            )
        )
        assert wait_converged(lab, 60) is not None

        # a drill run from the command line shows up on the same page
        drill = subprocess.Popen(
            _bgplab("fault", "rke-node6", "--kill-speaker", "--hold", "4"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            WebDriverWait(chrome, 60).until(
                lambda d: "continuous ping" in d.find_element(By.ID, "drill").text
            )
            WebDriverWait(chrome, 30).until(
                lambda d: _state(d, "router--rke-node6") != "Established"
            )
            WebDriverWait(chrome, 90).until(
                lambda d: "converged" in d.find_element(By.ID, "drill").text
            )
            browser.screenshot(chrome, shots / "lab-ui-drill.png")
        finally:
            out, _ = drill.communicate(timeout=120)
        assert drill.returncode == 0, out.decode()
        assert chrome.execute_script("return window.notReloaded") == 1
        WebDriverWait(chrome, 30).until(lambda d: set(_states(d)) == {"Established"})
        alive = chrome.find_elements(By.CSS_SELECTOR, "span[data-alive]")
        assert {a.text for a in alive} == {"running"}


def test_router_looking_glass_from_the_lab_page(lab: Lab, ui: str) -> None:
    from selenium.webdriver.common.by import By

    from bgplab.lab import ctl

    with browser.chromium() as chrome:
        chrome.get(ui + "/")
        rows = chrome.find_elements(By.CSS_SELECTOR, "#hosts tbody tr")
        link = next(
            r.find_element(By.CSS_SELECTOR, "a.glass")
            for r in rows
            if r.find_element(By.TAG_NAME, "td").text == "router"
        )
        link.click()
        names = [
            tr.get_attribute("data-proto")
            for tr in chrome.find_elements(By.CSS_SELECTOR, "#protocols tbody tr")
        ]
        assert names == [p.name for p in ctl.protocols(lab.speakers["router"].socket)]
        assert chrome.execute_script("return document.title").startswith("Protocols")


def test_ping_matrix_check_and_host_tables(lab: Lab, ui: str) -> None:
    """The page's on-demand parts show what the lab's own code sees."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from bgplab.lab.check import node_status_text

    with browser.chromium() as chrome:
        chrome.get(ui + "/")
        chrome.find_element(By.ID, "run-ping").click()
        WebDriverWait(chrome, 90).until(lambda d: d.find_elements(By.ID, "ping-matrix"))
        cells = [td.text for td in chrome.find_elements(By.CSS_SELECTOR, "#ping-matrix td")]
        pods = len(lab.pods())
        assert cells.count("ok") == pods * (pods - 1) and "✗" not in cells
        chrome.find_element(By.ID, "run-check").click()
        WebDriverWait(chrome, 120).until(
            lambda d: "by bgplab lab ui" in d.find_element(By.ID, "check").text
        )
        assert "ALL PASS" in chrome.find_element(By.ID, "check").text
        for det in chrome.find_elements(By.CSS_SELECTOR, "details.host-detail"):
            if det.get_attribute("data-host") == "rke-node3":
                det.click()
                WebDriverWait(det, 20).until(lambda d: d.find_elements(By.TAG_NAME, "pre"))
                pres = det.find_elements(By.TAG_NAME, "pre")
                text = pres[0].get_attribute("textContent")
                assert text.strip() == lab.route_text("rke-node3").strip()
                status = node_status_text(lab.speakers["rke-node3"].socket)
                assert "Established" in pres[1].get_attribute("textContent")
                assert "Established" in status


def test_report_snapshot_passing_then_failing(lab: Lab, tmp_path: Path) -> None:
    """The static report: verdict first, when/where/version, per-peer view,
    reflected routes' attributes, BGPPeer matches, configs, diffs; a failing
    check heads the page."""
    import xml.etree.ElementTree as ET

    from bgplab.lab import diagram
    from bgplab.lab.check import run_checks
    from bgplab.lab.report import write_html, write_png

    rep = run_checks(lab, wait=60)
    assert rep.ok
    write_html(lab, rep, tmp_path / "pass.html")
    text = (tmp_path / "pass.html").read_text()
    assert text.index("ALL PASS") < text.index("<svg")
    for part in (
        "bgplab 0.", "AS 63400 · id 192.168.0.40", "route reflector",
        "Routers: per-peer view", "1 imported, 3 exported", "originator", "cluster list",
        "192.168.0.40",  # the reflector's cluster id on the reflected routes
        "rack1-tor", "as expected", "protocol bgp Node_192_168_0_40", "<script" ,
    ):  # fmt: skip
        if part == "<script":
            assert part not in text  # a file to open anywhere: no script at all
        else:
            assert part in text, part
    svg = ET.fromstring(text[text.index("<svg") : text.index("</svg>") + 6])
    assert len([el for el in svg.iter() if el.get("class") == "session"]) == 4
    lay = diagram.layout(lab.topo, rep.sessions)
    assert diagram.crossings(lay) == []
    write_png(lab, rep, tmp_path / "pass.png")
    assert (tmp_path / "pass.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    os.kill(lab.speakers["rke-node7"].pid, signal.SIGKILL)
    try:
        time.sleep(2)
        bad = run_checks(lab, wait=0)
        assert not bad.ok
        write_html(lab, bad, tmp_path / "fail.html")
        text = (tmp_path / "fail.html").read_text()
        first = text.index("FAILED:")
        assert first < text.index("<svg")
        assert text.index("sessions rke-node7", first) < text.index("<svg")
    finally:
        lab.start_node("rke-node7")
        assert wait_converged(lab, 60) is not None
