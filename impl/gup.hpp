#pragma once
// Pins, as a device driver takes and uses them.

#include "impl/kernel.hpp"

namespace impl {

ops::Result pin_user_page(Kernel& k, MmStruct* mm, const ops::Pin& op);
ops::Result read_pin(Kernel& k, ops::PinId id);
ops::Result write_pin(Kernel& k, ops::PinId id, uint64_t value);
ops::Result unpin_user_page(Kernel& k, ops::PinId id);

}  // namespace impl
