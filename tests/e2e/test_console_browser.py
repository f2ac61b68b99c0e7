"""An agent takes over a customer's conversation: two headless Chromium pages (agent
and customer) against the real console, Rasa server and action server."""

from __future__ import annotations

import pytest

from gapdesk.accounts import create_user
from tests.e2e.conftest import BrowserPage, RunningBot
from tests.e2e.test_widget_browser import PHONE, WAIT_MS, say, wait_for_bot_text
from tests.e2e.words import HUMAN_TEXT

pytestmark = pytest.mark.e2e

PASSWORD = "a long agent password"


def sign_in(agent: BrowserPage, bot: RunningBot, username: str) -> None:
    page = agent.page
    page.goto(bot.settings.console_url + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/queue")


def test_takeover_reply_answer_and_hand_back(bot: RunningBot, open_page) -> None:
    create_user(bot.store, "dana", PASSWORD, "agent", display_name="Dana")
    agent, customer = open_page(), open_page(viewport=PHONE)
    sign_in(agent, bot, "dana")

    customer.page.goto(bot.settings.console_url + "/")
    customer.page.click("#talk-to-a-person")  # the page's button: opens the chat and asks
    wait_for_bot_text(customer, HUMAN_TEXT)
    session_id = customer.page.evaluate(
        "() => JSON.parse(localStorage.getItem('chat_session') || '{}').session_id"
    )

    # The queue page updates by itself when the escalation arrives.
    row = agent.page.locator(f"a[href='/conversations/{session_id}']")
    row.wait_for(timeout=WAIT_MS)
    agent.screenshot("console-queue")
    row.click()
    agent.page.click("text=Take over")
    agent.page.wait_for_selector("text=You own this conversation now")

    agent.page.fill("#reply-text", "Hello, I'm Dana from the card team. How can I help?")
    agent.page.click("form.reply button[type=submit]")
    wait_for_bot_text(customer, "Dana: Hello, I'm Dana from the card team.")

    bot_messages = customer.page.locator(".rw-response").count()
    say(customer, "Somebody used my card in a shop I've never been to")
    agent.page.locator(".transcript .msg.customer", has_text="a shop I've never been to").wait_for(
        timeout=WAIT_MS
    )
    customer.page.wait_for_timeout(2000)
    assert customer.page.locator(".rw-response").count() == bot_messages  # the bot kept quiet
    agent.screenshot("console-conversation")

    agent.page.fill("input[name=message]", "I've blocked the card; the bot can help with the rest.")
    agent.page.click("text=Hand back to the bot")
    agent.page.wait_for_selector("text=Handed back: the bot answers again.")
    wait_for_bot_text(customer, "Dana: I've blocked the card")

    say(customer, "My new card still hasn't arrived, where is it?")
    wait_for_bot_text(customer, "Standard delivery takes 3-5 working days")
    assert agent.foreign_requests == [] and customer.foreign_requests == []
