"""Realistic synthetic UGC landing drops for the demo, tests and benchmarks.

Each platform exports with its own field names and timestamp format; texts are zh, en or
mixed, with emoji, full-width characters, zero-width noise, PII and copypasta. Bad rows are
planted on purpose and ``generate_day`` returns exactly what it planted, so tests can check
that every one of them lands in quarantine with the right reason.

CLI: ``ugc synth --out data/landing --start 2026-11-20 --days 3 --posts 2000``
"""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone

from ugc import storage

# platform -> (lang weights zh/en/mixed, field names, timestamp style, file format)
PLATFORMS = {
    "weibo": ((0.85, 0.05, 0.10), {"post_id": "mid", "author_id": "uid", "text": "content"}, "iso+08", "jsonl"),
    "douyin": ((0.9, 0.02, 0.08), {"post_id": "comment_id", "author_id": "user_id"}, "epoch_ms", "jsonl"),
    "xiaohongshu": ((0.8, 0.05, 0.15), {}, "naive", "csv"),
    "twitter": ((0.05, 0.9, 0.05), {"post_id": "id", "author_id": "user_id"}, "isoZ", "jsonl"),
    "reddit": ((0.02, 0.96, 0.02), {"text": "body", "author_id": "author"}, "epoch_s", "parquet"),
}

PRODUCTS_ZH = ["手机", "耳机", "咖啡", "外卖", "快递", "新车", "电影", "演唱会", "酒店", "游戏更新", "客服", "直播间"]
PRODUCTS_EN = ["phone", "headphones", "coffee", "delivery", "new car", "movie", "concert", "hotel",
               "game update", "customer service", "livestream", "laptop"]
BRANDS = ["iPhone", "Pixel", "Tesla", "Nike", "Switch", "PS5", "Kindle", "AirPods"]
EMOJI = {"positive": ["😍", "👍", "🎉", "❤️", "😄"], "neutral": ["🤔", "📦", "🙂", ""],
         "negative": ["😡", "👎", "💔", "😤", "🙄"]}
ZH = {
    "positive": ["这个{p}真的太好用了{e}", "{p}体验超级棒，推荐大家试试{e}", "今天的{p}让我很开心{e}",
                 "给{p}点赞，质量很好{e}", "没想到{p}这么好，五星好评{e}"],
    "neutral": ["{p}今天到了，还没开始用{e}", "请问{p}在哪里可以买到", "{p}的价格和去年差不多",
                "有人用过这个{p}吗{e}", "刚看到{p}的新闻"],
    "negative": ["{p}太差了，再也不买了{e}", "{p}质量很烂，退货{e}", "对{p}非常失望{e}",
                 "{p}又出问题了，气死了{e}", "千万别买这个{p}，坑人{e}"],
}
EN = {
    "positive": ["Love this {p}, totally worth it {e}", "The {p} is amazing, highly recommend {e}",
                 "Best {p} I have had in years {e}", "Great {p}, really happy with it {e}"],
    "neutral": ["Got the {p} today, will test it later {e}", "Does anyone know where to buy the {p}?",
                "The {p} costs about the same as last year", "Just read some news about the {p}"],
    "negative": ["This {p} is terrible, never again {e}", "Really disappointed with the {p} {e}",
                 "The {p} broke after two days {e}", "Worst {p} ever, want a refund {e}"],
}
MIXED = {
    "positive": ["今天的{b}发布会太棒了{e}", "{b}真香，love it {e}"],
    "neutral": ["{b}的新款什么时候上市?", "有人试过{b}吗 any review"],
    "negative": ["{b}这次真的翻车了 so bad {e}", "{b}售后太差 worst ever {e}"],
}
# Real UGC is not bag-of-words separable: in a contrast ("X..., but Y...") the second clause decides,
# and neutral questions mention sentiment words. These make word-order matter, as it does in the wild.
CLAUSE_ZH = {"positive": ["质量很好", "非常好用", "让人很满意", "体验超棒", "完全值这个价"],
             "negative": ["质量太差", "特别难用", "让人很失望", "体验很糟", "根本不值这个价"]}
CLAUSE_EN = {"positive": ["works great", "is really good", "made me happy", "is totally worth it"],
             "negative": ["is awful", "is really bad", "made me angry", "is a total waste of money"]}
QUESTION_ZH = ["{p}到底是{a}还是{b}？", "大家觉得{p}{a}吗，还是{b}？"]
QUESTION_EN = ["Is the {p} really good or is it bad?", "Some say the {p} is great, others say awful. Which is it?"]
# Scenarios for monitoring: "crisis" = a negative spike around one hot topic (a battery-fire story);
# "shift" = a drifted day (long posts in languages and scripts the training data never had).
CRISIS_ZH = ["{b}电池起火了，太吓人了{e}", "听说{b}电池起火，还敢买吗{e}", "{b}电池起火必须召回，气死了{e}",
             "我的{b}也发烫，电池起火谁负责{e}"]
