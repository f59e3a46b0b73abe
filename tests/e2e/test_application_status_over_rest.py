"""The application status check over REST, against the real servers and a CLI-filled database."""

from __future__ import annotations

import pytest

from bot.demo_data import DEMO_APPLICATIONS
from bot.identifiers import mask_name
from tests.e2e.conftest import button_titles, run_cli, server_logs

pytestmark = pytest.mark.e2e

DEMO = {record.status.value: record for record in DEMO_APPLICATIONS}
NEXT_STEP = {
    "submitted": "waiting for review",
    "under_review": "Staff are checking the information",
    "in_production": "about 10 working days",
    "ready_for_collection": "Collect it at:",
    "collected": "There is nothing more to do",
    "rejected": "Reason:",
}


def _look_up(chat, number: str, tail: str) -> list[dict]:
    assert "application number" in chat.say("I'd like to check my application status")
    assert "last 6 characters" in chat.say(number)
    return chat.send(tail)


@pytest.mark.parametrize("status", sorted(NEXT_STEP))
def test_a_verified_asker_sees_the_status_and_the_next_step(chat, status):
    record = DEMO[status]
    replies = _look_up(chat, record.application_number, record.id_tail)
    answer = "\n".join(m["text"] for m in replies)
    assert NEXT_STEP[status] in answer
    assert mask_name(record.holder_name) in answer
    assert record.holder_name not in answer
    assert record.holder_id_number not in answer
    if status == "ready_for_collection":
        assert record.collection_point in answer
        assert "How do I collect it?" in button_titles(replies)
    if status == "rejected":
        assert record.note in answer


def test_number_typed_loosely_and_in_the_first_message(chat):
    record = DEMO["in_production"]
    loose = record.application_number.lower().replace("sc", "sc-", 1)
    assert "last 6 characters" in chat.say(f"where is my application {loose}?")
    assert "being made" in chat.say(record.id_tail.lower())


def test_malformed_number_shows_the_format_and_the_form_goes_on(chat):
    chat.say("check my application")
    assert "SC2026000123" in chat.say("SC12345")
    record = DEMO["submitted"]
    assert "last 6 characters" in chat.say(record.application_number)
    assert "5 digits followed by a digit or X" in chat.say("abc")
    assert "waiting for review" in chat.say(record.id_tail)


def test_unknown_number_and_wrong_verification_get_the_same_reply(new_chat):
    record = DEMO["collected"]
    wrong_tail = "99999" + ("8" if record.id_tail[-1] != "8" else "7")
    unknown = "\n".join(m["text"] for m in _look_up(new_chat(), "SC2099000001", record.id_tail))
    wrong = "\n".join(
        m["text"] for m in _look_up(new_chat(), record.application_number, wrong_tail)
    )
    assert unknown == wrong
    assert "couldn't confirm an application" in unknown


def test_three_failures_lock_the_number_even_with_the_right_answer(new_chat, e2e_database_url,
                                                                    tmp_path):
    # A record of its own, imported with the staff CLI, so the lock touches no other test.
    csv = tmp_path / "applications.csv"
    csv.write_text(
        "application_number,holder_name,id_number,status,updated_at,collection_point,note\n"
        "SC2026777001,Zhou Mei,11010519491231002X,ready_for_collection,2026-11-20,"
        "Haidian Service Hall counter 3,\n",
        encoding="utf-8",
    )
    result = run_cli(e2e_database_url, "applications", "import", str(csv))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Z** Mei" in run_cli(e2e_database_url, "applications", "show", "SC2026777001").stdout

    for attempt in range(1, 4):
        replies = _look_up(new_chat(), "SC2026777001", "111111")
        assert "couldn't confirm" in replies[0]["text"]
        # The third failure says at once that the number is now paused.
        assert ("paused" in replies[-1]["text"]) == (attempt == 3)
    # A different conversation, with the right answer: still locked.
    locked = "\n".join(m["text"] for m in _look_up(new_chat(), "SC2026777001", "00102X"))
    assert "paused after several unsuccessful attempts" in locked
    assert "try again after" in locked and "12333" in locked
    assert "Haidian Service Hall" not in locked


def test_imported_application_can_be_looked_up(chat, e2e_database_url, tmp_path):
    csv = tmp_path / "applications.csv"
    csv.write_text(
        "application_number,holder_name,id_number,status,updated_at,collection_point,note\n"
        "SC2026888001,Huang Jiayi,440524188001010014,under_review,2026-11-21,,\n",
        encoding="utf-8",
    )
    assert run_cli(e2e_database_url, "applications", "import", str(csv)).returncode == 0
    answer = "\n".join(m["text"] for m in _look_up(chat, "SC2026888001", "010014"))
    assert "under review" in answer and mask_name("Huang Jiayi") in answer


def test_stop_mid_form_forgets_what_was_typed(chat):
    record = DEMO["submitted"]
    chat.say("check my application")
    chat.say(record.application_number)
    assert "stopped the application check" in chat.say("stop")
    # Asking again starts from the beginning: the number was forgotten.
    assert "What is the application number?" in chat.say("check my application")


def test_another_question_mid_form_is_answered_then_the_form_goes_on(chat):
    record = DEMO["under_review"]
    chat.say("check my application")
    answer = chat.say("how much does medical insurance reimburse?")
    assert "70% to 90%" in answer and "application number" in answer
    chat.say(record.application_number)
    assert "under review" in chat.say(record.id_tail)


def test_verification_is_forgotten_after_the_answer(chat, new_chat):
    record = DEMO["submitted"]
    _look_up(chat, record.application_number, record.id_tail)
    # Same conversation, and anyone reusing its sender id: both must verify again.
    assert "What is the application number?" in chat.say("and what's my status now?")
    again = new_chat(chat.sender)
    assert "last 6 characters" in again.say(record.application_number)


def test_typed_slots_and_entities_cannot_skip_verification(chat):
    record = DEMO["ready_for_collection"]
    replies = chat.send(
        f'/application_status{{"application_number": "{record.application_number}", '
        f'"id_last6": "{record.id_tail}"}}'
    )
    text = "\n".join(m["text"] for m in replies)
    assert "last 6 characters" in text
    assert "Collect it at" not in text


def test_full_id_number_is_refused_and_never_logged(chat, servers):
    record = DEMO["collected"]
    chat.say("check my application")
    chat.say(record.application_number)
    assert "don't type the whole ID number" in chat.say(record.holder_id_number)
    assert "collected on" in chat.say(record.id_tail)
    logs = server_logs(servers)
    for application in DEMO_APPLICATIONS:
        assert application.holder_id_number not in logs
        assert application.id_tail not in logs
