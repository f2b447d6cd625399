"""The generator's text-line style (--style line): line texts from words, numbers, prices,
dates and codes with single spaces, lengths drawn from the table of real line crops, the
style's defaults, and a set whose labels keep their spaces through create_tfrecord."""

import dataclasses
import os
import string

import numpy as np
import pytest

from crnn_ctc.data import convert
from crnn_ctc.data.charset import Charset
from crnn_ctc.data.dataset_info import read_info
from crnn_ctc.synth import generate as synth_generate
from crnn_ctc.synth import text

PRINTABLE = "".join(Charset.from_spec("printable").symbols)


def sampler(**kwargs):
    cfg = text.TextConfig(charset=kwargs.pop("charset", PRINTABLE),
                          **{"max_length": 64, **kwargs})
    return text.LineSampler(cfg, text.load_words())


def test_lines_keep_to_the_charset_with_single_spaces_and_their_length():
    s = sampler()
    lines = [s.sample(np.random.default_rng((3, i))) for i in range(600)]
    assert all(lines) and all(set(t) <= set(PRINTABLE) for t in lines)
    assert all(t == t.strip() and "  " not in t for t in lines)
    assert max(len(t) for t in lines) <= 64
    spaced = [t for t in lines if " " in t]
    assert 0.4 < len(spaced) / len(lines) < 0.95  # real lines: 1 to 10+ words
    assert any(c.isdigit() for t in lines for c in t)
    assert any(c in string.punctuation for t in lines for c in t)
    assert any(t.isupper() for t in spaced) and any(c.islower() for t in spaced for c in t)
    # lengths follow LINE_LENGTHS (median 11 on the real train lines)
    assert 7 <= np.median([len(t) for t in lines]) <= 13
    assert np.percentile([len(t) for t in lines], 90) >= 22


def test_a_length_table_and_max_length_bound_the_lines():
    s = sampler(max_length=30, length_weights=((30, 1.0),))
    lengths = [len(s.sample(np.random.default_rng((4, i)))) for i in range(200)]
    assert max(lengths) <= 30 and np.median(lengths) >= 26
    s = sampler(max_length=12)
    assert max(len(s.sample(np.random.default_rng((5, i)))) for i in range(300)) <= 12


def test_the_same_rng_state_gives_the_same_line():
    s = sampler()
    assert [s.sample(np.random.default_rng((7, i))) for i in range(50)] \
        == [s.sample(np.random.default_rng((7, i))) for i in range(50)]


def test_a_charset_without_a_space_is_refused_by_name():
    with pytest.raises(ValueError, match="charset with a space"):
        sampler(charset=string.ascii_letters + string.digits)


def test_a_charset_without_punctuation_or_capitals_is_kept():
    lower = string.ascii_lowercase + string.digits + " "
    s = sampler(charset=lower)
    lines = [s.sample(np.random.default_rng((8, i))) for i in range(200)]
    assert all(set(t) <= set(lower) for t in lines) and any(" " in t for t in lines)


def test_the_line_style_has_its_own_defaults_and_words_keep_theirs(tmp_path):
    line = synth_generate.GenerateConfig(output_dir=str(tmp_path), count=1, style="line")
    assert (line.charset, line.max_length) == ("printable", 64)
    assert dict(line.length_weights) == {n: float(w) for n, w in text.LINE_LENGTHS.items()}
    assert line.case_weights == synth_generate.LINE_CASES
    word = synth_generate.GenerateConfig(output_dir=str(tmp_path), count=1)
    assert (word.charset, word.max_length) == ("alnum", 16)
    assert dict(word.length_weights) == {n: float(w) for n, w in text.SCENE_LENGTHS.items()}
    assert word.case_weights == synth_generate.WORD_CASES
    explicit = synth_generate.GenerateConfig(output_dir=str(tmp_path), count=1, style="line",
                                             max_length=20, length_weights=())
    assert (explicit.max_length, explicit.length_weights) == (20, ())


def test_a_line_set_converts_with_its_spaces_kept(tmp_path):
    out = tmp_path / "lines"
    summary = synth_generate.generate(synth_generate.GenerateConfig(
        output_dir=str(out), count=30, style="line", num_workers=1, progress=False))
    assert summary["images"] == 30 and not summary["skipped"]
    with open(out / "image_list.txt", encoding="utf-8") as f:
        labels = [line.rstrip("\n").split(" ", 1)[1] for line in f]
    assert any(" " in label for label in labels)
    data = tmp_path / "records"
    convert.convert(convert.ConvertConfig(
        anno_file=str(out / "image_list.txt"), image_dir=str(out), data_dir=str(data),
        charset="printable", resize="keep_aspect", image_height=32, image_width=1024,
        validation_split_fraction=0.0))
    info = read_info(str(data))
    assert info.rule.keeps_aspect and info.records["train"] == 30
    assert " " in info.charset.symbols
    assert os.path.exists(data / "charset.txt")


def test_word_tokens_bring_punctuation_numbers_and_prices_inside_the_charset():
    """--token_share: a share of the word texts are punctuated words, prices, dates or codes,
    never with a space and never past max_length; a charset without punctuation gets none."""
    words = text.load_words()
    cfg = text.TextConfig(charset=PRINTABLE, token_share=0.3,
                          length_weights=text.parse_length_weights("scene"))
    s = text.TextSampler(cfg, words)
    texts = [s.sample(np.random.default_rng((5, i))) for i in range(800)]
    assert all(t and " " not in t and len(t) <= 16 and set(t) <= set(PRINTABLE) for t in texts)
    punct = [t for t in texts if set(t) & set(string.punctuation)]
    assert 0.15 < len(punct) / len(texts) < 0.45
    assert any(t.endswith("'s") for t in texts) and any("." in t and t[-1].isdigit()
                                                        for t in texts)
    plain = text.TextSampler(dataclasses.replace(cfg, token_share=0.0, random_share=0.0), words)
    assert not any(set(plain.sample(np.random.default_rng((5, i)))) & set(string.punctuation)
                   for i in range(300))
    alnum = text.TextSampler(dataclasses.replace(cfg, charset=string.ascii_letters + string.digits),
                             words)
    assert all(alnum.sample(np.random.default_rng((6, i))).isalnum() for i in range(300))
    with pytest.raises(ValueError, match="token_share"):
        text.TextConfig(charset=PRINTABLE, token_share=1.5)
