// The world random campaigns and the fuzzers run in, and how it grows when a campaign
// asks for larger huge pages (`rmapcheck run --hpage-order N`).

#include <gtest/gtest.h>

#include "check/random_sequence.hpp"
#include "check/runner.hpp"
#include "ops/limits.hpp"
#include "ops/limits_text.hpp"

TEST(CampaignWorld, AtTheDefaultHugePageSize_IsTheFuzzersWorld) {
  EXPECT_EQ(ops::campaign_limits(ops::Limits{}.hpage_order), ops::campaign_limits());
}

TEST(CampaignWorld, AtHugePageOrder9_HoldsEightHugeRangesFourPerProcessAndFourInMemory) {
  ops::Limits expected = ops::campaign_limits();
  expected.hpage_order = 9;
  expected.address_space = 0x1000;
  expected.max_pages = 0x800;
  expected.max_vmas = 0x800;
  expected.frames = 2048;
  EXPECT_EQ(ops::campaign_limits(9), expected);
}

TEST(CampaignWorld, AtEveryOrderTheImplementationTakes_IsAValidWorldThatRuns) {
  for (unsigned order = 1; order <= 10; ++order) {
    ops::Limits limits = ops::campaign_limits(order);
    limits.max_ops = 20;
    EXPECT_NO_THROW(ops::validate_limits(limits)) << "hpage_order " << order;
    EXPECT_GE(limits.address_space, 8 * limits.hpage_pages()) << "hpage_order " << order;
    EXPECT_GE(limits.frames, 4 * limits.hpage_pages()) << "hpage_order " << order;
    EXPECT_FALSE(check::run_sequence(limits, check::random_sequence(order, limits)).finding) << "hpage_order " << order;
  }
}

TEST(CampaignWorld, PastWhatLimitsAllow_IsRefusedByValidation) {
  EXPECT_THROW(ops::validate_limits(ops::campaign_limits(40)), std::invalid_argument);
}
