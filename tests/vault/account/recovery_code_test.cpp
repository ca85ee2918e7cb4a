// The recovery code (vault/account/recovery_code.h): printed, typed back, and the key it
// opens. Argon2id at the lowest parameters a store may name, so the suite stays fast.
#include "vault/account/recovery_code.h"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

#include "vault/keys/software_keys.h"
#include "vault/model/errors.h"

namespace idvault::vault {
namespace {

constexpr RecoveryKdfParams kFastKdf{kMinRecoveryTCost, kMinRecoveryMCostKib, 1};
constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

std::string printed(const RecoveryCode& code) {
  return std::string(code.printed().reveal_text());
}

bool same(const RecoveryCode& a, const RecoveryCode& b) {
  return std::ranges::equal(a.bits().reveal(), b.bits().reveal());
}

// The FormatError message parse gives, or "" when it accepted.
std::string refusal(std::string_view typed) {
  try {
    (void)RecoveryCode::parse(typed);
    return "";
  } catch (const FormatError& error) {
    EXPECT_EQ(error.where(), "recovery_code");
    return error.what();
  }
}

TEST(RecoveryCode, PrintsAsEightGroupsOfFiveAndParsesBack) {
  for (int i = 0; i < 50; ++i) {
    const RecoveryCode code = RecoveryCode::generate();
    const std::string text = printed(code);
    ASSERT_EQ(text.size(), 47u) << text;
    for (std::size_t at = 0; at < text.size(); ++at) {
      if (at % 6 == 5)
        EXPECT_EQ(text[at], '-');
      else
        EXPECT_NE(kAlphabet.find(text[at]), std::string_view::npos) << text;
    }
    EXPECT_TRUE(same(RecoveryCode::parse(text), code)) << text;
  }
}

TEST(RecoveryCode, CodesAreRandomAnd160Bits) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    const RecoveryCode code = RecoveryCode::generate();
    EXPECT_EQ(code.bits().size(), 20u);
    EXPECT_TRUE(seen.insert(printed(code)).second);
  }
}

TEST(RecoveryCode, KnownBitsPrintTheSameWayEveryTime) {
  // All-zero and all-one bits: the code characters are 0s and Zs; only the check
  // characters (which depend on the group's number) vary.
  const RecoveryCode zeros = RecoveryCode::from_bytes(SecretBytes(20));
  const std::string text = printed(zeros);
  for (std::size_t group = 0; group < 8; ++group) EXPECT_EQ(text.substr(group * 6, 4), "0000");
  std::set<char> checks;
  for (std::size_t group = 0; group < 8; ++group) checks.insert(text[group * 6 + 4]);
  EXPECT_EQ(checks.size(), 8u) << text;
  SecretBytes ones(20);
  for (auto& byte : ones.reveal_mutable()) byte = 0xff;
  EXPECT_EQ(printed(RecoveryCode::from_bytes(ones)).substr(0, 4), "ZZZZ");
  EXPECT_THROW((void)RecoveryCode::from_bytes(SecretBytes(16)), FormatError);
}

TEST(RecoveryCode, CaseAndSeparatorsDoNotMatter) {
  const RecoveryCode code = RecoveryCode::generate();
  const std::string text = printed(code);
  std::string bare;
  for (char c : text)
    if (c != '-') bare += c;
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string spaced;
  for (std::size_t i = 0; i < bare.size(); ++i)
    spaced += (i % 4 == 0 ? "  " : "") + bare.substr(i, 1);
  std::string looks_alike = bare;  // O for 0, I and l for 1, as someone reading the paper might
  for (char& c : looks_alike) {
    if (c == '0') c = 'O';
    if (c == '1') c = 'l';
  }
  for (const std::string& typed :
       {bare, lower, spaced, looks_alike, "\t" + text + "\n", " " + lower + " ", text + "\r\n"})
    EXPECT_TRUE(same(RecoveryCode::parse(typed), code)) << typed;
}

TEST(RecoveryCode, EveryMistypedCharacterIsRefusedNamingItsGroup) {
  const RecoveryCode code = RecoveryCode::generate();
  const std::string text = printed(code);
  for (std::size_t at = 0; at < text.size(); ++at) {
    if (text[at] == '-') continue;
    const std::size_t group = at / 6 + 1;
    for (char other : kAlphabet) {
      if (other == text[at]) continue;
      std::string typo = text;
      typo[at] = other;
      const std::string why = refusal(typo);
      EXPECT_NE(why.find("group " + std::to_string(group) + " "), std::string::npos)
          << typo << ": " << why;
      EXPECT_NE(why.find("mistyped"), std::string::npos) << why;
      EXPECT_EQ(why.find(text.substr(at - at % 6, 5)), std::string::npos) << "quotes the code";
    }
  }
}

