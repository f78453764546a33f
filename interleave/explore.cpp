#include "interleave/explore.hpp"

#include <fmt/format.h>

#include <charconv>
#include <memory>

namespace interleave {

namespace {

std::optional<unsigned> number_after(std::string_view text, std::string_view prefix) {
  if (!text.starts_with(prefix)) return std::nullopt;
  text.remove_prefix(prefix.size());
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

// A hash of the events, to count distinct executions.
uint64_t fingerprint(const std::vector<Event>& events) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](uint64_t v) { h = (h ^ v) * 1099511628211ull; };
  for (const Event& e : events) {
    mix(e.thread);
    mix(uint64_t(e.kind));
    mix(e.object);
    for (char c : e.function) mix(uint8_t(c));
  }
  return h;
}

}  // namespace

std::optional<Explorer> parse_explorer(std::string_view text) {
  if (text == "random") return Explorer{Explorer::Kind::random, 1, 0};
  if (text == "dfs") return Explorer{Explorer::Kind::dfs, 1, 2};
  if (auto b = number_after(text, "dfs:")) return Explorer{Explorer::Kind::dfs, 1, *b};
  if (auto d = number_after(text, "pct:"); d && *d >= 1) return Explorer{Explorer::Kind::pct, *d, 0};
  return std::nullopt;
}

std::string explorer_text(const Explorer& e) {
  switch (e.kind) {
    case Explorer::Kind::random: return "random";
    case Explorer::Kind::pct: return fmt::format("pct:{}", e.depth);
    case Explorer::Kind::dfs: return fmt::format("dfs:{}", e.preemption_bound);
  }
  return "?";
}

unsigned DfsStrategy::Choice::preemptions() const {
  return preemptions_before + (current && options[taken] != *current ? 1 : 0);
}

ThreadId DfsStrategy::pick(const Decision& d) {
  if (depth_ < stack_.size()) {
    const Choice& c = stack_[depth_++];
    if (c.options.size() != d.runnable.size())
      throw std::logic_error("dfs: the execution took another path than its prefix (not deterministic?)");
    return c.options[c.taken];
  }
  Choice c;
  c.current = d.current;
  c.options.push_back(no_preemption(d));
  for (ThreadId t : d.runnable)
    if (t != c.options.front()) c.options.push_back(t);
  c.preemptions_before = stack_.empty() ? 0 : stack_.back().preemptions();
  stack_.push_back(std::move(c));
  ++depth_;
  return stack_.back().options.front();
}

bool DfsStrategy::advance() {
  depth_ = 0;
  while (!stack_.empty()) {
    Choice& c = stack_.back();
    while (++c.taken < c.options.size())
      if (c.preemptions() <= bound_) return true;
    stack_.pop_back();
  }
  return false;
}

ExploreStats explore(const Explorer& how, uint64_t seed, size_t budget,
                     const std::function<Outcome(Strategy&)>& one, bool stop_at_finding) {
  ExploreStats stats;
  std::set<uint64_t> seen;
  DfsStrategy dfs(how.preemption_bound);
  size_t expected_steps = 0;  // pct: the decisions of the first execution, then the most seen
  for (size_t i = 0; i < budget; ++i) {
    std::unique_ptr<Strategy> own;
    Strategy* strategy = &dfs;
    if (how.kind == Explorer::Kind::random) own = std::make_unique<RandomStrategy>(SplitMix(seed + i).next());
    if (how.kind == Explorer::Kind::pct) {
      const unsigned threads = 4;  // an upper bound of a group's; unused priorities do no harm
      own = std::make_unique<PctStrategy>(SplitMix(seed + i).next(), threads, how.depth,
                                          expected_steps ? expected_steps : 16);
    }
    if (own) strategy = own.get();
    Outcome out = one(*strategy);
    ++stats.schedules;
    expected_steps = std::max(expected_steps, out.execution.decisions);
    if (seen.insert(fingerprint(out.execution.events)).second) ++stats.distinct;
    if (out.finding && !stats.first_finding) {
      stats.first_finding = std::move(out);
      stats.schedules_to_finding = stats.schedules;
      if (stop_at_finding) break;
    }
    if (how.kind == Explorer::Kind::dfs && !dfs.advance()) {
      stats.exhausted = true;
      break;
    }
  }
  return stats;
}

}  // namespace interleave
