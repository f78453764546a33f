#pragma once
// What the oracle must undo however it ends: the real processes it started and the
// KSM settings it changed. Ctrl-C (SIGINT), SIGTERM and SIGHUP kill every registered
// process, restore the settings, and end the program with 128 + the signal. Everything
// here is async-signal-safe: fixed arrays, kill(2), write(2).
//
// Processes also end on their own when the controller dies without cleaning up: a
// worker exits when its socket reads end-of-file. Files are unlinked as soon as they
// are open, so nothing is left on disk either way.

#include <sys/types.h>

namespace oracle {

void register_process(pid_t pid);
void unregister_process(pid_t pid);

// A sysfs file to write `value` back to on an interrupt (at most a few, short).
void register_restore(const char* path, const char* value);
void unregister_restores();

// Installs the handlers, once; later calls do nothing.
void install_interrupt_handlers();

}  // namespace oracle
