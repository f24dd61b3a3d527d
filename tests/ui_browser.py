"""Headless Chromium (Debian's chromium and chromium-driver) driven by Selenium, reading the UI as a person
would: the text on the page, a screenshot, and every request the page made (Chrome's performance log).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

# The browser reaches the server by this name (mapped to 127.0.0.1): not "localhost", so that the UI
# behaves as for a remote user (MLflow opens its local-only assistant panel on localhost).
HOST = "regista-ui.test"


@dataclass
class Request:
    method: str
    url: str
    kind: str  # Chrome's resource type: Document, Script, XHR, Fetch...
    status: int | None = None
    failure: str = ""
    done: bool = False


@dataclass
class Browser:
    driver: Any
    origin: str
    requests: dict[str, Request] = field(default_factory=dict)

    def open(self, path: str) -> None:
        self.driver.get(self.origin + path)

    def text(self) -> str:
        try:
            return self.driver.find_element(By.TAG_NAME, "body").text
        except (NoSuchElementException, StaleElementReferenceException):
            return ""

    def wait_for_text(self, *texts: str, timeout: float = 40) -> str:
        """The page's text once it shows every one of `texts` (AssertionError naming those missing)."""
        deadline = time.monotonic() + timeout
        while True:
            body = self.text()
            missing = [t for t in texts if t not in body]
            if not missing:
                return body
            if time.monotonic() > deadline:
                raise AssertionError(f"not on the page after {timeout} s: {missing}\n--- page text ---\n{body[:3000]}")
            time.sleep(0.3)

    def wait_for(self, css: str, condition: Any = None, timeout: float = 40) -> list[Any]:
        """The elements matching `css` once there is one (that satisfies `condition`, if given)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                found = [e for e in self.driver.find_elements(By.CSS_SELECTOR, css) if condition is None or condition(e)]
            except StaleElementReferenceException:
                found = []
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no {css!r} on the page after {timeout} s")
            time.sleep(0.3)

    def click_text(self, text: str, timeout: float = 20) -> None:
        (element, *_) = self.wait_for_elements_by_text(text, timeout)
        element.click()

    def wait_for_elements_by_text(self, text: str, timeout: float = 20) -> list[Any]:
        deadline = time.monotonic() + timeout
        while True:
            found = [e for e in self.driver.find_elements(By.XPATH, f"//*[normalize-space(text())='{text}']") if e.is_displayed()]
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"nothing reading {text!r} on the page after {timeout} s")
            time.sleep(0.3)

    def settle(self, quiet_s: float = 1.5, timeout: float = 30) -> None:
        """Wait until no request is in flight and none started for `quiet_s` seconds."""
        deadline = time.monotonic() + timeout
        last_activity = time.monotonic()
        while time.monotonic() < deadline:
            if self._read_network_log():
                last_activity = time.monotonic()
            pending = [r for r in self.requests.values() if not r.done and r.kind in ("XHR", "Fetch")]
            if not pending and time.monotonic() - last_activity >= quiet_s:
                return
            time.sleep(0.2)


    def failed_calls(self) -> list[Request]:
        """The page's XHR and fetch calls that answered 4xx/5xx or failed, since the last look; forgets them."""
        self._read_network_log()
        failed = [r for r in self.requests.values() if r.kind in ("XHR", "Fetch") and r.done
                  and ((r.status or 0) >= 400 or r.failure)]  # fmt: skip
        self.requests = {key: r for key, r in self.requests.items() if not r.done}
        return failed

    def calls(self) -> list[Request]:
        """Every XHR and fetch call seen and not yet forgotten."""
        self._read_network_log()
        return [r for r in self.requests.values() if r.kind in ("XHR", "Fetch")]

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.driver.save_screenshot(str(path))
        return path

    def _read_network_log(self) -> bool:
        """Read the log's new entries; whether the page started a call meanwhile."""
        started = False
        entries = self.driver.get_log("performance")
        for entry in entries:
            message = json.loads(entry["message"])["message"]
            method, params = message["method"], message.get("params", {})
            key = params.get("requestId")
            if method == "Network.requestWillBeSent":
                request = params["request"]
                self.requests[key] = Request(request["method"], request["url"], params.get("type", ""))
                started = started or self.requests[key].kind in ("XHR", "Fetch")
            elif key in self.requests and method == "Network.responseReceived":
                # Its status is what counts: a page that navigates away may never read the body to its end.
                self.requests[key].status = params["response"]["status"]
                self.requests[key].done = True
            elif key in self.requests and method == "Network.loadingFinished":
                self.requests[key].done = True
            elif key in self.requests and method == "Network.loadingFailed":
                # A request the page itself abandoned (navigating away) is no failure of the server.
                self.requests[key].done = True
                if not params.get("canceled"):
                    self.requests[key].failure = params.get("errorText", "failed")
        return started

    def quit(self) -> None:
        self.driver.quit()


def start_browser(port: int, size: tuple[int, int] = (1400, 900)) -> Browser:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    assert chromium and driver, "the web UI's tests need Debian's chromium and chromium-driver (`make chromium`)"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     f"--window-size={size[0]},{size[1]}", f"--host-resolver-rules=MAP {HOST} 127.0.0.1",
                     "--lang=en-US"):  # fmt: skip
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    return Browser(webdriver.Chrome(service=Service(driver), options=options), f"http://{HOST}:{port}")


def log_in(browser: Browser, access_key: str, secret_key: str) -> None:
    """Through Regista's login page, as a person signs in (the page answers the first visit)."""
    browser.open("/")
    browser.wait_for("#access_key")
    browser.driver.find_element("css selector", "#access_key").send_keys(access_key)
    browser.driver.find_element("css selector", "#secret_key").send_keys(secret_key)
    browser.driver.find_element("css selector", "button[type=submit]").click()
