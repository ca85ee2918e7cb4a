// The session pool: reuse, bounds, failed operations, contention.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "pkcs11/keygen.h"
#include "pkcs11/object_finder.h"
#include "pkcs11/public_key.h"
#include "pkcs11/rsa.h"
#include "tests/pkcs11/token_fixture.h"
#include "tests/support/host_crypto.h"

namespace idvault::p11::test {
namespace {

TEST_F(TokenTest, ReturnedSessionIsReused) {
  CK_SESSION_HANDLE first = 0;
  {
    auto lease = token->sessions().acquire();
    first = lease.handle();
  }
  CallCounter calls;
  auto lease = token->sessions().acquire();
  EXPECT_EQ(lease.handle(), first);
  EXPECT_EQ(CallCounter::count("C_OpenSession"), 0);
  EXPECT_EQ(CallCounter::count("C_GetSessionInfo"), 1)
      << "an idle session is validated before reuse";
}

TEST_F(TokenTest, SessionOfAFailedOperationIsNotReused) {
  CK_SESSION_HANDLE failed = 0;
  try {
    auto lease = token->sessions().acquire();
    failed = lease.handle();
    throw std::runtime_error("operation failed half-way");
  } catch (const std::runtime_error&) {
  }
  EXPECT_EQ(token->sessions().idle_count(), 0u);
  EXPECT_EQ(token->sessions().open_count(), 0u);
  auto lease = token->sessions().acquire();
  EXPECT_NE(lease.handle(), failed);
}

TEST_F(LoggedInTest, FailedDecryptDoesNotLeaveItsSessionInThePool) {
  auto pair = generate_rsa_key_pair(token, 2048, {"service", {0x05}});
  RsaPrivateKey key(pair.private_key);
  CallCounter calls;
  EXPECT_THROW((void)key.decrypt_oaep(Bytes(256, 0x42)), Pkcs11Error);
  EXPECT_EQ(CallCounter::count("C_CloseSession"), 1);
  EXPECT_EQ(token->sessions().idle_count(), 0u);
  // The next operation gets a clean session and works.
  auto public_key = public_key_of(pair.public_key);
  const Bytes secret = idvault::testing::random_bytes(32);
  const auto plaintext = key.decrypt_oaep(idvault::testing::oaep_encrypt(*public_key, secret));
  EXPECT_TRUE(plaintext.equals(secret));
}

TEST_F(TokenTest, DiscardedLeaseClosesItsSession) {
  {
    auto lease = token->sessions().acquire();
    lease.discard();
  }
  EXPECT_EQ(token->sessions().open_count(), 0u);
}

TEST_F(TokenTest, PoolIsBoundedAndWaitersGetReturnedSessions) {
  auto& pool = token->sessions();
  // SoftHSM reports CK_EFFECTIVELY_INFINITE: the pool uses its default bound.
  ASSERT_EQ(pool.capacity(), SessionPool::kDefaultBound);
  std::vector<SessionLease> leases;
  for (std::size_t i = 0; i < pool.capacity(); ++i) leases.push_back(pool.acquire());
  EXPECT_EQ(pool.open_count(), pool.capacity());

  auto waiter = std::async(std::launch::async, [&] { return pool.acquire().handle(); });
  EXPECT_EQ(waiter.wait_for(std::chrono::milliseconds(100)), std::future_status::timeout);
  const CK_SESSION_HANDLE returned = leases.back().handle();
  leases.pop_back();
  EXPECT_EQ(waiter.get(), returned);
  EXPECT_EQ(pool.open_count(), pool.capacity());
}

TEST_F(TokenTest, AbandonedSearchDoesNotBlockTheNextOne) {
  CK_OBJECT_CLASS any = CKO_SECRET_KEY;
  const CK_ATTRIBUTE search[] = {{CKA_CLASS, &any, sizeof any}};
  {
    auto lease = token->sessions().acquire();
    ObjectSearch first(lease, search);
    // leaves scope without reading: C_FindObjectsFinal must still run
  }
  EXPECT_EQ(token->sessions().idle_count(), 1u);
  EXPECT_NO_THROW((void)find_objects(token, search));
}

TEST_F(LoggedInTest, TwoThreadsManyDecryptsShareThePool) {
  auto pair = generate_rsa_key_pair(token, 2048, {"service", {0x05}});
  const RsaPrivateKey key(pair.private_key);
  auto public_key = public_key_of(pair.public_key);
  const Bytes secret = idvault::testing::random_bytes(32);
  const Bytes ciphertext = idvault::testing::oaep_encrypt(*public_key, secret);

  constexpr int kThreads = 4;
  constexpr int kPerThread = 25;
  std::atomic<int> good{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        if (key.decrypt_oaep(ciphertext).equals(secret)) ++good;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), kThreads * kPerThread);
  EXPECT_LE(token->sessions().open_count(), static_cast<std::size_t>(kThreads));
  EXPECT_EQ(token->sessions().idle_count(), token->sessions().open_count());
}

}  // namespace
}  // namespace idvault::p11::test
