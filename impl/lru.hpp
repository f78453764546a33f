#pragma once
// The LRU lists of the one memory node (mm/swap.c, mm/vmscan.c's lruvec): inactive and
// active lists for anon (swap-backed: anon and shmem) and file memory, and the
// unevictable list for mlocked folios. Every folio in use is on exactly one list; the
// head is the newest end, reclaim takes from the tail.

#include <string>
#include <vector>

#include "impl/mm_types.hpp"

namespace impl {

class Kernel;

struct LruVec {
  // Held for every change of the lists: add, removal, move (isolation and putback).
  Lock lru_lock{LockClass::lru_lock};
  Folio* head[nr_lru_lists] = {};
  Folio* tail[nr_lru_lists] = {};
  uint64_t nr[nr_lru_lists] = {};
};

// The evictable list a folio belongs on: anon or file, active or not.
LruList folio_lru_list(const Folio* folio, bool active);

// A new folio joins the inactive list of its kind, or the unevictable one when mlocked.
void folio_add_lru(Kernel& k, Folio* folio);
// Taken off whatever list it is on (when it is freed).
void folio_del_lru(Kernel& k, Folio* folio);
// Moved to the head of `list` (or its tail).
void lru_move(Kernel& k, Folio* folio, LruList list, bool to_tail = false);

// To the active list of its kind (unless unevictable); to the inactive tail (MADV_COLD).
void folio_activate(Kernel& k, Folio* folio);
void folio_deactivate(Kernel& k, Folio* folio);

// mlock accounting, from the rmap: one more / one fewer mapping from a VM_LOCKED VMA.
// The first makes the folio unevictable, the last puts it back on an evictable list.
void mlock_folio(Kernel& k, Folio* folio);
void munlock_folio(Kernel& k, Folio* folio);

// The folios on `list`, tail (oldest) first.
std::vector<Folio*> lru_folios_oldest_first(const Kernel& k, LruList list);

// LRU invariants: links, counts, and that every in-use folio is on the list its state
// calls for. Appends one line per problem.
void check_lru(Kernel& k, std::vector<std::string>& out);

}  // namespace impl
