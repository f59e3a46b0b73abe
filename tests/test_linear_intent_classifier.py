"""LinearIntentClassifier on its own: trains, persists as plain arrays, loads, ranks."""

from __future__ import annotations

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from scipy.sparse import csr_matrix

from bot.nlu.linear_intent_classifier import LinearIntentClassifier


def _message(text: str, vector: list[float], intent: str | None = None) -> Message:
    message = Message(data={TEXT: text, **({INTENT: intent} if intent else {})})
    message.add_features(
        Features(np.array([vector], dtype=np.float32), "sentence", TEXT, "dense-test")
    )
    message.add_features(Features(csr_matrix([vector]), "sentence", TEXT, "sparse-test"))
    return message


def _components(tmp_path):
    storage = LocalModelStorage(tmp_path)
    resource = Resource("linear_intent_classifier")
    context = ExecutionContext(GraphSchema({}), "test")
    return storage, resource, context


def test_trains_persists_without_pickle_and_predicts_after_loading(tmp_path):
    storage, resource, context = _components(tmp_path)
    classifier = LinearIntentClassifier.create({}, storage, resource, context)
    examples = [
        _message(f"a{i}", [1.0, 0.1 * i, 0.0], "greet") for i in range(5)
    ] + [_message(f"b{i}", [0.0, 0.1 * i, 1.0], "goodbye") for i in range(5)]
    classifier.train(TrainingData(training_examples=examples))

    saved = list(tmp_path.rglob("*.npz"))
    assert len(saved) == 1
    np.load(saved[0], allow_pickle=False)  # plain arrays only

    loaded = LinearIntentClassifier.load({}, storage, resource, context)
    [greeting, farewell] = loaded.process(
        [_message("hi", [0.9, 0.0, 0.1]), _message("bye", [0.1, 0.0, 0.9])]
    )
    assert greeting.get(INTENT)["name"] == "greet"
    assert farewell.get(INTENT)["name"] == "goodbye"
    ranking = greeting.get("intent_ranking")
    assert [r["name"] for r in ranking] == ["greet", "goodbye"]
    assert abs(sum(r["confidence"] for r in ranking) - 1.0) < 1e-6


def test_a_message_without_text_gets_no_intent_at_zero_confidence(tmp_path):
    storage, resource, context = _components(tmp_path)
    classifier = LinearIntentClassifier.create({}, storage, resource, context)
    classifier.train(TrainingData(training_examples=[
        _message("a", [1.0, 0.0], "greet"), _message("b", [0.0, 1.0], "goodbye")]))
    [blank] = classifier.process([Message(data={TEXT: "   "})])
    assert blank.get(INTENT) == {"name": None, "confidence": 0.0}
    assert blank.get("intent_ranking") == []
