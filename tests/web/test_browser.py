"""The looking glass in a real headless browser (Debian's chromium through
selenium and chromedriver), against a real bgplabd peering with a real
BIRD 1.6 over loopback.

The browser follows links as a user does: protocols -> one protocol ->
its routes -> one route (its attributes and ``explain``), searches a
prefix and a community with the page's form, and every table or text it
sees is compared with what ``bgplabc`` prints for the same thing. Then
BIRD shuts the session down with an RFC 8203 message holding HTML and
script: the protocol table turns the session down without a reload, the
message shows as text, and nothing in it runs.

Set ``BGPLAB_LG_SHOTS=DIR`` to keep the screenshots (docs/ holds them).
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bgplab.extpeers import BirdDaemon, PeerError, available
from tests.web import browser

pytestmark = [
    pytest.mark.root,
    pytest.mark.interop,
    pytest.mark.slow,
    pytest.mark.skipif(not available("bird1"), reason="BIRD 1.6 not installed"),
    pytest.mark.skipif(not browser.available(), reason="chromium/chromedriver/selenium missing"),
]

NET = f"127.108.{os.getpid() % 200 + 20}"
B, C = f"{NET}.2", f"{NET}.3"
DESC = "<b>bold</b> & <script>window.pwnedDesc=1</script>"
SHUTDOWN = "<img src=x onerror=window.pwnedImg=1><script>window.pwned=1</script>"

CONF_B = f"""
router id {B};
listen bgp address {B};
protocol device {{ scan time 10; }}
protocol static static1 {{
  route 10.108.1.0/24 blackhole;
  route 10.108.2.0/24 blackhole;
  route 10.108.3.0/24 blackhole;
  route 10.108.0.0/16 blackhole;
}}
filter out_c {{
  if net = 10.108.2.0/24 then {{
    bgp_community.add((65002,200));
    bgp_path.prepend(65010);
    bgp_med = 50;
  }}
  bgp_community.add((65002,100));
  accept;
}}
protocol bgp to_c {{
  local {B} as 65002;
  neighbor {C} as 65001;
  import all;
  export filter out_c;
  connect delay time 1;
  multihop;
}}
"""

CONF_C = f"""
router id {C};
listen bgp address {C};
protocol device {{ scan time 10; }}
protocol static static1 {{
  route 10.200.0.0/16 blackhole;
}}
filter no_three {{
  if net = 10.108.3.0/24 then reject;
  accept;
}}
protocol bgp peer_b {{
  description "{DESC.replace('"', "")}";
  local {C} as 65001;
  neighbor {B} as 65002;
  import keep filtered;
  import filter no_three;
  export all;
  connect delay time 1;
  multihop;
  passive on;  # BIRD dials; after its shutdown nothing overwrites the last error
}}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((C, 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def routers() -> Iterator[tuple[BirdDaemon, Any, str]]:
    from bgplab.launch import BgplabDaemon

    port = _free_port()
    bird = BirdDaemon(1, CONF_B)
    lab = BgplabDaemon(CONF_C, extra_args=["--http", f"{C}:{port}"])
    try:
        try:
            bird.start()
            lab.start()
            lab.wait_established("peer_b", timeout=30)
        except PeerError as exc:
            pytest.fail(f"bgplabd did not establish with BIRD: {exc}")
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and "4 of 4" not in lab.birdc("show route count"):
            time.sleep(0.2)  # 3 accepted from BIRD + our static
        yield bird, lab, f"http://{C}:{port}"
    finally:
        lab.stop()
        bird.stop()


@pytest.fixture(scope="module")
def chrome() -> Iterator[Any]:
    with browser.chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("BGPLAB_LG_SHOTS")
    return Path(where) if where else tmp_path_factory.mktemp("shots")


def _nets(text: str) -> list[str]:
    """The networks of a ``show route`` listing, sorted."""
    return sorted(m.group(1) for m in re.finditer(r"^(\d+\.\d+\.\d+\.\d+/\d+)\s", text, re.M))


def _follow(driver: Any, element: Any) -> None:
    """Click a link or button and wait for the page it leads to (reading
    the old page while the new one loads finds stale elements)."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    old = driver.find_element(By.TAG_NAME, "html")

    def replaced(_driver: Any) -> bool:
        try:
            old.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            # Chrome answers "Node with given id does not belong to the
            # document" instead of a stale reference when the old page's
            # node is asked about while the new document replaces it
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False

    element.click()
    WebDriverWait(driver, 20).until(replaced)


def _table_nets(driver: Any) -> list[str]:
    from selenium.webdriver.common.by import By

    # sorted: the web walks the table in its own order, bgplabc in BIRD's
    return sorted(a.text for a in driver.find_elements(By.CSS_SELECTOR, "#routes tbody a.net"))


TIMERS = re.compile(r"(Hold timer|Keepalive timer|Connect delay|Error wait):\s+\S+")


def _mask(text: str) -> str:
    return TIMERS.sub(r"\1: -", text).rstrip("\n")


def _pre(driver: Any, index: int = 0) -> str:
    from selenium.webdriver.common.by import By

    # textContent, not .text: the page shows tabs and spaces exactly as bgplabc prints them
    return str(driver.find_elements(By.CSS_SELECTOR, "pre")[index].get_attribute("textContent"))


def test_protocol_to_routes_to_explain(
    routers: tuple[BirdDaemon, Any, str], chrome: Any, shots: Path
) -> None:
    from selenium.webdriver.common.by import By

    _bird, lab, base = routers
    chrome.get(base + "/protocols")
    rows = chrome.find_elements(By.CSS_SELECTOR, "#protocols tbody tr")
    shown = [[td.text for td in r.find_elements(By.TAG_NAME, "td")[:4]] for r in rows]
    printed = [
        line.split()[:4] for line in lab.birdc("show protocols").splitlines()[1:] if line.strip()
    ]
    assert shown == printed
    browser.screenshot(chrome, shots / "looking-glass-protocols.png")

    # protocol -> its page: `show protocols all peer_b` as bgplabc prints it
    _follow(chrome, chrome.find_element(By.LINK_TEXT, "peer_b"))
    assert _mask(_pre(chrome)) == _mask(lab.birdc("show protocols all peer_b"))
    session = chrome.find_element(By.ID, "session").text
    assert "AS4" in session and "Established" in session  # capabilities and state
    browser.screenshot(chrome, shots / "looking-glass-protocol.png")

    # -> its routes
    _follow(chrome, chrome.find_element(By.ID, "routes-link"))
    assert _table_nets(chrome) == _nets(lab.birdc("show route protocol peer_b"))
    assert "10.108.2.0/24" in _table_nets(chrome)
    browser.screenshot(chrome, shots / "looking-glass-routes.png")

    # -> one route: attributes, what bgplabc prints, explain
    _follow(chrome, chrome.find_element(By.LINK_TEXT, "10.108.2.0/24"))
    assert _pre(chrome, 0).rstrip("\n") == lab.birdc("show route 10.108.2.0/24 all").rstrip("\n")
    assert _pre(chrome, 1).rstrip("\n") == lab.birdc("show route 10.108.2.0/24 explain").rstrip(
        "\n"
    )
    attrs = chrome.find_element(By.CSS_SELECTOR, "table.attrs").text
    path = re.search(r"BGP.as_path: (.*)", lab.birdc("show route 10.108.2.0/24 all"))
    assert path is not None and f"AS path {path.group(1)}" in attrs
    assert "(65002,100) (65002,200)" in attrs
    browser.screenshot(chrome, shots / "looking-glass-route.png")


def test_search_forms(routers: tuple[BirdDaemon, Any, str], chrome: Any, shots: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    _bird, lab, base = routers
    chrome.get(base + "/routes")
    assert _table_nets(chrome) == _nets(lab.birdc("show route"))
    form = chrome.find_element(By.ID, "search")
    form.find_element(By.NAME, "prefix").send_keys("10.108.1.77")
    Select(form.find_element(By.NAME, "match")).select_by_value("longest")
    _follow(chrome, form.find_element(By.TAG_NAME, "button"))
    assert _table_nets(chrome) == _nets(lab.birdc("show route for 10.108.1.77"))
    assert _table_nets(chrome) == ["10.108.1.0/24"]
    assert chrome.find_element(By.ID, "command").text == "show route for 10.108.1.77"

    chrome.get(base + "/routes")
    form = chrome.find_element(By.ID, "search")
    form.find_element(By.NAME, "community").send_keys("65002:200")
    _follow(chrome, form.find_element(By.TAG_NAME, "button"))
    want = _nets(lab.birdc("show route where (65002,200) ~ bgp_community"))
    assert _table_nets(chrome) == want == ["10.108.2.0/24"]

    chrome.get(base + "/routes?filtered=1")
    assert _table_nets(chrome) == _nets(lab.birdc("show route filtered")) == ["10.108.3.0/24"]
    browser.screenshot(chrome, shots / "looking-glass-filtered.png")


def _request(base: str, method: str, path: str) -> int:
    host, port = base.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.request(method, path)
        return conn.getresponse().status
    finally:
        conn.close()


def test_no_method_changes_a_real_daemon(routers: tuple[BirdDaemon, Any, str]) -> None:
    _bird, lab, base = routers
    before = lab.birdc("show protocols")
    for path in ("/api/protocols/peer_b", "/protocols/peer_b", "/api/routes", "/route"):
        for method in ("POST", "PUT", "DELETE", "PATCH"):
            assert _request(base, method, path) == 405
    assert lab.birdc("show protocols") == before


def test_shutdown_message_is_inert_and_live(
    routers: tuple[BirdDaemon, Any, str], chrome: Any, shots: Path
) -> None:
    """Runs last: it takes the session down."""
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    bird, lab, base = routers
    chrome.get(base + "/protocols")
    assert _row_state(chrome, "peer_b") == "up"
    imgs = len(chrome.find_elements(By.TAG_NAME, "img"))
    chrome.execute_script("window.liveMarker = 1")
    out = bird.birdc(f'disable to_c "{SHUTDOWN}"')
    assert "disabled" in out, out
    # the live table turns the session down without a reload
    WebDriverWait(chrome, 20).until(lambda d: _row_state(d, "peer_b") != "up")
    marker = chrome.execute_script("return window.liveMarker")
    assert marker == 1  # same document: nothing reloaded it
    WebDriverWait(chrome, 10).until(lambda d: SHUTDOWN in _row_info(d, "peer_b"))
    assert SHUTDOWN in lab.birdc("show protocols peer_b")
    assert len(chrome.find_elements(By.TAG_NAME, "img")) == imgs
    browser.screenshot(chrome, shots / "looking-glass-shutdown.png")

    chrome.get(base + "/protocols/peer_b")
    text = chrome.find_element(By.TAG_NAME, "body").text
    assert SHUTDOWN in text  # shown, as text
    assert DESC.replace('"', "") in text
    for flag in ("pwned", "pwnedImg", "pwnedDesc"):
        assert chrome.execute_script(f"return window.{flag}") is None, flag
    assert len(chrome.find_elements(By.TAG_NAME, "script")) == 1  # only /static/lg.js
    assert not chrome.find_elements(By.XPATH, "//b[text()='bold']")
    assert not chrome.find_elements(By.TAG_NAME, "img")
    with pytest.raises(NoAlertPresentException):
        chrome.switch_to.alert.text  # noqa: B018


def _row(driver: Any, name: str) -> Any:
    from selenium.webdriver.common.by import By

    for row in driver.find_elements(By.CSS_SELECTOR, "#protocols tbody tr"):
        if row.get_attribute("data-proto") == name:
            return row
    raise AssertionError(f"no row {name}")


def _row_state(driver: Any, name: str) -> str:
    from selenium.webdriver.common.by import By

    return str(_row(driver, name).find_element(By.CSS_SELECTOR, 'td[data-k="state"]').text)


def _row_info(driver: Any, name: str) -> str:
    from selenium.webdriver.common.by import By

    return str(
        _row(driver, name)
        .find_element(By.CSS_SELECTOR, 'td[data-k="info"]')
        .get_attribute("textContent")
    )


def test_hostile_interface_name_is_inert_in_the_browser(chrome: Any) -> None:
    """An interface name, a description and a shutdown message holding markup
    (served from real rib parts) stay text in a real browser, on every page."""
    from selenium.webdriver.common.by import By

    from tests.web.served import ServedGlass
    from tests.web.test_http import DESC, IFACE, PAGES, SHUTDOWN, hostile_daemon

    glass = ServedGlass(hostile_daemon())
    try:
        for path in PAGES:
            chrome.get(glass.base + path)
            assert not chrome.find_elements(By.TAG_NAME, "svg")  # <svg/onload=…> stayed text
            assert not chrome.find_elements(By.TAG_NAME, "img")
            assert len(chrome.find_elements(By.TAG_NAME, "script")) == 1
            assert chrome.execute_script("return window.__alerted") is None
        chrome.get(glass.base + "/route?prefix=203.0.113.0/24&match=exact")
        assert IFACE in chrome.find_element(By.TAG_NAME, "body").text
        chrome.get(glass.base + "/protocols/peer_b")
        assert DESC in chrome.find_element(By.TAG_NAME, "body").text
        chrome.get(glass.base + "/protocols")
        assert SHUTDOWN in chrome.find_element(By.TAG_NAME, "body").text
    finally:
        glass.close()
