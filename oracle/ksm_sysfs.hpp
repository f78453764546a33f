#pragma once
// KSM through /sys/kernel/mm/ksm, for `rmapcheck oracle --ksm` only: it changes a
// system setting (ksmd runs, scanning every mergeable area of the machine). run_ksm()
// starts ksmd at full speed, waits until two more full scans change nothing, and
// stops it again; the settings it changed are put back, also on Ctrl-C.

#include "ops/types.hpp"

namespace oracle {

ops::Result run_ksm();

}  // namespace oracle
