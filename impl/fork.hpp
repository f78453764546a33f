#pragma once
// Process creation and teardown.

#include "impl/kernel.hpp"

namespace impl {

MmStruct* mm_alloc(Kernel& k, Pid pid);
ops::Result do_fork(Kernel& k, MmStruct* parent);  // caller holds parent's mmap_lock
void exit_mmap(Kernel& k, MmStruct* mm);

}  // namespace impl
