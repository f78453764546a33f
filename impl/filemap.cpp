// write(2) and ftruncate(2) on files: the page cache, and truncation, which unmaps
// every page past the new end from every VMA of the file, COWed private copies too.

#include "impl/filemap.hpp"

#include "impl/folio.hpp"
#include "impl/memory.hpp"

namespace impl {

using ops::Errno;
using ops::Result;

Result file_write(Kernel& k, const ops::Fwrite& op) {
  if (op.file >= k.limits.files) return Result::fail(Errno::ebadf);
  if (op.pgoff >= k.limits.max_file_pages) return Result::fail(Errno::efbig);
  AddressSpace* mapping = k.files[op.file];
  Folio* folio = filemap_get_folio(k, mapping, op.pgoff);
  if (!folio) return Result::fail(Errno::enomem);
  k.page(folio->pfn).value = op.value;
  folio->dirty = true;
  mapping->size = std::max(mapping->size, op.pgoff + 1);
  return Result::ok();
}

// unmap_mapping_range(..., even_cows): zaps the file's pages from pgoff on in every VMA.
static void unmap_mapping_from(Kernel& k, AddressSpace* mapping, uint64_t pgoff) {
  LockGuard g(k.locks, mapping->i_mmap_rwsem, LockMode::read);
  std::vector<Vma*> hits;
  mapping->i_mmap.for_each_overlap(pgoff, UINT64_MAX, [&](Vma& vma) { hits.push_back(&vma); });
  for (Vma* vma : hits) {
    Vpn from = vma->pgoff >= pgoff ? vma->start : vma->vpn_of(pgoff);
    zap_page_range(k, vma, from, vma->end);
  }
}

Result file_truncate(Kernel& k, const ops::Ftruncate& op) {
  if (op.file >= k.limits.files) return Result::fail(Errno::ebadf);
  if (op.pages > k.limits.max_file_pages) return Result::fail(Errno::efbig);
  AddressSpace* mapping = k.files[op.file];
  if (op.pages < mapping->size) unmap_mapping_from(k, mapping, op.pages);
  while (!mapping->i_pages.empty() && std::prev(mapping->i_pages.end())->first >= op.pages)
    filemap_remove_folio(k, std::prev(mapping->i_pages.end())->second);
  mapping->disk.erase(mapping->disk.lower_bound(op.pages), mapping->disk.end());
  mapping->size = op.pages;
  return Result::ok();
}

}  // namespace impl
