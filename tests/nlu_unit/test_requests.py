"""Two requests in one message (issue 13, fault 1): the NLU reads the first, the second is found by its
joining words and read on its own. Plain text rules, no model."""

import pytest

from bot.nlu.normalize import LONG_MESSAGE, for_model, second_request
from bot.nlu.requests import find_second_request


@pytest.mark.parametrize("text, first, second", [
    ("查下电费 顺便问下峰谷电咋申请", "查下电费", "峰谷电咋申请"),
    ("我要查电费 顺便问下咋交", "我要查电费", "咋交"),
    ("停电了 顺便问下电费交了没", "停电了", "电费交了没"),
    ("查下电费顺便问一下营业厅几点开门", "查下电费", "营业厅几点开门"),
    ("查下电费，还有峰谷电咋申请", "查下电费", "峰谷电咋申请"),
    ("查余额，另外问一下营业厅几点开门", "查余额", "营业厅几点开门"),
    ("上个月电费多少？对了，峰谷电怎么办", "上个月电费多少", "峰谷电怎么办"),
    ("查电费，再问下怎么交", "查电费", "怎么交"),
    ("查电费再问下怎么交", "查电费", "怎么交"),
    ("我家停电了，还有个事，电费怎么交", "我家停电了", "电费怎么交"),
    ("查下电费。我还想问下光伏并网咋办", "查下电费", "光伏并网咋办"),
    ("用了多少度电 顺带查下余额！", "用了多少度电", "余额"),
])
def test_a_second_request_is_found_after_its_joining_words(text, first, second):
    found = find_second_request(text)
    assert found is not None
    assert text[:found.joint].strip(" ，。？") == first
    assert found.text == second and text[found.start:].startswith(second)


@pytest.mark.parametrize("text", [
    "峰谷电咋申请", "顺便问下峰谷电咋申请",  # one request, the joint first
    "余额还有多少", "电费交了，还有多少余额", "还有欠费吗", "卡里还有钱吗",  # 还有 asking what is left
    "帮我查下电费顺便",  # nothing after the joint
    "我家停电了还有电线也断了",  # one report
    "你好", "在吗，顺便问下", "",
])
def test_one_request_has_no_second(text):
    assert find_second_request(text) is None
    assert second_request(text) is None


def test_pleasantries_never_count_as_the_first_request():
    assert second_request("在吗，顺便问下峰谷电咋申请") is None
    assert second_request("你好你好，在吗？查下电费 顺便问下峰谷电咋申请") == "峰谷电咋申请"


def test_the_model_reads_the_first_request_and_the_second_apart():
    text = "查下电费 顺便问下峰谷电咋申请"
    assert for_model(text).strip() == "查下电费" and len(for_model(text)) == len(text)
    assert second_request(text) == "峰谷电咋申请"


def test_the_second_request_is_read_in_simplified_characters_without_emoticons():
    assert second_request("查下電費[捂脸] 順便問下峰谷電咋申請/::)") == "峰谷电咋申请"


def test_a_long_message_is_read_from_its_end_not_split():
    story = "昨天晚上刮了一宿的大风，俺家院子里的树枝都断了好几根，早上起来一看冰箱也不转了，孩子还要上网课，老人也在家，"
    story += "屋里黑乎乎的什么也干不了，邻居家倒是有电，"
    text = story + "查下电费 顺便问下峰谷电咋申请"
    assert len(text) > LONG_MESSAGE and second_request(text) is None
