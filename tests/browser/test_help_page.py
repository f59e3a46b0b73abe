"""The help page and its chat widget, in a real Chromium against the real servers.

What a person sees: the page, the widget opening from its button with the greeting and its
buttons, answers to typed questions and to clicked buttons, the application status check,
the conversation surviving a reload, text shown as text, a 360 px phone, the keyboard only,
and what happens when the help service cannot be reached.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from bot.demo_data import DEMO_APPLICATIONS
from bot.statuses import ApplicationStatus
from tests.browser.conftest import REPLY_TIMEOUT_MS

pytestmark = pytest.mark.browser

READY = next(a for a in DEMO_APPLICATIONS if a.status is ApplicationStatus.READY_FOR_COLLECTION)
GREETING_BUTTONS = ["Collect my child's card", "Check my application", "Find an office"]
HOSTILE = "<img src=x onerror=alert(1)>"


def test_the_widget_opens_from_its_button_with_the_greeting_and_its_buttons(help_page):
    help_page.goto()
    expect(help_page.page).to_have_title("Help and questions | Social Security Bureau")
    expect(help_page.page.get_by_role("heading", level=1)).to_have_text("Help and questions")
    expect(help_page.dialog).to_be_hidden()
    expect(help_page.launcher).to_have_attribute("aria-expanded", "false")

    help_page.open_chat()

    expect(help_page.launcher).to_have_attribute("aria-expanded", "true")
    expect(help_page.status).to_have_text("Connected")
    greeting = help_page.wait_for_reply("welcome to the social security bureau")
    expect(greeting).to_contain_text("please don't type your full ID number")
    buttons = help_page.log.get_by_role("group", name="Suggested replies").get_by_role("button")
    for title in GREETING_BUTTONS:
        expect(buttons.filter(has_text=title)).to_have_count(1)
    # The request for the greeting is not shown as something the person said.
    expect(help_page.user_messages()).to_have_count(0)
    help_page.screenshot("help-page-desktop")


def test_a_question_typed_and_sent_with_enter_is_answered_with_a_typing_indicator(help_page):
    help_page.goto().open_chat()
    # Records whether the indicator was ever shown: the reply may come within milliseconds.
    help_page.page.evaluate(
        """() => {
            const typing = document.getElementById("chat-typing");
            window.typingSeen = false;
            new MutationObserver(() => { if (!typing.hidden) window.typingSeen = true; })
                .observe(typing, {attributes: true, attributeFilter: ["hidden"]});
        }"""
    )
    question = "how do I collect my child's social security card?"

    answer = help_page.ask(question, expect_in_reply="sign")

    expect(help_page.user_messages().last).to_have_text(f"You: {question}")
    expect(answer).to_contain_text("ID card")
    expect(help_page.input).to_have_value("")
    assert help_page.page.evaluate("window.typingSeen") is True
    expect(help_page.page.locator("#chat-typing")).to_be_hidden()


def test_clicking_a_button_sends_its_choice(help_page):
    help_page.goto().open_chat()
    help_page.log.get_by_role("button", name="Collect my child's card").click()

    expect(help_page.user_messages().last).to_have_text("You: Collect my child's card")
    help_page.wait_for_reply("sign the documents")
    help_page.log.get_by_role("button", name="What should I bring?").last.click()
    help_page.wait_for_reply("To collect your child's card, bring")


def test_application_status_check_survives_a_reload_in_the_middle(help_page):
    help_page.goto().open_chat()
    help_page.log.get_by_role("button", name="Check my application").click()
    help_page.wait_for_reply("application number")
    help_page.ask(READY.application_number, expect_in_reply="last 6 characters")
    shown_before = help_page.log.locator(".chat__message").all_inner_texts()

    help_page.page.reload()

    # The widget reopens with the same conversation, and the server still has the form.
    expect(help_page.dialog).to_be_visible()
    expect(help_page.status).to_have_text("Connected", timeout=REPLY_TIMEOUT_MS)
    assert help_page.log.locator(".chat__message").all_inner_texts() == shown_before
    answer = help_page.ask(READY.id_tail, expect_in_reply="ready for collection")
    expect(answer).to_contain_text(READY.collection_point)
    help_page.screenshot("help-page-status-after-reload")


def test_new_chat_starts_over_with_a_new_session(help_page):
    help_page.goto().open_chat()
    help_page.ask("where are your offices?", expect_in_reply="")
    old_session = help_page.page.evaluate("sessionStorage.getItem('bureau-chat:session')")

    help_page.page.get_by_role("button", name="New chat").click()

    help_page.wait_for_reply("What can I help you with?")
    expect(help_page.user_messages()).to_have_count(0)
    expect(help_page.bot_messages()).to_have_count(1)
    new_session = help_page.page.evaluate("sessionStorage.getItem('bureau-chat:session')")
    assert new_session != old_session


def test_what_people_type_is_shown_as_text_never_run_as_html(help_page):
    dialogs: list[str] = []
    help_page.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    help_page.goto().open_chat()
    before = help_page.bot_messages().count()

    help_page.type_and_enter(HOSTILE)

    expect(help_page.user_messages().last).to_have_text(f"You: {HOSTILE}")
    expect(help_page.bot_messages()).not_to_have_count(before, timeout=REPLY_TIMEOUT_MS)
    expect(help_page.log.locator("img")).to_have_count(0)
    help_page.page.reload()  # the stored transcript is rendered as text as well
    expect(help_page.user_messages().last).to_have_text(f"You: {HOSTILE}")
    expect(help_page.page.locator("img")).to_have_count(0)
    assert dialogs == []


def test_links_in_replies_are_built_as_safe_links_and_markup_stays_text(help_page):
    # render.js on its own, in the page, with a reply no domain response contains yet.
    help_page.goto()
    result = help_page.page.evaluate(
        """() => {
            const log = document.createElement("div");
            window.BureauChatRender.renderEntry(log, {
                who: "bot",
                text: "See https://example.org/cards?a=1&b=2. Not javascript:alert(1) " +
                      "nor <a href='javascript:alert(2)'>this</a> or <b>bold</b>",
                buttons: [{title: "<i>x</i>", payload: "/help"}],
            }, () => {});
            const links = [...log.querySelectorAll("a")];
            return {
                links: links.map(a => ({href: a.getAttribute("href"), rel: a.rel,
                                        target: a.target, text: a.textContent})),
                elements: [...log.querySelectorAll("*")].map(e => e.tagName.toLowerCase()),
                text: log.textContent,
            };
        }"""
    )
    assert result["links"] == [
        {
            "href": "https://example.org/cards?a=1&b=2",
            "rel": "noopener noreferrer",
            "target": "_blank",
            "text": "https://example.org/cards?a=1&b=2",
        }
    ]
    assert set(result["elements"]) == {"div", "span", "a", "button"}
    assert "<b>bold</b>" in result["text"] and "<i>x</i>" in result["text"]


def test_a_360_px_phone_has_no_horizontal_scroll(phone_page):
    phone_page.goto()
    assert phone_page.page.evaluate("document.documentElement.scrollWidth") <= 360
    phone_page.open_chat()
    phone_page.ask("x" * 150 + " https://example.org/" + "y" * 120, expect_in_reply="")
    box = phone_page.dialog.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360
    assert phone_page.page.evaluate("document.documentElement.scrollWidth") <= 360
    phone_page.screenshot("help-page-360px")


def test_keyboard_only_tab_to_the_launcher_open_with_enter_close_with_escape(help_page):
    help_page.goto()
    for _ in range(30):
        help_page.page.keyboard.press("Tab")
        if help_page.page.evaluate("document.activeElement.id") == "chat-launcher":
            break
    else:
        pytest.fail("Tab never reached the chat launcher")

    help_page.page.keyboard.press("Enter")

    expect(help_page.dialog).to_be_visible()
    expect(help_page.dialog).to_have_attribute("role", "dialog")
    expect(help_page.log).to_have_attribute("aria-live", "polite")
    expect(help_page.status).to_have_attribute("aria-live", "polite")
    expect(help_page.input).to_be_focused()
    help_page.wait_for_reply("What can I help you with?")
    help_page.page.keyboard.type("where are your offices?")
    help_page.page.keyboard.press("Enter")
    expect(help_page.user_messages().last).to_have_text("You: where are your offices?")
    help_page.page.keyboard.press("Escape")
    expect(help_page.dialog).to_be_hidden()
    expect(help_page.launcher).to_be_focused()


def test_an_unreachable_service_is_said_and_the_widget_reconnects(help_page):
    # Every socket.io request fails, as when the server is down; then it comes back.
    def refuse(route):
        route.abort("connectionrefused")

    help_page.context.route("**/socket.io/**", refuse)
    help_page.goto()
    help_page.launcher.click()

    expect(help_page.status).to_have_attribute("data-state", "disconnected")
    expect(help_page.status).to_contain_text("cannot reach the help service")
    expect(help_page.status).to_contain_text("12333")
    help_page.screenshot("help-page-unreachable")

    help_page.context.unroute("**/socket.io/**", refuse)

    expect(help_page.status).to_have_text("Connected", timeout=REPLY_TIMEOUT_MS)
    # The greeting asked for while offline is delivered once connected.
    help_page.wait_for_reply("What can I help you with?")
