// impl::Kernel: creation, the op dispatcher, and the op filter.

#include "impl/kernel.hpp"

#include <type_traits>
#include <utility>

#include "impl/filemap.hpp"
#include "impl/folio_split.hpp"
#include "impl/fork.hpp"
#include "impl/gup.hpp"
#include "impl/ksm.hpp"
#include "impl/memory.hpp"
#include "impl/migrate.hpp"
#include "impl/mmap.hpp"
#include "impl/pgtable.hpp"
#include "impl/vmscan.hpp"
#include "ops/overloaded.hpp"

namespace impl {
namespace {

using ops::Errno;
using ops::Result;

using ops::overloaded;

AddressSpace* new_file(Kernel& k, unsigned id) {
  AddressSpace* f = k.spaces.alloc();
  f->i_mmap_rwsem.id = lock_id(LockClass::i_mmap_rwsem, f->id);
  f->object = id;
  f->size = k.limits.initial_file_pages;
  for (uint64_t p = 0; p < f->size; ++p) f->disk[p] = ops::file_initial_value(id, p);
  return f;
}

// The access itself, after the fault: the MMU sets the accessed bit, in the PTE or in
// the huge PMD that maps the page.
Pte accessed(MmStruct* mm, Vpn vpn) {
  if (Pmd* pmd = pmd_offset(mm, vpn); pmd_trans_huge(pmd)) pmd->young = true;
  else pte_offset(mm, vpn)->young = true;
  return follow_page(mm, vpn).pte;
}

Result read_at(Kernel& k, MmStruct* mm, Vpn vpn) {
  Result r = handle_mm_fault(k, mm, vpn, FaultKind::read);
  if (r.kind != Result::Kind::ok) return r;
  return Result::of(pte_value(k, accessed(mm, vpn)));
}

Result write_at(Kernel& k, MmStruct* mm, Vpn vpn, uint64_t value) {
  Result r = handle_mm_fault(k, mm, vpn, FaultKind::write);
  if (r.kind != Result::Kind::ok) return r;
  Page& page = k.page(accessed(mm, vpn).pfn);
  page.value = value;
  page.lazyfree = false;
  return r;
}

// Runs `fn(mm)` for a live pid under its mmap_lock; ESRCH otherwise.
template <class Fn>
Result with_mm(Kernel& k, Pid pid, LockMode mode, Fn fn) {
  auto it = k.tasks.find(pid);
  if (it == k.tasks.end()) return Result::fail(Errno::esrch);
  LockGuard g(k.locks, it->second->mmap_lock, mode);
  return fn(it->second);
}

// Runs `fn(mm)` for a live pid, which takes what locks it needs itself; ESRCH otherwise.
template <class Fn>
Result with_task(Kernel& k, Pid pid, Fn fn) {
  auto it = k.tasks.find(pid);
  if (it == k.tasks.end()) return Result::fail(Errno::esrch);
  return fn(it->second);
}

// madvise_need_mmap_write: advice that only looks at pages (zaps them, ages them,
// reads them in) takes the mmap_lock for reading; advice that changes VMA flags, and
// collapse (collapse_huge_page takes it for writing), for writing.
LockMode madvise_lock_mode(ops::Advice advice) {
  using ops::Advice;
  switch (advice) {
    case Advice::dontneed:
    case Advice::free:
    case Advice::cold:
    case Advice::pageout:
    case Advice::willneed:
      return LockMode::read;
    default:
      return LockMode::write;
  }
}

// Ops that name a process run on that process's CPU; the others alternate.
unsigned cpu_of(const ops::Op& op, uint64_t seq) {
  const unsigned cpus = 2;
  return std::visit(
      [&](const auto& o) -> unsigned {
        if constexpr (requires { o.pid; }) return o.pid % cpus;
        else return seq % cpus;
      },
      op);
}

// The first huge page's worth of frames is reserved, as firmware keeps low memory for
// itself; the limits' frames are all usable, so the model and the implementation have
// the same memory, and they start huge-page aligned, so that every aligned block of them
// can become a huge page (the model knows no physical addresses).
PageAllocator::Config page_alloc_config(const ops::Limits& limits, const Bugs& bugs) {
  PageAllocator::Config c;
  c.reserved = limits.hpage_pages();
  c.merge_wrong_buddy = bugs.buddy_merge_wrong_buddy;
  return c;
}

}  // namespace

Kernel::Kernel(const ops::Limits& l, const Bugs& b)
    : limits(l), frames(l.frames, page_alloc_config(l, b)), mem_map(frames.total()), bugs(b) {
  lruvec.lru_lock.id = lock_id(LockClass::lru_lock, 0);
  swap_init(swap, l.swap_slots);
  for (unsigned f = 0; f < limits.files; ++f) files.push_back(new_file(*this, f));
  mm_alloc(*this, 1);
}

Kernel::~Kernel() = default;

bool Kernel::supports(const ops::Op&, const ops::Limits& limits) {
  // Fault-around and a full page cache are model rules for the kernel oracle only.
  return limits.fault_around_pages <= 1 && !limits.file_pages_cached;
}

std::vector<ops::ReclaimFact> Kernel::take_reclaim_facts(unsigned thread) {
  if (thread >= contexts.size()) return {};
  return std::exchange(contexts[thread].reclaim_facts, {});
}

std::vector<ops::HugeFallbackFact> Kernel::take_huge_fallback_facts(unsigned thread) {
  if (thread >= contexts.size()) return {};
  return std::exchange(contexts[thread].huge_fallbacks, {});
}

Result Kernel::apply(const ops::Op& op) {
  Kernel& k = *this;
  OpContext& c = k.ctx();
  c.op_seq = ++k.ops_started;
  c.cpu = cpu_of(op, c.op_seq);
  // The mmap_lock each op takes, as the kernel's syscalls do: for writing where the VMA
  // tree changes (mmap, munmap, mprotect, mremap, mlock, fork, exit), for reading where
  // only pages are faulted or looked at (faults, GUP, page-only madvise, the split of
  // a THP, move_pages' lookup); reclaim and KSM's merging take none of the mms they walk
  // (ksmd takes each one's for reading while it scans it).
  const auto W = LockMode::write, R = LockMode::read;
  return std::visit(
      overloaded{
          [&](const ops::Fork& o) { return with_mm(k, o.pid, W, [&](MmStruct* mm) { return do_fork(k, mm); }); },
          [&](const ops::Exit& o) {
            return with_mm(k, o.pid, W, [&](MmStruct* mm) {
              exit_mmap(k, mm);
              return Result::ok();
            });
          },
          [&](const ops::Mmap& o) { return with_mm(k, o.pid, W, [&](MmStruct* mm) { return do_mmap(k, mm, o); }); },
          [&](const ops::Munmap& o) { return with_mm(k, o.pid, W, [&](MmStruct* mm) { return do_munmap(k, mm, o); }); },
          [&](const ops::Mprotect& o) { return with_mm(k, o.pid, W, [&](MmStruct* mm) { return do_mprotect(k, mm, o); }); },
          [&](const ops::Mremap& o) { return with_mm(k, o.pid, W, [&](MmStruct* mm) { return do_mremap(k, mm, o); }); },
          [&](const ops::Mlock& o) {
            return with_mm(k, o.pid, W, [&](MmStruct* mm) { return do_mlock(k, mm, o.vpn, o.pages, true); });
          },
          [&](const ops::Munlock& o) {
            return with_mm(k, o.pid, W, [&](MmStruct* mm) { return do_mlock(k, mm, o.vpn, o.pages, false); });
          },
          [&](const ops::Madvise& o) {
            return with_mm(k, o.pid, madvise_lock_mode(o.advice), [&](MmStruct* mm) { return do_madvise(k, mm, o); });
          },
          [&](const ops::Read& o) { return with_mm(k, o.pid, R, [&](MmStruct* mm) { return read_at(k, mm, o.vpn); }); },
          [&](const ops::Write& o) {
            return with_mm(k, o.pid, R, [&](MmStruct* mm) { return write_at(k, mm, o.vpn, o.value); });
          },
          [&](const ops::Pin& o) { return with_mm(k, o.pid, R, [&](MmStruct* mm) { return pin_user_page(k, mm, o); }); },
          [&](const ops::ReadPin& o) { return read_pin(k, o.id); },
          [&](const ops::WritePin& o) { return write_pin(k, o.id, o.value); },
          [&](const ops::Unpin& o) { return unpin_user_page(k, o.id); },
          [&](const ops::Fwrite& o) { return file_write(k, o); },
          [&](const ops::Ftruncate& o) { return file_truncate(k, o); },
          [&](const ops::Reclaim& o) {
            shrink_node(k, o.frames);
            return Result::ok();
          },
          // move_pages: the lookup under the mmap_lock for reading, the move without it.
          [&](const ops::Migrate& o) { return with_task(k, o.pid, [&](MmStruct* mm) { return do_migrate(k, mm, o.vpn); }); },
          [&](const ops::Ksm&) { return ksm_run(k); },
          [&](const ops::Split& o) { return with_mm(k, o.pid, R, [&](MmStruct* mm) { return do_split(k, mm, o.vpn); }); },
          [&](const auto&) { return Result::fail(Errno::einval); },  // filtered out by supports()
      },
      op);
}

std::vector<std::pair<Vpn, Vpn>> Kernel::vma_extents(Pid pid) const {
  std::vector<std::pair<Vpn, Vpn>> out;
  vma_extents(pid, out);
  return out;
}

void Kernel::vma_extents(Pid pid, std::vector<std::pair<Vpn, Vpn>>& out) const {
  if (auto it = tasks.find(pid); it != tasks.end())
    for (const auto& [start, vma] : it->second->mm_mt) out.emplace_back(vma->start, vma->end);
}

}  // namespace impl
