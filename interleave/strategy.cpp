#include "interleave/strategy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <numeric>
#include <stdexcept>

namespace interleave {

uint64_t SplitMix::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

ThreadId no_preemption(const Decision& d) { return d.current.value_or(d.runnable.front()); }

ThreadId RandomStrategy::pick(const Decision& d) { return d.runnable[rng_.below(d.runnable.size())]; }

PctStrategy::PctStrategy(uint64_t seed, unsigned threads, unsigned depth, size_t steps)
    : priority_(threads), next_low_(int(depth)) {
  SplitMix rng(seed);
  // Distinct initial priorities depth+1 .. depth+threads, in a random order; the change
  // points lower a thread to depth, depth-1, ..., 1 (Fisher-Yates over the threads).
  std::iota(priority_.begin(), priority_.end(), int(depth) + 1);
  for (size_t i = priority_.size(); i > 1; --i) std::swap(priority_[i - 1], priority_[rng.below(i)]);
  for (unsigned i = 1; i < depth; ++i) change_steps_.push_back(rng.below(std::max<size_t>(steps, 1)));
}

ThreadId PctStrategy::pick(const Decision& d) {
  if (d.current && std::count(change_steps_.begin(), change_steps_.end(), d.step)) priority_[*d.current] = --next_low_;
  return *std::max_element(d.runnable.begin(), d.runnable.end(),
                           [&](ThreadId a, ThreadId b) { return priority_[a] < priority_[b]; });
}

ThreadId ReplayStrategy::pick(const Decision& d) {
  if (next_ == schedule_.size()) return no_preemption(d);
  const ThreadId t = schedule_[next_++];
  if (!std::binary_search(d.runnable.begin(), d.runnable.end(), t))
    throw std::runtime_error(fmt::format("schedule: choice {} is T{}, which cannot run there", next_, t));
  return t;
}

}  // namespace interleave
