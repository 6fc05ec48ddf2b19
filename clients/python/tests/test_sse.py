"""The event-stream parser, fed the way a socket delivers: in pieces split anywhere."""

import unittest

from steward_client.sse import SseParser, read_sse


def feed(pieces):
    parser = SseParser()
    out = []
    for p in pieces:
        out += parser.push(p)
    return out + parser.end()


class SseParserTest(unittest.TestCase):
    def test_fields_ids_carry_over_and_comments_are_ignored(self):
        msgs = feed([": ping\n\nretry: 2000\nid: a-1\nevent: node.status\ndata: {\"x\":1}\n\ndata: two\n\n"])
        self.assertEqual([(m.id, m.event, m.data, m.retry) for m in msgs], [("a-1", "node.status", '{"x":1}', 2000), ("a-1", "message", "two", None)])

    def test_a_crlf_split_between_pieces_ends_one_line_only(self):
        msgs = feed(["id: 7\r", "\ndata: a\r", "\n\r", "\n"])
        self.assertEqual([(m.id, m.data) for m in msgs], [("7", "a")])

    def test_multi_line_data_bom_and_field_without_space(self):
        msgs = feed(["\ufeffdata:one\ndata: two\n", "\n"])
        self.assertEqual([m.data for m in msgs], ["one\ntwo"])

    def test_an_unterminated_event_at_the_end_is_dropped(self):
        self.assertEqual(feed(["data: done\n\ndata: half"]), [feed(["data: done\n\n"])[0]])

    def test_utf8_split_across_reads_stays_whole(self):
        raw = "data: \u00e9t\u00e9 \u2713\n\n".encode("utf-8")
        chunks = [raw[i : i + 1] for i in range(len(raw))] + [b""]
        self.assertEqual([m.data for m in read_sse(iter(chunks).__next__)], ["\u00e9t\u00e9 \u2713"])


if __name__ == "__main__":
    unittest.main()
