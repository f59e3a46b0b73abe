"""Browser fixtures: Debian's Chromium, headless, driven by Playwright, on the help page of
the real servers (the session ``servers`` fixture of tests/conftest.py).

Never `playwright install`: the browser is the system's /usr/bin/chromium.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect, sync_playwright

from bot.servers import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = PROJECT_ROOT / "tests" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
# A reply goes through NLU, the policies and possibly the action server and the database.
REPLY_TIMEOUT_MS = 20_000


# Module scope, not session: while Playwright's sync API runs, an asyncio loop runs on the
# main thread, and later tests that call asyncio.run (tests/custom_actions) would fail.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium", pytrace=False)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class HelpPage:
    """The help page in one browser tab, with what a person does and sees there."""

    page: Page
    context: BrowserContext
    base_url: str

    @property
    def launcher(self) -> Locator:
        return self.page.locator("#chat-launcher")

    @property
    def dialog(self) -> Locator:
        return self.page.get_by_role("dialog", name="Help assistant")

    @property
    def log(self) -> Locator:
        return self.page.get_by_role("log")

    @property
    def status(self) -> Locator:
        return self.page.locator("#chat-status")

    @property
    def input(self) -> Locator:
        return self.page.get_by_label("Your message")

    def goto(self) -> HelpPage:
        self.page.goto(f"{self.base_url}/")
        return self

    def bot_messages(self) -> Locator:
        return self.log.locator(".chat__message--bot")

    def user_messages(self) -> Locator:
        return self.log.locator(".chat__message--user")

    def open_chat(self) -> HelpPage:
        self.launcher.click()
        expect(self.dialog).to_be_visible()
        self.wait_for_reply(containing="What can I help you with?")
        return self

    def type_and_enter(self, text: str) -> None:
        self.input.fill(text)
        self.input.press("Enter")

    def wait_for_reply(self, containing: str) -> Locator:
        """The bot message containing the text, once it is shown."""
        message = self.bot_messages().filter(has_text=containing)
        expect(message.last).to_be_visible(timeout=REPLY_TIMEOUT_MS)
        return message.last

    def ask(self, text: str, expect_in_reply: str) -> Locator:
        before = self.bot_messages().count()
        self.type_and_enter(text)
        expect(self.bot_messages()).not_to_have_count(before, timeout=REPLY_TIMEOUT_MS)
        return self.wait_for_reply(expect_in_reply)

    def screenshot(self, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=False)
        return path


@pytest.fixture
def help_page(chromium, servers) -> Iterator[HelpPage]:
    """A fresh browser context (its own sessionStorage, so its own conversation)."""
    context = chromium.new_context(viewport=DESKTOP)
    page = context.new_page()
    yield HelpPage(page=page, context=context, base_url=servers.rasa_url)
    context.close()


@pytest.fixture
def phone_page(chromium, servers) -> Iterator[HelpPage]:
    """The help page on a 360 px wide phone screen."""
    context = chromium.new_context(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    yield HelpPage(page=page, context=context, base_url=servers.rasa_url)
    context.close()
