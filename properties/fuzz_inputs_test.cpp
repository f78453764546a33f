// What the fuzzers start from and how they mutate bytes: an input's first byte picks its
// world as `rmapcheck run` picks it by seed, the dictionary says what its entries decode
// to, the seed corpus is exactly the encoded regression traces, and the bytes-level
// custom mutator keeps inputs decodable, in their world and within the size it is given.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz/custom_mutator.hpp"
#include "ops/decode.hpp"
#include "ops/limits_text.hpp"
#include "ops/relocate.hpp"
#include "ops/trace.hpp"
#include "ops/world_byte.hpp"

namespace {

namespace fs = std::filesystem;
using namespace ops;

const fs::path source_dir = RMAPCHECK_SOURCE_DIR;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::vector<uint8_t> bytes_of(const std::string& s) { return std::vector<uint8_t>(s.begin(), s.end()); }

struct DictEntry {
  std::string comment;  // "op: mmap 1 ..." or "biased: ..."
  std::string name;
  std::vector<uint8_t> bytes;
};

// name="..." with \xNN escapes, as libFuzzer and AFL++ read it.
std::optional<std::vector<uint8_t>> unescape(const std::string& quoted) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < quoted.size(); ++i) {
    if (quoted[i] != '\\') {
      out.push_back(uint8_t(quoted[i]));
      continue;
    }
    if (i + 3 >= quoted.size()) return std::nullopt;
    if (quoted[i + 1] != 'x') return std::nullopt;
    out.push_back(uint8_t(std::stoul(quoted.substr(i + 2, 2), nullptr, 16)));
    i += 3;
  }
  return out;
}

