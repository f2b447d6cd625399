import pytest

from crnn_ctc.data import annotations as anno
from crnn_ctc.data.charset import Charset

LIST = anno.LineParser("list")


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"a/1.jpg hello", ("a/1.jpg", "hello")),
        (b"a/1.jpg   AT HIGH", ("a/1.jpg", "AT HIGH")),  # first run of whitespace only
        (b"a/1.jpg\tAT  HIGH  ", ("a/1.jpg", "AT  HIGH")),  # inner spaces kept, trailing dropped
        (b"./a/./1.jpg x", ("a/1.jpg", "x")),
        (b"a\\b\\1.jpg x", ("a/b/1.jpg", "x")),  # written on Windows
        (b"a/../b/1.jpg x", ("b/1.jpg", "x")),
        ("plates/1.jpg 서울12가3456".encode(), ("plates/1.jpg", "서울12가3456")),
        ("p/1.jpg Caf\u0065\u0301".encode(), ("p/1.jpg", "Caf\u00e9")),  # NFC
    ],
)
def test_list_lines(raw, expected):
    item = LIST.parse(7, raw)
    assert isinstance(item, anno.Entry)
    assert (item.line, item.path, item.label) == (7, *expected)


@pytest.mark.parametrize(
    "raw, reason, path",
    [
        (b"", anno.BLANK_LINE, ""),
        (b"   \t ", anno.BLANK_LINE, ""),
        (b"a/1.jpg", anno.EMPTY_LABEL, "a/1.jpg"),
        (b"a/1.jpg   ", anno.EMPTY_LABEL, "a/1.jpg"),
        (b"/abs/1.jpg x", anno.ABSOLUTE_PATH, "/abs/1.jpg"),
        (b"C:\\data\\1.jpg x", anno.ABSOLUTE_PATH, "C:\\data\\1.jpg"),
        (b"../1.jpg x", anno.PATH_ESCAPES, "../1.jpg"),
        (b"a/../../1.jpg x", anno.PATH_ESCAPES, "a/../../1.jpg"),
        (b"./ x", anno.BAD_PATH, "./"),
        (b"a/1.jpg ab\x07c", anno.CONTROL_CHAR, "a/1.jpg"),
        (b"a/\xff\xfe.jpg x", anno.NOT_UTF8, "a/\\xff\\xfe.jpg x"),
    ],
)
def test_list_skips(raw, reason, path):
    item = LIST.parse(3, raw)
    assert isinstance(item, anno.Skip)
    assert (item.line, item.reason, item.path) == (3, reason, path)


def test_not_utf8_detail_points_at_the_byte():
    assert LIST.parse(1, b"a.jpg caf\xe9").detail == "byte 9: unexpected end of data"


def test_lowercase():
    assert anno.LineParser("list", lowercase=True).parse(1, b"a.jpg HeLLo").label == "hello"


@pytest.mark.parametrize(
    "raw, label",
    [
        (b"./2911/6/77_heretical_35885.jpg 35885", "heretical"),
        (b"./1/1/176_Nevadans_51437.jpg 51437", "Nevadans"),
        (b"./1/1/5_snake_case_9.jpg 9", "snake_case"),
        (b"./1/1/5_x_9.jpg", "x"),  # the lexicon index is not needed without --lexicon_file
    ],
)
def test_synth90k_from_file_name(raw, label):
    item = anno.LineParser("synth90k").parse(1, raw)
    assert isinstance(item, anno.Entry) and item.label == label


@pytest.mark.parametrize(
    "raw", [b"./1/1/hello.jpg 3", b"./1/1/a_hello_b.jpg 3", b"./1/1/3_7.jpg 3"]
)
def test_synth90k_bad_name(raw):
    assert anno.LineParser("synth90k").parse(1, raw).reason == anno.BAD_SYNTH90K_NAME


@pytest.mark.parametrize(
    "raw, expected",
    [
        (b"./1/1/3_Hello_2.jpg 2", "gamma"),
        (b"./1/1/3_Hello_0.jpg 0", "alpha"),
        (b"./1/1/3_Hello_2.jpg 3", anno.BAD_LEXICON_INDEX),
        (b"./1/1/3_Hello_2.jpg x", anno.BAD_LEXICON_INDEX),
        (b"./1/1/3_Hello_2.jpg", anno.BAD_LEXICON_INDEX),
    ],
)
def test_synth90k_lexicon(raw, expected):
    item = anno.LineParser("synth90k", lexicon=["alpha", "beta", "gamma"]).parse(1, raw)
    got = item.label if isinstance(item, anno.Entry) else item.reason
    assert got == expected


def test_read_raw_lines_bom_crlf_and_last_line(tmp_path):
    path = tmp_path / "a.txt"
    path.write_bytes(b"\xef\xbb\xbfa.jpg x\r\n\r\nb.jpg y\nc.jpg z")
    assert list(anno.read_raw_lines(str(path))) == [
        (1, b"a.jpg x"),
        (2, b""),
        (3, b"b.jpg y"),
        (4, b"c.jpg z"),
    ]


@pytest.mark.parametrize(
    "label, charset, steps, reason",
    [
        ("hello", Charset.from_spec("alnum_lower"), 25, None),
        ("Hello", Charset.from_spec("alnum_lower"), 25, anno.OUT_OF_CHARSET),
        ("hello", None, 6, None),  # 5 + one repeat
        ("hello", None, 5, anno.LABEL_TOO_LONG),
        ("a" * 13, None, 25, None),  # 13 + 12 repeats = 25
        ("a" * 14, None, 25, anno.LABEL_TOO_LONG),
    ],
)
def test_check_label_fits(label, charset, steps, reason):
    assert anno.check_label_fits(label, charset, steps)[0] == reason


def test_out_of_charset_detail_names_code_points():
    _, detail = anno.check_label_fits("Ab!", Charset.from_spec("alnum_lower"), 25)
    assert detail == "not in charset: 'A' (U+0041), '!' (U+0021)"


def test_filename_entries(tmp_path):
    for name in ["1234.jpg", "A18sk6897.png", "sub/7777_2.jpg", "notes.txt", "_1.jpg"]:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    got = [
        (i.line, i.path, getattr(i, "label", None) or i.reason)
        for i in anno.iter_filename_entries(str(tmp_path))
    ]
    assert got == [
        (1, "1234.jpg", "1234"),
        (2, "A18sk6897.png", "A18sk6897"),
        (3, "_1.jpg", anno.EMPTY_LABEL),
        (4, "notes.txt", anno.UNSUPPORTED_EXTENSION),
        (5, "sub/7777_2.jpg", "7777"),
    ]


def test_filename_pattern_group(tmp_path):
    (tmp_path / "plate-12가3456-x.jpg").write_bytes(b"x")
    (entry,) = anno.iter_filename_entries(str(tmp_path), r"plate-([^-]+)")
    assert entry.label == "12가3456"
