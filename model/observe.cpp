// The model's Observation, computed by scanning every process and page.

#include "model/state.hpp"
#include "ops/observation_writer.hpp"

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
  o.nohugepage = a.nohugepage;
  o.account = a.account;
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

void observe(const State& s, ops::Observation& out, ops::ObservationScratch& scratch) {
  ops::ObservationWriter w(out, scratch);
  for (const auto& [pid, proc] : s.procs) {
    for (const Extent& e : extents(proc)) {
      const Attrs& a = proc.pages.at(e.start).attrs;
      w.vma({pid, e.start, e.end, a.anon_vma != 0, a.anon_vma != 0 && a.fork_child});
    }
    for (const auto& [vpn, page] : proc.pages) {
      w.page(pid, vpn, observed_attrs(page.attrs), observed_state(page.pte));
      if (!page.pte) continue;
      if (page.pte->kind == Pte::Kind::swap) w.swap(page.pte->slot, {pid, vpn});
      if (page.pte->kind != Pte::Kind::present) continue;
      bool fresh = false;
      ops::FrameClass& c = w.map(page.pte->frame, {pid, vpn}, fresh);
      if (fresh) {
        const Frame& f = s.frames.at(page.pte->frame);
        c.kind = f.kind;
        c.value = f.value;
        c.folio = f.folio ? w.folio_label(f.folio) : 0;
        for (const auto& [pin_id, pin] : s.pins) c.pins += pin.frame == page.pte->frame;
      }
      ++c.mapcount;
      c.pmd_mapped |= page.pte->pmd;
      c.mlocked |= page.attrs.locked;
    }
  }
  w.finish();
}

}  // namespace model
