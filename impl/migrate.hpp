#pragma once
// Page migration (mm/migrate.c): move_pages(2) of one page. The folio's PTEs become
// migration entries (try_to_migrate), its content and state move to a new folio, and
// the entries are turned back into PTEs of the new one (remove_migration_ptes).

#include "impl/kernel.hpp"

namespace impl {

// EFAULT without a VMA, ENOENT without a present page (the zero page included), EBUSY
// for a pinned folio, ENOMEM without a free frame for the new folio.
ops::Result do_migrate(Kernel& k, MmStruct* mm, Vpn vpn);

}  // namespace impl
