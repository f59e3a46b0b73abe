"""Offices, the legal basis, handoff and the fallbacks, run as the action server runs them."""

from __future__ import annotations

from actions.fallback import ActionCoreFallback, ActionSuggestTopics
from actions.handoff import ActionHumanHandoff
from actions.legal_basis import ActionExplainLegalBasis
from actions.offices import ActionFindOffices
from tests.custom_actions.conftest import make_tracker, run_action


def _district(value):
    return [{"entity": "district", "value": value, "start": 0, "end": len(value)}]


def test_offices_of_one_district(demo_engine):
    messages, _ = run_action(ActionFindOffices(), make_tracker(
        "offices in haidian", "office_locations", entities=_district("Haidian")))
    assert messages[0]["text"] == "Service halls in Haidian:"
    assert len(messages) >= 2 and all("(Haidian)" in m["text"] for m in messages[1:])


def test_all_offices_with_address_hours_phone_and_district_buttons(demo_engine):
    messages, _ = run_action(ActionFindOffices(), make_tracker("where are you", "office_locations"))
    offices = [m["text"] for m in messages[1:-1]]
    assert len(offices) >= 5
    assert all("Address:" in o and "Hours:" in o and "Phone:" in o for o in offices)
    assert "Chaoyang" in [b["title"] for b in messages[-1]["buttons"]]


def test_unknown_district_is_said_and_the_real_ones_listed(demo_engine):
    messages, _ = run_action(ActionFindOffices(), make_tracker(
        "offices in Pudong", "office_locations", entities=_district("Pudong")))
    assert 'I don\'t know a service hall in "Pudong"' in messages[0]["text"]
    assert "Haidian" in messages[0]["text"]


def test_no_offices_on_record(engine, monkeypatch):
    monkeypatch.setattr("actions.offices.engine", lambda: engine)
    messages, _ = run_action(ActionFindOffices(), make_tracker("offices", "office_locations"))
    assert "12333" in messages[0]["text"]


def test_article_2_in_plain_words_with_the_five_types():
    messages, _ = run_action(ActionExplainLegalBasis(), make_tracker("the law?", "legal_basis"))
    text = messages[0]["text"]
    assert "Article 2 of the Social Insurance Law" in text
    assert "In plain words" in text and "What it means for you" in text
    assert len(messages[0]["buttons"]) == 5


def test_one_insurance_type_with_seed_reimbursement_and_neighbouring_articles():
    tracker = make_tracker("law on maternity?", "legal_basis", entities=[
        {"entity": "insurance_type", "value": "maternity", "start": 7, "end": 16}])
    messages, _ = run_action(ActionExplainLegalBasis(), tracker)
    text = messages[0]["text"]
    assert "when you have children" in text and "100%" in text and "Article 81" in text
    assert "Maternity insurance" not in [b["title"] for b in messages[0]["buttons"]]


def test_handoff_uses_configured_contacts(monkeypatch):
    monkeypatch.setenv("BUREAU_CONTACT_PHONE", "010-1234 5678")
    monkeypatch.setenv("BUREAU_CONTACT_HOURS", "Mon-Sat 8:00-18:00")
    text = run_action(ActionHumanHandoff(), make_tracker("human", "human_handoff"))[0][0]["text"]
    assert "010-1234 5678" in text and "Mon-Sat 8:00-18:00" in text and "12333" in text


def test_handoff_defaults_are_honest(monkeypatch):
    for name in ("BUREAU_CONTACT_PHONE", "BUREAU_CONTACT_HOURS", "BUREAU_CONTACT_IN_PERSON"):
        monkeypatch.delenv(name, raising=False)
    text = run_action(ActionHumanHandoff(), make_tracker("human", "human_handoff"))[0][0]["text"]
    assert "Monday to Friday" in text and "12333" in text


def test_low_confidence_offers_the_two_most_likely_topics():
    ranking = [{"name": "nlu_fallback", "confidence": 0.5},
               {"name": "reimbursement_ratio", "confidence": 0.3},
               {"name": "greet", "confidence": 0.1},
               {"name": "lost_card", "confidence": 0.05},
               {"name": "legal_basis", "confidence": 0.01}]
    messages, events = run_action(ActionSuggestTopics(), make_tracker(
        "reimbur how", "nlu_fallback", ranking=ranking))
    payloads = [b["payload"] for b in messages[0]["buttons"]]
    assert payloads == ["/reimbursement_ratio", "/lost_card", "/help"]
    assert events[0]["event"] == "rewind"


def test_core_fallback_offers_help_and_a_person():
    messages, _ = run_action(ActionCoreFallback(), make_tracker("??", "inform"))
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/help", "/human_handoff"]
