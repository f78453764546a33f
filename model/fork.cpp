// fork and exit. fork copies page tables only for VMAs with an anon_vma (others fault
// afresh in the child), shares private anon pages copy-on-write, and hands the child
// its own copy of exclusive pages in pinned folios, as the kernel does so that a pin
// keeps seeing what the parent writes.

#include "model/state.hpp"

namespace model {
namespace {

using ops::Errno;
using ops::Result;

std::optional<Pid> lowest_unused_pid(const State& s) {
  for (Pid pid = 1; pid <= s.limits.max_processes; ++pid)
    if (!s.procs.count(pid)) return pid;
  return std::nullopt;
}

bool copied_eagerly(const State& s, const Pte& pte) {
  if (pte.kind != Pte::Kind::present) return false;
  const Frame& f = s.frames.at(pte.frame);
  return f.kind == ops::FrameKind::anon && f.exclusive && folio_pinned(s, pte.frame);
}

Pte copy_pte(State& s, Pid parent, Vpn vpn, const Pte& pte) {
  if (pte.kind != Pte::Kind::present) return pte;
  Frame& f = s.frames.at(pte.frame);
  if (f.kind == ops::FrameKind::file) return Pte{Pte::Kind::present, pte.frame, 0, false};
  if (!copied_eagerly(s, pte)) {
    f.exclusive = false;
    return pte;
  }
  if (pte.pmd) split_pmd(s, parent, vpn);
  FrameId copy = s.alloc_frame(ops::FrameKind::anon, f.value);
  s.frames.at(copy).exclusive = true;
  return Pte{Pte::Kind::present, copy, 0, false};
}

}  // namespace

Result do_fork(State& s, const ops::Fork& op) {
  Process* parent = s.proc(op.pid);
  if (!parent) return Result::fail(Errno::esrch);
  auto child_pid = lowest_unused_pid(s);
  if (!child_pid) return Result::fail(Errno::eagain);
  uint64_t copies = 0;
  for (const auto& [vpn, page] : parent->pages)
    if (!page.attrs.dontfork && !page.attrs.wipeonfork && page.pte && copied_eagerly(s, *page.pte))
      ++copies;
  if (s.no_free_frames(copies)) return Result::fail(Errno::enomem);  // after direct reclaim

  // The child's VMAs are the parent's, one for one (no merging, even where dropping
  // VM_LOCKED leaves two alike). A VMA with an anon_vma gets one of its own, linked to
  // the parent's: a fork child's. VM_WIPEONFORK starts the child's afresh, with none.
  Process child;
  uint64_t parent_vma = 0, child_vma = 0, child_anon = 0;
  for (auto& [vpn, page] : parent->pages) {
    if (page.attrs.dontfork) continue;
    if (page.attrs.vma != parent_vma) {
      parent_vma = page.attrs.vma;
      child_vma = new_vma(s);
      child_anon = page.attrs.anon_vma && !page.attrs.wipeonfork ? s.next_anon_vma++ : 0;
    }
    Page& c = child.pages[vpn];
    c.attrs = page.attrs;
    c.attrs.locked = false;  // mlock is not inherited
    c.attrs.vma = child_vma;
    c.attrs.anon_vma = child_anon;
    c.attrs.fork_child = child_anon != 0;
    if (page.attrs.wipeonfork) continue;
    if (page.attrs.anon_vma && page.pte) c.pte = copy_pte(s, op.pid, vpn, *page.pte);
  }
  s.procs[*child_pid] = std::move(child);
  if (std::count(s.ksm_scan_order.begin(), s.ksm_scan_order.end(), op.pid)) ksm_enter(s, *child_pid);  // ksm_fork
  return Result::of(*child_pid);
}

Result do_exit(State& s, const ops::Exit& op) {
  if (!s.procs.erase(op.pid)) return Result::fail(Errno::esrch);
  std::erase(s.ksm_scan_order, op.pid);  // ksm_exit
  return Result::ok();
}

}  // namespace model
