// The model's Observation, computed by scanning every process and page.

#include <map>

#include "model/state.hpp"

namespace model {
namespace {

ops::VmaAttrs observed_attrs(const Attrs& a) {
  ops::VmaAttrs o;
  o.prot = a.prot;
  o.shared = a.shared;
  o.kind = a.backing == Backing::anon ? ops::MapKind::anon
           : a.backing == Backing::file ? ops::MapKind::file
                                        : ops::MapKind::shmem;
  o.file = a.backing == Backing::file ? a.object : 0;
  o.pgoff = a.backing == Backing::anon ? 0 : a.pgoff;
  o.locked = a.locked;
  o.dontfork = a.dontfork;
  o.wipeonfork = a.wipeonfork;
  o.mergeable = a.mergeable;
  o.hugepage = a.hugepage;
  return o;
}

ops::PteState observed_state(const std::optional<Pte>& pte) {
  if (!pte) return ops::PteState::none;
  switch (pte->kind) {
    case Pte::Kind::present: return ops::PteState::present;
    case Pte::Kind::zero: return ops::PteState::zero;
    case Pte::Kind::swap: return ops::PteState::swapped;
  }
  return ops::PteState::none;
}

}  // namespace

ops::Observation observe(const State& s) {
  ops::Observation obs;
  std::map<FrameId, ops::FrameClass> by_frame;
  std::map<SlotId, ops::SwapClass> by_slot;
  for (const auto& [pid, proc] : s.procs)
    for (const auto& [vpn, page] : proc.pages) {
      obs.pages.push_back({pid, vpn, observed_attrs(page.attrs), observed_state(page.pte)});
      if (!page.pte) continue;
      if (page.pte->kind == Pte::Kind::swap) by_slot[page.pte->slot].pages.emplace_back(pid, vpn);
      if (page.pte->kind != Pte::Kind::present) continue;
      ops::FrameClass& c = by_frame[page.pte->frame];
      c.pages.emplace_back(pid, vpn);
      c.pmd_mapped |= page.pte->pmd;
      c.mlocked |= page.attrs.locked;
    }
  for (auto& [id, c] : by_frame) {
    const Frame& f = s.frames.at(id);
    c.kind = f.kind;
    c.value = f.value;
    c.mapcount = static_cast<unsigned>(c.pages.size());
    c.folio = static_cast<unsigned>(f.folio);
    for (const auto& [pin_id, pin] : s.pins) c.pins += pin.frame == id;
    obs.frames.push_back(std::move(c));
  }
  for (auto& [slot, c] : by_slot) obs.swap.push_back(std::move(c));
  ops::canonicalize(obs);
  return obs;
}

}  // namespace model
