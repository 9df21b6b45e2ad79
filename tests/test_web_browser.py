"""The page in a real browser: headless Chromium (Debian's `chromium` and `chromium-driver`) driven by
Selenium, against the page's server on 127.0.0.1. Skipped where no Chromium is installed, except in CI."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_web import answer, broken, delete_file, deleted, slow, weather
from web_support import served

from agentkit import Agent
from agentkit.testing import FunctionModel

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

if not (CHROMIUM and CHROMEDRIVER) and os.environ.get("CI") != "true":
    pytest.skip(
        "no chromium and chromedriver installed (apt-get install chromium chromium-driver)",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.options import Options  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webelement import WebElement  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

WAIT_S = 30


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    options = Options()
    options.binary_location = str(CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def _all(driver: webdriver.Chrome, testid: str) -> list[WebElement]:
    return driver.find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]')


def _until(driver: webdriver.Chrome, check: Any) -> Any:
    return WebDriverWait(driver, WAIT_S, poll_frequency=0.05).until(lambda d: check(d))


def _ask(driver: webdriver.Chrome, text: str) -> None:
    prompt = _all(driver, "prompt")[0]
    prompt.clear()
    prompt.send_keys(text)
    _all(driver, "send")[0].click()


def _answers(driver: webdriver.Chrome) -> list[str]:
    return [e.text for e in _all(driver, "message-assistant")]


def test_a_person_chats_watches_tools_approves_denies_and_reopens(
    browser: webdriver.Chrome, tmp_path: Path
) -> None:
    deleted.clear()
    agent = Agent(FunctionModel(answer), tools=[weather, broken, delete_file, slow], name="helper")
    app = agent.to_web(session_db=tmp_path / "chats.db")
    with served(app) as url:
        browser.get(f"{url}/")
        assert "missing or wrong token" in browser.find_element(By.TAG_NAME, "body").text
        browser.get(f"{url}/?token={app.state.token}")

        _ask(browser, "hello browser")
        _until(browser, lambda d: any("You said: hello browser" in a for a in _answers(d)))
        assert _all(browser, "message-user")[0].text == "hello browser"
        thinking = _all(browser, "thinking")[0]
        assert thinking.tag_name == "details" and not thinking.get_attribute("open")  # folded
        assert "tokens" in _all(browser, "usage")[0].text and "function" in _all(browser, "usage")[0].text

        _ask(browser, "weather please")
        _until(browser, lambda d: any("Done: Sunny in Oslo" in a for a in _answers(d)))
        card = _all(browser, "tool-call")[0]
        card.find_element(By.TAG_NAME, "summary").click()
        assert "weather" in card.text and '"city": "Oslo"' in card.text
        assert card.find_element(By.CSS_SELECTOR, '[data-testid="tool-result"]').text.endswith(
            "Sunny in Oslo"
        )

        _ask(browser, "delete two files")
        decided: set[str] = set()
        while not any(a.startswith("Done:") and "deleted" in a for a in _answers(browser)):
            for box in browser.find_elements(By.CSS_SELECTOR, ".approval"):
                call = box.find_element(By.XPATH, "./ancestor::details[1]")
                arguments = call.find_element(By.CSS_SELECTOR, ".args").text
                key = call.get_attribute("data-call-id") or ""
                if key in decided:
                    continue
                decided.add(key)
                if "a.txt" in arguments:
                    box.find_element(By.CSS_SELECTOR, '[data-testid="approve"]').click()
                else:
                    box.find_element(By.CSS_SELECTOR, '[data-testid="deny-reason"]').send_keys("keep b.txt")
                    box.find_element(By.CSS_SELECTOR, '[data-testid="deny"]').click()
            _until(
                browser,
                lambda d: (
                    d.find_elements(By.CSS_SELECTOR, ".approval") or any("Done:" in a for a in _answers(d))
                ),
            )
        assert deleted == ["a.txt"]
        assert "user denied this call: keep b.txt" in _answers(browser)[-1]
        browser.save_screenshot(str(tmp_path / "page.png"))
        if shots := os.environ.get("AGENTKIT_WEB_SCREENSHOTS"):
            browser.save_screenshot(str(Path(shots) / "web-page.png"))

        assert "session=" in browser.current_url
        browser.refresh()  # the chat reopens from the session store
        _until(browser, lambda d: len(_all(d, "message-user")) == 3)
        assert any("Done: Sunny in Oslo" in a for a in _answers(browser))
        assert len(_all(browser, "tool-call")) == 3
        assert [s.text for s in _all(browser, "session")] == ["hello browser"]

        _ask(browser, "slow")  # a tool that takes a minute: Stop ends the run
        _until(browser, lambda d: len(_all(d, "tool-call")) == 4 and _all(d, "stop")[0].is_enabled())
        _all(browser, "stop")[0].click()
        _until(browser, lambda d: "stopped" in d.find_element(By.ID, "log").text)
        _until(browser, lambda d: _all(d, "send")[0].is_enabled() and not _all(d, "stop")[0].is_enabled())

        _all(browser, "new-chat")[0].click()
        assert not _all(browser, "message-user")
        _ask(browser, "second chat")
        _until(browser, lambda d: any("second chat" in a for a in _answers(d)))
        listed = [s.text for s in _all(browser, "session")]
        assert listed == ["second chat", "hello browser"]  # listed at once
        browser.get(f"{url}/?token={app.state.token}")
        _all(browser, "session")[-1].click()  # the older chat, from the list
        _until(browser, lambda d: len(_all(d, "message-user")) == 4)
        assert _all(browser, "message-user")[0].text == "hello browser"


def test_a_sub_agents_calls_nest_in_their_parents_card(browser: webdriver.Chrome, tmp_path: Path) -> None:
    from agentkit.messages import AssistantMessage, Message
    from agentkit.testing import RequestInfo, tool_call_response

    deleted.clear()

    def cleaner_model(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
        if info.tool_results:
            return f"Cleaner: {info.tool_results[0].content}"
        return tool_call_response("delete_file", {"path": "old.log"}, id="inner_1")

    def boss_model(messages: list[Message], info: RequestInfo) -> AssistantMessage | str:
        if info.tool_results:
            return "Boss: " + info.tool_results[0].content
        return tool_call_response("cleaner", {"task": "remove old.log"}, id="outer_1")

    cleaner = Agent(FunctionModel(cleaner_model), tools=[delete_file], name="cleaner")
    boss = Agent(FunctionModel(boss_model), tools=[cleaner.as_tool(description="Cleans up.")])
    app = boss.to_web(session_db=tmp_path / "chats.db")
    with served(app) as url:
        browser.get(f"{url}/?token={app.state.token}")
        _ask(browser, "clean up")
        _until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, '[data-testid="approve"]'))
        _all(browser, "approve")[0].click()
        _until(browser, lambda d: any(a.startswith("Boss: Cleaner: deleted old.log") for a in _answers(d)))
        outer = browser.find_element(By.CSS_SELECTOR, '[data-call-id="outer_1"]')
        inner = outer.find_element(By.CSS_SELECTOR, '[data-call-id="inner_1"]')  # nested in its parent's card
        assert inner.get_attribute("data-testid") == "tool-call"
        assert deleted == ["old.log"]
