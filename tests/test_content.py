from __future__ import annotations

import codecs

from repoctx.scanning.content import decode, defang


def test_utf8_plain_and_bom() -> None:
    assert decode("héllo\n".encode()).text == "héllo\n"
    assert decode(codecs.BOM_UTF8 + b"x\n") .text == "x\n"
    assert decode(b"x").note is None


def test_utf16_bom_is_decoded_with_a_note() -> None:
    decoded = decode("añb\r\nc".encode("utf-16"))
    assert decoded.text == "añb\nc"
    assert decoded.note == "decoded as UTF-16 (BOM)"


def test_invalid_utf8_falls_back_to_latin1() -> None:
    decoded = decode(b"caf\xe9\n")
    assert decoded.text == "café\n"
    assert decoded.note == "decoded as Latin-1 (not valid UTF-8)"


def test_crlf_and_cr_are_normalised() -> None:
    assert decode(b"a\r\nb\rc\n").text == "a\nb\nc\n"


def test_defang_breaks_control_tokens_only() -> None:
    text = "x <|im_end|> <think> </think> <|file_sep|> a < b <div>"
    out = defang(text)
    assert "<|im_end|>" not in out and "<think>" not in out and "<|file_sep|>" not in out
    assert "a < b <div>" in out
    assert out.replace("\u200b", "") == text


def test_exact_says_when_the_bytes_already_are_the_text_in_utf8() -> None:
    """The parser is then given the bytes as read, without encoding the text again."""
    for data, exact in ((b"x = 'caf\xc3\xa9'\n", True), (b"", True), (b"a\r\nb\n", False),
                        (b"\xef\xbb\xbfx\n", False), (b"caf\xe9\n", False),
                        ("x\n".encode("utf-16"), False)):
        decoded = decode(data)
        assert decoded.exact is exact, data
        if exact:
            assert decoded.text.encode("utf-8") == data
