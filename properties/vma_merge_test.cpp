// VMA merge and split cases, in the style of the kernel's tools/testing/vma: each case
// builds a layout, applies one op, and states the exact layout and anon_vma identity.

#include <gtest/gtest.h>

#include "impl_world.hpp"

using impl_world::World;

TEST(VmaMerge, MmapNextToACompatibleAnonVma_ExtendsIt) {
  World w;
  w.run("mmap 1 0x100 4 anon private rw\n");
  w.run("mmap 1 0x104 4 anon private rw\n");
  EXPECT_EQ(w.layout(1), "[0x100,0x108)");
}

TEST(VmaMerge, MmapWithOtherProtection_StaysApart) {
  World w;
  w.run("mmap 1 0x100 4 anon private rw\nmmap 1 0x104 4 anon private r\n");
  EXPECT_EQ(w.layout(1), "[0x100,0x104) [0x104,0x108)");
}

TEST(VmaMerge, MprotectOfTheMiddle_SplitsInThreeSharingOneAnonVma) {
  World w;
  w.run("mmap 1 0x100 8 anon private rw\nwrite 1 0x100 1\n");
  w.run("mprotect 1 0x102 2 r\n");
  EXPECT_EQ(w.layout(1), "[0x100,0x102) [0x102,0x104) [0x104,0x108)");
  EXPECT_EQ(w.vma_at(1, 0x100).anon_vma, w.vma_at(1, 0x102).anon_vma);
  EXPECT_EQ(w.vma_at(1, 0x104).anon_vma, w.vma_at(1, 0x102).anon_vma);
  EXPECT_EQ(w.vma_at(1, 0x104).pgoff, 0x104u);
}

TEST(VmaMerge, MprotectBack_MergesAllThreeAgain) {
  World w;
  w.run("mmap 1 0x100 8 anon private rw\nwrite 1 0x100 1\nmprotect 1 0x102 2 r\n");
  w.run("mprotect 1 0x102 2 rw\n");
  EXPECT_EQ(w.layout(1), "[0x100,0x108)");
}

TEST(VmaMerge, AForkedVmaWithPages_DoesNotTakeInANewMapping) {
  // The child's VMA chains to its parent's anon_vma too (two entries): merging would
  // only cost scalability, and the kernel refuses it (list_is_singular).
  World w;
  w.run("mmap 1 0x100 4 anon private rw\nwrite 1 0x100 1\nfork 1\n");
  w.run("mmap 2 0x104 4 anon private rw\nmmap 1 0x104 4 anon private rw\n");
  EXPECT_EQ(w.layout(2), "[0x100,0x104) [0x104,0x108)");
  EXPECT_EQ(w.layout(1), "[0x100,0x108)");
}

TEST(VmaMerge, VmasWithDifferentAnonVmas_NeverMerge) {
  World w;
  w.run("mmap 1 0x100 4 anon private rw\nmmap 1 0x104 4 anon private rw\nmadvise 1 0x104 4 dontfork\n");
  w.run("write 1 0x100 1\nwrite 1 0x104 2\n");  // each gets its own anon_vma: flags differ
  ASSERT_NE(w.vma_at(1, 0x100).anon_vma, w.vma_at(1, 0x104).anon_vma);
  w.run("madvise 1 0x104 4 dofork\n");
  EXPECT_EQ(w.layout(1), "[0x100,0x104) [0x104,0x108)");
}

TEST(VmaMerge, FirstFaultNextToACompatibleVma_ReusesItsAnonVmaSoTheyCanMergeLater) {
  World w;
  w.run("mmap 1 0x100 4 anon private rw\nmmap 1 0x104 4 anon private rwx\n");
  w.run("write 1 0x100 1\nwrite 1 0x104 2\n");
  EXPECT_EQ(w.vma_at(1, 0x100).anon_vma, w.vma_at(1, 0x104).anon_vma);
  w.run("mprotect 1 0x104 4 rw\n");
  EXPECT_EQ(w.layout(1), "[0x100,0x108)");
}

TEST(VmaMerge, MremapMove_KeepsPgoffAndAnonVma) {
  World w;
  w.run("mmap 1 0x100 4 anon private rw\nwrite 1 0x101 7\nmmap 1 0x104 1 anon private r\n");
  const auto before = w.vma_at(1, 0x100);
  w.run("mremap 1 0x100 4 4 to 0x200\n");
  const auto after = w.vma_at(1, 0x200);
  EXPECT_EQ(w.layout(1), "[0x104,0x105) [0x200,0x204)");
  EXPECT_EQ(after.pgoff, 0x100u);
  EXPECT_EQ(after.anon_vma, before.anon_vma);
}

TEST(VmaMerge, MunmapOfTheMiddle_LeavesTwoVmasWithTheirOffsets) {
  World w;
  w.run("mmap 1 0x100 8 file:0@2 private r\n");
  w.run("munmap 1 0x103 2\n");
  EXPECT_EQ(w.layout(1), "[0x100,0x103) [0x105,0x108)");
  EXPECT_EQ(w.vma_at(1, 0x105).pgoff, 7u);
}

TEST(AnonVmaFork, EachGenerationGetsItsOwnAnonVmaChainedToItsAncestors) {
  World w;
  w.run("mmap 1 0x100 4 anon private rw\nwrite 1 0x100 1\nfork 1\nfork 2\n");
  EXPECT_EQ(w.vma_at(1, 0x100).chain, 1u);
  EXPECT_EQ(w.vma_at(2, 0x100).chain, 2u);
  EXPECT_EQ(w.vma_at(3, 0x100).chain, 3u);
  EXPECT_NE(w.vma_at(2, 0x100).anon_vma, w.vma_at(1, 0x100).anon_vma);
  EXPECT_EQ(w.vma_at(3, 0x100).anon_vma->parent, w.vma_at(2, 0x100).anon_vma);
}

TEST(AnonVmaFork, AnAnonVmaLeftByAnExitedMiddleGeneration_IsReusedByTheNextFork) {
  World w;
  w.run("mmap 1 0x100 4 anon private rw\nwrite 1 0x100 1\nfork 1\nfork 2\n");
  const impl::AnonVma* middle = w.vma_at(2, 0x100).anon_vma;
  w.run("exit 2\nfork 3\n");  // pid 2 is free again: the grandchild's child becomes 2
  EXPECT_EQ(middle->num_active_vmas, 1u);
  EXPECT_EQ(w.vma_at(2, 0x100).anon_vma, middle);
  EXPECT_EQ(w.vma_at(2, 0x100).chain, 3u);
}

TEST(AnonVmaFork, TheRootIsNeverReused) {
  World w;
  w.run("mmap 1 0x100 4 anon private rw\nwrite 1 0x100 1\nfork 1\nexit 1\nfork 2\n");
  // pid 1's VMA is gone, so the root has no active VMA, but it is its own parent and
  // has a child: the new child gets a fresh anon_vma.
  const impl::AnonVma* root = w.vma_at(2, 0x100).anon_vma->root;
  EXPECT_NE(w.vma_at(1, 0x100).anon_vma, root);
  EXPECT_EQ(root->num_active_vmas, 0u);
}

TEST(AnonVmaFork, ExitingEveryProcess_FreesEveryAnonVma) {
  World w;
  w.run("mmap 1 0x100 4 anon private rw\nwrite 1 0x100 1\nfork 1\nfork 2\nexit 2\nexit 3\nmunmap 1 0x100 4\n");
  EXPECT_EQ(w.kernel().anon_vmas.live(), 0u);
  EXPECT_EQ(w.kernel().avcs.live(), 0u);
}
