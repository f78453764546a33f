// The text trace format: exact round trip of hand-written traces, canonical printing,
// expectations, and parse errors that say where and what.

#include "ops/trace.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <set>
#include <string>

#include "ops/fact.hpp"
#include "ops/observation.hpp"
#include "properties/op_gen.hpp"

namespace {

using namespace ops;

// Every op kind, each written canonically, so printing the parse gives the text back.
constexpr std::string_view every_op_kind =
    "mmap 1 0x100 16 anon private rw populate locked\n"
    "mmap 1 0x200 4 file:2@3 shared r\n"
    "mmap 1 0x300 1 anon shared -\n"
    "mmap 1 0x400 8 file:0@0 private rwx locked\n"
    "munmap 1 0x100 1\n"
    "mprotect 1 0x101 2 r\n"
    "mremap 1 0x200 4 8 to 0x800 dontunmap\n"
    "mremap 1 0x200 4 2\n"
    "mremap 1 0x300 1 1 dontunmap\n"
    "mlock 1 0x100 4\n"
    "munlock 1 0x100 4\n"
    "madvise 1 0x100 8 hugepage\n"
    "read 1 0x101\n"
    "write 1 0x101 18446744073709551615\n"
    "pin 1 0x101 rw\n"
    "pin 1 0x102 ro\n"
    "readpin 1\n"
    "writepin 1 5\n"
    "unpin 1\n"
    "fwrite 3 10 42\n"
    "ftruncate 3 0\n"
    "reclaim 64\n"
    "migrate 1 0x101\n"
    "ksm\n"
    "split 1 0x0\n"
    "fork 1\n"
    "exit 2\n";

// Parses, checks the text comes back byte for byte, and hands the trace over.
Trace round_trip(std::string_view text) {
  Trace t = parse_trace(text);
  EXPECT_EQ(print_trace(t), text);
  return t;
}

// The ParseError that parsing `text` throws; fails the test if there is none.
ParseError parse_error(std::string_view text) {
  try {
    parse_trace(text);
  } catch (const ParseError& e) {
    return e;
  }
  ADD_FAILURE() << "no ParseError for: " << text;
  return ParseError(0, 0, "");
}

TEST(TraceRoundTrip, EveryOpKindPrintsBackExactly) {
  Trace t = round_trip(every_op_kind);
  std::set<size_t> kinds;
  for (const Op& op : t.ops()) kinds.insert(op.index());
  EXPECT_EQ(kinds.size(), op_kind_count);
}

TEST(TraceRoundTrip, MmapFieldsAreReadIntoTheStruct) {
  Mmap m = std::get<Mmap>(parse_op("mmap 2 0x200 4 file:3@7 shared rx locked"));
  EXPECT_EQ(m.pid, 2u);
  EXPECT_EQ(m.vpn, 0x200u);
  EXPECT_EQ(m.pages, 4u);
  EXPECT_EQ(m.backing, Backing::file);
  EXPECT_EQ(m.file, 3u);
  EXPECT_EQ(m.pgoff, 7u);
  EXPECT_TRUE(m.shared);
  EXPECT_EQ(m.prot, prot_read | prot_exec);
  EXPECT_FALSE(m.populate);
  EXPECT_TRUE(m.locked);
}

TEST(TraceRoundTrip, MremapTargetAndDontunmapAreRead) {
  Mremap m = std::get<Mremap>(parse_op("mremap 1 0x10 2 3 dontunmap to 0x40"));
  EXPECT_EQ(m.to, Vpn{0x40});
  EXPECT_TRUE(m.dontunmap);
  EXPECT_EQ(m.old_pages, 2u);
  EXPECT_EQ(m.new_pages, 3u);
}

TEST(TraceRoundTrip, StyleGuideExampleSurvivesWithItsComments) {
  Trace t = round_trip(
      "# fork after a partial munmap: the child's COW page must stay private\n"
      "mmap 1 0x100 4 anon private rw\n"
      "write 1 0x101 7\n"
      "fork 1                      # -> 2\n"
      "munmap 1 0x100 1\n"
      "write 2 0x101 9\n"
      "read 1 0x101                # = 7\n");
  ASSERT_EQ(t.lines.size(), 7u);
  EXPECT_FALSE(t.lines[0].op);
  EXPECT_EQ(t.lines[3].gap, std::string(22, ' '));
  EXPECT_EQ(t.lines[3].comment, "# -> 2");
  EXPECT_FALSE(t.lines[3].expect);
  EXPECT_EQ(t.lines[6].expect, Result::of(7));
}

TEST(TraceRoundTrip, ExpectationsOfEveryResultKindAreParsed) {
  Trace t = round_trip(
      "fork 1 # = 2\n"
      "read 1 0x0  #= 0x10 hex is fine\n"
      "read 1 0x1\t#=segv\n"
      "read 1 0x2 #   =   sigbus after truncate\n"
      "munmap 1 0x0 0 # = EINVAL\n"
      "munmap 1 0x0 1 # = ok\n"
      "# = ENOMEM on a comment-only line\n");
  EXPECT_EQ(t.lines[0].expect, Result::of(2));
  EXPECT_EQ(t.lines[1].expect, Result::of(16));
  EXPECT_EQ(t.lines[2].expect, Result::segv());
  EXPECT_EQ(t.lines[3].expect, Result::sigbus());
  EXPECT_EQ(t.lines[4].expect, Result::fail(Errno::einval));
  EXPECT_EQ(t.lines[5].expect, Result::ok());
  EXPECT_EQ(t.lines[6].expect, Result::fail(Errno::enomem));
}

TEST(TraceRoundTrip, CommentsThatAreNotExpectationsSetNothing) {
  Trace t = round_trip("read 1 0x0 # -> 7\nread 1 0x0 # 7 = 7\n");
  EXPECT_FALSE(t.lines[0].expect);
  EXPECT_FALSE(t.lines[1].expect);
}

TEST(TraceRoundTrip, BlankLinesIndentationAndTabsSurvive) {
  Trace t = round_trip("\n  read 1 0x0\n\t\twrite 1 0x0 3\t \n   \n\t# indented comment\n\n");
  ASSERT_EQ(t.lines.size(), 6u);
  EXPECT_EQ(t.lines[1].indent, "  ");
  EXPECT_EQ(t.lines[2].indent, "\t\t");
  EXPECT_EQ(t.lines[2].gap, "\t ");
  EXPECT_FALSE(t.lines[3].op);
  EXPECT_EQ(t.lines[4].comment, "# indented comment");
  EXPECT_EQ(t.ops().size(), 2u);
}

TEST(TraceRoundTrip, TextWithoutFinalNewlineStaysWithout) {
  Trace t = round_trip("fork 1\nexit 2");
  EXPECT_FALSE(t.trailing_newline);
  round_trip("");
  round_trip("\n");
  round_trip("ksm # no newline");
}

TEST(TraceRoundTrip, CrlfLinesKeepTheirCarriageReturns) {
  Trace t = round_trip("mmap 1 0x0 1 anon private rw\r\nread 1 0x0 # = 0\r\n\r\nksm\r");
  EXPECT_EQ(t.lines[0].gap, "\r");
  EXPECT_EQ(t.lines[1].comment, "# = 0\r");
  EXPECT_EQ(t.lines[1].expect, Result::of(0));
  EXPECT_EQ(t.ops().size(), 3u);
}

TEST(TraceRoundTrip, NonCanonicalOpsAreAcceptedAndPrintedCanonically) {
  EXPECT_EQ(print_op(parse_op("  read   0x1\t256  ")), "read 1 0x100");
  EXPECT_EQ(print_op(parse_op("mmap 1 0X10 0x4 anon private wr locked populate")),
            "mmap 1 0x10 4 anon private rw populate locked");
  EXPECT_EQ(print_op(parse_op("mmap 1 16 4 file:0x2@0x10 shared xwr")),
            "mmap 1 0x10 4 file:2@16 shared rwx");
  EXPECT_EQ(print_op(parse_op("write 1 0 0xffffffffffffffff")), "write 1 0x0 18446744073709551615");
}

TEST(TraceRoundTrip, ExpectationSetByCodeIsPrintedAfterTheOp) {
  Trace t = Trace::from_ops({Read{1, 0x101}, Fork{1}});
  t.lines[0].expect = Result::of(7);
  t.lines[1].expect = Result::fail(Errno::eagain);
  EXPECT_EQ(print_trace(t), "read 1 0x101  # = 7\nfork 1  # = EAGAIN\n");
  EXPECT_EQ(parse_trace(print_trace(t)).lines[1].expect, Result::fail(Errno::eagain));
}

TEST(TraceErrors, BadVpnIsReportedAtItsToken) {
  ParseError e = parse_error("fork 1\n\nread 1 x1\n");
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.column, 8);
  EXPECT_STREQ(e.what(), "line 3, column 8: expected a vpn (number), found 'x1'");
}

