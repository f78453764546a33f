// `# layout P = ...` lines: a trace's claim about a process's VMAs, checked by replay.

#include <gtest/gtest.h>

#include "ops/layout_claim.hpp"
#include "ops/trace.hpp"
#include "tools/replay.hpp"

namespace {

TEST(LayoutClaim, ExtentsInOrder_AreTheClaim) {
  auto claim = ops::parse_layout_claim("# layout 2 = [0x100,0x108) [0x108,0x10c)", 7);
  ASSERT_TRUE(claim);
  EXPECT_EQ(claim->pid, 2u);
  EXPECT_EQ(claim->extents, (std::vector<std::pair<ops::Vpn, ops::Vpn>>{{0x100, 0x108}, {0x108, 0x10c}}));
  EXPECT_EQ(ops::layout_text(*claim), "[0x100,0x108) [0x108,0x10c)");
}

TEST(LayoutClaim, None_ClaimsNoVma) {
  auto claim = ops::parse_layout_claim("# layout 1 = none", 1);
  ASSERT_TRUE(claim);
  EXPECT_TRUE(claim->extents.empty());
  EXPECT_EQ(ops::layout_text(*claim), "none");
}

TEST(LayoutClaim, OtherComments_AreNotClaims) {
  EXPECT_FALSE(ops::parse_layout_claim("# the layout is ours", 1));
  EXPECT_FALSE(ops::parse_layout_claim("# layouts differ here", 1));
  EXPECT_FALSE(ops::parse_layout_claim("# = ok", 1));
}

TEST(LayoutClaim, MalformedClaims_AreParseErrorsNamingTheLine) {
  for (const char* bad : {"# layout 1 [0x1,0x2)", "# layout 1 = [0x2,0x1)", "# layout 1 = [0x1,0x4) [0x2,0x6)",
                          "# layout 1 = [0x1,0x2", "# layout x = none", "# layout 1 = none [0x1,0x2)"}) {
    try {
      ops::parse_layout_claim(bad, 9);
      ADD_FAILURE() << bad << " parsed";
    } catch (const ops::ParseError& e) {
      EXPECT_EQ(e.line, 9) << bad;
      EXPECT_NE(std::string(e.what()).find("layout claim"), std::string::npos) << e.what();
    }
  }
}

TEST(LayoutClaim, ReplayChecksEachClaimWhereItStands) {
  const auto result = tools::replay_text(
      "mmap 1 0x100 4 anon private rw\n"
      "# layout 1 = [0x100,0x104)\n"
      "mprotect 1 0x102 1 r\n"
      "# layout 1 = [0x100,0x104)\n"  // wrong: it split in three
      "# layout 2 = none\n");
  ASSERT_EQ(result.layouts.size(), 3u);
  EXPECT_TRUE(result.layouts[0].holds());
  EXPECT_FALSE(result.layouts[1].holds());
  EXPECT_EQ(result.layouts[1].actual, "[0x100,0x102) [0x102,0x103) [0x103,0x104)");
  EXPECT_TRUE(result.layouts[2].holds());
  EXPECT_EQ(result.layout_mismatches(), 1u);
  EXPECT_FALSE(result.ok());
}

}  // namespace