std::vector<DictEntry> read_dict() {
  std::vector<DictEntry> entries;
  std::istringstream in(slurp(source_dir / "fuzz/rmapcheck.dict"));
  std::string line, comment;
  while (std::getline(in, line)) {
    if (line.starts_with("# op: ") || line.starts_with("# biased: ")) {
      comment = line.substr(2);
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    const size_t eq = line.find("=\"");
    EXPECT_NE(eq, std::string::npos) << line;
    EXPECT_TRUE(line.ends_with("\"")) << line;
    EXPECT_FALSE(comment.empty()) << "entry without an op:/biased: comment: " << line;
    auto bytes = unescape(line.substr(eq + 2, line.size() - eq - 3));
    EXPECT_TRUE(bytes.has_value()) << line;
    entries.push_back({comment, line.substr(0, eq), bytes.value_or(std::vector<uint8_t>{})});
    comment.clear();
  }
  return entries;
}

TEST(FuzzDictionary, OpEntriesDecodeAloneToTheOpTheyName) {
  int checked = 0;
  for (const DictEntry& e : read_dict()) {
    if (!e.comment.starts_with("op: ")) continue;
    const std::vector<Op> expected = parse_trace(e.comment.substr(4)).ops();
    EXPECT_EQ(decode(e.bytes, campaign_limits()), expected) << e.name;
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST(FuzzDictionary, BiasedEntriesAreWholeOpsOfTheirKindAfterAMapping) {
  const std::vector<uint8_t> prefix = encode(parse_trace("mmap 1 0x0 8 anon private rw\n").ops(), campaign_limits());
  int checked = 0;
  for (const DictEntry& e : read_dict()) {
    if (!e.comment.starts_with("biased: ")) continue;
    std::vector<uint8_t> in = prefix;
    in.insert(in.end(), e.bytes.begin(), e.bytes.end());
    const std::vector<Op> ops = decode(in, campaign_limits());
    ASSERT_EQ(ops.size(), 2u) << e.name;
    const std::string kind = e.comment.substr(8, e.comment.find(' ', 8) - 8);
    EXPECT_EQ(op_name(ops[1]), kind) << e.name;
    ++checked;
  }
  EXPECT_GE(checked, 10);
}

// Regenerate with: rmapcheck encode --move-down corpus/regressions/*.trace --output-dir corpus/seed
TEST(FuzzSeedCorpus, IsTheRegressionTracesMovedDownAndEncodedForTheFuzzersWorld) {
  size_t seeds = 0;
  for (const auto& entry : fs::directory_iterator(source_dir / "corpus/regressions")) {
    if (entry.path().extension() != ".trace") continue;
    const Trace trace = parse_trace(slurp(entry.path()));
    std::vector<Op> ops = trace.ops();
    ops = move_addresses_down(ops, lowest_aligned_address(ops, campaign_limits().hpage_pages()));
    const fs::path seed = source_dir / "corpus/seed" / (entry.path().stem().string() + ".bin");
    // The trace's THP and exec_only choices travel in the world byte.
    const Limits world = with_world_byte(campaign_limits(), world_byte(limits_from_trace(trace, Limits{})));
    std::vector<uint8_t> expected;
    try {
      expected = encode_input(ops, world);
    } catch (const EncodeError&) {
      EXPECT_FALSE(fs::exists(seed)) << seed << " is stale: its trace no longer fits the fuzzers' world";
      continue;
    }
    ASSERT_TRUE(fs::exists(seed)) << seed << " is missing";
    EXPECT_EQ(bytes_of(slurp(seed)), expected) << seed << " is stale";
    ++seeds;
  }
  EXPECT_GE(seeds, 20u);
}

TEST(FuzzWorldByte, PicksThpAndExecOnlyAsTheCampaignsSeedsDo) {
  for (uint8_t world : {0, 1, 2, 3, 0xfc, 0xff}) {
    const FuzzInput in = decode_input(std::vector<uint8_t>{world}, campaign_limits());
    EXPECT_EQ(in.limits.thp_always, (world & 1) != 0) << int(world);
    EXPECT_EQ(in.limits.exec_only, (world & 2) != 0) << int(world);
    EXPECT_TRUE(in.ops.empty());
    EXPECT_EQ(with_world_byte(campaign_limits(), world), in.limits);
    EXPECT_EQ(world_byte(in.limits), world & 3);
  }
  EXPECT_EQ(decode_input({}, campaign_limits()).limits, campaign_limits()) << "no byte: the base world";
}

TEST(FuzzWorldByte, EncodeInputThenDecodeInput_GivesBackTheWorldAndTheOps) {
  const std::vector<Op> ops = parse_trace("mmap 1 0x0 8 anon private x\nread 1 0x1\nfork 1\n").ops();
  Limits world = campaign_limits();
  world.thp_always = true;
  world.exec_only = true;
  const FuzzInput in = decode_input(encode_input(ops, world), campaign_limits());
  EXPECT_EQ(in.limits, world);
  EXPECT_EQ(in.ops, ops);
}

TEST(FuzzWorldByte, JunkBytesDecodeToAWorldAndOpsWithinItsLimits) {
  std::vector<uint8_t> junk;
  for (unsigned i = 0; i < 4096; ++i) junk.push_back(uint8_t(i * 167 + (i >> 3)));
  for (size_t from = 0; from < 64; ++from) {
    const FuzzInput in = decode_input(std::span<const uint8_t>(junk).subspan(from), campaign_limits());
    for (const Op& op : in.ops) EXPECT_TRUE(within_limits(op, in.limits)) << print_op(op);
  }
}

TEST(FuzzCustomMutator, OutputDecodesWithinTheLimitsAndTheSizeGiven) {
  Limits thp = campaign_limits();
  thp.thp_always = true;
  std::vector<uint8_t> buf =
      encode_input(parse_trace("mmap 1 0x0 8 anon private rw\nwrite 1 0x1 3\nfork 1\n").ops(), thp);
  for (size_t max_size : {size_t{0}, size_t{5}, size_t{40}, size_t{4096}}) {
    for (uint64_t seed = 0; seed < 100; ++seed) {
      std::vector<uint8_t> data = buf;
      data.resize(std::max(data.size(), max_size));
      const size_t size = fuzz::mutate_input(data.data(), buf.size(), max_size, seed);
      ASSERT_LE(size, max_size);
      const std::vector<uint8_t> out(data.begin(), data.begin() + long(size));
      const FuzzInput in = decode_input(out, campaign_limits());
      if (size == 0) continue;  // nothing fits in 0 bytes
      EXPECT_TRUE(in.limits.thp_always) << "the world byte stays";
      EXPECT_EQ(encode_input(in.ops, in.limits), out) << "the mutator writes only literal, exact encodings";
    }
  }
}

TEST(FuzzCustomMutator, CrossOverJoinsTwoInputs) {
  const auto a = encode_input(parse_trace("fork 1\nfork 1\n").ops(), campaign_limits());
  const auto b = encode_input(parse_trace("ksm\nksm\n").ops(), campaign_limits());
  std::vector<uint8_t> out(64);
  bool mixed = false;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const size_t size = fuzz::cross_over(a.data(), a.size(), b.data(), b.size(), out.data(), out.size(), seed);
    const std::vector<Op> ops = decode_input(std::span<const uint8_t>(out.data(), size), campaign_limits()).ops;
    mixed |= ops.size() >= 2 && ops.front() == Op(Fork{1}) && ops.back() == Op(Ksm{});
  }
  EXPECT_TRUE(mixed);
}

}  // namespace
