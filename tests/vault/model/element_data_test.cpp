// Element data (PersonalDetails, IdDocumentData, ResidentialAddress), the plain
// phone/email values and the slot shape of each type.
#include "vault/model/element_data.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "vault/model/element_shape.h"
#include "vault/model/errors.h"
#include "vault/model/plain_value.h"

namespace idvault::vault {
namespace {

using nlohmann::json;

json personal_json() {
  return json{{"first_name", "Ivan"},
              {"middle_name", ""},
              {"last_name", "Petrov"},
              {"first_name_native", "\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd"},
              {"middle_name_native", ""},
              {"last_name_native", "\xd0\x9f\xd0\xb5\xd1\x82\xd1\x80\xd0\xbe\xd0\xb2"},
              {"birth_date", "01.02.1990"},
              {"gender", "male"},
              {"country_code", "RU"},
              {"residence_country_code", "DE"}};
}

json address_json() {
  return json{{"street_line1", "1 Main St"}, {"street_line2", ""},
              {"city", "Springfield"},       {"state", ""},
              {"country_code", "US"},        {"post_code", "12345"}};
}

// Runs fn, expects a FormatError, and returns it for inspection.
template <typename Fn>
FormatError expect_format_error(Fn&& fn) {
  try {
    fn();
  } catch (const FormatError& error) {
    return error;
  }
  ADD_FAILURE() << "expected FormatError";
  return FormatError("", "");
}

FormatError personal_error_with(const std::string& key, const json& value) {
  auto data = personal_json();
  data[key] = value;
  return expect_format_error(
      [&] { static_cast<void>(parse_element_data(ElementType::personal_details, data)); });
}

bool contains(const FormatError& error, std::string_view text) {
  return std::string_view(error.what()).find(text) != std::string_view::npos;
}

TEST(PersonalDetails, ReadsTdlibShapedJson) {
  const auto data =
      std::get<PersonalDetails>(parse_element_data(ElementType::personal_details, personal_json()));
  EXPECT_EQ(data.first_name, "Ivan");
  EXPECT_EQ(data.last_name, "Petrov");
  EXPECT_EQ(data.last_name_native, "\xd0\x9f\xd0\xb5\xd1\x82\xd1\x80\xd0\xbe\xd0\xb2");
  EXPECT_EQ(data.birth_date, (CalendarDate{1, 2, 1990}));
  EXPECT_EQ(data.gender, Gender::male);
  EXPECT_EQ(data.country_code, "RU");
  EXPECT_EQ(data.residence_country_code, "DE");
}

TEST(PersonalDetails, ReadsJsonWithOptionalKeysLeftOutAndUnknownKeys) {
  auto data = personal_json();
  data.erase("middle_name");
  data.erase("middle_name_native");
  data.erase("first_name_native");
  data.erase("last_name_native");  // Passport 1.0 clients had no native names
  data["some_future_field"] = 42;
  const auto details =
      std::get<PersonalDetails>(parse_element_data(ElementType::personal_details, data));
  EXPECT_EQ(details.middle_name, "");
  EXPECT_EQ(details.first_name_native, "");
}

TEST(PersonalDetails, WritesEveryKeyInTdlibOrderWithPaddedDates) {
  auto data = personal_json();
  data["birth_date"] = "1.2.1990";
  data.erase("middle_name");
  const auto parsed = parse_element_data(ElementType::personal_details, data);
  EXPECT_EQ(
      to_json_text(ElementType::personal_details, parsed),
      "{\"first_name\":\"Ivan\",\"middle_name\":\"\",\"last_name\":\"Petrov\","
      "\"first_name_native\":\"\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\",\"middle_name_native\":\"\","
      "\"last_name_native\":\"\xd0\x9f\xd0\xb5\xd1\x82\xd1\x80\xd0\xbe\xd0\xb2\","
      "\"birth_date\":\"01.02.1990\",\"gender\":\"male\",\"country_code\":\"RU\","
      "\"residence_country_code\":\"DE\"}");
}

TEST(PersonalDetails, RoundTripsThroughJsonText) {
  const auto first = parse_element_data(ElementType::personal_details, personal_json());
  const auto text = to_json_text(ElementType::personal_details, first);
  EXPECT_EQ(parse_element_data(ElementType::personal_details, std::string_view(text)), first);
}

TEST(PersonalDetails, BirthDateIsRequiredAndMustExist) {
  auto data = personal_json();
  data.erase("birth_date");
  auto error = expect_format_error(
      [&] { static_cast<void>(parse_element_data(ElementType::personal_details, data)); });
  EXPECT_EQ(error.where(), "personal_details.birth_date");
  EXPECT_TRUE(contains(error, "is missing"));

  error = personal_error_with("birth_date", "31.02.2000");
  EXPECT_EQ(error.where(), "personal_details.birth_date");
  EXPECT_TRUE(contains(error, "31.02.2000 is not a date that exists"));

  error = personal_error_with("birth_date", "");
  EXPECT_EQ(error.where(), "personal_details.birth_date");
}

TEST(PersonalDetails, GenderIsExactlyMaleOrFemale) {
  for (const char* bad : {"Male", "FEMALE", "m", "", "other", "male "}) {
    const auto error = personal_error_with("gender", bad);
    EXPECT_EQ(error.where(), "personal_details.gender") << bad;
  }
  auto data = personal_json();
  data["gender"] = "female";
  EXPECT_EQ(
      std::get<PersonalDetails>(parse_element_data(ElementType::personal_details, data)).gender,
      Gender::female);
}

TEST(PersonalDetails, CountryCodesAreTwoUppercaseLetters) {
  for (const char* key : {"country_code", "residence_country_code"}) {
    for (const char* bad : {"us", "USA", "U", "", "1A"}) {
      const auto error = personal_error_with(key, bad);
      EXPECT_EQ(error.where(), std::string("personal_details.") + key) << bad;
      EXPECT_TRUE(contains(error, "ISO 3166-1 alpha-2")) << bad;
    }
  }
}

TEST(PersonalDetails, UnassignedCountryCodeIsReadButNeverWritten) {
  auto data = personal_json();
  data["country_code"] = "QQ";  // well-formed, not assigned: tolerated from a peer
  const auto parsed = parse_element_data(ElementType::personal_details, data);
  EXPECT_EQ(std::get<PersonalDetails>(parsed).country_code, "QQ");

  const auto strict = expect_format_error([&] {
    static_cast<void>(
        parse_element_data(ElementType::personal_details, data, Strictness::own_output));
  });
  EXPECT_EQ(strict.where(), "personal_details.country_code");
  EXPECT_TRUE(contains(strict, "not an assigned"));
  const auto on_write = expect_format_error(
      [&] { static_cast<void>(to_json(ElementType::personal_details, parsed)); });
  EXPECT_EQ(on_write.where(), "personal_details.country_code");
}

TEST(PersonalDetails, NamesAreValidUtf8OfAtMost255Characters) {
  std::string name_255;
  for (int i = 0; i < 255; ++i) name_255 += "\xd0\x96";  // 255 characters, 510 bytes
  auto data = personal_json();
  data["first_name"] = name_255;
  EXPECT_NO_THROW(static_cast<void>(parse_element_data(ElementType::personal_details, data)));

  auto error = personal_error_with("first_name", name_255 + "a");
  EXPECT_EQ(error.where(), "personal_details.first_name");
  EXPECT_TRUE(contains(error, "longer than 255"));

  error = personal_error_with("last_name_native", std::string("Pe\xfftrov"));
  EXPECT_EQ(error.where(), "personal_details.last_name_native");
  EXPECT_TRUE(contains(error, "not valid UTF-8"));
}

TEST(PersonalDetails, NonStringFieldIsRejected) {
  const auto error = personal_error_with("first_name", 7);
  EXPECT_EQ(error.where(), "personal_details.first_name");
  EXPECT_TRUE(contains(error, "must be a string"));
}

TEST(PersonalDetails, NameIsNotEchoedInErrors) {
  const auto error = personal_error_with("first_name", std::string(300, 'Q'));
  EXPECT_FALSE(contains(error, "QQQ"));
}

TEST(ElementData, NonObjectAndNonJsonAreRejected) {
  auto error = expect_format_error(
      [] { static_cast<void>(parse_element_data(ElementType::address, json::array())); });
  EXPECT_EQ(error.where(), "address");
  error = expect_format_error([] {
    static_cast<void>(parse_element_data(ElementType::address, std::string_view("{\"city\":")));
  });
  EXPECT_TRUE(contains(error, "not valid JSON"));
}

TEST(ElementData, TypesWithoutDataAreRejected) {
  for (const auto type :
       {ElementType::utility_bill, ElementType::phone_number, ElementType::email}) {
    const auto error =
        expect_format_error([&] { static_cast<void>(parse_element_data(type, json::object())); });
    EXPECT_EQ(error.where(), to_string(type));
    EXPECT_TRUE(data_field_names(type).empty());
  }
}

TEST(IdDocumentData, ReadsAndWritesWithEmptyExpiry) {
  const auto parsed = parse_element_data(ElementType::identity_card,
                                         json{{"document_no", "AB123"}, {"expiry_date", ""}});
  const auto& document = std::get<IdDocumentData>(parsed);
  EXPECT_EQ(document.document_no, "AB123");
  EXPECT_FALSE(document.expiry_date);
  EXPECT_EQ(to_json_text(ElementType::identity_card, parsed),
            "{\"document_no\":\"AB123\",\"expiry_date\":\"\"}");
  // Left out entirely means the same.
  EXPECT_EQ(parse_element_data(ElementType::identity_card, json{{"document_no", "AB123"}}), parsed);
}

TEST(IdDocumentData, ExpiryDateIsReadUnpaddedAndWrittenPadded) {
  const auto parsed = parse_element_data(ElementType::passport,
                                         json{{"document_no", "X1"}, {"expiry_date", "9.3.2031"}});
  EXPECT_EQ(std::get<IdDocumentData>(parsed).expiry_date, (CalendarDate{9, 3, 2031}));
  EXPECT_EQ(to_json(ElementType::passport, parsed)["expiry_date"], "09.03.2031");
}

TEST(IdDocumentData, BadExpiryNamesTheDocumentType) {
  const auto error = expect_format_error([] {
    static_cast<void>(parse_element_data(
        ElementType::driver_license, json{{"document_no", "X1"}, {"expiry_date", "31.04.2030"}}));
  });
  EXPECT_EQ(error.where(), "driver_license.expiry_date");
}

TEST(IdDocumentData, DocumentNumberIsOneTo24Characters) {
  const auto parse_number = [](const std::string& number) {
    return parse_element_data(ElementType::internal_passport, json{{"document_no", number}});
  };
  EXPECT_NO_THROW(static_cast<void>(parse_number(std::string(24, '7'))));
  std::string cyrillic_24;
  for (int i = 0; i < 24; ++i) cyrillic_24 += "\xd0\x96";  // 48 bytes, 24 characters
  EXPECT_NO_THROW(static_cast<void>(parse_number(cyrillic_24)));

  auto error = expect_format_error([&] { static_cast<void>(parse_number(std::string(25, '7'))); });
  EXPECT_EQ(error.where(), "internal_passport.document_no");
  EXPECT_TRUE(contains(error, "longer than 24"));
  error = expect_format_error([&] { static_cast<void>(parse_number(cyrillic_24 + "\xd0\x96")); });
  EXPECT_TRUE(contains(error, "longer than 24"));
  error = expect_format_error([&] { static_cast<void>(parse_number("")); });
  EXPECT_TRUE(contains(error, "must not be empty"));
  error = expect_format_error([&] { static_cast<void>(parse_number("\xc3\x28")); });
  EXPECT_TRUE(contains(error, "not valid UTF-8"));
  error = expect_format_error([] {
    static_cast<void>(parse_element_data(ElementType::passport, json{{"expiry_date", ""}}));
  });
  EXPECT_EQ(error.where(), "passport.document_no");
  EXPECT_TRUE(contains(error, "is missing"));
}

TEST(ResidentialAddress, ReadsAndWritesInTdlibOrder) {
  const auto parsed = parse_element_data(ElementType::address, address_json());
  EXPECT_EQ(std::get<ResidentialAddress>(parsed).city, "Springfield");
  EXPECT_EQ(to_json_text(ElementType::address, parsed),
            "{\"country_code\":\"US\",\"state\":\"\",\"city\":\"Springfield\","
            "\"street_line1\":\"1 Main St\",\"street_line2\":\"\",\"post_code\":\"12345\"}");
}

TEST(ResidentialAddress, CountryCodeAndUtf8AreChecked) {
  auto data = address_json();
  data["country_code"] = "us";
  auto error = expect_format_error(
      [&] { static_cast<void>(parse_element_data(ElementType::address, data)); });
  EXPECT_EQ(error.where(), "address.country_code");
  data = address_json();
  data["street_line2"] = "\xe2\x28\xa1";
  error = expect_format_error(
      [&] { static_cast<void>(parse_element_data(ElementType::address, data)); });
  EXPECT_EQ(error.where(), "address.street_line2");
}

TEST(ElementData, KindMustMatchTheType) {
  const ElementData address =
      std::get<ResidentialAddress>(parse_element_data(ElementType::address, address_json()));
  const auto error =
      expect_format_error([&] { static_cast<void>(to_json(ElementType::passport, address)); });
  EXPECT_EQ(error.where(), "passport");
}

TEST(ElementData, ValidateCatchesDatesThatDoNotExist) {
  IdDocumentData document{"N1", CalendarDate{31, 4, 2030}};
  const auto error = expect_format_error(
      [&] { validate_element_data(ElementType::passport, document, Strictness::peer_input); });
  EXPECT_EQ(error.where(), "passport.expiry_date");
}

TEST(ElementDataFields, BuildsPersonalDetailsFromKeyValuePairs) {
  const FieldValues fields = {{"first_name", "Anna"},     {"last_name", "Schmidt"},
                              {"birth_date", "3.7.1985"}, {"gender", "female"},
                              {"country_code", "DE"},     {"residence_country_code", "AT"}};
  const auto data = element_data_from_fields(ElementType::personal_details, fields);
  const auto& details = std::get<PersonalDetails>(data);
  EXPECT_EQ(details.first_name, "Anna");
  EXPECT_EQ(details.middle_name, "");
  EXPECT_EQ(details.birth_date, (CalendarDate{3, 7, 1985}));
  EXPECT_EQ(to_json(ElementType::personal_details, data)["birth_date"], "03.07.1985");
}

TEST(ElementDataFields, UnknownDuplicateAndMissingKeysAreRejected) {
  auto error = expect_format_error([] {
    static_cast<void>(
        element_data_from_fields(ElementType::passport, {{"document_no", "1"}, {"number", "2"}}));
  });
  EXPECT_EQ(error.where(), "passport.number");
  EXPECT_TRUE(contains(error, "document_no, expiry_date"));

  error = expect_format_error([] {
    static_cast<void>(element_data_from_fields(ElementType::passport,
                                               {{"document_no", "1"}, {"document_no", "2"}}));
  });
  EXPECT_TRUE(contains(error, "more than once"));

  error = expect_format_error([] {
    static_cast<void>(element_data_from_fields(ElementType::address,
                                               {{"country_code", "FR"}, {"city", "Paris"}}));
  });
  EXPECT_EQ(error.where(), "address.street_line1");
  EXPECT_TRUE(contains(error, "is missing"));
}

TEST(ElementDataFields, RequireAssignedCountryCodes) {
  const auto error = expect_format_error([] {
    static_cast<void>(element_data_from_fields(ElementType::address, {{"country_code", "UK"},
                                                                      {"city", "London"},
                                                                      {"street_line1", "1 High St"},
                                                                      {"post_code", "N1"}}));
  });
  EXPECT_EQ(error.where(), "address.country_code");
  EXPECT_TRUE(contains(error, "\"UK\" is not an assigned"));
}

TEST(ElementDataFields, AssignmentSplitsAtFirstEquals) {
  EXPECT_EQ(parse_field_assignment("street_line1=a=b"),
            (std::pair<std::string, std::string>{"street_line1", "a=b"}));
  EXPECT_EQ(parse_field_assignment("state="), (std::pair<std::string, std::string>{"state", ""}));
  EXPECT_THROW(static_cast<void>(parse_field_assignment("no_equals")), FormatError);
  EXPECT_THROW(static_cast<void>(parse_field_assignment("=value")), FormatError);
}

TEST(DataFieldNames, FollowTdlibOrder) {
  const auto names = data_field_names(ElementType::address);
  ASSERT_EQ(names.size(), 6u);
  EXPECT_EQ(names[0], "country_code");
  EXPECT_EQ(names[5], "post_code");
  EXPECT_EQ(data_field_names(ElementType::personal_details).size(), 10u);
  EXPECT_EQ(data_field_names(ElementType::identity_card).front(), "document_no");
}

TEST(PhoneNumber, NormalizesToDigits) {
  EXPECT_EQ(normalize_phone_number("15551234567"), "15551234567");
  EXPECT_EQ(normalize_phone_number("+79001234567"), "79001234567");
  EXPECT_EQ(normalize_phone_number("68340"), "68340");
  EXPECT_EQ(normalize_phone_number("123456789012345"), "123456789012345");
}

TEST(PhoneNumber, RejectsWhatIsNotAnInternationalNumber) {
  for (const char* bad : {"", "+", "1234", "1234567890123456", "++15551234567", "1555 123 4567",
                          "1-555-1234567", "05551234567", "phone", "+1555123456７"}) {
    const auto error = expect_format_error([&] { static_cast<void>(normalize_phone_number(bad)); });
    EXPECT_EQ(error.where(), "phone_number") << bad;
  }
}

TEST(Email, AcceptsOrdinaryAndInternationalAddresses) {
  EXPECT_NO_THROW(validate_email("a@b"));
  EXPECT_NO_THROW(validate_email("first.last+tag@example.co.uk"));
  EXPECT_NO_THROW(
      validate_email("\xd0\xb8\xd0\xb2\xd0\xb0\xd0\xbd@"
                     "\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84"));
  EXPECT_NO_THROW(validate_email(std::string(250, 'a') + "@b.c"));  // 254 bytes
}

TEST(Email, RejectsMalformedAddresses) {
  for (const std::string& bad :
       {std::string(""), std::string("plain"), std::string("@b.c"), std::string("a@"),
        std::string("a@b@c"), std::string("a b@c"), std::string("a@b\tc"), std::string("a@b\n"),
        std::string("a\xff@b"), std::string(251, 'a') + "@b.c"}) {
    const auto error = expect_format_error([&] { validate_email(bad); });
    EXPECT_EQ(error.where(), "email") << bad;
  }
}

ElementShape shape_with(bool data, bool front, bool reverse, bool selfie, std::size_t translations,
                        std::size_t files, bool plain = false) {
  ElementShape shape;
  shape.data = data;
  shape.front_side = front;
  shape.reverse_side = reverse;
  shape.selfie = selfie;
  shape.translation_count = translations;
  shape.file_count = files;
  shape.plain = plain;
  return shape;
}

TEST(ElementShape, AcceptsWhatEachTypeMayCarry) {
  EXPECT_NO_THROW(validate_element_shape(ElementType::personal_details,
                                         shape_with(true, false, false, false, 0, 0)));
  EXPECT_NO_THROW(
      validate_element_shape(ElementType::passport, shape_with(true, true, false, true, 2, 0)));
  EXPECT_NO_THROW(
      validate_element_shape(ElementType::passport, shape_with(true, true, false, false, 0, 0)));
  EXPECT_NO_THROW(validate_element_shape(ElementType::driver_license,
                                         shape_with(true, true, true, false, 0, 0)));
  EXPECT_NO_THROW(validate_element_shape(ElementType::utility_bill,
                                         shape_with(false, false, false, false, 1, 3)));
  EXPECT_NO_THROW(validate_element_shape(ElementType::email,
                                         shape_with(false, false, false, false, 0, 0, true)));
}

TEST(ElementShape, RejectsForbiddenSlots) {
  auto error = expect_format_error([] {
    validate_element_shape(ElementType::passport, shape_with(true, true, true, false, 0, 0));
  });
  EXPECT_EQ(error.where(), "passport.reverse_side");
  EXPECT_TRUE(contains(error, "not allowed"));
  error = expect_format_error([] {
    validate_element_shape(ElementType::address, shape_with(true, false, false, false, 1, 0));
  });
  EXPECT_EQ(error.where(), "address.translation");
  error = expect_format_error([] {
    validate_element_shape(ElementType::bank_statement,
                           shape_with(false, false, false, true, 0, 1));
  });
  EXPECT_EQ(error.where(), "bank_statement.selfie");
  error = expect_format_error([] {
    validate_element_shape(ElementType::utility_bill, shape_with(true, false, false, false, 0, 1));
  });
  EXPECT_EQ(error.where(), "utility_bill.data");
  error = expect_format_error([] {
    validate_element_shape(ElementType::identity_card, shape_with(true, true, true, false, 0, 1));
  });
  EXPECT_EQ(error.where(), "identity_card.files");
  error = expect_format_error([] {
    validate_element_shape(ElementType::passport, shape_with(true, true, false, false, 0, 0, true));
  });
  EXPECT_EQ(error.where(), "passport.plain");
}

TEST(ElementShape, RejectsMissingRequiredSlots) {
  auto error = expect_format_error([] {
    validate_element_shape(ElementType::identity_card, shape_with(true, true, false, false, 0, 0));
  });
  EXPECT_EQ(error.where(), "identity_card.reverse_side");
  EXPECT_TRUE(contains(error, "is required"));
  error = expect_format_error([] {
    validate_element_shape(ElementType::passport, shape_with(true, false, false, false, 0, 0));
  });
  EXPECT_EQ(error.where(), "passport.front_side");
  error = expect_format_error([] {
    validate_element_shape(ElementType::rental_agreement,
                           shape_with(false, false, false, false, 1, 0));
  });
  EXPECT_EQ(error.where(), "rental_agreement.files");
  error = expect_format_error([] {
    validate_element_shape(ElementType::personal_details,
                           shape_with(false, false, false, false, 0, 0));
  });
  EXPECT_EQ(error.where(), "personal_details.data");
  error = expect_format_error([] {
    validate_element_shape(ElementType::phone_number, shape_with(false, false, false, false, 0, 0));
  });
  EXPECT_EQ(error.where(), "phone_number.phone_number");
}

}  // namespace
}  // namespace idvault::vault
