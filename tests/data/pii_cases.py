"""A varied PII case table: (text, the secret that must not survive redaction) and texts that must survive intact.

Shared by the tests (ingest's Arrow path and the safety filter's Python path) and bench/fuzz.py. The secret is
checked after removing separators, so "138 0013 8000" leaking as "138[PHONE]" still counts as a leak.
"""

LEAKS = [
    # Chinese mobiles, every way people write them
    ("我的手机13800138000", "13800138000"), ("电话:138-0013-8000", "13800138000"), ("call 138 0013 8000 pls", "13800138000"),
    ("138.0013.8000 微信同号", "13800138000"), ("1380 0138 000", "13800138000"), ("+86 13800138000", "13800138000"),
    ("+86-138-0013-8000", "13800138000"), ("(+86)13912345678", "13912345678"), ("８６１３９１２３４５６７８", "13912345678"),
    ("１３８００１３８０００找我", "13800138000"), ("一三八零零一三八零零零", "一三八零零一三八零零零"),
    ("手机号 一三九 一二三四 五六七八", "一三九一二三四五六七八"), ("幺三八零零幺三八零零零", "幺三八零零幺三八零零零"),
    ("联系15912345678谢谢", "15912345678"), ("tel:18600001111", "18600001111"), ("17712345678（仅限工作日）", "17712345678"),
    # Landlines and international numbers
    ("客服电话 010-12345678", "12345678"), ("(021) 6123 4567", "61234567"), ("0755 8888 6666", "88886666"),
    ("call me at (415) 555-2671", "5552671"), ("415.555.2671 is my cell", "5552671"), ("+44 20 7946 0958", "79460958"),
    ("+1 (212) 555-0147", "5550147"), ("+33 1 42 68 53 00", "42685300"), ("+81 3-1234-5678", "12345678"),
    # E-mails: plain, tagged, international, obfuscated
    ("mail me: someone.x@example.com", "someone.x"), ("a.b+tag@sub.example.co.uk", "a.b+tag"),
    ("邮箱zhangsan@163.com", "zhangsan"), ("john@例子.中国", "john"), ("jöhn.dø@example.com", "jöhn.dø"),
    ("john at example dot com", "john"), ("john(at)example(dot)com", "john"), ("john [at] example [dot] org", "john"),
    ("john {at} gmail {dot} com", "john"), ("JOHN AT GMAIL DOT COM", "john"), ("mary＠example．com", "mary"),
    ("lisi艾特qq点com", "lisi"), ("wang.wu@qq.com 联系", "wang.wu"),
    # Links with and without a scheme
    ("see https://t.example.com/abc?x=1", "t.example.com"), ("www.example.org/profile/123", "example.org"),
    ("t.cn/AbC123 点这里", "t.cn/AbC123"), ("bit.ly/3xYz", "bit.ly/3xYz"), ("visit example.com/u/zhangsan", "zhangsan"),
    ("HTTP://EXAMPLE.COM/PRIVATE", "EXAMPLE.COM"), ("我的主页 zhangsan.github.io", "zhangsan"),
    ("http://例子.com/路径", "例子"), ("https://weibo.com/u/1234567890", "1234567890"),
    # WeChat and QQ
    ("微信: abc_12345", "abc_12345"), ("加微信 zhang_san88", "zhang_san88"), ("vx：lisi2024", "lisi2024"),
    ("wx zhangsan_88 私聊", "zhangsan_88"), ("wechat id: john_doe88", "john_doe88"), ("加V xiaoming_1990", "xiaoming_1990"),
    ("wxid_abc123def456", "wxid_abc123def456"), ("QQ：12345678", "12345678"), ("qq号 987654321", "987654321"),
    ("扣扣 1234567", "1234567"), ("企鹅号:55566677", "55566677"), ("微信号wang_wu_01", "wang_wu_01"),
    # PRC resident id numbers
    ("身份证 11010519491231002X 请核对", "11010519491231002X"), ("ID: 110105 19491231 002X", "19491231"),
    ("身份证号440301199001011234", "440301199001011234"), ("110105-19491231-0021", "19491231"),
    ("老身份证 110105491231002", "110105491231002"), ("id 320102198512125678.", "320102198512125678"),
    # Payment cards (Luhn-valid)
    ("卡号 4111 1111 1111 1111", "4111111111111111"), ("card 5500-0000-0000-0004", "5500000000000004"),
    ("6222021234567890128 工行", "6222021234567890128"), ("转账到 6228 4800 0000 0000 018", "622848000000000001"),
    ("4012888888881881", "4012888888881881"), ("amex 3782 8224 6310 005", "378282246310005"),
    # IP addresses
    ("ip 192.168.1.10", "192.168.1.10"), ("server 10.0.0.254 down", "10.0.0.254"), ("from 8.8.8.8", "8.8.8.8"),
    ("2001:db8::1 is mine", "2001:db8::1"), ("fe80::1ff:fe23:4567:890a", "fe80::1ff:fe23:4567:890a"),
    ("2001:0db8:85a3:0000:0000:8a2e:0370:7334", "2001:0db8:85a3"),
    # Mixed and crowded
    ("电话13800138000或邮箱a@b.cn", "13800138000"), ("电话13800138000或邮箱abc@b.cn", "abc@"),
    ("两个号码13812345678和13987654321", "13987654321"), ("联系13812345678，微信同号", "13812345678"),
    ("Call 13800138000 / 13800138001", "13800138001"), ("addr: 192.168.0.1:8080", "192.168.0.1"),
    ("email:ZHANG.SAN@EXAMPLE.COM", "zhang.san"), ("手机：139 1234 5678；QQ：7654321", "7654321"),
    ("手机：139 1234 5678；QQ：7654321", "13912345678"),
]

KEEP = [
    "这个手机真的太好用了", "price 1299 元", "2026-11-20 10:30", "v2.3.1 released", "iPhone 15 Pro Max",
    "#2331700012 楼", "3000元买的", "打了9.5折", "第25楼的评论", "RTX4090 显卡", "1/2 的人觉得", "增长13.8%",
    "时间 23:59:59", "我在2026年买的", "订单号 A2026112000123", "Node.js and Vue.js", "e.g. this one", "see you at 5pm",
    "meet at the park", "what's up doc", "第3集真好看", "评分 4.8/5", "买了2个，送了1个", "2 for 1 deal", "3.14159",
    "版本 1.2.3", "温度 36.5℃", "身高180cm体重70kg", "12345", "5 stars", "1 2 3 4 5", "top 10 list",
    "waiting at home", "at least 3", "the cat sat on the mat", "python3.11", "100%好评", "双11活动", "618大促",
    "made in the U.S. today", "e.g. the u.s. and the u.k.", "Mr. Smith arrived at 9 a.m.", "file.txt and main.py",
]
