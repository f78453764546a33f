// mmap, munmap, mprotect, mlock and munlock: edits of the page -> attributes map.
// Each edit is made on a copy of the address space and committed only if the result
// stays within the VMA count and size limits, so a failing op changes nothing.

#include "model/state.hpp"

namespace model {
namespace {

using ops::Errno;
using ops::Result;

bool in_address_space(const State& s, Vpn vpn, uint64_t pages) {
  return vpn <= s.limits.address_space && pages <= s.limits.address_space - vpn;
}

// mprotect, mlock and munlock: every VMA's part of [start, end) gets `edit`, up to the
// first hole. Returns ENOMEM if there was a hole: like the kernel, the VMAs before it
// stay edited.
Result edit_until_hole(State& s, Process& proc, Vpn start, Vpn end, const std::function<void(Attrs&)>& edit) {
  return modify_vmas(s, proc, start, end, edit) ? Result::ok() : Result::fail(Errno::enomem);
}

// VM_ACCOUNT at mmap (accountable_mapping): private and writable.
bool accountable(const ops::Mmap& op) { return !op.shared && (op.prot & ops::prot_write); }

}  // namespace

Result do_mmap(State& s, const ops::Mmap& op) {
  Process* proc = s.proc(op.pid);
  if (!proc) return Result::fail(Errno::esrch);
  bool file = op.backing == ops::Backing::file;
  if (file && op.file >= s.limits.files) return Result::fail(Errno::ebadf);
  if (op.pages == 0) return Result::fail(Errno::einval);
  if (!in_address_space(s, op.vpn, op.pages)) return Result::fail(Errno::enomem);

  Attrs a;
  a.prot = op.prot;
  a.shared = op.shared;
  a.backing = file ? Backing::file : op.shared ? Backing::shmem : Backing::anon;
  a.object = file ? op.file : a.backing == Backing::shmem ? s.next_shmem : 0;
  a.locked = op.locked;
  a.account = accountable(op);
  a.vma = new_vma(s);
  // Anon VMAs take their linear page index from the address they were created at.
  uint64_t pgoff = file ? op.pgoff : a.backing == Backing::shmem ? 0 : op.vpn;
  Process next = *proc;
  unmap_range(s, next, op.vpn, op.vpn + op.pages);
  free_pgtables(s, next);  // the old mappings' tables go before the new VMA is there
  for (uint64_t i = 0; i < op.pages; ++i) {
    a.pgoff = pgoff + i;
    next.pages[op.vpn + i].attrs = a;
  }
  merge_new_range(s, next, op.vpn, op.vpn + op.pages);
  if (!fits_limits(s, next)) return Result::fail(Errno::enomem);
  if (a.backing == Backing::shmem) s.shmem[s.next_shmem++].size = op.pages;
  *proc = std::move(next);
  free_unreachable(s);  // what the new mapping replaced is gone before it is populated
  if (op.populate || op.locked) populate(s, op.pid, op.vpn, op.vpn + op.pages, false);
  return Result::ok();
}

Result do_munmap(State& s, const ops::Munmap& op) {
  Process* proc = s.proc(op.pid);
  if (!proc) return Result::fail(Errno::esrch);
  if (op.pages == 0 || !in_address_space(s, op.vpn, op.pages)) return Result::fail(Errno::einval);
  Process next = *proc;
  unmap_range(s, next, op.vpn, op.vpn + op.pages);
  if (!fits_limits(s, next)) return Result::fail(Errno::enomem);
  *proc = std::move(next);
  return Result::ok();
}

Result do_mprotect(State& s, const ops::Mprotect& op) {
  Process* proc = s.proc(op.pid);
  if (!proc) return Result::fail(Errno::esrch);
  if (op.pages == 0) return Result::ok();
  if (!in_address_space(s, op.vpn, op.pages)) return Result::fail(Errno::enomem);
  Process next = *proc;
  std::vector<Vpn> to_break;
  for (Vpn v = op.vpn; v < op.vpn + op.pages && next.pages.count(v); ++v)  // up to the first hole
    if (const Attrs& a = next.pages.at(v).attrs;
        a.locked && !a.shared && !(a.prot & ops::prot_write) && (op.prot & ops::prot_write))
      to_break.push_back(v);
  Result r = edit_until_hole(s, next, op.vpn, op.vpn + op.pages, [&](Attrs& a) {
    // Made writable, a private mapping is charged (VM_ACCOUNT) unless it already was.
    // Made read-only again, it stays charged, unless it is anon memory no fault has
    // given an anon_vma yet (Linux 6.13+): then nothing can have been committed.
    if ((op.prot & ops::prot_write) && !(a.prot & ops::prot_write) && !a.shared) a.account = true;
    if (!(op.prot & ops::prot_write) && a.backing == Backing::anon && !a.shared && !a.anon_vma) a.account = false;
    a.prot = op.prot;
  });
  if (!fits_limits(s, next)) return Result::fail(Errno::enomem);
  *proc = std::move(next);
  // A locked private VMA made writable gets write faults at once to break COW, so
  // that later writes to locked memory never fault.
  for (Vpn page : to_break) fault(s, op.pid, page, Access::write);
  return r;
}

Result do_mlock(State& s, Pid pid, Vpn vpn, uint64_t pages, bool lock) {
  Process* proc = s.proc(pid);
  if (!proc) return Result::fail(Errno::esrch);
  if (pages == 0) return Result::ok();
  if (!in_address_space(s, vpn, pages)) return Result::fail(Errno::enomem);
  Process next = *proc;
  Result r = edit_until_hole(s, next, vpn, vpn + pages, [&](Attrs& a) { a.locked = lock; });
  if (!fits_limits(s, next)) return Result::fail(Errno::enomem);
  *proc = std::move(next);
  if (!lock || r.kind != Result::Kind::ok) return r;
  // mlock faults the range in; a page it cannot fault fails the call as mlock(2) says.
  Result p = populate(s, pid, vpn, vpn + pages, true);
  if (p.kind == Result::Kind::segv || p.kind == Result::Kind::sigbus) return Result::fail(Errno::enomem);
  if (p.kind == Result::Kind::error && p.err == Errno::enomem) return Result::fail(Errno::eagain);
  return p;
}

}  // namespace model