CRISIS_EN = ["{b} battery fire again, recall it now {e}", "Another {b} battery fire, this is dangerous {e}"]
SHIFT = ["このスマホは本当に最高です、毎日使っています。バッテリーも長持ちで、カメラもきれいです {e}",
         "배송이 정말 빨랐어요. 포장도 꼼꼼하고 제품 상태도 아주 좋습니다. 다음에도 또 살게요 {e}",
         "Honestly after three weeks of daily use across travel, work calls and gaming marathons, the {p} "
         "keeps surprising me; thermals stay sane, firmware updates land monthly, and support answered twice {e}",
         "Long thread incoming: I compared the {p} with four competitors over a month, logging battery drain, "
         "latency, and build quality, and the spreadsheet tells a more nuanced story than the reviews {e}"]
EN_TAGS = ["lol", "tbh", "fr", "imo", "ngl", ""]
ZH_TAGS = ["哈哈", "真的", "说实话", "救命", ""]

# Planted bad rows: reason -> weight of each kind among the bad rows.
BAD_KINDS = ("malformed_json", "invalid_utf8", "missing_field", "empty_text", "text_too_long",
             "unparseable_timestamp", "invalid_label")


def _noise(text: str, rng: random.Random) -> str:
    r = rng.random()
    if r < 0.05:
        return text.replace("，", ",").replace(" ", "\u200b ", 1)  # zero-width space
    if r < 0.10:
        return "  " + text.replace(" ", "   ") + " \n"
    if r < 0.13:  # full-width ASCII, as typed on Chinese IMEs
        return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)
    return text


