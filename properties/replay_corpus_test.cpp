// Every corpus/regressions/*.trace is a test: it must parse, print back to the same
// text, and replay against the model with every `# = RESULT` expectation met, and
// through the differential runner to its end without a finding wherever the
// implementation runs with the trace's limits (not the oracle's page-cache knobs). The
// list is read when the tests are listed, so a new trace needs no rebuild.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "ops/trace.hpp"
#include "ops/types.hpp"
#include "check/finding.hpp"
#include "tools/replay.hpp"

namespace {

namespace fs = std::filesystem;

fs::path regressions_dir() { return fs::path(RMAPCHECK_SOURCE_DIR) / "corpus" / "regressions"; }

std::vector<fs::path> regression_traces() {
  std::vector<fs::path> paths;
  std::error_code ec;  // a missing directory shows up as an uninstantiated suite
  for (const fs::directory_entry& entry : fs::directory_iterator(regressions_dir(), ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".trace") {
      paths.push_back(entry.path());
    }
  }
  std::ranges::sort(paths);
  return paths;
}

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

// GoogleTest names allow only letters, digits and '_': "munmap-segv.trace" -> "munmap_segv".
std::string test_name(const testing::TestParamInfo<fs::path>& info) {
  std::string name = info.param.stem().string();
  std::ranges::replace_if(
      name, [](char c) { return !std::isalnum((unsigned char)c); }, '_');
  return name;
}

class RegressionTrace : public testing::TestWithParam<fs::path> {
 protected:
  std::string text() const { return read_text(GetParam()); }
};

TEST_P(RegressionTrace, PrintsBackToTheSameText) {
  const std::string text = this->text();
  ASSERT_FALSE(text.empty()) << GetParam();
  ops::Trace trace;
  ASSERT_NO_THROW(trace = ops::parse_trace(text));
  EXPECT_EQ(ops::print_trace(trace), text);
}

TEST_P(RegressionTrace, ReplaysWithEveryExpectationMet) {
  const std::string path = GetParam().string();
  tools::ReplayResult result;
  try {
    result = tools::replay_text(text());
  } catch (const ops::ParseError& e) {
    FAIL() << tools::parse_error_text(path, e);
  } catch (const std::exception& e) {
    FAIL() << path << ": " << e.what();
  }
  for (size_t i : result.mismatches) {
    const tools::Step& step = result.steps[i];
    ADD_FAILURE() << path << ":" << step.line << ": " << ops::print_op(step.op) << ": expected "
                  << ops::result_text(*step.expect) << ", actual " << ops::result_text(step.result);
  }
  for (const tools::LayoutCheck& c : result.layouts)
    if (!c.holds())
      ADD_FAILURE() << path << ":" << c.line << ": layout of pid " << c.claim.pid << ": claimed "
                    << ops::layout_text(c.claim) << ", actual " << c.actual;
  if (result.finding) ADD_FAILURE() << check::finding_text(*result.finding, path);
  // Both sides run every op, unless the limits are the oracle's, which only the model has.
  const bool both_sides = result.limits.fault_around_pages <= 1 && !result.limits.file_pages_cached;
  if (both_sides) {
    EXPECT_EQ(result.ops_skipped, 0u) << path << ": ops the implementation did not run";
    EXPECT_FALSE(result.impl_stopped) << path << ":" << result.impl_stopped.value_or(0)
                                      << ": the implementation stopped here";
  } else {
    EXPECT_TRUE(result.impl_stopped) << path << ": oracle limits, yet the implementation ran every op";
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, RegressionTrace, testing::ValuesIn(regression_traces()),
                         test_name);

}  // namespace
