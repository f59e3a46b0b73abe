"""Every topic asked over REST to the running servers, answered from the bureau's guidance."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import button_titles

pytestmark = pytest.mark.e2e

# (question as a parent might type it, facts the answer must carry)
TOPICS = [
    ("how do I collect my son's social security card?",
     ["local social security bureau", "ID card", "sign", "Check carefully"]),
    ("what should i bring to pick up my kid's card",
     ["Your own ID card", "social security card documents", "12333"]),
    ("what do the staff verify at the counter when I collect it?",
     ["identity information", "authentic and valid", "sign"]),
    ("I'm a student, what materials do I need to apply for the card?",
     ["ID card or passport", "admission notice", "Medical insurance proof", "application form"]),
    ("which insurance types can the social security card reimburse?",
     ["medical insurance", "work (industrial) injury insurance", "maternity insurance"]),
    ("which medical expenses can be reimbursed?",
     ["Outpatient", "Hospitalisation", "Medicine", "Examinations", "Treatment"]),
    ("how much of my medical bill gets reimbursed?",
     ["70% to 90%", "100%"]),
    ("are there any limits, like which hospitals or drugs?",
     ["Hospital grade", "Specific drugs", "12333"]),
    ("are the rules different in other cities?",
     ["differ between regions", "12333"]),
    ("how do I keep my child's card and documents safe?",
     ["safe place"]),
    ("my daughter lost her social security card",
     ["Report the loss", "replacement", "12333"]),
    ("what law is social insurance based on?",
     ["Article 2", "Social Insurance Law", "old-age", "maternity"]),
    ("where is your office?",
     ["Service", "Address:", "Hours:", "Phone:"]),
]


@pytest.mark.parametrize(("question", "facts"), TOPICS, ids=[t[0][:40] for t in TOPICS])
def test_each_topic_is_answered_with_the_guidance_facts(chat, question, facts):
    answer = chat.say(question)
    for fact in facts:
        assert fact in answer, f"{fact!r} missing from the answer to {question!r}:\n{answer}"


def test_the_first_greeting_carries_a_privacy_notice_and_a_menu(chat):
    replies = chat.send("hi there")
    text = replies[0]["text"]
    assert "Privacy" in text and "last 6 characters" in text
    assert {"Collect my child's card", "Check my application", "Find an office"} <= set(
        button_titles(replies)
    )


def test_collection_steps_offer_the_natural_next_questions(chat):
    replies = chat.send("how to get my baby's ss card")
    assert button_titles(replies) == ["What should I bring?", "Check my application"]
    assert "Your own ID card" in chat.say("/child_card_documents")


def test_help_lists_the_topics(chat):
    answer = chat.say("what can you help me with?")
    assert "Collecting a child's social security card" in answer
    assert "legal basis" in answer


def test_out_of_scope_says_what_is_covered_and_offers_the_hotline(chat):
    replies = chat.send("what's the weather in Beijing tomorrow?")
    assert "I can only help with social security card questions" in replies[0]["text"]
    assert "12333" in replies[0]["text"]
    assert "Talk to a person" in button_titles(replies)


def test_bot_challenge_is_answered_honestly(chat):
    assert "automated assistant, not a person" in chat.say("am I talking to a robot?")


def test_handoff_gives_contact_channels_hours_and_the_hotline(chat):
    answer = chat.say("I want to talk to a human")
    assert "12333" in answer
    assert "Monday to Friday" in answer
    assert "service hall" in answer


def test_legal_basis_for_one_insurance_type(chat):
    answer = chat.say("what does the law say about work injury insurance?")
    assert "injured at work" in answer
    assert "100%" in answer
    assert "Article 30" in answer


def test_offices_of_one_district_and_an_unknown_district(chat):
    answer = chat.say("where is the service hall in chaoyang district?")
    assert "Service halls in Chaoyang" in answer
    assert "Dongcheng" not in answer
    unknown = chat.say('/office_locations{"district": "Atlantis"}')
    assert 'I don\'t know a service hall in "Atlantis"' in unknown
    assert "Haidian" in unknown


def test_restart_starts_over(chat):
    chat.say("check my application")
    chat.say("/restart")
    # After a restart the form is gone: a greeting is a greeting, not an answer to it.
    assert "welcome" in chat.say("hello")


def test_an_off_topic_question_mid_conversation_then_back(chat):
    assert "70% to 90%" in chat.say("what percentage is reimbursed?")
    assert "12333" in chat.say("tell me a joke")
    assert "Your own ID card" in chat.say("what do I need to bring to collect the card?")
