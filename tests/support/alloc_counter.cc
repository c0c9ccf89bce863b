// SPDX-License-Identifier: Apache-2.0
#include "support/alloc_counter.h"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SLUICE_COUNT_MALLOC 0  // the sanitizer's allocator must stay the only malloc
#else
#define SLUICE_COUNT_MALLOC 1
#endif

namespace {

thread_local bool g_counting = false;  // this thread's counter is alive
thread_local uint64_t g_count = 0;     // this thread's allocations while counting
std::atomic<int> g_all_counters{0};    // AllThreads counters alive
std::atomic<uint64_t> g_all_count{0};  // every thread's allocations while one is alive

inline void note() {
  if (g_counting) ++g_count;
  if (g_all_counters.load(std::memory_order_relaxed) != 0) g_all_count.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

#if SLUICE_COUNT_MALLOC
// glibc's allocator under its exported internal names: the definitions below take the
// program's malloc (and every shared library's) and hand the work on.
extern "C" {
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
void* __libc_memalign(size_t, size_t);
void __libc_free(void*);

void* malloc(size_t n) {
  note();
  return __libc_malloc(n);
}
void* calloc(size_t n, size_t size) {
  note();
  return __libc_calloc(n, size);
}
void* realloc(void* p, size_t n) {
  if (n != 0) note();
  return __libc_realloc(p, n);
}
void free(void* p) { __libc_free(p); }
void* memalign(size_t align, size_t n) {
  note();
  return __libc_memalign(align, n);
}
void* aligned_alloc(size_t align, size_t n) {
  note();
  return __libc_memalign(align, n);
}
int posix_memalign(void** out, size_t align, size_t n) {
  if (align < sizeof(void*) || (align & (align - 1)) != 0) return EINVAL;
  note();
  void* p = __libc_memalign(align, n);
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}
}  // extern "C"

namespace {
inline void* rawAlloc(size_t n) { return __libc_malloc(n ? n : 1); }
inline void* rawAligned(size_t n, size_t align) { return __libc_memalign(align, n ? n : 1); }
inline void rawFree(void* p) { __libc_free(p); }
}  // namespace
#else
namespace {
inline void* rawAlloc(size_t n) { return std::malloc(n ? n : 1); }
inline void* rawAligned(size_t n, size_t align) {
  size_t rounded = (n + align - 1) / align * align;
  return std::aligned_alloc(align, rounded ? rounded : align);
}
inline void rawFree(void* p) { std::free(p); }
}  // namespace
#endif

// operator new counts itself and takes memory uncounted, so one allocation is counted once.
void* operator new(std::size_t n) {
  note();
  void* p = rawAlloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n) {
  note();
  void* p = rawAlloc(n);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  note();
  return rawAlloc(n);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  note();
  return rawAlloc(n);
}
void* operator new(std::size_t n, std::align_val_t a) {
  note();
  void* p = rawAligned(n, static_cast<size_t>(a));
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t n, std::align_val_t a) {
  note();
  void* p = rawAligned(n, static_cast<size_t>(a));
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new(std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  note();
  return rawAligned(n, static_cast<size_t>(a));
}
void* operator new[](std::size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  note();
  return rawAligned(n, static_cast<size_t>(a));
}
void operator delete(void* p) noexcept { rawFree(p); }
void operator delete[](void* p) noexcept { rawFree(p); }
void operator delete(void* p, std::size_t) noexcept { rawFree(p); }
void operator delete[](void* p, std::size_t) noexcept { rawFree(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { rawFree(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { rawFree(p); }
void operator delete(void* p, std::align_val_t) noexcept { rawFree(p); }
void operator delete[](void* p, std::align_val_t) noexcept { rawFree(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { rawFree(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { rawFree(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { rawFree(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { rawFree(p); }

namespace sluice::testing {

AllocationCounter::AllocationCounter(Scope scope) : scope_(scope), start_(0), was_counting_(g_counting) {
  if (scope_ == Scope::AllThreads) {
    start_ = g_all_count.load();
    g_all_counters.fetch_add(1);
  } else {
    start_ = g_count;
    g_counting = true;
  }
}

AllocationCounter::~AllocationCounter() {
  if (scope_ == Scope::AllThreads) {
    g_all_counters.fetch_sub(1);
  } else {
    g_counting = was_counting_;
  }
}

uint64_t AllocationCounter::count() const {
  return scope_ == Scope::AllThreads ? g_all_count.load() - start_ : g_count - start_;
}

bool AllocationCounter::countsMalloc() { return SLUICE_COUNT_MALLOC != 0; }

}  // namespace sluice::testing
