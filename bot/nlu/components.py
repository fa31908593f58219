"""Rasa NLU components for Chinese customer text.

* :class:`PowerTokenizer` — first normalises the message text itself (:func:`bot.nlu.normalize.for_model`:
  half-width, simplified, emoticon codes, pleasantries, long messages, digit groups — same length, so
  entity offsets stay valid), so every later component (regex entities, featurizers, CRF) sees the
  same text; then jieba with our power-domain dictionary, token texts lower-cased, noise tokens
  (whitespace, punctuation, emoji) dropped. jieba is initialised when the model loads.
* :class:`IntentLogisticRegression` — Rasa's logistic regression over the sparse features, with the
  regularisation strength ``C`` and ``class_weight`` configurable (Rasa fixes C=1, balanced).
* :class:`PlaceExtractor` — a CRF that learns only the free-text ``address`` entity; the
  regex-shaped entities come from RegexEntityExtractor and are not duplicated here.
* :class:`SecondRequestCollector` — a message with a second request (``查下电费 顺便问下峰谷电咋申请``)
  is read for its first one; the tokenizer adds the second request's words as one more message to the
  batch, so every component (featurizers, classifier, response selector, entities) reads it like any
  message, and this last component folds what they found into the first message's ``second_request``
  (``{"text", "intent", "confidence", "response_key", "entities"}``) and takes the added message out.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Type

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.normalize import for_model, is_noise, is_unintelligible, second_request, to_halfwidth

logger = logging.getLogger(__name__)


def _import_skops_keeping_the_log_level() -> None:
    """Rasa's LogisticRegressionClassifier loads its model with skops, whose import walks every
    scikit-learn module; one of them imports numpy.distutils, which sets the *root* logger to
    WARNING — the server would go silent below warnings from the moment the model loads. Rasa
    imports this module before it loads any component, so importing skops here, and putting the
    level back, keeps the configured log level."""
    root = logging.getLogger()
    level = root.level
    try:
        import skops.io  # noqa: F401
    finally:
        root.setLevel(level)


_import_skops_keeping_the_log_level()


def _warm_up_jieba() -> None:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    list(jieba.tokenize("户号5100000001上个月电费多少"))


SECOND_REQUEST = "second_request"  # the parse data key the actions read (actions/offers.py)
SECOND_OF = "second_request_of"  # marks a message added to the batch for another's second request
_SECOND_MESSAGE = "_second_request_message"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=True)
class PowerTokenizer(JiebaTokenizer):
    """jieba tokens, normalised, without whitespace/punctuation/emoji tokens (Rasa issue #7910)."""

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> PowerTokenizer:
        component = super().create(config, model_storage, resource, execution_context)
        _warm_up_jieba()
        return component

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> PowerTokenizer:
        component = super().load(config, model_storage, resource, execution_context, **kwargs)
        _warm_up_jieba()
        return component

    @staticmethod
    def _normalise(messages: List[Message]) -> None:
        for message in messages:
            text = message.get(TEXT)
            if isinstance(text, str) and text and not text.startswith("/"):
                message.set(TEXT, for_model(text))

    def process(self, messages: List[Message]) -> List[Message]:
        """Normalise each message's text (same length), then tokenize it. A second request in a message
        joins the batch as a message of its own (:class:`SecondRequestCollector` takes it out again)."""
        for message in list(messages):
            text = message.get(TEXT)
            if isinstance(text, str) and text and not text.startswith("/"):
                words = second_request(text)
                if words:
                    added = Message(data={TEXT: words, SECOND_OF: True})
                    message.data[_SECOND_MESSAGE] = added
                    messages.append(added)
        self._normalise(messages)
        return super().process(messages)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Normalise the training examples' texts the same way, then tokenize them."""
        self._normalise(training_data.training_examples)
        return super().process_training_data(training_data)

    def tokenize(self, message: Message, attribute: str) -> List[Token]:
        import jieba

        text = message.get(attribute)
        # half-width first (same length, so offsets still point into the original text): jieba keeps
        # ASCII digit runs together but splits full-width ones digit by digit
        tokens = [
            Token(word.lower(), start)
            for word, start, _end in jieba.tokenize(to_halfwidth(text))
            if not is_noise(word)
        ]
        if not tokens and text:
            # an all-noise message ("😡😡", "？？") still needs one token to be featurised
            tokens = [Token("_", 0)]
        return self._apply_token_pattern(tokens)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class IntentLogisticRegression(LogisticRegressionClassifier):
    """Rasa's :class:`LogisticRegressionClassifier` with ``C`` (inverse regularisation strength, default
    1.0 as in Rasa) and ``class_weight`` (``"balanced"`` as in Rasa, or ``null``) read from the config.
    Chosen by 5-fold cross-validation on the training data (reports/nlu-choices.md)."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "C": 1.0, "class_weight": "balanced"}

    def __init__(self, config: Dict[str, Any], name: str, model_storage: ModelStorage, resource: Resource) -> None:
        super().__init__(config, name, model_storage, resource)
        self.clf.set_params(C=float(self.config["C"]), class_weight=self.config["class_weight"])


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=True)
class PlaceExtractor(CRFEntityExtractor):
    """CRF entity extractor trained on the ``entities`` it is configured for (default: address)."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**CRFEntityExtractor.get_default_config(), "entities": ["address"]}

    def train(self, training_data: TrainingData) -> Resource:
        """Train on a copy of the data that holds only the configured entity types."""
        wanted = set(self.component_config["entities"])
        examples = []
        for message in training_data.training_examples:
            copy = Message(data=dict(message.data), features=message.features)
            if message.get(ENTITIES):
                copy.set(ENTITIES, [e for e in message.get(ENTITIES) if e[ENTITY_ATTRIBUTE_TYPE] in wanted])
            examples.append(copy)
        return super().train(TrainingData(training_examples=examples))


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class UnintelligibleClassifier(GraphComponent, IntentClassifier):
    """Text with no known word is not understood, whatever the classifier guessed (issue 13, fault 9).

    ``？？？``, ``啊啊啊啊``, ``asdfgh`` always become ``nlu_fallback`` (the dialogue asks to rephrase, with
    examples, and hands over after two in a row); a message of only vague words (``那个东西咋整啊``)
    does when the classifier took it for ``out_of_scope`` or was unsure. Out of scope stays for other
    businesses (water, gas, phone bills), which have words of their own."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"unsure_below": 0.6}

    def __init__(self, config: Dict[str, Any]) -> None:
        self.component_config = config

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> UnintelligibleClassifier:
        return cls(config)

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT)
            if not isinstance(text, str) or text.startswith("/"):
                continue
            tokens = [t.text for t in message.get(TOKENS_NAMES[TEXT]) or []]
            unintelligible, certain = is_unintelligible(text, tokens)
            if not unintelligible:
                continue
            guess = message.get(INTENT) or {}
            unsure = guess.get(PREDICTED_CONFIDENCE_KEY, 0.0) < self.component_config["unsure_below"]
            if certain or unsure or guess.get(INTENT_NAME_KEY) in ("out_of_scope", DEFAULT_NLU_FALLBACK_INTENT_NAME):
                fallback = {INTENT_NAME_KEY: DEFAULT_NLU_FALLBACK_INTENT_NAME, PREDICTED_CONFIDENCE_KEY: 1.0}
                message.data[INTENT] = fallback
                message.data.setdefault(INTENT_RANKING_KEY, [])
                message.data[INTENT_RANKING_KEY].insert(0, dict(fallback))
        return messages


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SecondRequestCollector(GraphComponent, IntentClassifier):
    """Folds the second request's reading into its message (issue 13, fault 1); the last component.

    ``second_request`` is set only when the second request was understood (not ``nlu_fallback``, at
    least ``min_confidence``) and is another request than the first (another intent, or another
    response key of a retrieval intent). Whether it is offered is the dialogue's choice."""

    @classmethod
    def required_components(cls) -> List[Type]:
        return [IntentClassifier]

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {"min_confidence": 0.5}

    def __init__(self, config: Dict[str, Any]) -> None:
        self.component_config = config

    @classmethod
    def create(cls, config: Dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> SecondRequestCollector:
        return cls(config)

    @staticmethod
    def _response_key(message: Message, intent: str) -> str | None:
        selector = (message.get("response_selector") or {}).get("default") or {}
        for candidate in selector.get("ranking") or [selector.get("response") or {}]:
            key = candidate.get("intent_response_key") or ""
            if key.startswith(intent + "/"):
                return key
        return None

    def _reading(self, message: Message, added: Message) -> Dict[str, Any] | None:
        guess = added.get(INTENT) or {}
        intent = guess.get(INTENT_NAME_KEY)
        confidence = float(guess.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        if not intent or intent == DEFAULT_NLU_FALLBACK_INTENT_NAME or confidence < self.component_config[
                "min_confidence"]:
            return None
        key = self._response_key(added, intent)
        first = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if intent == first and (key is None or key == self._response_key(message, intent)):
            return None
        entities = [{k: e[k] for k in ("entity", "value") if k in e} for e in added.get(ENTITIES) or []]
        return {"text": added.get(TEXT), "intent": intent, "confidence": round(confidence, 4),
                "response_key": key, "entities": entities}

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            added = message.data.pop(_SECOND_MESSAGE, None)
            if added is not None:
                reading = self._reading(message, added)
                if reading is not None:
                    message.set(SECOND_REQUEST, reading, add_to_output=True)
        messages[:] = [m for m in messages if not m.get(SECOND_OF)]
        return messages
