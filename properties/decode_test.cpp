// The fuzz byte format: decode is total and stays within the limits, encode is its
// exact inverse, and the decoder's bias makes most ops name things that exist.

#include "ops/decode.hpp"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <stdexcept>
#include <vector>

#include "ops/limits_text.hpp"
#include "ops/trace.hpp"
#include "properties/op_gen.hpp"

namespace {

using namespace ops;

std::vector<uint8_t> random_bytes(size_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = uint8_t(rng());
  return out;
}

void expect_valid(const std::vector<Op>& ops, const Limits& limits) {
  EXPECT_LE(ops.size(), limits.max_ops);
  for (const Op& op : ops) EXPECT_TRUE(within_limits(op, limits)) << print_op(op);
}

std::vector<Op> ops_of(std::string_view text) { return parse_trace(text).ops(); }

TEST(FuzzDecode, EmptyInputDecodesToNoOps) { EXPECT_TRUE(decode({}, Limits{}).empty()); }

TEST(FuzzDecode, UniformInputsDecodeWithinLimits) {
  for (uint8_t fill : {0x00, 0x7f, 0x80, 0xef, 0xf0, 0xff}) {
    std::vector<uint8_t> bytes(5000, fill);
    expect_valid(decode(bytes, Limits{}), Limits{});
  }
}

TEST(FuzzDecode, LargeInputDecodesQuicklyToAtMostMaxOps) {
  Limits many;
  many.max_ops = 1 << 20;
  auto bytes = random_bytes(1 << 18, 1);
  std::vector<Op> ops = decode(bytes, many);
  EXPECT_GT(ops.size(), 30000u);
  EXPECT_LE(ops.size(), many.max_ops);
  EXPECT_EQ(decode(bytes, Limits{}).size(), Limits{}.max_ops);
}

TEST(FuzzDecode, DecodingIsDeterministic) {
  auto bytes = random_bytes(3000, 2);
  EXPECT_EQ(decode(bytes, Limits{}), decode(bytes, Limits{}));
}

TEST(FuzzDecode, InvalidLimitsAreRefusedNotGuessedAround) {
  Limits bad;
  bad.max_processes = 0;
  std::vector<uint8_t> bytes(10, 1);
  EXPECT_THROW(decode(bytes, bad), std::invalid_argument);
  EXPECT_THROW(encode({}, bad), std::invalid_argument);
}

RC_GTEST_PROP(FuzzDecodeProperty, AnyBytesDecodeWithoutThrowingAndWithinLimits,
              (const std::vector<uint8_t>& bytes)) {
  Limits limits = *gen::limits();
  std::vector<Op> ops = decode(bytes, limits);
  RC_ASSERT(ops.size() <= limits.max_ops);
  for (const Op& op : ops) RC_ASSERT(within_limits(op, limits));
}

RC_GTEST_PROP(FuzzDecodeProperty, LongRandomInputsDecodeWithinLimits, ()) {
  auto bytes = random_bytes(*rc::gen::inRange<size_t>(0, 20000), *rc::gen::arbitrary<unsigned>());
  std::vector<Op> ops = decode(bytes, Limits{});
  RC_ASSERT(ops.size() <= Limits{}.max_ops);
  for (const Op& op : ops) RC_ASSERT(within_limits(op, Limits{}));
}

RC_GTEST_PROP(FuzzEncodeProperty, EncodedOpsDecodeToTheSameOps, (const std::vector<Op>& ops)) {
  RC_ASSERT(decode(encode(ops, Limits{}), Limits{}) == ops);
}

RC_GTEST_PROP(FuzzEncodeProperty, EncodedOpsDecodeToTheSameOpsUnderAnyLimits, ()) {
  Limits limits = *gen::limits();
  auto ops = *gen::ops(limits);
  RC_ASSERT(decode(encode(ops, limits), limits) == ops);
}

RC_GTEST_PROP(FuzzEncodeProperty, ACutOffEncodingDecodesToAPrefix, (const std::vector<Op>& ops)) {
  std::vector<uint8_t> bytes = encode(ops, Limits{});
  bytes.resize(*rc::gen::inRange<size_t>(0, bytes.size() + 1));
  std::vector<Op> got = decode(bytes, Limits{});
  RC_ASSERT(got.size() <= ops.size());
  RC_ASSERT(std::equal(got.begin(), got.end(), ops.begin()));
}

TEST(FuzzEncode, OpOutsideTheLimitsIsRefusedWithItsIndexAndField) {
  try {
    encode(ops_of("fork 1\nread 1 0x1000\n"), Limits{});
    FAIL() << "no EncodeError";
  } catch (const EncodeError& e) {
    EXPECT_STREQ(e.what(), "encode: op 1 (read): vpn 0x1000 is outside [0x0, 0xfff]");
  }
}

TEST(FuzzEncode, SequenceLongerThanMaxOpsIsRefused) {
  Limits two;
  two.max_ops = 2;
  EXPECT_NO_THROW(encode(ops_of("ksm\nksm\n"), two));
  try {
    encode(ops_of("ksm\nksm\nksm\n"), two);
    FAIL() << "no EncodeError";
  } catch (const EncodeError& e) {
    EXPECT_NE(std::string(e.what()).find("max_ops 2"), std::string::npos) << e.what();
  }
}

TEST(FuzzEncode, HandWrittenTraceSurvivesEncoding) {
  std::vector<Op> ops = ops_of(
      "mmap 1 0x100 16 anon private rw populate locked\n"
      "mmap 8 0x0 4096 file:3@64 shared -\n"
      "mremap 1 0xfff 0 4096 to 0x0 dontunmap\n"
      "write 1 0x101 18446744073709551615\n"
      "pin 1 0x101 rw\n"
      "writepin 65535 3\n"
      "ftruncate 3 65\n"
      "reclaim 512\n"
      "ksm\n");
  EXPECT_EQ(decode(encode(ops, Limits{}), Limits{}), ops);
}

TEST(FuzzWithinLimits, EdgesOfEachRangeAreInsideAndOneBeyondIsOutside) {
  Limits l;
  auto within = [&](std::string_view text) { return within_limits(parse_op(text), l); };
  EXPECT_TRUE(within("fork 8"));
  EXPECT_FALSE(within("fork 9"));
  EXPECT_FALSE(within("fork 0"));
  EXPECT_TRUE(within("munmap 1 0xfff 4096"));
  EXPECT_FALSE(within("munmap 1 0x0 4097"));
  EXPECT_FALSE(within("mremap 1 0x0 1 1 to 0x1000"));
  EXPECT_TRUE(within("mmap 1 0x0 1 file:3@64 private rw"));
  EXPECT_FALSE(within("mmap 1 0x0 1 file:4@0 private rw"));
  EXPECT_FALSE(within("mmap 1 0x0 1 file:0@65 private rw"));
  EXPECT_TRUE(within("ftruncate 0 65"));
  EXPECT_FALSE(within("ftruncate 0 66"));
  EXPECT_FALSE(within("fwrite 0 65 1"));
  EXPECT_TRUE(within("unpin 65535"));
  EXPECT_FALSE(within("unpin 65536"));
  EXPECT_FALSE(within("readpin 0"));
  EXPECT_TRUE(within("reclaim 512"));
  EXPECT_FALSE(within("reclaim 513"));
  Mmap anon_with_file;
  anon_with_file.file = 1;
  EXPECT_FALSE(within_limits(anon_with_file, l));
  EXPECT_NE(limits_violation(anon_with_file, l)->find("anon mmap"), std::string::npos);
}

// Replays the decoder's stated shadow of live pids over decoded ops and counts how
// many pid operands name a live pid.
double share_of_live_pids(const std::vector<Op>& ops, unsigned max_processes) {
  std::set<Pid> live = {1};
  size_t named = 0, live_named = 0;
  for (const Op& op : ops) {
    std::visit(
        [&](const auto& o) {
          if constexpr (requires { o.pid; }) {
            ++named;
            live_named += live.contains(o.pid);
          }
        },
        op);
    if (auto* f = std::get_if<Fork>(&op); f && live.contains(f->pid)) {
      for (Pid p = 1; p <= max_processes; ++p) {
        if (live.insert(p).second) break;
      }
    }
    if (auto* e = std::get_if<Exit>(&op)) live.erase(e->pid);
  }
  return named ? double(live_named) / double(named) : 1.0;
}

TEST(FuzzDecodeBias, MostPidOperandsNameALiveProcess) {
  // Averaged over inputs: now and then a literal `exit 1` ends a world early, which is fine.
  std::vector<Op> all;
  double share = 0;
  for (unsigned seed = 0; seed < 50; ++seed) {
    std::vector<Op> ops = decode(random_bytes(2000, seed), Limits{});
    share += share_of_live_pids(ops, Limits{}.max_processes) / 50;
    all.insert(all.end(), ops.begin(), ops.end());
  }
  EXPECT_GT(share, 0.8);
  // Forks really add processes that later ops use.
  EXPECT_TRUE(std::ranges::any_of(all, [](const Op& op) {
    auto* w = std::get_if<Write>(&op);
    return w && w->pid > 2;
  }));
}

TEST(FuzzDecodeBias, MostAccessesLandInsideAMappedRange) {
  size_t accesses = 0, inside = 0, aligned = 0, small_values = 0, writes = 0;
  const uint64_t h = Limits{}.hpage_pages();
  for (unsigned seed = 0; seed < 50; ++seed) {
    std::vector<std::pair<Vpn, uint64_t>> ranges;
    for (const Op& op : decode(random_bytes(2000, seed), Limits{})) {
      if (auto* m = std::get_if<Mmap>(&op)) ranges.emplace_back(m->vpn, m->pages);
      if (auto* r = std::get_if<Mremap>(&op))
        ranges.emplace_back(r->to.value_or(r->vpn), r->new_pages);
      std::optional<Vpn> vpn;
      if (auto* r = std::get_if<Read>(&op)) vpn = r->vpn;
      if (auto* w = std::get_if<Write>(&op)) {
        vpn = w->vpn;
        ++writes;
        small_values += w->value < 16;
      }
      if (!vpn || ranges.empty()) continue;
      ++accesses;
      aligned += *vpn % h == 0;
      inside += std::ranges::any_of(
          ranges, [&](auto r) { return *vpn >= r.first && *vpn - r.first < r.second; });
    }
  }
  EXPECT_GT(double(inside) / double(accesses), 0.75);
  EXPECT_GT(double(aligned) / double(accesses), 0.3);  // uniform would give 1/8
  EXPECT_GT(double(small_values) / double(writes), 0.8);
}

}  // namespace
