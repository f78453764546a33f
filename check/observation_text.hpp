#pragma once
// Observations as people read them: `rmapcheck replay --observe` prints one, and every
// line of a finding names pages and classes in the same notation, so a class copied out
// of a finding can be searched for in the printed observation.
//
//   process 1
//     0x100-0x103 anon private rw           present present zero none
//     0x104       file:0@4 shared r locked  present
//     0x200-0x2ff anon private rw hugepage  present×8 none×248
//   frames
//     {(1,0x100)}            anon value 0 mapcount 1 pmd folio#1 mlocked pins 1
//     {(1,0x101),(2,0x101)}  anon value 7 mapcount 2
//   swap
//     {(2,0x102),(3,0x102)}
//
// A page line is a maximal run of consecutive vpns of one process whose VMA attributes
// continue each other (equal, with the file offset advancing by one page per vpn for
// file and shmem); the offset printed is the first page's. The states of the run follow
// in vpn order: once if all are equal, otherwise run by run, a run of three or more
// written "state×N".

#include <string>
#include <string_view>
#include <vector>

#include "ops/observation.hpp"

namespace check {

// "(1,0x101)"
std::string page_key_text(ops::PageKey key);

// "{(1,0x101),(2,0x101)}", pages in the order given.
std::string class_text(const std::vector<ops::PageKey>& pages);

// "none", "zero", "present", "swapped".
std::string_view pte_state_name(ops::PteState state);

// "anon", "file", "shmem", "ksm".
std::string_view frame_kind_name(ops::FrameKind kind);

// What backs a page, without its offset: "anon", "file:0", "shmem".
std::string backing_text(const ops::VmaAttrs& attrs);

// "anon private rw", "file:0@4 shared r locked", "shmem@2 shared rw": the backing with
// this page's offset (file and shmem), private/shared, prot, then the flags that are set
// (locked dontfork wipeonfork mergeable hugepage).
std::string vma_attrs_text(const ops::VmaAttrs& attrs);

// "anon value 7 mapcount 2 pmd folio#1 mlocked pins 1": the class's attributes, optional
// ones only when set. Folio labels are those of the observation as given.
std::string frame_attrs_text(const ops::FrameClass& frame);

// The whole observation in the layout above, canonicalized first (so folio labels count
// from 1 in order of first class). Sections with nothing in them are left out; an
// observation with nothing at all reads "no mapped pages". Every line ends in '\n'.
std::string observation_text(const ops::Observation& obs);

}  // namespace check
