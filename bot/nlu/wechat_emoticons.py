"""WeChat's emoticon codes as they arrive in a text message's Content.

WeChat sends its built-in faces as text: the classic 105 as QQ-style slash codes (``/::)`` smile,
``/:strong`` thumbs-up …) or as bracketed names in the sender's language (``[微笑]``, ``[Smile]``,
``[發呆]`` for traditional-Chinese clients), newer ones as bracketed names only (``[捂脸]``, ``[奸笑]``,
``[旺柴]``). They carry mood, not a request: the NLU sees them as emoji (bot/nlu/normalize.py).
"""

from __future__ import annotations

SLASH_CODES = (
    "/::)", "/::~", "/::B", "/::|", "/:8-)", "/::<", "/::$", "/::X", "/::Z", "/::'(", "/::-|", "/::@", "/::P",
    "/::D", "/::O", "/::(", "/::+", "/:--b", "/::Q", "/::T", "/:,@P", "/:,@-D", "/::d", "/:,@o", "/::g",
    "/:|-)", "/::!", "/::L", "/::>", "/::,@", "/:,@f", "/::-S", "/:?", "/:,@x", "/:,@@", "/::8", "/:,@!",
    "/:!!!", "/:xx", "/:bye", "/:wipe", "/:dig", "/:handclap", "/:&-(", "/:B-)", "/:<@", "/:@>", "/::-O",
    "/:>-|", "/:P-(", "/::'|", "/:X-)", "/::*", "/:@x", "/:8*", "/:pd", "/:<W>", "/:beer", "/:basketb",
    "/:oo", "/:coffee", "/:eat", "/:pig", "/:rose", "/:fade", "/:showlove", "/:heart", "/:break", "/:cake",
    "/:li", "/:bome", "/:kn", "/:footb", "/:ladybug", "/:shit", "/:moon", "/:sun", "/:gift", "/:hug",
    "/:strong", "/:weak", "/:share", "/:v", "/:@)", "/:jj", "/:@@", "/:bad", "/:lvu", "/:no", "/:ok",
    "/:love", "/:<L>", "/:jump", "/:shake", "/:<O>", "/:circle", "/:kotow", "/:turn", "/:skip", "/:oY",
    "/:#-0", "/:hiphot", "/:kiss", "/:<&", "/:&>",
)

# bracketed names: simplified, traditional (where it differs) and English clients
BRACKET_NAMES = frozenset("""
微笑 撇嘴 色 发呆 發呆 得意 流泪 流淚 害羞 闭嘴 閉嘴 睡 大哭 尴尬 尷尬 发怒 發怒 调皮 調皮 呲牙 惊讶 驚訝 难过 難過 酷
冷汗 抓狂 吐 偷笑 可爱 可愛 愉快 白眼 傲慢 饥饿 饑餓 困 惊恐 驚恐 流汗 憨笑 大兵 悠闲 悠閒 奋斗 奮鬥 咒骂 咒罵 疑问 疑問
嘘 噓 晕 暈 折磨 疯了 瘋了 衰 骷髅 骷髏 敲打 再见 再見 擦汗 抠鼻 摳鼻 鼓掌 糗大了 坏笑 壞笑 左哼哼 右哼哼 哈欠 鄙视 鄙視
委屈 快哭了 阴险 陰險 亲亲 親親 吓 嚇 可怜 可憐 菜刀 西瓜 啤酒 篮球 籃球 乒乓 咖啡 饭 飯 猪头 豬頭 玫瑰 凋谢 凋謝 示爱
示愛 嘴唇 爱心 愛心 心碎 蛋糕 闪电 閃電 炸弹 炸彈 刀 足球 瓢虫 瓢蟲 便便 月亮 太阳 太陽 礼物 禮物 拥抱 擁抱 强 強 弱
握手 胜利 勝利 抱拳 勾引 拳头 拳頭 差劲 差勁 爱你 愛你 NO OK 爱情 愛情 飞吻 飛吻 跳跳 发抖 發抖 怄火 慪火 转圈 轉圈
磕头 磕頭 回头 回頭 跳绳 跳繩 挥手 揮手 激动 激動 街舞 献吻 獻吻 左太极 左太極 右太极 右太極 嘿哈 捂脸 捂臉 奸笑
机智 機智 皱眉 皺眉 耶 吃瓜 加油 汗 天啊 Emm 社会社会 社會社會 旺柴 好的 打脸 打臉 哇 翻白眼 666 让我看看 讓我看看
叹气 嘆氣 苦涩 苦澀 裂开 裂開 合十 红包 紅包 發 福 烟花 煙花 爆竹 庆祝 慶祝 鸡 雞 囧 破涕为笑 笑脸 生病 脸红 恐惧 失望
无语 鬼魂 吐舌 投降 乱舞 亂舞 得意 笑哭 狗头 狗頭 二哈 白眼 OK
Smile Grimace Drool Scowl CoolGuy Sob Shy Silent Sleep Cry Awkward Angry Tongue Grin Surprise Frown Ruthless
Blush Scream Puke Chuckle Joyful Slight Smug Hungry Drowsy Panic Sweat Laugh Commando Determined Scold Shocked
Shhh Dizzy Tormented Toasted Skull Hammer Wave Speechless NosePick Clap Shame Trick Bah!L Bah!R Yawn Pooh-pooh
Shrunken TearingUp Sly Kiss Wrath Whimper Cleaver Watermelon Beer Basketball PingPong Coffee Rice Pig Rose Wilt
Lips Heart BrokenHeart Cake Lightning Bomb Dagger Soccer Ladybug Poop Moon Sun Gift Hug ThumbsUp ThumbsDown
Shake Peace Fight Beckon Fist Pinky RockOn Nuh-uh InLove Blowkiss Waddle Tremble Aaagh Twirl Kotow Dramatic
JumpRope Surrender Hooray Meditate Smooch TaiChiL TaiChiR Hey Facepalm Smirk Smart Concerned Yeah! Onlooker
GoForIt Sweats OMG Respect Doge NoProb MyBad Wow Boring Awesome LetMeSee Sigh Hurt Broken Packet Blessing
Fireworks Firecracker Party Worship Lol Yes Tea Candle Chick
""".split())
