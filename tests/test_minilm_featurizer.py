"""bot.nlu.minilm_featurizer: dense TEXT features aligned to SpacyTokenizer's tokens."""

from __future__ import annotations

import numpy as np
import pytest
import spacy
from rasa.nlu.constants import SPACY_DOCS, TOKENS_NAMES
from rasa.nlu.tokenizers.spacy_tokenizer import SpacyTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.minilm_featurizer import MiniLMFeaturizer, align_to_tokens


@pytest.fixture(scope="module")
def featurizer():
    return MiniLMFeaturizer(MiniLMFeaturizer.get_default_config(), "minilm")


def _tokenized(*texts: str) -> list[Message]:
    nlp = spacy.blank("en")
    tokenizer = SpacyTokenizer(SpacyTokenizer.get_default_config())
    messages = []
    for text in texts:
        message = Message(data={TEXT: text, INTENT: "greet"})
        message.set(SPACY_DOCS[TEXT], nlp(text))
        messages.append(message)
    tokenizer.process(messages)
    return messages


def test_sequence_and_sentence_features_after_spacy_tokenizer(featurizer):
    messages = _tokenized("I lost my kid's insurance card in Tianhe!", "hello")
    featurizer.process_training_data(TrainingData(training_examples=messages))
    for message in messages:
        tokens = message.get(TOKENS_NAMES[TEXT])
        ours = {f.type: f for f in message.features if f.origin == "minilm"}
        assert set(ours) == {"sequence", "sentence"}
        sequence, sentence = ours["sequence"], ours["sentence"]
        assert sequence.attribute == TEXT and sequence.is_dense() and sentence.is_dense()
        assert sequence.features.shape == (len(tokens), 384)
        assert sentence.features.shape == (1, 384)
        assert np.abs(sequence.features).sum(axis=1).min() > 0  # every token covered
        np.testing.assert_allclose(np.linalg.norm(sentence.features), 1.0, atol=1e-5)


def test_process_matches_training_and_skips_messages_without_text(featurizer):
    [trained] = _tokenized("where can I get a student card")
    featurizer.process_training_data(TrainingData(training_examples=[trained]))
    [live] = _tokenized("where can I get a student card")
    intent_only = Message(data={INTENT: "greet"})
    featurizer.process([live, intent_only])
    np.testing.assert_allclose(
        live.get_dense_features(TEXT)[1].features,
        trained.get_dense_features(TEXT)[1].features,
        atol=1e-5,
    )
    assert not intent_only.features


def test_tokens_average_their_overlapping_wordpieces():
    states = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 5.0]], dtype=np.float32)
    offsets = np.array([[0, 3], [3, 6], [7, 9]])  # "abcdef gh": two pieces, then one
    tokens = [Token("abcdef", 0), Token("gh", 7), Token("zz", 20)]
    aligned = align_to_tokens(tokens, states, offsets)
    np.testing.assert_allclose(aligned, [[2.0, 0.0], [0.0, 5.0], [0.0, 0.0]])


def test_sentence_scale_multiplies_the_unit_sentence_embedding():
    config = {**MiniLMFeaturizer.get_default_config(), "sentence_scale": 20.0}
    [message] = _tokenized("when does the office open")
    MiniLMFeaturizer(config, "scaled").process([message])
    [sentence] = [f for f in message.features if f.type == "sentence"]
    np.testing.assert_allclose(np.linalg.norm(sentence.features), 20.0, rtol=1e-5)
