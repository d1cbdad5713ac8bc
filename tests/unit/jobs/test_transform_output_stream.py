"""The stream an object's answers are written to the store through."""

from __future__ import annotations

import io

from modelyard.jobs.transform_objects import IteratorReader


def test_each_answer_is_handed_on_as_it_is() -> None:
    answers = [b"1\n2\n" * 1000, b"3\n"]
    reader = IteratorReader(iter(answers))
    assert reader.read(1 << 20) is answers[0]  # not copied into a fresh buffer
    assert reader.read(1 << 20) is answers[1]
    assert reader.read(1 << 20) == b""


def test_reads_smaller_than_an_answer_take_it_in_parts() -> None:
    reader = IteratorReader(iter([b"abc", b"", b"defgh", b"i"]))
    assert [reader.read(2), reader.read(2), reader.read(4), reader.read()] == [
        b"ab",
        b"c",
        b"defg",
        b"hi",
    ]
    assert reader.read() == b""


def test_readinto_and_buffered_reads_see_the_same_bytes() -> None:
    reader = IteratorReader(iter([b"abc", b"", b"defgh", b"i"]))
    buffer = bytearray(4)
    assert (reader.readinto(buffer), bytes(buffer[:3])) == (3, b"abc")
    assert io.BufferedReader(reader).read() == b"defghi"
