#include "firmware-sim/piv_applet.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "firmware-sim/piv_objects.h"
#include "firmware-sim/tlv.h"
#include "tests/firmware-sim/cardsim_test_card.h"

namespace idvault::cardsim::testing {
namespace {

constexpr const char* kSelectPiv = "00a4040009a00000030800001000";

PkeyOwner public_key(TestCard& card, PivKeyRef ref) {
  return public_key_from_certificate_der(card.certificate(ref));
}

// 7C { 82 00, 81 <challenge> } as GENERAL AUTHENTICATE data.
Bytes authenticate_template(TlvTag input_tag, ByteView input) {
  Bytes inner = from_hex("8200");
  append_tlv(inner, input_tag, input);
  return tlv(0x7C, inner);
}

Bytes general_authenticate(std::uint8_t alg, std::uint8_t key, ByteView data,
                           bool extended = false) {
  Bytes apdu = {0x00, 0x87, alg, key};
  if (extended) {
    apdu.push_back(0x00);
    apdu.push_back(static_cast<std::uint8_t>(data.size() >> 8));
    apdu.push_back(static_cast<std::uint8_t>(data.size() & 0xFF));
    append(apdu, data);
    apdu.push_back(0x00);
    apdu.push_back(0x00);
  } else {
    apdu.push_back(static_cast<std::uint8_t>(data.size()));
    append(apdu, data);
    apdu.push_back(0x00);
  }
  return apdu;
}

// Sends `apdu`, follows 61xx; returns data + final SW.
Bytes send_and_collect(TestCard& card, const Bytes& apdu) {
  Bytes r = card.send(apdu);
  Bytes all = data_of(r);
  for (int guard = 0; (sw_of(r) >> 8) == 0x61 && guard < 100; ++guard) {
    r = card.send("00c0000000");
    append(all, data_of(r));
  }
  append(all, from_hex(to_hex(r).substr(to_hex(r).size() - 4)));
  return all;
}

// The 82 value inside a 7C response.
Bytes authenticate_result(const Bytes& response) {
  const Bytes data = data_of(response);
  const auto outer = decode_tlvs(data);
  EXPECT_TRUE(outer && outer->size() == 1 && outer->front().tag == 0x7C);
  if (!outer || outer->empty()) return {};
  const auto inner = decode_tlvs(outer->front().value);
  const auto result = inner ? find_tlv(*inner, 0x82) : std::nullopt;
  EXPECT_TRUE(result.has_value());
  return result ? Bytes(result->begin(), result->end()) : Bytes{};
}

bool ecdsa_verifies(EVP_PKEY* key, ByteView digest, ByteView der_signature) {
  const PkeyCtxOwner ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  return ctx && EVP_PKEY_verify_init(ctx.get()) == 1 &&
         EVP_PKEY_verify(ctx.get(), der_signature.data(), der_signature.size(), digest.data(),
                         digest.size()) == 1;
}

Bytes sha256(ByteView data) {
  Bytes out(32);
  unsigned int len = 0;
  EXPECT_EQ(EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha256(), nullptr), 1);
  return out;
}

TEST(CardsimApplet, AtrDeclaresT1AndHasAValidChecksum) {
  const ByteView atr = card_atr();
  EXPECT_EQ(to_hex(atr.first(12)), "3b888001465753494d504956");  // T=1, "FWSIMPIV"
  std::uint8_t x = 0;
  for (std::size_t i = 1; i < atr.size(); ++i) x ^= atr[i];
  EXPECT_EQ(x, 0) << "TCK must make T0..TCK XOR to zero";
}

TEST(CardsimApplet, NothingButSelectBeforePivIsSelected) {
  TestCard card;
  EXPECT_EQ(sw_of(card.send("00cb3fff035c017e00")), 0x6D00);
  EXPECT_EQ(sw_of(card.send("00200080")), 0x6D00);
}

TEST(CardsimApplet, SelectReturnsTheApplicationPropertyTemplate) {
  TestCard card;
  const Bytes r = card.send(std::string(kSelectPiv) + "00");
  ASSERT_EQ(sw_of(r), 0x9000);
  const Bytes apt = data_of(r);
  const auto outer = decode_tlvs(apt);
  ASSERT_TRUE(outer && outer->size() == 1 && outer->front().tag == 0x61);
  const auto inner = decode_tlvs(outer->front().value);
  ASSERT_TRUE(inner);
  EXPECT_EQ(to_hex(*find_tlv(*inner, 0x4F)), "000010000100");
  EXPECT_FALSE(find_tlv(*inner, 0xAC).has_value()) << "no secure-messaging cipher suites";
}

TEST(CardsimApplet, SelectAcceptsAidPrefixesOfAtLeastFiveBytes) {
  TestCard card;
  EXPECT_EQ(sw_of(card.send("00a4040005a000000308")), 0x9000);
  EXPECT_EQ(sw_of(card.send("00a404000ba000000308000010000100")), 0x9000);
  EXPECT_EQ(sw_of(card.send("00a4040004a0000003")), 0x6A82);
}

TEST(CardsimApplet, SelectingAnotherApplicationDeselectsPiv) {
  TestCard card;
  card.select();
  card.verify_pin();
  EXPECT_EQ(sw_of(card.send("00a4040007a0000001510000")), 0x6A82);
  EXPECT_EQ(sw_of(card.send("00cb3fff035c017e00")), 0x6D00);
  card.select();
  EXPECT_EQ(sw_of(card.send("00200080")), 0x63C3) << "leaving PIV dropped its PIN status";
}

TEST(CardsimApplet, DiscoveryLengthProbeThenFullRead) {
  TestCard card;
  card.select();
  const Bytes probe = card.send("00cb3fff035c017e08");
  EXPECT_EQ(to_hex(probe), "7e124f0ba0000003610c");
  const Bytes full = card.send("00cb3fff035c017e14");
  EXPECT_EQ(to_hex(full), "7e124f0ba0000003080000100001005f2f0240009000");
}

TEST(CardsimApplet, ChuidCarriesFascn9999AndTheGuid) {
  TestCard card;
  card.select();
  const Bytes r = card.get_data(kChuid);
  ASSERT_EQ(sw_of(r), 0x9000);
  const Bytes data = data_of(r);
  const auto outer = decode_tlvs(data);
  ASSERT_TRUE(outer && outer->front().tag == 0x53);
  const auto inner = decode_tlvs(outer->front().value);
  ASSERT_TRUE(inner);
  EXPECT_EQ(to_hex(*find_tlv(*inner, 0x30)).substr(0, 6), "d4e739");
  EXPECT_EQ(to_hex(*find_tlv(*inner, 0x34)), to_hex(card.state().guid));
}

TEST(CardsimApplet, CertificatesComeBackWholeThroughResponseChaining) {
  TestCard card(2048);
  card.select();
  for (const auto& [tag, ref] :
       {std::pair{kCertAuthentication, PivKeyRef::authentication},
        std::pair{kCertSignature, PivKeyRef::signature},
        std::pair{kCertKeyManagement, PivKeyRef::key_management},
        std::pair{kCertCardAuthentication, PivKeyRef::card_authentication}}) {
    const Bytes r = card.get_data(tag);
    ASSERT_EQ(sw_of(r), 0x9000);
    const Bytes data = data_of(r);
    const auto outer = decode_tlvs(data);
    ASSERT_TRUE(outer && outer->front().tag == 0x53);
    const auto inner = decode_tlvs(outer->front().value);
    ASSERT_TRUE(inner);
    EXPECT_EQ(to_hex(*find_tlv(*inner, 0x70)), to_hex(card.certificate(ref)));
    EXPECT_EQ(to_hex(*find_tlv(*inner, 0x71)), "00");
  }
}

TEST(CardsimApplet, LongObjectAnnounces6100ThenTheRemainder) {
  TestCard card(2048);
  card.select();
  const Bytes first = card.send("00cb3fff055c035fc10b00");  // RSA-2048 cert object, ~740 bytes
  EXPECT_EQ(data_of(first).size(), 256U);
  EXPECT_EQ(sw_of(first), 0x6100) << "256 or more bytes remain";
  const Bytes partial = card.send("00c0000010");  // Le 16: only 16 of them
  EXPECT_EQ(data_of(partial).size(), 16U);
  EXPECT_EQ(sw_of(partial) >> 8, 0x61);
}

TEST(CardsimApplet, ExtendedLeGetsTheWholeObjectAtOnce) {
  TestCard card(2048);
  card.select();
  const Bytes r = card.send("00cb3fff0000055c035fc10b0000");
  EXPECT_EQ(sw_of(r), 0x9000);
  EXPECT_GT(data_of(r).size(), 600U);
}

TEST(CardsimApplet, GetResponseWithNothingPendingIsRefused) {
  TestCard card;
  card.select();
  EXPECT_EQ(sw_of(card.send("00c0000000")), 0x6985);
  (void)card.send("00cb3fff055c035fc10500");  // leaves a remainder
  (void)card.send("00200080");                // any other command drops it
  EXPECT_EQ(sw_of(card.send("00c0000000")), 0x6985);
}

TEST(CardsimApplet, GetDataRefusesUnknownAndMalformedRequests) {
  TestCard card;
  card.select();
  EXPECT_EQ(sw_of(card.send("00cb3fff055c035fc10700")), 0x6A82);  // CCC: not on this card
  EXPECT_EQ(sw_of(card.send("00cb3fff055c055fc10700")), 0x6A80);  // inner length runs past
  EXPECT_EQ(sw_of(card.send("00cb3fff035d017e00")), 0x6A80);      // not tag 5C
  EXPECT_EQ(sw_of(card.send("00cb3ffe035c017e00")), 0x6A86);      // P1P2 not 3FFF
}

TEST(CardsimApplet, UnsupportedClassInstructionAndMalformedApdus) {
  TestCard card;
  card.select();
  EXPECT_EQ(sw_of(card.send("80cb3fff035c017e00")), 0x6E00);
  EXPECT_EQ(sw_of(card.send("00470080")), 0x6D00);  // GENERATE ASYMMETRIC: not offered
  EXPECT_EQ(sw_of(card.send("00cb3fff055c01")), 0x6700);
  EXPECT_EQ(sw_of(card.send("00cb")), 0x6700);
}

TEST(CardsimApplet, VerifyCountsDownToBlockedAndPersistsEachStep) {
  TestCard card;
  card.select();
  EXPECT_EQ(sw_of(card.send("00200080")), 0x63C3);
  const std::string wrong = "0020008008" + padded_pin_hex("654321");
  EXPECT_EQ(sw_of(card.send(wrong)), 0x63C2);
  EXPECT_EQ(load_card_state(card.state_file()).pin_tries_left, 2U);
  EXPECT_EQ(sw_of(card.send(wrong)), 0x63C1);
  EXPECT_EQ(sw_of(card.send(wrong)), 0x63C0);
  EXPECT_EQ(load_card_state(card.state_file()).pin_tries_left, 0U);
  EXPECT_EQ(sw_of(card.send("0020008008" + padded_pin_hex("123456"))), 0x6983)
      << "blocked even for the right PIN";
  EXPECT_EQ(sw_of(card.send("00200080")), 0x6983);
  EXPECT_FALSE(card.applet().pin_verified());
}

TEST(CardsimApplet, RightPinRestoresTheCounter) {
  TestCard card;
  card.select();
  EXPECT_EQ(sw_of(card.send("0020008008" + padded_pin_hex("000000"))), 0x63C2);
  card.verify_pin();
  EXPECT_EQ(sw_of(card.send("00200080")), 0x9000);
  EXPECT_EQ(load_card_state(card.state_file()).pin_tries_left, 3U);
}

TEST(CardsimApplet, TriesSurviveAReloadOfTheStateFile) {
  TestCard card;
  card.select();
  (void)card.send("0020008008" + padded_pin_hex("111111"));
  (void)card.send("0020008008" + padded_pin_hex("222222"));
  card.reload();
  card.select();
  EXPECT_EQ(sw_of(card.send("00200080")), 0x63C1);
}

TEST(CardsimApplet, VerifyRejectsMalformedPinBlocksWithoutSpendingATry) {
  TestCard card;
  card.select();
  EXPECT_EQ(sw_of(card.send("0020008006313233343536")), 0x6A80);      // not padded to 8
  EXPECT_EQ(sw_of(card.send("0020008008ff31323334353637")), 0x6A80);  // padding first
  EXPECT_EQ(sw_of(card.send("00200080083132ff3334353637")), 0x6A80);  // data after padding
  EXPECT_EQ(sw_of(card.send("0020008108" + padded_pin_hex("123456"))), 0x6A88);  // key ref 81
  EXPECT_EQ(sw_of(card.send("00200080")), 0x63C3);
}

TEST(CardsimApplet, LogoutAndPowerResetDropThePinStatus) {
  TestCard card;
  card.select();
  card.verify_pin();
  EXPECT_EQ(sw_of(card.send("0020ff80")), 0x9000);
  EXPECT_EQ(sw_of(card.send("00200080")), 0x63C3);
  card.verify_pin();
  card.applet().power_reset();
  EXPECT_FALSE(card.applet().pin_verified());
  EXPECT_EQ(sw_of(card.send("00200080")), 0x6D00) << "power reset also deselects";
  card.select();
  EXPECT_EQ(sw_of(card.send("00200080")), 0x63C3);
}

TEST(CardsimApplet, PukResetsABlockedPin) {
  TestCard card;
  card.select();
  for (int i = 0; i < 3; ++i) (void)card.send("0020008008" + padded_pin_hex("999999"));
  ASSERT_EQ(sw_of(card.send("00200080")), 0x6983);
  EXPECT_EQ(
      sw_of(card.send("002c008010" + padded_pin_hex("87654321") + padded_pin_hex("24681357"))),
      0x63C2);
  EXPECT_EQ(sw_of(card.send("002c008010" + padded_pin_hex("12345678") + padded_pin_hex("12a"))),
            0x6A80);
  EXPECT_EQ(
      sw_of(card.send("002c008010" + padded_pin_hex("12345678") + padded_pin_hex("24681357"))),
      0x9000);
  EXPECT_EQ(load_card_state(card.state_file()).puk_tries_left, 3U);
  EXPECT_EQ(sw_of(card.send("0020008008" + padded_pin_hex("123456"))), 0x63C2) << "old PIN is gone";
  card.verify_pin("24681357");
  card.reload();
  card.select();
  card.verify_pin("24681357");
}

TEST(CardsimApplet, PukBlocksAfterThreeWrongTries) {
  TestCard card;
  card.select();
  const std::string wrong = "002c008010" + padded_pin_hex("00000000") + padded_pin_hex("111111");
  EXPECT_EQ(sw_of(card.send(wrong)), 0x63C2);
  EXPECT_EQ(sw_of(card.send(wrong)), 0x63C1);
  EXPECT_EQ(sw_of(card.send(wrong)), 0x63C0);
  EXPECT_EQ(sw_of(card.send("002c008010" + padded_pin_hex("12345678") + padded_pin_hex("111111"))),
            0x6983);
}

TEST(CardsimApplet, ChangeReferenceReplacesThePin) {
  TestCard card;
  card.select();
  EXPECT_EQ(sw_of(card.send("0024008010" + padded_pin_hex("000000") + padded_pin_hex("13572468"))),
            0x63C2);
  EXPECT_EQ(sw_of(card.send("0024008010" + padded_pin_hex("123456") + padded_pin_hex("13572468"))),
            0x9000);
  card.verify_pin("13572468");
  EXPECT_EQ(
      sw_of(card.send("0024008110" + padded_pin_hex("12345678") + padded_pin_hex("abcdefgh"))),
      0x9000);
  EXPECT_EQ(sw_of(card.send("002c008010" + padded_pin_hex("abcdefgh") + padded_pin_hex("123456"))),
            0x9000);
}

TEST(CardsimApplet, AFailedPersistRefusesToCheckThePin) {
  TestCard card;
  card.break_persistence();
  card.select();
  EXPECT_EQ(sw_of(card.send("0020008008" + padded_pin_hex("123456"))), 0x6581);
  EXPECT_FALSE(card.applet().pin_verified());
  EXPECT_EQ(card.state().pin_tries_left, 3U);
}

TEST(CardsimApplet, GeneralAuthenticateNeedsThePinExceptForCardAuthentication) {
  TestCard card;
  card.select();
  const Bytes digest = sha256(from_hex("616263"));
  const Bytes data = authenticate_template(0x81, digest);
  EXPECT_EQ(sw_of(card.send(general_authenticate(0x11, 0x9A, data))), 0x6982);
  EXPECT_EQ(sw_of(card.send(general_authenticate(0x11, 0x9E, data))), 0x9000);
}

TEST(CardsimApplet, GeneralAuthenticateRejectsUnknownKeysAlgorithmsAndTemplates) {
  TestCard card;
  card.select();
  card.verify_pin();
  const Bytes data = authenticate_template(0x81, sha256(from_hex("00")));
  EXPECT_EQ(sw_of(card.send(general_authenticate(0x11, 0x9B, data))), 0x6A88);
  EXPECT_EQ(sw_of(card.send(general_authenticate(0x11, 0x82, data))), 0x6A88);
  EXPECT_EQ(sw_of(card.send(general_authenticate(0x07, 0x9A, data))), 0x6A86);
  EXPECT_EQ(sw_of(card.send(general_authenticate(0x11, 0x9A, from_hex("7c028200")))), 0x6A80);
  EXPECT_EQ(sw_of(card.send(general_authenticate(0x11, 0x9A, from_hex("7d0482008100")))), 0x6A80);
  Bytes long_digest(33, 0x01);
  EXPECT_EQ(
      sw_of(card.send(general_authenticate(0x11, 0x9A, authenticate_template(0x81, long_digest)))),
      0x6A80);
}

TEST(CardsimApplet, EcdsaSignatureVerifiesWithTheCertificateKey) {
  TestCard card;
  card.select();
  card.verify_pin();
  const Bytes digest = sha256(from_hex("68656c6c6f"));
  const Bytes r = card.send(general_authenticate(0x11, 0x9A, authenticate_template(0x81, digest)));
  ASSERT_EQ(sw_of(r), 0x9000);
  const Bytes signature = authenticate_result(r);
  const PkeyOwner key = public_key(card, PivKeyRef::authentication);
  EXPECT_TRUE(ecdsa_verifies(key.get(), digest, signature));
  Bytes other = digest;
  other[0] ^= 1;
  EXPECT_FALSE(ecdsa_verifies(key.get(), other, signature));
}

TEST(CardsimApplet, SignatureKeyNeedsAFreshPinForEachUse) {
  TestCard card;
  card.select();
  card.verify_pin();
  const Bytes data = authenticate_template(0x81, sha256(from_hex("01")));
  EXPECT_EQ(sw_of(card.send(general_authenticate(0x11, 0x9C, data))), 0x9000);
  EXPECT_EQ(sw_of(card.send(general_authenticate(0x11, 0x9C, data))), 0x6982);
  EXPECT_EQ(sw_of(card.send(general_authenticate(0x11, 0x9A, data))), 0x9000) << "9A stays usable";
  card.verify_pin();
  EXPECT_EQ(sw_of(card.send(general_authenticate(0x11, 0x9C, data))), 0x9000);
}

TEST(CardsimApplet, RsaRawOperationMakesAVerifiablePkcs1Signature) {
  TestCard card(2048);
  card.select();
  card.verify_pin();
  const PkeyOwner key = public_key(card, PivKeyRef::key_management);
  // EMSA-PKCS1-v1_5 for SHA-256, built on the host the way OpenSC does for RSA-PKCS.
  const Bytes message = from_hex("6964766175");
  const Bytes digest = sha256(message);
  const Bytes digest_info = from_hex("3031300d060960864801650304020105000420");
  Bytes block = {0x00, 0x01};
  block.resize(256 - digest_info.size() - digest.size() - 1, 0xFF);
  block.push_back(0x00);
  append(block, digest_info);
  append(block, digest);
  ASSERT_EQ(block.size(), 256U);
  const Bytes r = send_and_collect(
      card, general_authenticate(0x07, 0x9D, authenticate_template(0x81, block), true));
  ASSERT_EQ(sw_of(r), 0x9000);
  const Bytes signature = authenticate_result(r);
  ASSERT_EQ(signature.size(), 256U);

  const PkeyCtxOwner ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  ASSERT_EQ(EVP_PKEY_verify_init(ctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()), 1);
  EXPECT_EQ(
      EVP_PKEY_verify(ctx.get(), signature.data(), signature.size(), digest.data(), digest.size()),
      1);
}

TEST(CardsimApplet, RsaDecryptThroughCommandChainingRecoversThePlaintext) {
  TestCard card(2048);
  card.select();
  card.verify_pin();
  const PkeyOwner key = public_key(card, PivKeyRef::key_management);
  Bytes plain(256);
  ASSERT_EQ(RAND_bytes(plain.data(), static_cast<int>(plain.size())), 1);
  plain[0] = 0x00;  // below the modulus
  const PkeyCtxOwner ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
  ASSERT_EQ(EVP_PKEY_encrypt_init(ctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_NO_PADDING), 1);
  Bytes cipher(256);
  std::size_t cipher_len = cipher.size();
  ASSERT_EQ(EVP_PKEY_encrypt(ctx.get(), cipher.data(), &cipher_len, plain.data(), plain.size()), 1);

  // Split exactly as OpenSC does: a 255-byte block with CLA 10, then the rest with CLA 00.
  const Bytes data = authenticate_template(0x81, cipher);
  Bytes first = {0x10, 0x87, 0x07, 0x9D, 0xFF};
  first.insert(first.end(), data.begin(), data.begin() + 255);
  EXPECT_EQ(sw_of(card.send(first)), 0x9000);
  Bytes last = {0x00, 0x87, 0x07, 0x9D, static_cast<std::uint8_t>(data.size() - 255)};
  last.insert(last.end(), data.begin() + 255, data.end());
  last.push_back(0x00);
  const Bytes r = send_and_collect(card, last);
  ASSERT_EQ(sw_of(r), 0x9000);
  EXPECT_EQ(to_hex(authenticate_result(r)), to_hex(plain));
}

TEST(CardsimApplet, RsaInputMustBeModulusSizedAndBelowTheModulus) {
  TestCard card;  // RSA-1024
  card.select();
  card.verify_pin();
  EXPECT_EQ(sw_of(card.send(
                general_authenticate(0x06, 0x9D, authenticate_template(0x81, Bytes(127, 1))))),
            0x6A80);
  EXPECT_EQ(sw_of(card.send(general_authenticate(
                0x06, 0x9D, authenticate_template(0x81, Bytes(128, 0xFF)), true))),
            0x6A80);
}

TEST(CardsimApplet, ChainMixingTwoCommandsIsRefused) {
  TestCard card;
  card.select();
  EXPECT_EQ(sw_of(card.send("1087119a027c00")), 0x9000);
  EXPECT_EQ(sw_of(card.send("00cb3fff035c017e00")), 0x6883);
  EXPECT_EQ(sw_of(card.send("00cb3fff035c017e00")), 0x9000) << "the broken chain is forgotten";
}

TEST(CardsimApplet, EcdhGivesTheSharedXCoordinate) {
  TestCard card;
  card.select();
  const PkeyOwner card_key = public_key(card, PivKeyRef::card_authentication);
  const PkeyOwner host_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(host_key);
  Bytes point(65);
  ASSERT_EQ(EVP_PKEY_get_octet_string_param(host_key.get(), "encoded-pub-key", point.data(),
                                            point.size(), nullptr),
            1);
  const Bytes r = card.send(general_authenticate(0x11, 0x9E, authenticate_template(0x85, point)));
  ASSERT_EQ(sw_of(r), 0x9000);

  const PkeyCtxOwner ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, host_key.get(), nullptr));
  ASSERT_EQ(EVP_PKEY_derive_init(ctx.get()), 1);
  ASSERT_EQ(EVP_PKEY_derive_set_peer(ctx.get(), card_key.get()), 1);
  Bytes expected(32);
  std::size_t len = expected.size();
  ASSERT_EQ(EVP_PKEY_derive(ctx.get(), expected.data(), &len), 1);
  EXPECT_EQ(to_hex(authenticate_result(r)), to_hex(expected));

  point[64] ^= 1;  // off the curve
  EXPECT_EQ(sw_of(card.send(general_authenticate(0x11, 0x9E, authenticate_template(0x85, point)))),
            0x6A80);
}

}  // namespace
}  // namespace idvault::cardsim::testing
