"""What the NLU reads: one normalised text (same length, so entity offsets stay valid), and what the
channels pass on (cleaned, may be shorter)."""

import pytest

from bot.nlu.normalize import clean_text, emoticon_spans, for_model, is_noise, is_unintelligible, to_simplified


@pytest.mark.parametrize("traditional, simplified", [
    ("電費多少錢", "电费多少钱"), ("上個月電費", "上个月电费"), ("我還欠費嗎", "我还欠费吗"), ("變壓器冒煙了", "变压器冒烟了"),
    ("戶號5100000001綁定", "户号5100000001绑定"), ("轉人工", "转人工"), ("電錶走字不對", "电表走字不对"),
])
def test_traditional_characters_become_simplified_before_anything_else(traditional, simplified):
    assert to_simplified(traditional) == simplified
    assert for_model(traditional) == simplified
    assert clean_text(traditional) == simplified


@pytest.mark.parametrize("text", ["[捂脸]", "[强]", "[OK]", "/::)", "/:strong", "[捂脸][捂脸]", "/::)/::~[微笑]", "[發呆]",
                                  "[Facepalm]", "[旺柴] [强]", "😂[捂脸]👍"])
def test_a_message_of_only_wechat_emoticons_is_empty_for_the_channel(text):
    assert clean_text(text) == ""
    assert all(is_noise(ch) for ch in for_model(text))  # the model sees only noise: no word at all


@pytest.mark.parametrize("text, rest", [
    ("我家停电了[捂脸]", "我家停电了"), ("[强]谢谢", "谢谢"), ("查电费/::)", "查电费"), ("好的[OK]", "好的"),
    ("/:strong 转人工", "转人工"),
])
def test_emoticon_codes_are_stripped_like_emoji(text, rest):
    assert clean_text(text) == rest
    assert for_model(text).strip() == rest and len(for_model(text)) == len(text)


def test_bracketed_words_that_are_no_emoticon_stay():
    assert emoticon_spans("户号[5100000001]") == []
    assert clean_text("[重要]我家停电了") == "[重要]我家停电了"


@pytest.mark.parametrize("text, wanted", [
    ("你好你好，在吗？我家停电了", "我家停电了"), ("在吗在吗在吗，家里没电了", "家里没电了"), ("您好 查下电费", "查下电费"),
    ("喂喂，客服，电表走得快", "电表走得快"), ("请问一下峰谷电怎么申请", "峰谷电怎么申请"), ("hello 转人工", "转人工"),
])
def test_pleasantries_before_a_request_do_not_hide_it(text, wanted):
    assert for_model(text).strip() == wanted


@pytest.mark.parametrize("text", ["你好", "在吗", "你好你好", "在吗？", "您好客服"])
def test_a_greeting_alone_stays_a_greeting(text):
    assert for_model(text) == text.replace("？", "?")


def test_a_long_message_is_read_from_its_end_and_keeps_its_numbers():
    story = ("昨天晚上刮了一宿的大风，俺家院子里的树枝都断了好几根，早上起来一看冰箱也不转了，"
             "孩子还要上网课，老人也在家，屋里黑乎乎的什么也干不了，户号5100000003，")
    text = story + "现在家里停电了，地址是银坊镇北庄村63号"
    seen = for_model(text)
    assert len(seen) == len(text)
    assert seen.endswith("现在家里停电了,地址是银坊镇北庄村63号")
    assert "5100000003" in seen and "刮了一宿的大风" not in seen


@pytest.mark.parametrize("typed, seen", [
    ("户号 5100 0000 01 查电费", "户号 5100000001 查电费"), ("5100-0000-03", "5100000003"),
    ("+86 139 1234 5678", "13912345678"), ("１３９１２３４５６７８", "13912345678"),
])
def test_digit_groups_reach_the_nlu_as_one_number(typed, seen):
    assert " ".join(for_model(typed).split()) == seen
    assert clean_text(typed) == seen


@pytest.mark.parametrize("text", ["？？？", "啊啊啊啊", "asdfgh", "。。。", "哈哈哈", "qwer zxcv"])
def test_gibberish_is_certainly_unintelligible(text):
    assert is_unintelligible(text) == (True, True)


def test_only_vague_words_are_unintelligible_but_left_to_the_classifier():
    assert is_unintelligible("那个东西咋整啊", ["那个", "东西", "咋整", "啊"]) == (True, False)


@pytest.mark.parametrize("text, tokens", [
    ("中", ["中"]), ("好的", ["好的"]), ("嗯嗯", ["嗯嗯"]), ("在吗", ["在", "吗"]), ("ok", None), ("5100000001", None),
    ("手机欠费停机了", ["手机", "欠费", "停机", "了"]), ("自来水停了", ["自来水", "停", "了"]), ("喂喂", ["喂喂"]),
    ("dianfei zenme jiao", None), ("tingdian le", None),
])
def test_short_answers_and_other_businesses_are_not_gibberish(text, tokens):
    assert is_unintelligible(text, tokens)[0] is False
