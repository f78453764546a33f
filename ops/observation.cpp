// Canonical order for observations, so that two sides that saw the same world
// produce equal values no matter in which order they walked it.

#include "ops/observation.hpp"

#include <algorithm>
#include <tuple>
#include <utility>

namespace ops {

namespace {

bool page_less(const PageObs& a, const PageObs& b) { return std::tie(a.pid, a.vpn) < std::tie(b.pid, b.vpn); }

// Orders classes by their pages; the other fields only break ties between classes with
// the same pages, which a real partition never has. The folio label is left out because
// it is about to be renumbered.
bool frame_class_less(const FrameClass& a, const FrameClass& b) {
  return std::tie(a.pages, a.kind, a.value, a.mapcount, a.pmd_mapped, a.mlocked, a.pins) <
         std::tie(b.pages, b.kind, b.value, b.mapcount, b.pmd_mapped, b.mlocked, b.pins);
}

bool vma_less(const VmaObs& a, const VmaObs& b) { return std::tie(a.pid, a.start) < std::tie(b.pid, b.start); }

bool swap_class_less(const SwapClass& a, const SwapClass& b) { return a.pages < b.pages; }

// Folio labels are names chosen by each side; only which classes share one matters.
// The canonical names are 1, 2, ... in order of each folio's first class. Calls
// fn(class, canonical label) for every class of a large folio.
template <class Fn>
void for_each_canonical_label(const std::vector<FrameClass>& frames, Fn fn) {
  std::vector<std::pair<unsigned, unsigned>> renamed;  // few folios: a list will do
  for (const FrameClass& c : frames) {
    if (c.folio == 0) continue;  // small folio: nothing to share
    auto it = std::find_if(renamed.begin(), renamed.end(), [&](const auto& r) { return r.first == c.folio; });
    if (it == renamed.end()) it = renamed.insert(renamed.end(), {c.folio, unsigned(renamed.size() + 1)});
    fn(c, it->second);
  }
}

bool classes_sorted(const std::vector<FrameClass>& frames) {
  return std::all_of(frames.begin(), frames.end(), [](const FrameClass& c) { return std::is_sorted(c.pages.begin(), c.pages.end()); });
}

bool swap_sorted(const std::vector<SwapClass>& swap) {
  return std::all_of(swap.begin(), swap.end(), [](const SwapClass& c) { return std::is_sorted(c.pages.begin(), c.pages.end()); });
}

bool folios_canonical(const std::vector<FrameClass>& frames) {
  bool canonical = true;
  for_each_canonical_label(frames, [&](const FrameClass& c, unsigned label) { canonical &= c.folio == label; });
  return canonical;
}

}  // namespace

// Each step sorts only what is out of order, so an observation written in order (see
// observation_writer.hpp) costs one look.
void canonicalize(Observation& obs) {
  if (!std::is_sorted(obs.pages.begin(), obs.pages.end(), page_less))
    std::stable_sort(obs.pages.begin(), obs.pages.end(), page_less);
  if (!std::is_sorted(obs.vmas.begin(), obs.vmas.end(), vma_less))
    std::stable_sort(obs.vmas.begin(), obs.vmas.end(), vma_less);
  for (FrameClass& c : obs.frames)
    if (!std::is_sorted(c.pages.begin(), c.pages.end())) std::sort(c.pages.begin(), c.pages.end());
  if (!std::is_sorted(obs.frames.begin(), obs.frames.end(), frame_class_less))
    std::stable_sort(obs.frames.begin(), obs.frames.end(), frame_class_less);
  // Labels are rewritten from a copy of the old ones: a new label must not be read as an old one.
  std::vector<unsigned> labels;
  for_each_canonical_label(obs.frames, [&](const FrameClass&, unsigned label) { labels.push_back(label); });
  size_t next = 0;
  for (FrameClass& c : obs.frames)
    if (c.folio != 0) c.folio = labels[next++];
  for (SwapClass& c : obs.swap)
    if (!std::is_sorted(c.pages.begin(), c.pages.end())) std::sort(c.pages.begin(), c.pages.end());
  if (!std::is_sorted(obs.swap.begin(), obs.swap.end(), swap_class_less))
    std::sort(obs.swap.begin(), obs.swap.end(), swap_class_less);
}

bool is_canonical(const Observation& obs) {
  return std::is_sorted(obs.pages.begin(), obs.pages.end(), page_less) &&
         std::is_sorted(obs.vmas.begin(), obs.vmas.end(), vma_less) && classes_sorted(obs.frames) &&
         std::is_sorted(obs.frames.begin(), obs.frames.end(), frame_class_less) && folios_canonical(obs.frames) &&
         swap_sorted(obs.swap) && std::is_sorted(obs.swap.begin(), obs.swap.end(), swap_class_less);
}

}  // namespace ops
