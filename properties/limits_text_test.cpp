// The "# limits:" comment line and the sanity check of a Limits.

#include "ops/limits_text.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <stdexcept>
#include <string>

#include "ops/trace.hpp"
#include "properties/op_gen.hpp"

namespace {

using namespace ops;

Limits read_limits(std::string_view text, Limits base = {}) {
  return limits_from_trace(parse_trace(text), base);
}

ParseError limits_error(std::string_view text) {
  try {
    read_limits(text);
  } catch (const ParseError& e) {
    return e;
  }
  ADD_FAILURE() << "no ParseError for: " << text;
  return ParseError(0, 0, "");
}

std::string invalid_reason(const Limits& l) {
  try {
    validate_limits(l);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(LimitsText, DefaultLimitsNeedNoComment) {
  EXPECT_EQ(limits_comment(Limits{}), "");
  EXPECT_EQ(read_limits("fork 1\n"), Limits{});
}

TEST(LimitsText, CommentListsOnlyChangedFieldsInStructOrder) {
  Limits l;
  l.thp_always = true;
  l.frames = 64;
  l.hpage_order = 9;
  EXPECT_EQ(limits_comment(l), "# limits: hpage_order=9 frames=64 thp_always=1");
  l.address_space = 0x40000;
  EXPECT_EQ(limits_comment(l),
            "# limits: hpage_order=9 address_space=0x40000 frames=64 thp_always=1");
}

TEST(LimitsText, CommentReadsBackFromATrace) {
  Limits l;
  l.hpage_order = 9;
  l.address_space = 0x40000;
  l.max_ops = 17;
  std::string text = "# a test\n" + limits_comment(l) + "\nfork 1\n";
  EXPECT_EQ(read_limits(text), l);
}

TEST(LimitsText, OnlyTheFirstLimitsLineAppliesAndBaseFillsTheRest) {
  Limits base;
  base.files = 2;
  Limits got = read_limits("  #limits: frames=8\n# limits: frames=9\n", base);
  EXPECT_EQ(got.frames, 8u);
  EXPECT_EQ(got.files, 2u);
}

TEST(LimitsText, LimitsCommentAfterAnOpIsJustAComment) {
  EXPECT_EQ(read_limits("ksm # limits: frames=8\n"), Limits{});
}

TEST(LimitsText, UnknownKeyIsReportedAtItsColumnWithTheKnownKeys) {
  ParseError e = limits_error("fork 1\n# limits: frames=8 franes=9\n");
  EXPECT_EQ(e.line, 2);
  EXPECT_EQ(e.column, 20);
  EXPECT_NE(std::string(e.what()).find("found 'franes=9'"), std::string::npos) << e.what();
  EXPECT_NE(std::string(e.what()).find("hpage_order max_processes"), std::string::npos);
}

TEST(LimitsText, BadValuesAreReportedAtTheValue) {
  ParseError word = limits_error("# limits: frames=lots");
  EXPECT_EQ(word.column, 18);
  EXPECT_NE(std::string(word.what()).find("for frames, found 'lots'"), std::string::npos);
  ParseError flag = limits_error("# limits: thp_always=2");
  EXPECT_NE(std::string(flag.what()).find("from 0 to 1 for thp_always"), std::string::npos);
  ParseError wide = limits_error("# limits: max_processes=4294967296");
  EXPECT_NE(std::string(wide.what()).find("from 0 to 4294967295"), std::string::npos);
  EXPECT_NE(std::string(limits_error("# limits: frames").what()).find("expected key=value"),
            std::string::npos);
  EXPECT_NE(std::string(limits_error("# limits: files=1 files=2").what()).find("given twice"),
            std::string::npos);
}

RC_GTEST_PROP(LimitsTextProperty, AnyValidLimitsSurviveTheComment, ()) {
  Limits l = *gen::limits();
  validate_limits(l);
  std::string comment = limits_comment(l);
  RC_ASSERT(limits_from_trace(parse_trace(comment + "\nksm\n"), Limits{}) == l);
}

TEST(ValidateLimits, DefaultsAreValid) { EXPECT_NO_THROW(validate_limits(Limits{})); }

TEST(ValidateLimits, NonsenseIsRefusedNamingTheField) {
  struct Case {
    void (*spoil)(Limits&);
    std::string_view says;
  };
  const Case cases[] = {
      {[](Limits& l) { l.hpage_order = 0; }, "hpage_order is 0, must be in [1, 12]"},
      {[](Limits& l) { l.hpage_order = 13; }, "hpage_order is 13"},
      {[](Limits& l) { l.max_processes = 0; }, "max_processes is 0"},
      {[](Limits& l) { l.max_processes = 65; }, "max_processes is 65"},
      {[](Limits& l) { l.address_space = 0x1004; }, "multiple of the huge page size 8"},
      {[](Limits& l) { l.address_space = (uint64_t{1} << 32) + 8; }, "address_space"},
      {[](Limits& l) { l.address_space = 4; }, "address_space is 4"},
      {[](Limits& l) { l.max_pages = 0x1001; }, "max_pages is 4097, must be in [1, 4096]"},
      {[](Limits& l) { l.frames = 0; }, "frames is 0"},
      {[](Limits& l) { l.files = 65; }, "files is 65"},
      {[](Limits& l) { l.files = 0; }, "files is 0"},
      {[](Limits& l) { l.initial_file_pages = 65; }, "initial_file_pages is 65"},
      {[](Limits& l) { l.max_pins = 65536; }, "max_pins"},
      {[](Limits& l) { l.max_ops = (1 << 20) + 1; }, "max_ops"},
  };
  for (const Case& c : cases) {
    Limits l;
    c.spoil(l);
    std::string why = invalid_reason(l);
    EXPECT_NE(why.find(c.says), std::string::npos) << "got: " << why << "\nwanted: " << c.says;
  }
}

}  // namespace
