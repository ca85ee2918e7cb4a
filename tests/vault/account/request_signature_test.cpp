// Request signatures (vault/account/request_signature.h): what idvault-cloud accepts and
// the one reason it gives for everything it refuses.
#include "vault/account/request_signature.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <set>
#include <string>
#include <vector>

#include "common/base64.h"
#include "common/openssl_owners.h"
#include "vault/keys/software_keys.h"
#include "vault/model/errors.h"
#include "vault/signed/signed_statement.h"

namespace idvault::vault {
namespace {

constexpr std::int64_t kNow = 1'800'000'000;
constexpr std::string_view kAccount = "acct-3f2a";
constexpr std::string_view kDevice = "dev-laptop";
constexpr std::string_view kTarget = "/v1/items/passport?base=7";

class RequestSignatureTest : public ::testing::Test {
 protected:
  RequestSignatureTest()
      : key_(SoftwareSigningKey::generate()),
        signer_(key_, std::string(kAccount), std::string(kDevice)),
        device_{std::string(kAccount), std::string(kDevice), key_.public_key_spki_der()} {}

  std::string sign(std::string_view method = "PUT", std::string_view target = kTarget,
                   std::string_view body = R"({"rev":8})", std::int64_t at = kNow) const {
    return signer_.sign(method, target, bytes_of(body), at);
  }

  // The server's whole step, with a replay store of its own and this one device.
  RequestVerdict check(std::string_view header, std::string_view method = "PUT",
                       std::string_view target = kTarget, std::string_view body = R"({"rev":8})",
                       std::int64_t now = kNow) {
    const EnrolledDeviceLookup lookup = [this](std::string_view account, std::string_view id) {
      std::optional<EnrolledDevice> found;
      for (const EnrolledDevice& enrolled : enrolled_)
        if (enrolled.account == account && enrolled.device == id) found = enrolled;
      return found;
    };
    const NonceAlreadySeen seen = [this](const RequestSignatureHeader& h) {
      return !nonces_.insert(h.nonce).second;
    };
    return check_request_signature(header, {method, target, bytes_of(body)}, lookup,
                                   RequestClock{now, kDefaultRequestSkewSeconds}, seen);
  }

