// Interval tree throughput at 10^2..10^5 elements: insert, remove, remove+insert at a
// steady size, overlap queries (callback walk and kernel-style cursor), and verify().
// Keys look like an i_mmap: VMAs with page offsets spread over [0, 4n) and 1..16 pages.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "impl/interval_tree.hpp"

namespace {

struct Vma {
  std::uint64_t pgoff = 0;
  std::uint64_t pages = 0;
  impl::IntervalNode shared_rb{};
};

struct VmaPgoffRange {
  static std::uint64_t start(const Vma& v) { return v.pgoff; }
  static std::uint64_t last(const Vma& v) { return v.pgoff + v.pages - 1; }
};

using Tree = impl::IntervalTree<Vma, &Vma::shared_rb, VmaPgoffRange>;

std::vector<Vma> make_vmas(std::size_t n) {
  std::mt19937_64 rng(1);
  std::vector<Vma> vmas(n);
  for (Vma& v : vmas) {
    v.pgoff = rng() % (4 * n);
    v.pages = 1 + rng() % 16;
  }
  return vmas;
}

// Page offsets to query, spread like the keys.
std::vector<std::uint64_t> make_points(std::size_t n) {
  std::mt19937_64 rng(2);
  std::vector<std::uint64_t> points(1024);
  for (auto& p : points) p = rng() % (4 * n);
  return points;
}

void fill(Tree& tree, std::vector<Vma>& vmas) {
  for (Vma& v : vmas) tree.insert(v);
}

void BM_Insert(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto vmas = make_vmas(n);
  Tree tree;
  for (auto _ : state) {
    fill(tree, vmas);
    state.PauseTiming();
    tree.clear();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

void BM_Remove(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto vmas = make_vmas(n);
  std::vector<Vma*> order;
  for (Vma& v : vmas) order.push_back(&v);
  std::shuffle(order.begin(), order.end(), std::mt19937_64(3));
  Tree tree;
  for (auto _ : state) {
    state.PauseTiming();
    fill(tree, vmas);
    state.ResumeTiming();
    for (Vma* v : order) tree.remove(*v);
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

// One remove and one insert of the same VMA with a new page offset, at size n.
void BM_RemoveInsert(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto vmas = make_vmas(n);
  const auto points = make_points(n);
  Tree tree;
  fill(tree, vmas);
  std::size_t i = 0;
  for (auto _ : state) {
    Vma& v = vmas[i % n];
    tree.remove(v);
    v.pgoff = points[i % points.size()];
    tree.insert(v);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}

// rmap_walk-shaped: every VMA mapping one page offset.
void BM_StabQuery(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto vmas = make_vmas(n);
  const auto points = make_points(n);
  Tree tree;
  fill(tree, vmas);
  std::size_t i = 0, hits = 0;
  for (auto _ : state) {
    const std::uint64_t p = points[i++ % points.size()];
    tree.for_each_overlap(p, p, [&](Vma& v) {
      benchmark::DoNotOptimize(&v);
      ++hits;
    });
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hits/query"] = double(hits) / double(state.iterations());
}

// A 16-page range through the iter_first/iter_next cursor.
void BM_RangeQueryCursor(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto vmas = make_vmas(n);
  const auto points = make_points(n);
  Tree tree;
  fill(tree, vmas);
  std::size_t i = 0, hits = 0;
  for (auto _ : state) {
    const std::uint64_t a = points[i++ % points.size()], b = a + 15;
    for (Vma* v = tree.iter_first(a, b); v; v = Tree::iter_next(*v, a, b)) {
      benchmark::DoNotOptimize(v);
      ++hits;
    }
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["hits/query"] = double(hits) / double(state.iterations());
}

void BM_Verify(benchmark::State& state) {
  const auto n = static_cast<std::size_t>(state.range(0));
  auto vmas = make_vmas(n);
  Tree tree;
  fill(tree, vmas);
  for (auto _ : state) benchmark::DoNotOptimize(tree.verify());
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}

#define SIZES RangeMultiplier(10)->Range(100, 100'000)
BENCHMARK(BM_Insert)->SIZES;
BENCHMARK(BM_Remove)->SIZES;
BENCHMARK(BM_RemoveInsert)->SIZES;
BENCHMARK(BM_StabQuery)->SIZES;
BENCHMARK(BM_RangeQueryCursor)->SIZES;
BENCHMARK(BM_Verify)->SIZES;

}  // namespace

BENCHMARK_MAIN();
