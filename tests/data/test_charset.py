import pytest

from crnn_ctc.data.charset import PRESETS, Charset, normalize_label


@pytest.mark.parametrize(
    "name, size, first, last",
    [("alnum_lower", 36, "0", "z"), ("alnum", 62, "0", "Z"), ("printable", 95, "0", " ")],
)
def test_presets(name, size, first, last):
    cs = Charset.from_spec(name)
    assert (len(cs), cs.symbols[0], cs.symbols[-1]) == (size, first, last)
    assert cs.blank_id == size and cs.num_classes == size + 1
    assert len(set(PRESETS[name])) == size


@pytest.mark.parametrize(
    "text, ids",
    [("hello", [17, 14, 21, 21, 24]), ("", []), ("09az", [0, 9, 10, 35])],
)
def test_encode_decode_alnum_lower(text, ids):
    cs = Charset.from_spec("alnum_lower")
    assert cs.encode(text) == ids
    assert cs.decode(ids) == text


def test_decode_drops_blank_and_out_of_range():
    cs = Charset("ab")
    assert cs.decode([0, 2, 1, -1, 7, 0]) == "aba"


def test_encode_unknown_names_the_symbols():
    with pytest.raises(ValueError, match=r"\['É', '!'\]"):
        Charset.from_spec("alnum").encode("aÉ!É")


def test_from_labels_is_sorted_and_distinct():
    cs = Charset.from_labels(["서울12가", "ab a", "b1"])
    assert cs.symbols == (" ", "1", "2", "a", "b", "가", "서", "울")


def test_file_round_trip_with_space_and_hangul(tmp_path):
    cs = Charset(["a", " ", "가", "É", "\u00a0"])
    path = tmp_path / "charset.txt"
    cs.save(str(path))
    assert path.read_bytes() == "a\n \n가\nÉ\n\u00a0\n".encode()
    assert Charset.from_file(str(path)) == cs


def test_from_file_accepts_bom_and_crlf(tmp_path):
    path = tmp_path / "c.txt"
    path.write_bytes(b"\xef\xbb\xbfx\r\ny\r\n")
    assert Charset.from_file(str(path)).symbols == ("x", "y")


@pytest.mark.parametrize(
    "content, message",
    [
        ("a\nbc\n", r"line 2: expected exactly one symbol per line, got 'bc'"),
        ("a\n\nb\n", r"line 2: expected exactly one symbol per line, got ''"),
        ("a\nb\na\n", r"'a' appears twice \(ids 0 and 2\)"),
    ],
)
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "c.txt"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message):
        Charset.from_file(str(path))


def test_unknown_spec_lists_presets():
    with pytest.raises(ValueError, match="alnum, alnum_lower, printable"):
        Charset.from_spec("no_such_charset")


def test_control_symbol_rejected():
    with pytest.raises(ValueError, match=r"U\+0009"):
        Charset(["a", "\t"])


@pytest.mark.parametrize(
    "raw, lowercase, expected",
    [
        ("Hello", True, "hello"),
        ("Hello", False, "Hello"),
        ("\u1100\u1161", False, "\uac00"),  # Hangul jamo (NFD, macOS file names) -> syllable
        ("e\u0301", False, "\u00e9"),
    ],
)
def test_normalize_label(raw, lowercase, expected):
    assert normalize_label(raw, lowercase) == expected