def _pii(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.4:
        return f" 联系我 13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}"
    if r < 0.7:
        return f" mail me at user{rng.randint(1, 9999)}@example.com"
    return f" see https://t.example.com/{rng.randint(100000, 999999)}"


def _hard_text(lang: str, label: str, rng: random.Random) -> str:
    """A contrast (the clause after 但是/but decides) or a neutral question quoting both polarities."""
    zh = lang != "en"
    clauses, products = (CLAUSE_ZH, PRODUCTS_ZH) if zh else (CLAUSE_EN, PRODUCTS_EN)
    p1, p2 = rng.sample(products, 2)
    if label == "neutral":
        q = rng.choice(QUESTION_ZH if zh else QUESTION_EN)
        return q.format(p=p1, a=rng.choice(clauses["positive"]), b=rng.choice(clauses["negative"]))
    conceded = rng.choice(clauses["negative" if label == "positive" else "positive"])
    decisive = rng.choice(clauses[label])
    # The conceded clause comes first or last, so neither position nor punctuation gives the label away.
    if rng.random() < 0.5:
        return f"虽然{p1}{conceded}，但是{p2}{decisive}" if zh else f"Although the {p1} {conceded}, the {p2} {decisive}"
    return f"{p2}{decisive}，虽然{p1}{conceded}" if zh else f"The {p2} {decisive}, although the {p1} {conceded}"


def _post_text(lang: str, label: str, i: int, rng: random.Random, hard_rate: float = 0.0, uid: str = "") -> str:
    # Templates are few: the day-unique ``uid`` keeps two days from producing the same text by chance
    # (that would be an unplanted duplicate).
    e = rng.choice(EMOJI[label])
    if rng.random() < hard_rate:
        return _hard_text(lang, label, rng) + (f" {uid or i}楼" if lang != "en" else f" #{uid or i}")
    if lang == "zh":
        t = rng.choice(ZH[label]).format(p=rng.choice(PRODUCTS_ZH), e=e) + rng.choice(ZH_TAGS) + f" {uid or i}楼"
    elif lang == "en":
        t = rng.choice(EN[label]).format(p=rng.choice(PRODUCTS_EN), e=e) + f" {rng.choice(EN_TAGS)} #{uid or i}"
    else:
        t = rng.choice(MIXED[label]).format(b=rng.choice(BRANDS), e=e) + f" {uid or i}楼"
    return t


def _fmt_ts(ts: datetime, style: str):
    if style == "iso+08":
        return ts.astimezone(timezone(timedelta(hours=8))).isoformat()
    if style == "isoZ":
        return ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if style == "naive":
        return ts.strftime("%Y-%m-%d %H:%M:%S")
    if style == "epoch_ms":
        return int(ts.timestamp() * 1000)
    return int(ts.timestamp())


# The crisis has a face: one account breaks the story each crisis day and draws a pile of negative replies.
INFLUENCER = "pixel_insider"


def _scenario_text(scenario: str, lang: str, label: str, uid: str, rng: random.Random,
                   crisis_share: float = 0.4) -> tuple[str, str, str]:
    """(text, lang, label) of a scenario post, or the inputs unchanged when this post stays normal."""
    if scenario == "crisis" and rng.random() < crisis_share:
        zh = lang != "en"
        t = rng.choice(CRISIS_ZH if zh else CRISIS_EN).format(b="Pixel", e=rng.choice(EMOJI["negative"]))
        return t + (f" {uid}楼" if zh else f" #{uid}"), lang, "negative"
    if scenario == "shift" and rng.random() < 0.7:
        t = rng.choice(SHIFT).format(p=rng.choice(PRODUCTS_EN), e=rng.choice(EMOJI[label]))
        return f"{t} #{uid}", "en", label
    return "", lang, label


def generate_records(day: date, n: int, seed: int = 0, label_rate: float = 0.7, start_index: int = 0,
                     hard_rate: float = 0.35, scenario: str = "normal", crisis_share: float = 0.4):
    """Clean canonical-ish records (before platform field renames) for one day.

    ``hard_rate`` is the share of texts whose label depends on word order (contrasts, questions);
    ``scenario`` is "normal", "crisis" or "shift" (see CRISIS_*/SHIFT). On a crisis day ``crisis_share``
    of posts tell the story (raise it day by day for a rising topic); the first post is INFLUENCER's and
    60 % of the crisis posts are replies to it.
    """
    if scenario not in ("normal", "crisis", "shift"):
        raise ValueError(f"unknown scenario {scenario!r}")
    rng = random.Random(f"{seed}-{day.isoformat()}")
    names = list(PLATFORMS)
    day0 = datetime(day.year, day.month, day.day, tzinfo=UTC)
    out = []
    for j in range(n):
        i = start_index + j
        platform = names[j % len(names)] if j < len(names) else rng.choice(names)
        lw = PLATFORMS[platform][0]
        lang = rng.choices(("zh", "en", "mixed"), lw)[0]
        label = rng.choices(("negative", "neutral", "positive"), (0.3, 0.3, 0.4))[0]
        text = _post_text(lang, label, i, rng, hard_rate, uid=f"{day:%y%j}{i:05d}")
        crisis_post = False
        if scenario != "normal":  # extra draws only here, so normal days stay byte-identical
            alt, lang, label = _scenario_text(scenario, lang, label, f"{day:%y%j}{i:05d}", rng,
                                              1.0 if j == 0 else crisis_share)
            text = alt or text
            crisis_post = scenario == "crisis" and bool(alt)
        if rng.random() < 0.04:
            text += _pii(rng)
        text = _noise(text, rng)
        ts = day0 + timedelta(seconds=rng.randint(0, 86399), microseconds=rng.randint(0, 999) * 1000)
        parent = out[rng.randrange(len(out))]["post_id"] if out and rng.random() < 0.25 else None
        author = f"u{rng.randint(1, max(10, n // 5))}"
        if crisis_post and j == 0:
            author, ts = INFLUENCER, day0  # breaks the story at midnight; replies follow
        elif crisis_post and rng.random() < 0.6:
            parent = out[0]["post_id"]
        out.append({
            "post_id": f"{platform[:2]}{day:%Y%m%d}{i:08d}", "platform": platform,
            "author_id": author, "text": text, "created_at": ts,
            "parent_id": parent, "label": label if rng.random() < label_rate else None,
        })
    return out


def _export(rec: dict) -> dict:
    fields, style = PLATFORMS[rec["platform"]][1], PLATFORMS[rec["platform"]][2]
    row = {fields.get(k, k): v for k, v in rec.items()}
    row[fields.get("created_at", "created_at")] = _fmt_ts(rec["created_at"], style)
    return row


def _bad_line(kind: str, rec: dict, rng: random.Random) -> bytes:
    row = _export(rec)
    tkey = PLATFORMS[rec["platform"]][1].get("text", "text")
    if kind == "malformed_json":
        return json.dumps(row, ensure_ascii=False).encode()[:-7]
    if kind == "invalid_utf8":
        return json.dumps(row, ensure_ascii=False).encode().replace(b'"', b'"\xff\xfe', 1)
    if kind == "missing_field":
        row.pop(tkey)
    elif kind == "empty_text":
        row[tkey] = rng.choice(["", "   ", "\u200b\u200b"])
    elif kind == "text_too_long":
        row[tkey] = "刷屏" * 6000
    elif kind == "unparseable_timestamp":
        row[PLATFORMS[rec["platform"]][1].get("created_at", "created_at")] = rng.choice(["yesterday", "2026-13-45"])
    elif kind == "invalid_label":
        row["label"] = "angry"
    return json.dumps(row, ensure_ascii=False).encode()


def generate_day(landing_root: str, day: date, n: int, seed: int = 0, bad_rate: float = 0.01,
                 dup_rate: float = 0.01, prev_texts: list[str] | None = None, scenario: str = "normal",
                 crisis_share: float = 0.4) -> dict:
    """Write one day's landing drop under ``{landing_root}/dt=YYYY-MM-DD/`` and return what was planted.

    Returns ``{"records": n_good_unique, "planted": {reason: count}, "texts": [...sample for next day]}``.
    """
    rng = random.Random(f"drop-{seed}-{day.isoformat()}")
    recs = generate_records(day, n, seed, scenario=scenario, crisis_share=crisis_share)
    planted: Counter = Counter()
    bad_lines: list[bytes] = []
    n_bad = int(n * bad_rate)
    for k in range(n_bad):  # bad rows are extra lines, on top of the n good ones (twitter JSONL file)
        kind = BAD_KINDS[k % len(BAD_KINDS)]
        planted["missing_field:text" if kind == "missing_field" else kind] += 1
        bad_lines.append(_bad_line(kind, {**recs[k], "platform": "twitter", "post_id": f"bad{k}"}, rng))
    extra = []
    # Sources drawn without replacement so each planted duplicate has exactly one reason.
    for k, si in enumerate(rng.sample(range(5, n), min(int(n * dup_rate), n - 5))):
        src = recs[si]
        if k % 2 == 0:  # the same post re-delivered
            extra.append(dict(src))
            planted["duplicate_post_id"] += 1
        else:  # copypasta: a new post (not a reply: short stock replies may repeat), same text up to case/width/spacing
            t = src["text"].upper() if k % 4 == 1 else "  " + src["text"] + "\u200b"
            extra.append({**src, "post_id": src["post_id"] + "cp", "text": t, "parent_id": None})
            planted["duplicate_text"] += 1
    for k, t in enumerate(prev_texts or []):  # yesterday's text posted again today
        extra.append({**recs[k], "post_id": f"x{k}{recs[k]['post_id']}", "text": t, "parent_id": None})
        planted["duplicate_text"] += 1
    by_fmt: dict[str, list[dict]] = {"jsonl": [], "csv": [], "parquet": []}
    for rec in recs + extra:
        by_fmt[PLATFORMS[rec["platform"]][3]].append(rec)
    base = storage.join(landing_root, f"dt={day.isoformat()}")
    lines = [json.dumps(_export(r), ensure_ascii=False).encode() for r in by_fmt["jsonl"]]
    half = len(lines) // 2
    storage.write_bytes(storage.join(base, "part-0.jsonl"), b"\n".join(lines[:half]) + b"\n")
    storage.write_bytes(storage.join(base, "part-1.jsonl"), b"\n".join(lines[half:] + bad_lines) + b"\n")
    _write_table(storage.join(base, "xhs.csv"), [_export(r) for r in by_fmt["csv"]], "csv")
    _write_table(storage.join(base, "reddit.parquet"), [_export(r) for r in by_fmt["parquet"]], "parquet")
    # Texts that are long enough to be deduped (see IngestConfig.text_dedupe_min_chars) seed tomorrow.
    carry = [r["text"] for r in recs[-5:]]
    return {"records": n, "planted": dict(planted), "texts": carry, "uri": base}


def _write_table(uri: str, rows: list[dict], fmt: str) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    cols = {k: [r.get(k) for r in rows] for k in (rows[0] if rows else {})}
    table = pa.table({k: pa.array([None if v is None else str(v) for v in vs], pa.string())
                      if k != "created_at" else pa.array(vs) for k, vs in cols.items()})
    buf = io.BytesIO()
    if fmt == "csv":
        pacsv.write_csv(table, buf)
    else:
        pq.write_table(table, buf)
    storage.write_bytes(uri, buf.getvalue())


def generate(landing_root: str, start: date, days: int, posts: int, seed: int = 0, **kw) -> list[dict]:
    """Generate ``days`` consecutive drops; each day re-posts a few of yesterday's texts."""
    out, prev = [], None
    for d in range(days):
        info = generate_day(landing_root, start + timedelta(days=d), posts, seed, prev_texts=prev, **kw)
        prev = info["texts"]
        out.append(info)
    return out
