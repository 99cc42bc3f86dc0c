import codecs

import pytest

from transforms.core.decode import BinaryContentError
from transforms.core.decode import UndecodableError
from transforms.core.decode import decode_bytes
from transforms.core.decode import find_declared_charset


def test_utf8_is_read_as_utf8():
  assert decode_bytes('Zelenskiy’s “war”'.encode('utf-8')) == (
      'Zelenskiy’s “war”', 'utf-8')


def test_bom_wins_over_everything():
  data = codecs.BOM_UTF16_LE + 'Kyiv'.encode('utf-16-le')
  assert decode_bytes(data, declared_charset='latin-1') == ('Kyiv', 'utf-16-le')
  assert decode_bytes(codecs.BOM_UTF8 + b'abc') == ('abc', 'utf-8')


def test_declared_charset_is_used_before_utf8():
  data = 'Größe'.encode('cp1252')
  assert decode_bytes(data, declared_charset='windows-1252') == ('Größe', 'cp1252')


def test_legacy_latin_text_is_guessed_as_windows_1252():
  data = 'café au lait est très bon pour la santé'.encode('latin-1')
  text, encoding = decode_bytes(data)
  assert text == 'café au lait est très bon pour la santé'
  assert encoding == 'cp1252'


def test_binary_content_is_refused():
  with pytest.raises(BinaryContentError):
    decode_bytes(b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR')


def test_random_bytes_are_undecodable():
  data = bytes(range(128, 256)) * 4 + bytes(range(1, 32)) * 8
  with pytest.raises((UndecodableError, BinaryContentError)):
    decode_bytes(data)


def test_declared_charset_found_in_xml_and_html():
  assert find_declared_charset(b'<?xml version="1.0" encoding="ISO-8859-1"?>') == 'iso-8859-1'
  assert find_declared_charset(b'<html><head><meta charset="utf-8">') == 'utf-8'
  assert find_declared_charset(
      b'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r">') == 'koi8-r'
  assert find_declared_charset(b'plain text') is None
