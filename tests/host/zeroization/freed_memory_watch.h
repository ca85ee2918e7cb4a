// Sees what the heap gets back. This test executable replaces the global operator new
// and delete (freed_memory_watch.cpp), so every block a C++ object releases passes
// through a check before it returns to malloc: reading a block before it is freed is
// defined behaviour, reading it after is not, so this is where "was the secret wiped?"
// can be answered without guessing.
//
// Two ways to look:
// - watch one block (a SecretBytes buffer, known by its data pointer): was it all zero
//   when it was freed?
// - scan every freed block for a marker (a PIN, a document value): how many blocks went
//   back to the heap still holding it? This finds copies the test cannot name, such as a
//   buffer a framer outgrew or a string a parser built.
#pragma once

#include <cstddef>
#include <string_view>

namespace idvault::testing {

struct WatchedBlock {
  bool freed = false;
  bool all_zero_when_freed = false;
};

// Starts watching the block that begins at data (as operator new returned it), checking
// its first size bytes when it is freed. One block at a time.
void watch_block(const void* data, std::size_t size);
[[nodiscard]] WatchedBlock watched_block();

// Counts, from now, freed blocks that hold marker (at most 64 bytes) anywhere in the
// bytes that were asked for (sized delete) or the block's usable size (unsized).
void start_scanning_freed_blocks(std::string_view marker);
// Stops and returns how many freed blocks still held the marker.
[[nodiscard]] std::size_t stop_scanning_freed_blocks();

}  // namespace idvault::testing
