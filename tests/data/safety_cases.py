"""Disguised banned terms (every disguise the issue names, for every default term) and benign texts that
merely look close. Deterministic; shared by tests/ugc/test_safety_cases.py and bench/fuzz.py."""

from __future__ import annotations

import random

ZW = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
CYRILLIC = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "y": "у", "x": "х", "i": "і", "s": "ѕ", "k": "к"}
GREEK = {"a": "α", "o": "ο", "i": "ι", "k": "κ", "v": "ν", "t": "τ", "u": "υ", "n": "η"}
LEET = {"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7", "l": "1", "g": "9", "b": "8"}
# How people actually disguise the Chinese terms (pinyin, homophones, digit readings, initials).
ZH_VARIANTS = {
    "去死": ["qu si", "qusi", "去4", "去si", "qu死", "趣死"],
    "自杀吧": ["zi sha ba", "自刹吧", "自sha吧", "zisha吧", "自杀8"],
    "杀了你": ["sha le ni", "沙了你", "杀le你", "杀了尼", "傻了你"],
    "炸弹": ["zha dan", "炸dan", "zha弹", "乍弹"],
    "代开发票": ["dai kai fa piao", "代开fa票", "带开发票", "代开发漂"],
    "刷单": ["shua dan", "刷dan", "shua单", "刷丹"],
    "赌博网站": ["du bo wang zhan", "du博网站", "堵博网站", "赌搏网站"],
    "裸聊": ["luo liao", "luo聊", "裸liao", "倮聊"],
    "贷款秒批": ["dai kuan miao pi", "带款秒批", "贷kuan秒批", "贷款妙批"],
    "傻逼": ["sha bi", "shabi", "煞笔", "傻B", "沙比", "傻比", "傻屄"],
    "脑残": ["nao can", "闹残", "nao残", "脑cán"],
}
TRAD = {"自杀吧": "自殺吧", "杀了你": "殺了你", "炸弹": "炸彈", "代开发票": "代開發票", "刷单": "刷單",
        "赌博网站": "賭博網站", "裸聊": "裸聊", "贷款秒批": "貸款秒批", "傻逼": "傻逼", "脑残": "腦殘", "去死": "去死"}
FRAMES_EN = ["{}", "honestly {} lol", "you know what, {}.", "{}!!!", "just {} already"]
FRAMES_ZH = ["{}", "你真的{}", "{}！！", "我觉得{}啊", "大家说{}", "{}吧", "你怎么不{}", "快{}"]


def _sprinkle(term: str, rng: random.Random, chars: list[str]) -> str:
    out = []
    for ch in term:
        out.append(ch)
        if ch != " " and rng.random() < 0.5:
            out.append(rng.choice(chars))
    return "".join(out)


def _latin(term: str, rng: random.Random) -> list[str]:
    words = term.split()
    return [
        _sprinkle(term, rng, ZW), _sprinkle(term, rng, ["\u00ad"]),
        "".join(CYRILLIC.get(c, c) for c in term), "".join(GREEK.get(c, c) for c in term),
        " ".join(c for c in term if c != " "), ".".join(c for c in term if c != " "),
        "-".join(c for c in term if c != " "), "".join(LEET.get(c, c) for c in term),
        "-".join(words), "_".join(words), "".join(words), term.upper(),
        "".join(c.upper() if i % 2 else c for i, c in enumerate(term)),
        "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in term),  # full width
        "".join(c * 2 if c in "aeiou" else c for c in term),  # repeated letters
        "\u202e" + term[::-1], " ".join(w[0] + "*" + w[1:] for w in words),
    ]


def _chinese(term: str, rng: random.Random) -> list[str]:
    return [_sprinkle(term, rng, ZW), " ".join(term), ".".join(term), "*".join(term), TRAD.get(term, term),
            "\u202e" + term[::-1], *ZH_VARIANTS.get(term, [])]


def disguised(terms: tuple[str, ...], seed: int = 7) -> list[tuple[str, str]]:
    """(text, the banned term it carries)."""
    rng = random.Random(seed)
    out = []
    for term in terms:
        zh = any("\u4e00" <= c <= "\u9fff" for c in term)
        for variant in (_chinese if zh else _latin)(term, rng):
            frame = rng.choice(FRAMES_ZH if zh else FRAMES_EN)
            out.append((frame.format(variant), term))
    return out


BENIGN = [
    # Chinese: the banned characters inside other words
    "我们去死海旅游", "这把紫砂壶很漂亮", "我去四川出差", "抹杀了你的努力", "今天早餐吃了炸蛋", "去世的爷爷很慈祥",
    "这个脑子残留的记忆", "自杀式袭击的新闻报道", "刷单子上的灰", "赌博是违法的，请远离", "贷款利率又降了",
    "发票已经开好了", "代开会议的人迟到了", "裸眼3D效果不错", "聊天记录找不到了", "网站打不开了",
    "傻乎乎的小狗真可爱", "他是个逼真的演员", "炸弹鱼是一道菜", "杀毒软件更新了", "你了解一下这个产品",
    "死机了，重启一下", "去哪里买比较好", "这款刷子很好用", "批发价多少钱", "秒杀活动开始了",
    "自从用了这个手机，生活方便多了", "死磕到底的精神", "这款去死皮膏很好用", "清洁刷能去死角", "今天去超市买了菜",
    "残疾人通道在左边",
    "四季度的销量很好", "这个紫砂锅炖汤很香", "我们一起去死磕这个项目吧", "爆炸性新闻", "脑洞大开",
    # English: the banned letters inside other words
    "skill yourself up with this course", "kill the process and restart", "flame retardant coating", "I go diving on weekends",
    "the skyscraper was tall", "let's buy more followers of fashion books", "wire me the report", "the bomb was a hit movie",
    "crypto news today", "she killed it on stage", "kids love this toy", "kilo yourself? no, kilogram", "go diet now",
    "retardation of growth in plants", "I will kill your time with jokes", "fake in voice acting", "the giveaway winner",
    "I will call you", "skylight installed", "keys are on the table", "go die-hard fans", "goldie is my dog",
    "threat assessment report", "buy follow-up items", "money wire transfer fees", "self-care tips for yourself",
    "make yourself at home", "the kyoto trip", "akys brand shoes", "resky business", "the art of killing time in games",
    "Mt. Kilimanjaro trip", "I'll skip yourself check", "kill switch engaged", "bomb the exam? no, ace it",
    "fake news is a problem", "invoice attached", "crypto exchange fees", "go die trying? no, go try", "kiss yourself",
]
