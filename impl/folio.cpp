#include "impl/folio.hpp"

#include <stdexcept>

#include <fmt/format.h>

namespace impl {

Folio* folio_alloc(Kernel& k, unsigned order) {
  auto pfn = k.frames.alloc(order);
  if (!pfn) return nullptr;
  Folio* folio = k.folios.alloc();
  folio->pfn = *pfn;
  folio->order = order;
  folio->refcount = 1;
  for (pfn_t p = *pfn; p < *pfn + folio->nr_pages(); ++p) k.mem_map[p] = Page{folio, -1, false, 0};
  return folio;
}

void folio_get(Folio* folio, int refs) { folio->refcount += refs; }

void folio_put(Kernel& k, Folio* folio, int refs) {
  if (folio->freed) throw std::logic_error(fmt::format("folio {} put after it was freed", folio->id));
  folio->refcount -= refs;
  if (folio->refcount > 0) return;
  if (folio->refcount < 0) throw std::logic_error(fmt::format("folio {} refcount went negative", folio->id));
  for (pfn_t p = folio->pfn; p < folio->pfn + folio->nr_pages(); ++p) k.mem_map[p] = Page{};
  k.frames.free(folio->pfn, folio->order);
  k.folios.free(folio);
}

Folio* pfn_folio(Kernel& k, pfn_t pfn) { return k.mem_map.at(pfn).folio; }

int folio_mapcount(Kernel& k, const Folio* folio) {
  int n = 0;
  for (pfn_t p = folio->pfn; p < folio->pfn + folio->nr_pages(); ++p) n += page_mapcount(k.mem_map[p]);
  return n;
}

Folio* filemap_get_folio(Kernel& k, AddressSpace* mapping, uint64_t pgoff) {
  if (auto it = mapping->i_pages.find(pgoff); it != mapping->i_pages.end()) return it->second;
  Folio* folio = folio_alloc(k, 0);
  if (!folio) return nullptr;
  auto disk = mapping->disk.find(pgoff);
  k.mem_map[folio->pfn].value = disk == mapping->disk.end() ? 0 : disk->second;
  folio->mapping = mapping;
  folio->index = pgoff;
  mapping->i_pages[pgoff] = folio;  // the allocation reference becomes the page cache's
  return folio;
}

void filemap_remove_folio(Kernel& k, Folio* folio) {
  AddressSpace* mapping = folio->mapping;
  mapping->i_pages.erase(folio->index);
  folio->mapping = nullptr;
  folio_put(k, folio, static_cast<int>(folio->nr_pages()));
}

}  // namespace impl
