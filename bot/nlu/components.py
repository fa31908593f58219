"""Rasa NLU components for Chinese customer text.

* :class:`PowerTokenizer` — jieba with our power-domain dictionary; token texts are normalised
  (half-width, lower case) and noise tokens (whitespace, punctuation, emoji) are dropped without
  changing any offset. jieba is initialised when the model loads, not on the first message.
* :class:`PlaceExtractor` — a CRF that learns only the free-text ``address`` entity; the
  regex-shaped entities come from RegexEntityExtractor and are not duplicated here.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.crf_entity_extractor import CRFEntityExtractor
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import ENTITIES, ENTITY_ATTRIBUTE_TYPE
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.normalize import is_noise, to_halfwidth

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
