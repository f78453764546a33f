// Page faults: the zero page, first touch, COW, swap-in and the page cache. A fault
// leaves (pid, vpn) present (or zero for a read of private anon) so that the caller
// can read or write the frame behind it.

#include "model/state.hpp"

namespace model {
namespace {

using ops::Result;

bool beyond_eof(const State& s, const Attrs& a) {
  if (a.backing == Backing::file) return a.pgoff >= s.files[a.object].size;
  if (a.backing == Backing::shmem) return a.pgoff >= s.shmem.at(a.object).size;
  return false;
}

// THP: an anon fault in an aligned huge range lying wholly in the VMA, with no PTE
// in it yet, gets a large folio (a write) or the huge zero page (a read).
bool thp_eligible(const State& s, Pid pid, Vpn vpn) {
  const Attrs& a = s.procs.at(pid).pages.at(vpn).attrs;
  if (a.backing != Backing::anon || a.shared || a.nohugepage) return false;
  if (!a.hugepage && !s.limits.thp_always) return false;
  Vpn base = vpn & ~(s.hpage() - 1);
  const Process& proc = s.procs.at(pid);
  auto ext = extent_at(proc, vpn);
  if (ext->start > base || ext->end < base + s.hpage() || proc.tables.count(base)) return false;
  for (Vpn v = base; v < base + s.hpage(); ++v)
    if (proc.pages.at(v).pte) return false;
  return true;
}

// A large folio of zeros mapped by a PMD over the aligned range; false when fewer than
// H frames are free.
bool map_huge_folio(State& s, Pid pid, Vpn base) {
  anon_vma_prepare(s, pid, base);
  if (!s.huge_page_available(pid, base)) return false;
  uint64_t folio = s.next_folio++;
  for (uint64_t i = 0; i < s.hpage(); ++i) {
    FrameId id = s.alloc_frame(ops::FrameKind::anon, 0);
    Frame& f = s.frames.at(id);
    f.exclusive = true;
    f.folio = folio;
    f.folio_index = i;
    Page& page = s.procs.at(pid).pages.at(base + i);
    page.pte = Pte{Pte::Kind::present, id, 0, true};
  }
  return true;
}

// The fault prepares the VMA's anon_vma before it allocates (anon_vma_prepare comes
// first in every anon fault path), so the VMA keeps it even when no frame is free.
Result map_small_anon(State& s, Pid pid, Vpn vpn) {
  anon_vma_prepare(s, pid, vpn);
  Page& page = s.procs.at(pid).pages.at(vpn);
  if (s.no_free_frame()) return Result::fail(ops::Errno::enomem);
  FrameId id = s.alloc_frame(ops::FrameKind::anon, 0);
  s.frames.at(id).exclusive = true;
  page.pte = Pte{Pte::Kind::present, id};
  return Result::ok();
}

Result map_anon(State& s, Pid pid, Vpn vpn, bool write) {
  Process& proc = s.procs.at(pid);
  const bool huge = thp_eligible(s, pid, vpn);
  const Vpn base = vpn & ~(s.hpage() - 1);
  if (!write && huge) {  // the huge zero page; the fault prepares the anon_vma first
    anon_vma_prepare(s, pid, base);
    for (Vpn v = base; v < base + s.hpage(); ++v) proc.pages.at(v).pte = Pte{Pte::Kind::zero, 0, 0, true};
    return Result::ok();
  }
  if (!write) {
    proc.pages.at(vpn).pte = Pte{Pte::Kind::zero};
    return Result::ok();
  }
  if (huge && map_huge_folio(s, pid, base)) return Result::ok();
  return map_small_anon(s, pid, vpn);  // no large folio to be had: fall back to a page
}

// The page-cache page of a file or shmem object, read in or allocated on demand, for
// the fault at (pid, vpn).
std::optional<FrameId> cache_page(State& s, Pid pid, Vpn vpn) {
  const Attrs& a = s.procs.at(pid).pages.at(vpn).attrs;
  auto& cache = a.backing == Backing::file ? s.files[a.object].cache : s.shmem.at(a.object).cache;
  if (auto it = cache.find(a.pgoff); it != cache.end()) {
    s.touch(it->second);
    return it->second;
  }
  if (s.no_free_frame()) return std::nullopt;
  FrameId id;
  if (a.backing == Backing::file) {
    const auto& disk = s.files[a.object].disk;
    auto it = disk.find(a.pgoff);
    id = s.alloc_frame(ops::FrameKind::file, it == disk.end() ? 0 : it->second);
  } else {
    Shmem& obj = s.shmem.at(a.object);
    auto sw = obj.swapped.find(a.pgoff);
    id = s.alloc_frame(ops::FrameKind::shmem, sw == obj.swapped.end() ? 0 : s.slots.at(sw->second));
    // Read back from swap it is dirty: its slot is gone, memory holds the only copy.
    s.frames.at(id).dirty = sw != obj.swapped.end();
    if (sw != obj.swapped.end()) obj.swapped.erase(sw);
  }
  cache[a.pgoff] = id;
  return id;
}

Result swap_in(State& s, Pid pid, Vpn vpn) {
  Page& page = s.procs.at(pid).pages.at(vpn);
  SlotId slot = page.pte->slot;
  std::optional<FrameId> cached;
  for (const auto& [id, f] : s.frames)
    if (f.swapcache == slot) cached = id;
  // A KSM frame's slot is named by processes that need not be related: while one of
  // them maps the swap-cache frame, the others get copies (ksm_might_need_to_copy).
  if (cached && s.ksm_slots.count(slot) && !mappers(s, *cached).empty()) {
    if (s.no_free_frame()) return Result::fail(ops::Errno::enomem);
    FrameId copy = s.alloc_frame(ops::FrameKind::anon, s.slots.at(slot));
    s.frames.at(copy).exclusive = true;
    page.pte = Pte{Pte::Kind::present, copy};
    return Result::ok();
  }
  if (!cached) {  // read the slot into the swap cache
    if (s.no_free_frame()) return Result::fail(ops::Errno::enomem);
    cached = s.alloc_frame(ops::FrameKind::anon, s.slots.at(slot));
    s.frames.at(*cached).swapcache = slot;
  }
  Frame& f = s.frames.at(*cached);
  f.exclusive = !slot_referenced_elsewhere(s, slot, pid, vpn) && mappers(s, *cached).empty();
  page.pte = Pte{Pte::Kind::present, *cached};
  return Result::ok();
}

bool can_reuse(const State& s, Pid pid, Vpn vpn, FrameId id) {
  const Frame& f = s.frames.at(id);
  if (f.kind == ops::FrameKind::ksm) return false;
  if (f.exclusive) return true;
  // A large folio down to its last mapped page is not reused: the write copies that
  // page so the folio can go (Linux 6.15+, __wp_can_reuse_large_anon_folio).
  if (f.folio) {
    size_t mappings = 0;
    for (FrameId member : folio_frames(s, id)) mappings += mappers(s, member).size();
    if (mappings <= 1) return false;
  }
  for (FrameId member : folio_frames(s, id)) {
    const Frame& m = s.frames.at(member);
    if (m.swapcache && slot_referenced_elsewhere(s, *m.swapcache, pid, vpn)) return false;
    if (frame_pinned(s, member)) return false;
    for (auto [p, v] : mappers(s, member))
      if (f.folio ? p != pid : (p != pid || v != vpn)) return false;
  }
  return true;
}

Result cow(State& s, Pid pid, Vpn vpn) {
  anon_vma_prepare(s, pid, vpn);
  Page& page = s.procs.at(pid).pages.at(vpn);
  // COW of a PMD-mapped folio copies one page: the PMD is split first, and stays split
  // when no frame can be had for the copy (do_huge_pmd_wp_page falls back to the PTE).
  if (page.pte->pmd) split_pmd(s, pid, vpn);
  if (s.no_free_frame()) return Result::fail(ops::Errno::enomem);
  uint64_t value = page.pte->kind == Pte::Kind::zero ? 0 : s.frames.at(page.pte->frame).value;
  FrameId id = s.alloc_frame(ops::FrameKind::anon, value);
  s.frames.at(id).exclusive = true;
  page.pte = Pte{Pte::Kind::present, id};
  return Result::ok();
}

// A write fault on an unmapped page of a private file mapping (do_cow_fault): the
// private copy is allocated first, then the page-cache page read; if either finds no
// frame, nothing is mapped and the copy is given back.
Result cow_fault(State& s, Pid pid, Vpn vpn) {
  anon_vma_prepare(s, pid, vpn);
  Page& page = s.procs.at(pid).pages.at(vpn);
  const auto& cache = s.files[page.attrs.object].cache;
  // Reclaim on the way may take the page-cache page itself: then both are needed.
  for (uint64_t need = 0; need != (cache.count(page.attrs.pgoff) ? 1u : 2u);) {
    need = cache.count(page.attrs.pgoff) ? 1 : 2;
    if (s.no_free_frames(need)) return Result::fail(ops::Errno::enomem);
  }
  const FrameId frame = *cache_page(s, pid, vpn);
  FrameId copy = s.alloc_frame(ops::FrameKind::anon, s.frames.at(frame).value);
  s.frames.at(copy).exclusive = true;
  page.pte = Pte{Pte::Kind::present, copy};
  return Result::ok();
}

Result first_touch(State& s, Pid pid, Vpn vpn, Access access) {
  Page& page = s.procs.at(pid).pages.at(vpn);
  const Attrs a = page.attrs;
  if (a.backing == Backing::anon && !a.shared) return map_anon(s, pid, vpn, access == Access::write);
  if (a.backing == Backing::file && !a.shared && access == Access::write) return cow_fault(s, pid, vpn);
  auto frame = cache_page(s, pid, vpn);
  if (!frame) return Result::fail(ops::Errno::enomem);
  page.pte = Pte{Pte::Kind::present, *frame};
  if (access != Access::write) fault_around(s, pid, vpn);
  return Result::ok();
}

// A write or unshare fault on a private mapping whose PTE is present or zero.
Result break_cow(State& s, Pid pid, Vpn vpn, Access access) {
  const Pte pte = *s.procs.at(pid).pages.at(vpn).pte;
  if (pte.kind == Pte::Kind::zero && pte.pmd) {
    // A write to the huge zero page gets a PMD-mapped large folio (Linux 6.13+), or,
    // without H free frames, the PMD is split and one page is allocated.
    if (map_huge_folio(s, pid, vpn & ~(s.hpage() - 1))) return Result::ok();
    split_pmd(s, pid, vpn);
  }
  if (pte.kind == Pte::Kind::zero) return cow(s, pid, vpn);
  Frame& f = s.frames.at(pte.frame);
  if (f.kind == ops::FrameKind::file) return cow(s, pid, vpn);
  if (access == Access::unshare && f.exclusive) return Result::ok();
  if (!can_reuse(s, pid, vpn, pte.frame)) return cow(s, pid, vpn);
  f.exclusive = true;
  // A PMD mapping is exclusive as a whole (its head page's PageAnonExclusive speaks for
  // it): reusing it in place makes every page of it exclusive, as do_huge_pmd_wp_page does.
  if (pte.pmd)
    for (Vpn v = vpn & ~(s.hpage() - 1), end = v + s.hpage(); v < end; ++v)
      s.frames.at(s.procs.at(pid).pages.at(v).pte->frame).exclusive = true;
  return Result::ok();
}

}  // namespace

Result fault(State& s, Pid pid, Vpn vpn, Access access) {
  if (!s.proc(pid)) return Result::fail(ops::Errno::esrch);
  Page* page = s.page(pid, vpn);
  if (!page || !s.limits.readable(page->attrs.prot)) return Result::segv();
  if (access == Access::write && !(page->attrs.prot & ops::prot_write)) return Result::segv();
  if (!page->pte && beyond_eof(s, page->attrs)) {
    // Fault-around comes before the page is looked up: the neighbours inside the file
    // are mapped even though this page is past its end.
    if (access != Access::write) fault_around(s, pid, vpn);
    // A write to a private file mapping (do_cow_fault) prepares the anon_vma before it
    // finds the page past EOF: the VMA keeps it, and fork then copies its page tables.
    if (access == Access::write && !page->attrs.shared && page->attrs.backing == Backing::file)
      anon_vma_prepare(s, pid, vpn);
    return Result::sigbus();
  }
  if (page->pte && page->pte->pmd) split_pmd_if_broken(s, pid, vpn);
  if (auto found = frame_held_by_fault(s, {pid, vpn})) s.touch(*found);
  Result r = Result::ok();
  if (!page->pte) r = first_touch(s, pid, vpn, access);
  else if (page->pte->kind == Pte::Kind::swap) r = swap_in(s, pid, vpn);
  if (r.kind == Result::Kind::ok && access != Access::read && !page->attrs.shared) r = break_cow(s, pid, vpn, access);
  if (auto mapped = frame_held_by_fault(s, {pid, vpn})) s.touch(*mapped);
  return r;
}

Result populate(State& s, Pid pid, Vpn start, Vpn end, bool stop_on_error) {
  for (const Extent& e : extents(s.procs.at(pid))) {
    Vpn from = std::max(e.start, start), to = std::min(e.end, end);
    if (from >= to) continue;
    const Attrs& a = s.procs.at(pid).pages.at(from).attrs;
    // GUP cannot fault a PROT_NONE VMA in (no FOLL_FORCE there), nor execute-only
    // memory (the pkey denies the read): mlock(2) fails on it.
    if (!s.limits.readable(a.prot) && stop_on_error) return Result::segv();
    if (!s.limits.readable(a.prot)) continue;
    // Writable private mappings are populated with write faults, to break COW.
    Access access = (a.prot & ops::prot_write) && !a.shared ? Access::write : Access::read;
    for (Vpn v = from; v < to; ++v) {
      Result r = fault(s, pid, v, access);
      if (r.kind == Result::Kind::ok) continue;
      if (stop_on_error) return r;
      break;  // MAP_POPULATE: give up on this VMA, go on with the next
    }
  }
  return Result::ok();
}

}  // namespace model
