#include "impl/mmap.hpp"

#include "impl/memory.hpp"
#include "impl/pgtable.hpp"
#include "impl/vma.hpp"

namespace impl {
namespace {

using ops::Errno;
using ops::Result;

uint32_t prot_flags(ops::Prot prot) {
  uint32_t f = 0;
  if (prot & ops::prot_read) f |= VM_READ;
  if (prot & ops::prot_write) f |= VM_WRITE;
  if (prot & ops::prot_exec) f |= VM_EXEC;
  return f;
}

AddressSpace* new_shmem(Kernel& k, uint64_t pages) {
  AddressSpace* s = k.spaces.alloc();
  s->i_mmap_rwsem.id = lock_id(LockClass::i_mmap_rwsem, s->id);
  s->object = k.next_shmem++;
  s->shmem = true;
  s->size = pages;
  return s;
}

}  // namespace

bool in_address_space(const Kernel& k, Vpn vpn, uint64_t pages) {
  return vpn <= k.limits.address_space && pages <= k.limits.address_space - vpn;
}

uint64_t mapped_pages(const MmStruct* mm) {
  uint64_t n = 0;
  for (const auto& [start, vma] : mm->mm_mt) n += vma->pages();
  return n;
}

uint64_t mapped_pages_in(MmStruct* mm, Vpn start, Vpn end) {
  uint64_t n = 0;
  for (const auto& [s, vma] : mm->mm_mt)
    if (vma->start < end && vma->end > start) n += std::min(vma->end, end) - std::max(vma->start, start);
  return n;
}

void unmap_range(Kernel& k, MmStruct* mm, Vpn start, Vpn end) {
  if (Vma* first = find_vma(mm, start); first && first->start < start) split_vma(k, first, start, true);
  if (Vma* last = find_vma(mm, end - 1); last && last->end > end) split_vma(k, last, end, false);
  std::vector<Vma*> doomed;
  for (auto it = mm->mm_mt.lower_bound(start); it != mm->mm_mt.end() && it->first < end; ++it)
    doomed.push_back(it->second);
  for (Vma* vma : doomed) {
    zap_page_range(k, vma, vma->start, vma->end);
    vma_remove(k, vma);
  }
  free_pgtables(mm, start, end);
}

Result do_mmap(Kernel& k, MmStruct* mm, const ops::Mmap& op) {
  bool file = op.backing == ops::Backing::file;
  if (file && op.file >= k.limits.files) return Result::fail(Errno::ebadf);
  if (op.pages == 0) return Result::fail(Errno::einval);
  if (!in_address_space(k, op.vpn, op.pages)) return Result::fail(Errno::enomem);
  const Vpn end = op.vpn + op.pages;
  if (mapped_pages(mm) - mapped_pages_in(mm, op.vpn, end) + op.pages > k.limits.max_pages)
    return Result::fail(Errno::enomem);
  uint32_t flags = prot_flags(op.prot) | VM_MAYWRITE;
  if (op.shared) flags |= VM_SHARED;
  if (op.locked) flags |= VM_LOCKED;
  // accountable_mapping: private writable memory is charged, and marked so.
  if (!op.shared && (op.prot & ops::prot_write)) flags |= VM_ACCOUNT;
  AddressSpace* mapping = file ? k.files[op.file] : op.shared ? new_shmem(k, op.pages) : nullptr;
  // Anon VMAs take their linear page index from the address they are created at.
  uint64_t pgoff = file ? op.pgoff : op.shared ? 0 : op.vpn;
  unmap_range(k, mm, op.vpn, end);
  if (!vma_merge_new_range(k, mm, op.vpn, end, pgoff, flags, mapping))
    vma_link(k, vma_create(k, mm, op.vpn, end, pgoff, flags, mapping));
  if (op.populate || op.locked) populate_range(k, mm, op.vpn, end, false);
  return Result::ok();
}

Result do_munmap(Kernel& k, MmStruct* mm, const ops::Munmap& op) {
  if (op.pages == 0 || !in_address_space(k, op.vpn, op.pages)) return Result::fail(Errno::einval);
  unmap_range(k, mm, op.vpn, op.vpn + op.pages);
  return Result::ok();
}

}  // namespace impl
