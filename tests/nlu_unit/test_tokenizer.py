"""Chinese tokenisation: no whitespace/emoji tokens, offsets intact, dictionary words whole."""

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message

from bot.config import ROOT
from bot.nlu.components import PowerTokenizer
from bot.nlu.normalize import clean_text


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    storage = LocalModelStorage(tmp_path_factory.mktemp("model"))
    config = {**PowerTokenizer.get_default_config(), "dictionary_path": str(ROOT / "data" / "jieba")}
    return PowerTokenizer.create(config, storage, Resource("tokenizer"), ExecutionContext(GraphSchema({}), "test"))


def tokens(tokenizer, text):
    return [(t.text, t.start, t.end) for t in tokenizer.tokenize(Message(data={"text": text}), "text")]


@pytest.mark.parametrize(
    "text",
    ["户号 5100237781  停电了", "电费😡😡多少", "ｗｉｆｉ没了 ＯＫ？", "上个月\t电费\n多少", "跳闸了！！！", "   "],
)
def test_no_token_is_whitespace_punctuation_or_emoji(tokenizer, text):
    for word, start, end in tokens(tokenizer, text):
        assert word.strip() and word.strip() == word
        assert not any(ch in "😡！？!?，。" for ch in word)
        assert end - start == len(word)


def test_offsets_point_into_the_original_text_and_full_width_is_normalised(tokenizer):
    text = "户号５１００２３７７８１停电了"
    result = tokens(tokenizer, text)
    assert ("5100237781", 2, 12) in result
    assert text[2:12] == "５１００２３７７８１"


@pytest.mark.parametrize(
    "text, word",
    [("俺家峰谷电价咋算", "峰谷电价"), ("阶梯电价是多少", "阶梯电价"), ("家里跳闸了", "跳闸"), ("电能表走字快", "电能表"),
     ("表箱门坏了", "表箱"), ("变压器冒烟", "变压器"), ("我想增容", "增容"), ("房子过户", "过户"),
     ("光伏并网怎么办", "光伏并网"), ("走马驿镇停电了", "走马驿镇"), ("烟煤洞乡来电没", "烟煤洞乡")],
)
def test_power_dictionary_words_stay_whole(tokenizer, text, word):
    assert word in [t[0] for t in tokens(tokenizer, text)]


def test_mixed_english_and_digits_tokenise_cleanly(tokenizer):
    words = [t[0] for t in tokens(tokenizer, "我要check一下GD202611270001 OK吗")]
    assert "check" in words and "gd202611270001" in words and "ok" in words


def test_channel_cleaning_removes_emoji_and_stray_spaces():
    assert clean_text("  户号５１００２３７７８１ 停 电了😡\n在吗  ") == "户号5100237781 停电了在吗"