TEST(TraceErrors, UnknownOpListsTheValidOnes) {
  ParseError e = parse_error("  frok 1\n");
  EXPECT_EQ(e.column, 3);
  EXPECT_NE(std::string(e.what()).find("found 'frok'"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("fork exit mmap munmap"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("ksm split"), std::string::npos) << e.what();
}

TEST(TraceErrors, MissingOperandIsReportedAtTheEndOfTheOp) {
  ParseError e = parse_error("write 1 0x100   # forgot the value\n");
  EXPECT_EQ(e.column, 14);
  EXPECT_STREQ(e.what(), "line 1, column 14: expected a value (number), found end of line");
}

TEST(TraceErrors, ExtraTokenIsReportedAsUnexpected) {
  ParseError e = parse_error("ksm\nksm now\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 5);
  EXPECT_STREQ(e.what(), "line 2, column 5: expected end of line, found 'now'");
}

TEST(TraceErrors, BadProtNamesTheAllowedForms) {
  ParseError e = parse_error("mprotect 1 0x0 1 rww");
  EXPECT_EQ(e.column, 18);
  EXPECT_NE(std::string(e.what()).find("expected a prot"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("found 'rww'"), std::string::npos) << e.what();
}

TEST(TraceErrors, BadBackingNamesTheFileForm) {
  for (std::string_view bad : {"file:x@1", "file:1", "file:1@", "fil:1@2", "file:1@2@3"}) {
    ParseError e = parse_error("mmap 1 0x0 1 " + std::string(bad) + " private rw");
    EXPECT_EQ(e.column, 14) << bad;
    EXPECT_NE(std::string(e.what()).find("expected a backing (anon or file:F@PGOFF)"),
              std::string::npos)
        << e.what();
  }
}

TEST(TraceErrors, BadAdviceListsTheAdvices) {
  ParseError e = parse_error("madvise 1 0x0 1 sleepy");
  EXPECT_NE(std::string(e.what()).find("dontfork dofork"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("found 'sleepy'"), std::string::npos) << e.what();
}

TEST(TraceErrors, SharingAndPinModeMustBeSpelledOut) {
  EXPECT_NE(std::string(parse_error("mmap 1 0x0 1 anon public rw").what())
                .find("expected private or shared, found 'public'"),
            std::string::npos);
  EXPECT_NE(std::string(parse_error("pin 1 0x0 rx").what()).find("expected ro or rw, found 'rx'"),
            std::string::npos);
}

TEST(TraceErrors, NumbersThatDoNotFitAreRefused) {
  ParseError big = parse_error("write 1 0x0 18446744073709551616");
  EXPECT_EQ(big.column, 13);
  EXPECT_NE(std::string(big.what()).find("does not fit in 64 bits"), std::string::npos);
  ParseError hex = parse_error("read 1 0x10000000000000000");
  EXPECT_NE(std::string(hex.what()).find("does not fit in 64 bits"), std::string::npos);
  ParseError pid = parse_error("fork 4294967296");
  EXPECT_NE(std::string(pid.what()).find("larger than 4294967295"), std::string::npos);
  EXPECT_NE(std::string(parse_error("read 1 -1").what()).find("expected a vpn"), std::string::npos);
  EXPECT_NE(std::string(parse_error("read 1 0x").what()).find("expected a vpn"), std::string::npos);
}

TEST(TraceErrors, OptionalKeywordsMayNotRepeat) {
  ParseError e = parse_error("mmap 1 0x0 1 anon private rw populate locked populate");
  EXPECT_EQ(e.column, 46);
  EXPECT_NE(std::string(e.what()).find("'populate' given twice"), std::string::npos);
  EXPECT_NE(std::string(parse_error("mremap 1 0x0 1 1 to 0x1 to 0x2").what()).find("given twice"),
            std::string::npos);
  EXPECT_NE(std::string(parse_error("mmap 1 0x0 1 anon private rw lock").what())
                .find("expected populate, locked, or end of line, found 'lock'"),
            std::string::npos);
}

TEST(TraceErrors, MremapToNeedsATarget) {
  ParseError e = parse_error("mremap 1 0x0 1 1 to");
  EXPECT_STREQ(e.what(), "line 1, column 20: expected a vpn (number), found end of line");
}

TEST(TraceErrors, UnreadableExpectationIsAnError) {
  ParseError e = parse_error("read 1 0x0 # = maybe\n");
  EXPECT_EQ(e.column, 16);
  EXPECT_NE(std::string(e.what()).find("expected a result"), std::string::npos);
  EXPECT_NE(std::string(e.what()).find("found 'maybe'"), std::string::npos);
  EXPECT_EQ(parse_error("# =").column, 4);
  EXPECT_NE(std::string(parse_error("# = enomem").what()).find("'enomem'"), std::string::npos);
}

TEST(TraceErrors, ParseOpReportsLineOne) {
  try {
    parse_op("read 1");
    FAIL() << "no error";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.line, 1);
    EXPECT_STREQ(e.what(), "line 1, column 7: expected a vpn (number), found end of line");
  }
  try {
    parse_op("write 1 0x0   ");
    FAIL() << "no error";
  } catch (const ParseError& e) {
    EXPECT_EQ(e.column, 12);  // just past the last token, not past the trailing spaces
  }
  EXPECT_THROW(parse_op(""), ParseError);
  EXPECT_THROW(parse_op("ksm # comment"), ParseError);
}

TEST(TraceErrors, GarbageBytesAreQuotedReadably) {
  std::string nul("read 1 \0\x01\xff", 10);
  EXPECT_NE(std::string(parse_error(nul).what()).find("found '\\x00\\x01\\xff'"),
            std::string::npos);
  std::string huge = "write 1 0x0 " + std::string(1 << 20, '9');
  std::string what = parse_error(huge).what();
  EXPECT_LT(what.size(), 200u);
  EXPECT_NE(what.find("...'"), std::string::npos);
  EXPECT_THROW(parse_trace("r\xc3\xa9"
                           "ad 1 0x0"),
               ParseError);
}

TEST(OpsVocabulary, ProtNamesAreCanonicalAndParseInAnyOrder) {
  EXPECT_EQ(prot_name(prot_none), "-");
  EXPECT_EQ(prot_name(prot_write | prot_read), "rw");
  EXPECT_EQ(prot_name(prot_exec | prot_read | prot_write), "rwx");
  EXPECT_EQ(parse_prot("xr"), prot_read | prot_exec);
  EXPECT_EQ(parse_prot("-"), prot_none);
  EXPECT_FALSE(parse_prot("rr"));
  EXPECT_FALSE(parse_prot(""));
  EXPECT_FALSE(parse_prot("r-"));
}

TEST(OpsVocabulary, ResultsPrintAndParseBack) {
  for (Result r : {Result::ok(), Result::of(0), Result::of(~uint64_t{0}), Result::segv(),
                   Result::sigbus(), Result::fail(Errno::eagain), Result::fail(Errno::ebadf)}) {
    EXPECT_EQ(parse_result(result_text(r)), r) << result_text(r);
  }
  EXPECT_EQ(parse_result("0x1f"), Result::of(31));
  EXPECT_FALSE(parse_result("Ok"));
  EXPECT_FALSE(parse_result("EWHATEVER"));
}

TEST(OpsVocabulary, EveryAdviceAndOpKindHasADistinctName) {
  std::set<std::string_view> names;
  for (unsigned i = 0; i < advice_count; ++i) {
    EXPECT_EQ(parse_advice(advice_name(Advice(i))), Advice(i));
    names.insert(advice_name(Advice(i)));
  }
  EXPECT_EQ(names.size(), advice_count);
  EXPECT_EQ(op_name(Op(Ftruncate{})), "ftruncate");
  EXPECT_EQ(op_kind_name(op_kind_count - 1), "split");
}

TEST(OpsVocabulary, FrameRefsReadAsPlaces) {
  EXPECT_EQ(frame_ref_text({FrameRef::Kind::mapped, 1, 0x101, 0, 0}), "page (1,0x101)");
  EXPECT_EQ(frame_ref_text({FrameRef::Kind::swapcache, 2, 0x10, 0, 0}), "swap cache of (2,0x10)");
  EXPECT_EQ(frame_ref_text({FrameRef::Kind::filecache, 0, 0, 0, 3}), "file 0 page 3");
  EXPECT_EQ(frame_ref_text({FrameRef::Kind::shmemcache, 0, 0, 1, 0}), "shmem 1 page 0");
}

TEST(OpsVocabulary, CanonicalizeSortsAndRenumbersFolios) {
  Observation a;
  a.pages = {{2, 0x10, {}, PteState::present}, {1, 0x11, {}, PteState::zero}};
  a.frames = {{{{2, 0x10}, {1, 0x10}}, FrameKind::anon, 5, 2, false, 7, false, 0},
              {{{1, 0x8}}, FrameKind::anon, 0, 1, false, 0, false, 0},
              {{{1, 0x9}}, FrameKind::anon, 0, 1, false, 7, false, 0},
              {{{1, 0x20}}, FrameKind::file, 0, 1, false, 3, false, 0}};
  a.swap = {{{{3, 0x1}, {1, 0x2}}}, {{{1, 0x1}}}};
  Observation b = a;
  std::swap(b.frames[0], b.frames[3]);
  b.frames[2].folio = b.frames[3].folio = 40;  // other labels, same sharing
  b.frames[0].folio = 41;
  canonicalize(a);
  canonicalize(b);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a.pages[0].pid, 1u);
  EXPECT_EQ(a.frames[0].folio, 0u);  // small folio stays 0
  EXPECT_EQ(a.frames[1].folio, 1u);
  EXPECT_EQ(a.frames[2].pages[0], PageKey(1, 0x10));
  EXPECT_EQ(a.frames[2].folio, 1u);
  EXPECT_EQ(a.frames[3].folio, 2u);
  EXPECT_EQ(a.swap[0].pages, (std::vector<PageKey>{{1, 0x1}}));
}

RC_GTEST_PROP(TraceProperty, PrintedOpsParseBackToTheSameOps, (const std::vector<Op>& ops)) {
  std::string text = print_trace(Trace::from_ops(ops));
  Trace t = parse_trace(text);
  RC_ASSERT(t.ops() == ops);
  RC_ASSERT(print_trace(t) == text);
}

// Bits of real traces and of garbage, glued together in any order.
rc::Gen<std::string> token_soup() {
  auto piece = rc::gen::weightedOneOf<std::string>(
      {{8, rc::gen::element<std::string>("mmap", "read", "write", "mremap", "pin", "1", "0x100",
                                         "4", "anon", "file:1@2", "private", "shared", "rw", "to",
                                         "dontunmap", "populate", "#", "=", " # = 7", "ENOMEM",
                                         "ok", "ro", "hugepage", "ksm", "18446744073709551616")},
       {6, rc::gen::element<std::string>(" ", " ", "\t", "\n", "\r\n", "  ")},
       {1, rc::gen::element(std::string(1, '\0'), std::string("\xff\xfe"), std::string("\r"))},
       {1, rc::gen::arbitrary<std::string>()}});
  return rc::gen::map(rc::gen::container<std::vector<std::string>>(piece),
                      [](const std::vector<std::string>& parts) {
                        std::string s;
                        for (const auto& p : parts) s += p;
                        return s;
                      });
}

RC_GTEST_PROP(TraceProperty, AnyTextParsesOrFailsWithAParseErrorAndReparsesStably, ()) {
  std::string text = *token_soup();
  Trace t;
  try {
    t = parse_trace(text);
  } catch (const ParseError& e) {
    RC_ASSERT(e.line >= 1);
    RC_ASSERT(e.column >= 1);
    RC_ASSERT(std::string(e.what()).starts_with("line "));
    RC_SUCCEED("rejected");
  }
  RC_ASSERT(parse_trace(print_trace(t)) == t);
}

}  // namespace
