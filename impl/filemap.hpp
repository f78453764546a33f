#pragma once
// File writes and truncation through the page cache.

#include "impl/kernel.hpp"

namespace impl {

ops::Result file_write(Kernel& k, const ops::Fwrite& op);
ops::Result file_truncate(Kernel& k, const ops::Ftruncate& op);

}  // namespace impl