  SoftwareSigningKey key_;
  RequestSigner signer_;
  EnrolledDevice device_;
  std::vector<EnrolledDevice> enrolled_{device_};
  std::set<std::string> nonces_;
};

void expect_refused(const RequestVerdict& verdict, RequestRefusal why) {
  ASSERT_FALSE(verdict.ok()) << "accepted";
  EXPECT_EQ(*verdict.refusal, why) << describe(*verdict.refusal);
}

TEST_F(RequestSignatureTest, ASignedRequestIsAccepted) {
  const std::string header = sign();
  EXPECT_LT(header.size(), kMaxRequestSignatureHeader);
  EXPECT_TRUE(check(header).ok());
  // No body: the hash of the empty string.
  EXPECT_TRUE(check(sign("GET", "/v1/log?since=0", ""), "GET", "/v1/log?since=0", "").ok());
}

// A file's upload is signed by the hash it is named by, and checked on the server by the
// hash computed while the body streamed to disk: the same statement either way.
TEST_F(RequestSignatureTest, ABodySignedOrCheckedByItsHashIsTheSameRequest) {
  const std::string body = "ciphertext of a scan";
  const std::string hash = sha256_hex(bytes_of(body));
  const std::string header = signer_.sign_hashed("PUT", kTarget, hash, kNow);
  EXPECT_EQ(parse_request_signature(header).body_sha256, hash);
  EXPECT_TRUE(check(header, "PUT", kTarget, body).ok());

  const auto streamed = [&](const std::string& signed_header, std::string_view computed) {
    const EnrolledDeviceLookup lookup = [this](std::string_view, std::string_view) {
      return std::optional<EnrolledDevice>(device_);
    };
    const NonceAlreadySeen seen = [this](const RequestSignatureHeader& h) {
      return !nonces_.insert(h.nonce).second;
    };
    ReceivedRequest received{"PUT", kTarget, {}};
    received.body_sha256 = computed;
    return check_request_signature(signed_header, received, lookup,
                                   RequestClock{kNow, kDefaultRequestSkewSeconds}, seen);
  };
  EXPECT_TRUE(streamed(sign("PUT", kTarget, body), hash).ok());
  expect_refused(streamed(sign("PUT", kTarget, body), sha256_hex(bytes_of("another body"))),
                 RequestRefusal::body_mismatch);
  // What the signer cannot vouch for is not signed.
  EXPECT_THROW((void)signer_.sign_hashed("PUT", kTarget, "not a hash", kNow), FormatError);
  EXPECT_THROW((void)signer_.sign_hashed("PUT", kTarget, std::string(64, 'A'), kNow), FormatError);
}

TEST_F(RequestSignatureTest, TheHeaderParsesBackToWhatWasSigned) {
  const RequestSignatureHeader header = parse_request_signature(sign());
  EXPECT_EQ(header.account, kAccount);
  EXPECT_EQ(header.device, kDevice);
  EXPECT_EQ(header.time, kNow);
  EXPECT_EQ(header.nonce.size(), 2 * kRequestNonceBytes);
  EXPECT_EQ(header.method, "PUT");
  EXPECT_EQ(header.path_sha256, sha256_hex(bytes_of(kTarget)));
  EXPECT_EQ(header.body_sha256, sha256_hex(bytes_of(R"({"rev":8})")));
  EXPECT_EQ(header.signature.size(), 64u);
}

TEST_F(RequestSignatureTest, NoncesAreFreshForEveryRequest) {
  std::set<std::string> seen;
  for (int i = 0; i < 32; ++i)
    EXPECT_TRUE(seen.insert(parse_request_signature(sign()).nonce).second);
}

TEST_F(RequestSignatureTest, AReplayIsRefusedByTheNonceStore) {
  const std::string header = sign();
  ASSERT_TRUE(check(header).ok());
  expect_refused(check(header), RequestRefusal::replayed_nonce);
  // A nonce is spent only by a request whose signature verified.
  const std::string other = sign();
  expect_refused(check(other, "PUT", kTarget, "{}"), RequestRefusal::body_mismatch);
  EXPECT_TRUE(check(other).ok());
}

TEST_F(RequestSignatureTest, TimeOutsideTheSkewIsRefusedEachWayWithItsOwnReason) {
  EXPECT_TRUE(check(sign("PUT", kTarget, R"({"rev":8})", kNow - 300)).ok());
  EXPECT_TRUE(check(sign("PUT", kTarget, R"({"rev":8})", kNow + 300)).ok());
  expect_refused(check(sign("PUT", kTarget, R"({"rev":8})", kNow - 301)),
                 RequestRefusal::stale_time);
  expect_refused(check(sign("PUT", kTarget, R"({"rev":8})", kNow + 301)),
                 RequestRefusal::future_time);
  expect_refused(check(sign("PUT", kTarget, R"({"rev":8})", 0)), RequestRefusal::stale_time);
  expect_refused(check(sign("PUT", kTarget, R"({"rev":8})", 999'999'999'999)),
                 RequestRefusal::future_time);
}

TEST_F(RequestSignatureTest, ASignatureMovedToAnotherRequestIsRefused) {
  expect_refused(check(sign(), "DELETE"), RequestRefusal::wrong_method);
  expect_refused(check(sign(), "PUT", "/v1/items/passport?base=6"), RequestRefusal::wrong_path);
  expect_refused(check(sign(), "PUT", "/v1/items/passport"), RequestRefusal::wrong_path);
  expect_refused(check(sign(), "PUT", kTarget, R"({"rev":9})"), RequestRefusal::body_mismatch);
  expect_refused(check(sign(), "PUT", kTarget, ""), RequestRefusal::body_mismatch);
}

TEST_F(RequestSignatureTest, AHeaderEditedToMatchAnotherRequestFailsTheSignature) {
  // The claims in the header are only diagnostics: rewriting them to match the request
  // leaves a signature over the old one.
  RequestSignatureHeader header = parse_request_signature(sign());
  const std::string other_target = "/v1/items/identity_card";
  header.path_sha256 = sha256_hex(bytes_of(other_target));
  const NonceAlreadySeen never = [](const RequestSignatureHeader&) { return false; };
  const RequestClock clock{kNow, kDefaultRequestSkewSeconds};
  expect_refused(check_request_signature(header, {"PUT", other_target, bytes_of(R"({"rev":8})")},
                                         device_, clock, never),
                 RequestRefusal::bad_signature);
  header = parse_request_signature(sign());
  header.method = "POST";
  expect_refused(check_request_signature(header, {"POST", kTarget, bytes_of(R"({"rev":8})")},
                                         device_, clock, never),
                 RequestRefusal::bad_signature);
  header = parse_request_signature(sign());
  header.body_sha256 = sha256_hex(bytes_of("{}"));
  expect_refused(
      check_request_signature(header, {"PUT", kTarget, bytes_of("{}")}, device_, clock, never),
      RequestRefusal::bad_signature);
  header = parse_request_signature(sign());
  header.time += 1;
  expect_refused(check_request_signature(header, {"PUT", kTarget, bytes_of(R"({"rev":8})")},
                                         device_, clock, never),
                 RequestRefusal::bad_signature);
  header = parse_request_signature(sign());
  header.nonce[0] = header.nonce[0] == 'a' ? 'b' : 'a';
  expect_refused(check_request_signature(header, {"PUT", kTarget, bytes_of(R"({"rev":8})")},
                                         device_, clock, never),
                 RequestRefusal::bad_signature);
}

// Replaces key=... in a header value with key=value.
std::string with_field(std::string header, const std::string& key, const std::string& value) {
  const std::size_t start = header.find(key + "=");
  const std::size_t end = header.find(',', start);
  header.replace(start + key.size() + 1,
                 (end == std::string::npos ? header.size() : end) - start - key.size() - 1, value);
  return header;
}

// The account's recovery key signing PS256 (as RecoveryOpener does), RSA-2048 to be quick.
class TestRecoveryKey final : public PssSigningKey {
 public:
  TestRecoveryKey() : key_(EVP_RSA_gen(2048)) { EXPECT_TRUE(key_); }
  [[nodiscard]] Bytes sign_pss_sha256(ByteView message) const override {
    return sign_ps256(key_.get(), message);
  }
  [[nodiscard]] Bytes public_key_spki_der() const override {
    unsigned char* der = nullptr;
    const int length = i2d_PUBKEY(key_.get(), &der);
    Bytes spki(der, der + length);
    OPENSSL_free(der);
    return spki;
  }

 private:
  openssl::PKey key_;
};

TEST_F(RequestSignatureTest, TheRecoveryKeySignsPs256AndOnlyAsItsSlot) {
  const TestRecoveryKey recovery;
  const RequestSigner as_recovery(recovery, std::string(kAccount), "recovery");
  const std::string header = as_recovery.sign("GET", "/v1/accounts/a/log?from=0", ByteView{}, kNow);
  EXPECT_LT(header.size(), kMaxRequestSignatureHeader);
  EXPECT_EQ(parse_request_signature(header).signature.size(), 256u);
  // A 4096-bit key's signature still fits the header.
  EXPECT_NO_THROW(
      (void)parse_request_signature(with_field(header, "sig", base64_encode(Bytes(512, 1)))));
  EXPECT_THROW(
      (void)parse_request_signature(with_field(header, "sig", base64_encode(Bytes(513, 1)))),
      FormatError);
  enrolled_.push_back({std::string(kAccount), "recovery", recovery.public_key_spki_der(), true});
  EXPECT_TRUE(check(header, "GET", "/v1/accounts/a/log?from=0", "").ok());
  // The algorithm is the record's: a PS256 signature checked as ES256, or an ES256 one
  // against a recovery record, does not verify.
  enrolled_.back().recovery_key = false;
  expect_refused(check(as_recovery.sign("GET", "/x", ByteView{}, kNow), "GET", "/x", ""),
                 RequestRefusal::bad_signature);
  enrolled_.back().recovery_key = true;
  enrolled_.back().identity_key_spki_der = key_.public_key_spki_der();
  const RequestSigner es256_as_recovery(key_, std::string(kAccount), "recovery");
  expect_refused(check(es256_as_recovery.sign("GET", "/x", ByteView{}, kNow), "GET", "/x", ""),
                 RequestRefusal::bad_signature);
}

TEST_F(RequestSignatureTest, ASignatureMovedToAnotherDeviceOrAccountIsRefused) {
  // Another device of the same account, and the same device id in another account.
  const SoftwareSigningKey other_key = SoftwareSigningKey::generate();
  enrolled_.push_back({std::string(kAccount), "dev-desktop", other_key.public_key_spki_der()});
  enrolled_.push_back({"acct-other", std::string(kDevice), other_key.public_key_spki_der()});
  enrolled_.push_back({"acct-same-key", std::string(kDevice), key_.public_key_spki_der()});
  expect_refused(check(with_field(sign(), "device", "dev-desktop")), RequestRefusal::bad_signature);
  expect_refused(check(with_field(sign(), "account", "acct-other")), RequestRefusal::bad_signature);
  // Even where the same identity key is enrolled: the account is signed too.
  expect_refused(check(with_field(sign(), "account", "acct-same-key")),
                 RequestRefusal::bad_signature);
  expect_refused(check(with_field(sign(), "device", "dev-gone")), RequestRefusal::unknown_device);
  // Signed by another key than the device's.
  const RequestSigner impostor(other_key, std::string(kAccount), std::string(kDevice));
  expect_refused(check(impostor.sign("PUT", kTarget, bytes_of(R"({"rev":8})"), kNow)),
                 RequestRefusal::bad_signature);
  // A lookup that answers for another device than asked.
  const NonceAlreadySeen never = [](const RequestSignatureHeader&) { return false; };
  EnrolledDevice elsewhere = device_;
  elsewhere.account = "acct-other";
  expect_refused(check_request_signature(parse_request_signature(sign()),
                                         {"PUT", kTarget, bytes_of(R"({"rev":8})")}, elsewhere,
                                         RequestClock{kNow}, never),
                 RequestRefusal::wrong_signer);
}

TEST_F(RequestSignatureTest, AForgedSignatureIsRefused) {
  const std::string header = sign();
  const RequestSignatureHeader parsed = parse_request_signature(header);
  Bytes flipped = parsed.signature;
  flipped[10] ^= 0x01;
  expect_refused(check(with_field(header, "sig", base64_encode(flipped))),
                 RequestRefusal::bad_signature);
  expect_refused(check(with_field(header, "sig", base64_encode(Bytes(64, 0)))),
                 RequestRefusal::bad_signature);
  // A device record with a key that is not a key.
  enrolled_[0].identity_key_spki_der = {1, 2, 3};
  expect_refused(check(sign()), RequestRefusal::bad_signature);
}

TEST_F(RequestSignatureTest, EveryRefusalHasItsOwnSentence) {
  std::set<std::string_view> sentences;
  for (RequestRefusal why :
       {RequestRefusal::malformed_header, RequestRefusal::unknown_device,
        RequestRefusal::wrong_signer, RequestRefusal::wrong_method, RequestRefusal::wrong_path,
        RequestRefusal::body_mismatch, RequestRefusal::stale_time, RequestRefusal::future_time,
        RequestRefusal::bad_signature, RequestRefusal::replayed_nonce})
    EXPECT_TRUE(sentences.insert(describe(why)).second) << describe(why);
}

TEST_F(RequestSignatureTest, MalformedHeadersAreRefusedNeverCrash) {
  const std::string good = sign();
  const std::string nonce = parse_request_signature(good).nonce;
  std::vector<std::string> malformed = {
      "",
      ",",
      "=",
      "v=1",
      good + ",",
      "," + good,
      good + ",v=1",                       // a key twice
      good + ",extra=1",                   // an unknown key
      good + ",=x",                        // an empty key
      " " + good,                          // no spaces
      std::string(2000, 'a'),              // too long
      good + std::string(1024, 'x'),       // too long after a good one
      std::string("v=1") + '\0' + good,    // a NUL
      with_field(good, "v", "2"),          // a version this server does not know
      with_field(good, "v", ""),           //
      with_field(good, "account", ""),     //
      with_field(good, "account", "a b"),  //
      with_field(good, "account", std::string(129, 'a')),
      with_field(good, "device", "dev/../x"),
      with_field(good, "device", "d\xc3\xa9v"),
      with_field(good, "time", ""),
      with_field(good, "time", "-5"),
      with_field(good, "time", "+5"),
      with_field(good, "time", "1.5"),
      with_field(good, "time", "0x10"),
      with_field(good, "time", "9999999999999"),               // 13 digits
      with_field(good, "time", "99999999999999999999999999"),  // would overflow
      with_field(good, "nonce", ""),
      with_field(good, "nonce", nonce.substr(0, 30)),  // 120 bits
      with_field(good, "nonce", nonce + "a"),          // odd length
      with_field(good, "nonce", std::string(66, 'a')),
      with_field(good, "nonce", std::string(32, 'A')),  // upper case
      with_field(good, "nonce", std::string(32, 'g')),
      with_field(good, "method", ""),
      with_field(good, "method", "put"),
      with_field(good, "method", "P T"),
      with_field(good, "method", std::string(33, 'P')),
      with_field(good, "path_sha256", ""),
      with_field(good, "path_sha256", std::string(63, 'a')),
      with_field(good, "path_sha256", std::string(64, 'A')),
      with_field(good, "body_sha256", std::string(65, 'a')),
      with_field(good, "sig", ""),
      with_field(good, "sig", "%%%%"),
      with_field(good, "sig", "QUJD"),                       // 3 bytes
      with_field(good, "sig", base64_encode(Bytes(72, 1))),  // DER-sized
      with_field(good, "sig", base64_encode(Bytes(64, 1)) + "=="),
  };
  // Every prefix and every single-byte truncation of a good header, too.
  for (std::size_t cut = 0; cut < good.size(); cut += 7) malformed.push_back(good.substr(0, cut));
  for (std::size_t drop = 0; drop < good.size(); drop += 5)
    malformed.push_back(good.substr(0, drop) + good.substr(drop + 1));

  for (const std::string& value : malformed) {
    SCOPED_TRACE(value);
    try {
      (void)parse_request_signature(value);
      // A dropped byte may land inside the signature's base64 or the nonce and still
      // parse; then it must not verify.
      const RequestVerdict verdict = check(value);
      EXPECT_FALSE(verdict.ok());
    } catch (const FormatError& error) {
      EXPECT_EQ(error.where().rfind("Idvault-Signature", 0), 0u) << error.where();
      const RequestVerdict verdict = check(value);
      expect_refused(verdict, RequestRefusal::malformed_header);
      EXPECT_FALSE(verdict.detail.empty());
    }
  }
  expect_refused(check_request_signature(
                     std::nullopt, {"PUT", kTarget, bytes_of(R"({"rev":8})")},
                     [](std::string_view, std::string_view) { return std::nullopt; },
                     RequestClock{kNow}, [](const RequestSignatureHeader&) { return false; }),
                 RequestRefusal::malformed_header);
}

TEST_F(RequestSignatureTest, KeysMayComeInAnyOrder) {
  const std::string good = sign();
  std::vector<std::string> pairs;
  for (std::size_t start = 0; start <= good.size();) {
    std::size_t end = good.find(',', start);
    if (end == std::string::npos) end = good.size();
    pairs.push_back(good.substr(start, end - start));
    start = end + 1;
  }
  std::string reversed;
  for (auto it = pairs.rbegin(); it != pairs.rend(); ++it)
    reversed += (reversed.empty() ? "" : ",") + *it;
  EXPECT_TRUE(check(reversed).ok());
}

TEST_F(RequestSignatureTest, TheSignerRefusesWhatItCannotSignUnambiguously) {
  EXPECT_THROW((void)sign("get"), FormatError);
  EXPECT_THROW((void)sign("PUT", "items"), FormatError);
  EXPECT_THROW((void)sign("PUT", "/a b"), FormatError);
  EXPECT_THROW((void)sign("PUT", "/a\nb"), FormatError);
  EXPECT_THROW((void)sign("PUT", kTarget, "", -1), FormatError);
  EXPECT_THROW(RequestSigner(key_, "acct,x", "dev"), FormatError);
  EXPECT_THROW(RequestSigner(key_, "acct", ""), FormatError);
}

}  // namespace
}  // namespace idvault::vault
