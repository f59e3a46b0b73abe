"""The status check's actions against a real database: verify, answer, lock, forget."""

from __future__ import annotations

import asyncio

from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.application_status import (
    ActionCancelStatusLookup,
    ActionCheckApplicationStatus,
    ValidateApplicationStatusForm,
)
from bot.demo_data import DEMO_APPLICATIONS
from tests.custom_actions.conftest import DOMAIN, make_tracker, run_action

DEMO = {record.status.value: record for record in DEMO_APPLICATIONS}
FORGET = [SlotSet("application_number", None), SlotSet("id_last6", None),
          SlotSet("requested_slot", None)]


def _check(number, tail):
    tracker = make_tracker(slots={"application_number": number, "id_last6": tail})
    return run_action(ActionCheckApplicationStatus(), tracker)


def test_match_answers_in_plain_words_masked_and_forgets(demo_engine):
    record = DEMO["ready_for_collection"]
    messages, events = _check(record.application_number, record.id_tail)
    text = messages[0]["text"]
    assert "ready for collection" in text and record.collection_point in text
    assert record.holder_name not in text and record.holder_id_number not in text
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        "/child_card_collection", "/child_card_documents"]
    assert events == FORGET


def test_rejected_shows_the_note_and_what_to_do(demo_engine):
    record = DEMO["rejected"]
    text = _check(record.application_number, record.id_tail)[0][0]["text"]
    assert record.note in text and "apply again" in text


def test_unknown_number_and_wrong_tail_get_identical_replies(demo_engine):
    record = DEMO["submitted"]
    unknown, _ = _check("SC2099999999", record.id_tail)
    wrong, events = _check(record.application_number, "999999")
    assert unknown == wrong
    assert "couldn't confirm" in wrong[0]["text"]
    assert events == FORGET


def test_three_failures_lock_even_the_right_answer(demo_engine):
    record = DEMO["collected"]
    for attempt in range(1, 4):
        messages, _ = _check(record.application_number, "000000")
        assert ("try again after" in messages[-1]["text"]) == (attempt == 3)
    text = _check(record.application_number, record.id_tail)[0][0]["text"]
    assert "try again after" in text and "collected" not in text


def test_database_down_gets_an_apology_not_a_crash(monkeypatch):
    from sqlalchemy import create_engine

    broken = create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none", future=True)
    monkeypatch.setattr("actions.application_status.engine", lambda: broken)
    messages, events = _check("SC2026000101", "00102X")
    assert "can't reach the bureau's records" in messages[0]["text"]
    assert events == FORGET


def test_cancel_deactivates_the_form_and_forgets():
    tracker = make_tracker(text="stop", intent="stop",
                           slots={"application_number": "SC2026000101"})
    messages, events = run_action(ActionCancelStatusLookup(), tracker)
    assert "forgotten what you typed" in messages[0]["text"]
    assert events == [ActiveLoop(None), *FORGET]


def _validate(text, intent="inform", requested="application_number", slots=None):
    """Run the form validation action as Rasa calls it, returning (messages, slot values)."""
    tracker = make_tracker(text=text, intent=intent,
                           slots={"requested_slot": requested, **(slots or {})},
                           active_loop={"name": "application_status_form"})
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ValidateApplicationStatusForm().run(dispatcher, tracker, DOMAIN))
    return dispatcher.messages, {e["name"]: e["value"] for e in events}


def test_number_is_normalised_from_loose_text():
    messages, slots = _validate("it's sc-2026 000101 I think")
    assert slots["application_number"] == "SC2026000101" and not messages


def test_malformed_number_shows_the_expected_format():
    messages, slots = _validate("SC123")
    assert slots["application_number"] is None
    assert "SC2026000123" in messages[0]["text"]


def test_another_question_is_not_taken_for_an_answer():
    messages, slots = _validate("how much is reimbursed?", intent="reimbursement_ratio")
    assert slots == {} and not messages


def test_id_tail_is_accepted_case_insensitively():
    _, slots = _validate("00102x", requested="id_last6",
                         slots={"application_number": "SC2026000101"})
    assert slots["id_last6"] == "00102X"


def test_full_id_number_is_refused_and_not_kept():
    messages, slots = _validate("11010519491231002X", requested="id_last6",
                                slots={"application_number": "SC2026000101"})
    assert slots["id_last6"] is None
    assert "don't type the whole ID number" in messages[0]["text"]


def test_typed_entities_cannot_fill_the_verification_before_it_is_asked():
    _, slots = _validate('/application_status{"id_last6": "00102X"}', intent="application_status",
                         requested=None)
    assert slots.get("id_last6") is None


def test_a_single_unplaceable_word_is_taken_as_a_garbled_answer():
    messages, slots = _validate("abc", intent="out_of_scope", requested="id_last6",
                                slots={"application_number": "SC2026000101"})
    assert slots["id_last6"] is None
    assert "5 digits followed by a digit or X" in messages[0]["text"]


def test_an_off_topic_question_mid_form_is_not_an_answer():
    messages, slots = _validate("what's the weather tomorrow?", intent="out_of_scope",
                                requested="id_last6")
    assert slots == {} and not messages
