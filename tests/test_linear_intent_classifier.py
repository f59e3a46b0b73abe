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
from scipy.sparse import coo_matrix, csr_matrix

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


def test_scores_straight_from_the_features_equal_the_training_matrix_s(tmp_path):
    """The fast path of ``process`` gives the numbers the trained weights were fitted on:
    several dense and sparse parts, duplicate sparse entries, an all-zero sparse part."""
    storage, resource, context = _components(tmp_path)
    classifier = LinearIntentClassifier.create({"dense_weight": 2.0}, storage, resource, context)
    rng = np.random.default_rng(7)

    def message(intent: str | None = None) -> Message:
        made = Message(data={TEXT: "some words", **({INTENT: intent} if intent else {})})
        for width in (4, 3):
            made.add_features(
                Features(rng.normal(size=(1, width)).astype(np.float32), "sentence", TEXT, "d")
            )
        # A token-level feature is not a sentence feature: left out of both paths.
        made.add_features(Features(np.ones((2, 5), dtype=np.float32), "sequence", TEXT, "d"))
        duplicated = coo_matrix(([1.0, 2.0, 1.0], ([0, 0, 0], [1, 1, 4])), shape=(1, 6))
        made.add_features(Features(duplicated, "sentence", TEXT, "s"))
        made.add_features(Features(csr_matrix((1, 3)), "sentence", TEXT, "s"))
        made.add_features(
            Features(csr_matrix(rng.integers(0, 3, size=(1, 5))), "sentence", TEXT, "s")
        )
        return made

    examples = [message(intent) for intent in ("a", "b", "c") for _ in range(6)]
    classifier.train(TrainingData(training_examples=examples))
    for probe in [message() for _ in range(20)]:
        expected = np.asarray(
            classifier._features([probe]) @ classifier._coef.T + classifier._intercept
        )[0]
        np.testing.assert_allclose(classifier._scores(probe), expected, rtol=1e-5, atol=1e-6)