TEST(RecoveryCode, SwappedCharactersAndGroupsAreRefused) {
  const RecoveryCode code = RecoveryCode::generate();
  const std::string text = printed(code);
  for (std::size_t group = 0; group < 8; ++group) {
    for (std::size_t i = 0; i < 5; ++i) {
      for (std::size_t j = i + 1; j < 5; ++j) {
        std::string swapped = text;
        std::swap(swapped[group * 6 + i], swapped[group * 6 + j]);
        if (swapped == text) continue;  // two equal characters
        EXPECT_NE(refusal(swapped), "") << swapped;
      }
    }
  }
  for (std::size_t a = 0; a < 8; ++a) {
    for (std::size_t b = a + 1; b < 8; ++b) {
      std::string swapped = text;
      std::swap_ranges(swapped.begin() + static_cast<long>(a * 6),
                       swapped.begin() + static_cast<long>(a * 6 + 5),
                       swapped.begin() + static_cast<long>(b * 6));
      const std::string why = refusal(swapped);
      EXPECT_NE(why.find("groups " + std::to_string(a + 1) + " and " + std::to_string(b + 1)),
                std::string::npos)
          << swapped << ": " << why;
    }
  }
}

TEST(RecoveryCode, WrongLengthsAndForeignCharactersAreRefusedClearly) {
  const std::string text = printed(RecoveryCode::generate());
  EXPECT_NE(refusal("").find("has 0 letters and digits; a recovery code has 40"),
            std::string::npos);
  EXPECT_NE(refusal(text.substr(0, 41)).find("has 35 "), std::string::npos);
  EXPECT_NE(refusal(text + "-A").find("has 41 "), std::string::npos);
  std::string with_u = text;
  with_u[13] = 'U';
  EXPECT_NE(refusal(with_u).find("group 3 of the recovery code has a character that is not"),
            std::string::npos)
      << refusal(with_u);
  for (std::string_view foreign : std::initializer_list<std::string_view>{
           "_", ".", "/", "\xc3\xa9", std::string_view("\0", 1)}) {
    std::string typo = text;
    typo.replace(20, 1, foreign);
    EXPECT_NE(refusal(typo).find("not in one"), std::string::npos) << refusal(typo);
  }
}

// One test, so the RSA-3072 key pair (seconds on a busy machine) is made once.
TEST(RecoveryCodeSeal, TheSealedKeyOpensWithItsCodeAsTypedAndWithNoOther) {
  const SoftwareSigningKey identity = SoftwareSigningKey::generate();
  const RecoveryCode code = RecoveryCode::generate();
  const RecoveryEnvelope envelope = seal_recovery_key_under_code(code, identity, kFastKdf);
  // The envelope is the local recovery key's: same KDF, GCM and signature.
  EXPECT_EQ(envelope.params.m_cost_kib, kMinRecoveryMCostKib);
  EXPECT_TRUE(recovery_envelope_signed_by(envelope, identity.public_key_spki_der()));

  std::string typed;
  for (char c : printed(code))
    if (c != '-') typed += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const RecoveryOpener opener = open_recovery_key_with_code(envelope, RecoveryCode::parse(typed));
  // The opened private half is the envelope's public key's.
  const RecoverySealer sealer(envelope.public_key_pem);
  const SecretBytes secret = SecretBytes::from_string("a vault key, 32 bytes long......");
  const Bytes sealed = sealer.seal(secret, "vk slot");
  EXPECT_EQ(opener.unseal(sealed, "vk slot").reveal_text(), secret.reveal_text());
  // VK's recovery slot (VaultKey::seal_to: OAEP SHA-1, no label) opens with it too, into
  // the same VK; a slot sealed to another key, or altered, does not.
  const MemoryVaultKey vault_key = MemoryVaultKey::generate();
  const Bytes slot = vault_key.seal_to(opener.public_key_spki_der());
  const MemoryVaultKey reopened = open_recovery_slot(opener, slot);
  EXPECT_EQ(reopened.unwrap(vault_key.wrap(secret)).reveal_text(), secret.reveal_text());
  Bytes altered = slot;
  altered[7] ^= 0x01;
  EXPECT_THROW((void)open_recovery_slot(opener, altered), SlotError);
  EXPECT_THROW((void)open_recovery_slot(opener, sealed), SlotError);  // the OAEP-SHA256 form
  // And it survives the envelope's JSON form (what the server stores).
  EXPECT_NO_THROW(
      (void)open_recovery_key_with_code(recovery_envelope_from_json(to_json(envelope)), code));

  try {
    (void)open_recovery_key_with_code(envelope, RecoveryCode::generate());
    ADD_FAILURE() << "another code opened the recovery key";
  } catch (const DecryptError& error) {
    EXPECT_STREQ(error.what(), "wrong recovery code");
  }
  // One bit off, so every check character is right: still refused, by the envelope.
  SecretBytes bits = code.bits().clone();
  bits.reveal_mutable()[19] ^= 0x01;
  EXPECT_THROW((void)open_recovery_key_with_code(envelope, RecoveryCode::from_bytes(bits)),
               DecryptError);
}

}  // namespace
}  // namespace idvault::vault
