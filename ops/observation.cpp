// Canonical order for observations, so that two sides that saw the same world
// produce equal values no matter in which order they walked it.

#include "ops/observation.hpp"

#include <algorithm>
#include <map>
#include <tuple>

namespace ops {

namespace {

// Orders classes by their pages; the other fields only break ties between classes with
// the same pages, which a real partition never has. The folio label is left out because
// it is about to be renumbered.
bool frame_class_less(const FrameClass& a, const FrameClass& b) {
  return std::tie(a.pages, a.kind, a.value, a.mapcount, a.pmd_mapped, a.mlocked, a.pins) <
         std::tie(b.pages, b.kind, b.value, b.mapcount, b.pmd_mapped, b.mlocked, b.pins);
}

// Folio labels are names chosen by each side; only which classes share one matters.
void relabel_folios(std::vector<FrameClass>& frames) {
  std::map<unsigned, unsigned> renamed;
  for (FrameClass& c : frames) {
    if (c.folio == 0) continue;  // small folio: nothing to share
    c.folio = renamed.try_emplace(c.folio, unsigned(renamed.size() + 1)).first->second;
  }
}

}  // namespace

void canonicalize(Observation& obs) {
  std::stable_sort(obs.pages.begin(), obs.pages.end(), [](const PageObs& a, const PageObs& b) {
    return std::tie(a.pid, a.vpn) < std::tie(b.pid, b.vpn);
  });
  for (FrameClass& c : obs.frames) std::sort(c.pages.begin(), c.pages.end());
  std::stable_sort(obs.frames.begin(), obs.frames.end(), frame_class_less);
  relabel_folios(obs.frames);
  for (SwapClass& c : obs.swap) std::sort(c.pages.begin(), c.pages.end());
  std::sort(obs.swap.begin(), obs.swap.end(),
            [](const SwapClass& a, const SwapClass& b) { return a.pages < b.pages; });
}

}  // namespace ops
