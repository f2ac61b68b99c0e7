"""The customers' widget in headless Chromium against the real console, Rasa and actions."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from gapdesk.ratings import DOWN
from gapdesk.storage.models import Feedback, Turn
from tests.e2e.conftest import BrowserPage, RunningBot
from tests.e2e.words import REASON_THANKS_TEXT, REASONS, THUMBS

pytestmark = pytest.mark.e2e

PHONE = (390, 800)  # a phone-sized screen
WAIT_MS = 30_000


def open_widget(browser_page: BrowserPage, bot: RunningBot) -> None:
    page = browser_page.page
    page.goto(bot.settings.console_url + "/")
    page.click(".rw-launcher", timeout=WAIT_MS)
    page.wait_for_selector(".rw-new-message", timeout=WAIT_MS)


def say(browser_page: BrowserPage, text: str) -> None:
    page = browser_page.page
    page.fill(".rw-new-message", text)
    page.keyboard.press("Enter")


def wait_for_bot_text(browser_page: BrowserPage, text: str) -> None:
    browser_page.page.locator(".rw-response", has_text=text).first.wait_for(timeout=WAIT_MS)


def test_a_customer_rates_an_answer_down_with_a_reason(
    bot: RunningBot, open_page, wait_for_rows
) -> None:
    browser_page = open_page(viewport=PHONE)
    page = browser_page.page
    open_widget(browser_page, bot)
    say(browser_page, "My new card still hasn't arrived, where is it?")
    wait_for_bot_text(browser_page, "Standard delivery takes 3-5 working days")

    page.locator(".rw-reply", has_text=THUMBS[DOWN]).last.click()
    page.locator(".rw-reply", has_text=REASONS["wrong_topic"]).last.click(timeout=WAIT_MS)
    wait_for_bot_text(browser_page, REASON_THANKS_TEXT)

    session_id = page.evaluate(
        "() => JSON.parse(localStorage.getItem('chat_session') || '{}').session_id"
    )
    assert re.fullmatch(r"[0-9a-f]{32}", session_id or "")
    [rating] = wait_for_rows(
        lambda session: session.scalars(
            select(Feedback)
            .where(Feedback.conversation_id == session_id, Feedback.reason.is_not(None))
            .options(selectinload(Feedback.turn).selectinload(Turn.gap_score))
        ).all()
    )
    assert (rating.rating, rating.reason) == ("down", "wrong_topic")
    assert rating.turn.answer_intent == "card_arrival"
    assert rating.turn.customer_text == "My new card still hasn't arrived, where is it?"
    assert rating.turn.gap_score.model_version
    browser_page.screenshot("widget-rated")
    assert browser_page.foreign_requests == []
