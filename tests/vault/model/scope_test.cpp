// ScopeRequest: the four scope forms, aliases, Telegram's rules, and both writers.
#include "vault/model/scope.h"

#include <gtest/gtest.h>

#include <string>

#include "vault/model/errors.h"
#include "vault/model/scope_description.h"

namespace idvault::vault {
namespace {

using T = ElementType;

FormatError scope_error(std::string_view text) {
  try {
    static_cast<void>(parse_scope(text));
  } catch (const FormatError& error) {
    return error;
  }
  ADD_FAILURE() << "no error for " << text;
  return FormatError("", "");
}

bool says(const FormatError& error, std::string_view text) {
  return std::string_view(error.what()).find(text) != std::string_view::npos;
}

std::vector<T> types_of(const ScopeItem& item) {
  std::vector<T> types;
  for (const auto& choice : item.choices) types.push_back(choice.type);
  return types;
}

// The example from Telegram's API docs (UriPassportScope).
constexpr std::string_view kOfficialPacked =
    R"({"v":1,"d":[{"_":"pd","n":1},"ad","pn","em",{"_":[{"_":"pp","s":1,"t":1},"ip","dl","ic"]},{"_":["ub","bs","ra","pr","tr"]}]})";

TEST(Scope, OfficialPackedExampleParsesToTheRightItems) {
  const auto scope = parse_scope(kOfficialPacked);
  EXPECT_EQ(scope.form, ScopeForm::packed_json);
  ASSERT_EQ(scope.items.size(), 6u);
  EXPECT_EQ(types_of(scope.items[0]), std::vector<T>{T::personal_details});
  EXPECT_TRUE(scope.items[0].choices[0].native_names);
  EXPECT_FALSE(scope.items[0].one_of);
  EXPECT_EQ(types_of(scope.items[1]), std::vector<T>{T::address});
  EXPECT_EQ(types_of(scope.items[2]), std::vector<T>{T::phone_number});
  EXPECT_EQ(types_of(scope.items[3]), std::vector<T>{T::email});
  EXPECT_TRUE(scope.items[4].one_of);
  EXPECT_EQ(types_of(scope.items[4]), (std::vector<T>{T::passport, T::internal_passport,
                                                      T::driver_license, T::identity_card}));
  EXPECT_TRUE(scope.items[5].one_of);
  EXPECT_EQ(types_of(scope.items[5]),
            (std::vector<T>{T::utility_bill, T::bank_statement, T::rental_agreement,
                            T::passport_registration, T::temporary_registration}));

  EXPECT_TRUE(scope.wants_native_names());
  EXPECT_TRUE(scope.wants_selfie(T::passport));
  EXPECT_TRUE(scope.wants_translation(T::passport));
  EXPECT_FALSE(scope.wants_selfie(T::driver_license));  // the flag was on passport only
  EXPECT_FALSE(scope.wants_translation(T::utility_bill));
  EXPECT_EQ(scope.all_types().size(), 13u);
}

TEST(Scope, EveryPackedAliasResolves) {
  const std::pair<const char*, std::vector<T>> cases[] = {
      {"pd", {T::personal_details}},
      {"pp", {T::passport}},
      {"dl", {T::driver_license}},
      {"ic", {T::identity_card}},
      {"ip", {T::internal_passport}},
      {"idd", {T::passport, T::driver_license, T::identity_card}},
      {"ad", {T::address}},
      {"ub", {T::utility_bill}},
      {"bs", {T::bank_statement}},
      {"ra", {T::rental_agreement}},
      {"pr", {T::passport_registration}},
      {"tr", {T::temporary_registration}},
      {"add", {T::utility_bill, T::bank_statement, T::rental_agreement}},
      {"pn", {T::phone_number}},
      {"em", {T::email}},
  };
  for (const auto& [alias, types] : cases) {
    const auto scope = parse_scope(std::string(R"({"v":1,"d":[")") + alias + "\"]}");
    ASSERT_EQ(scope.items.size(), 1u) << alias;
    EXPECT_EQ(types_of(scope.items[0]), types) << alias;
    EXPECT_EQ(scope.items[0].one_of, types.size() > 1) << alias;
  }
}

TEST(Scope, V1JsonInAnyKeyOrder) {
  const auto a =
      parse_scope(R"({"data":["personal_details",{"type":"passport","selfie":true}],"v":1})");
  const auto b =
      parse_scope(R"({"v":1,"data":[{"selfie":true,"type":"passport"},"personal_details"]})");
  EXPECT_EQ(a.form, ScopeForm::v1_json);
  EXPECT_EQ(types_of(a.items[1]), std::vector<T>{T::passport});
  EXPECT_TRUE(a.wants_selfie(T::passport));
  EXPECT_TRUE(b.wants_selfie(T::passport));
  EXPECT_EQ(a.all_types().size(), b.all_types().size());
}

TEST(Scope, AliasWithFlagsEqualsTheSpelledOutOneOf) {
  const auto alias = parse_scope(R"({"data":[{"type":"id_document","selfie":true}],"v":1})");
  const auto spelled = parse_scope(
      R"({"data":[{"one_of":["passport","driver_license","identity_card"],"selfie":true}],"v":1})");
  EXPECT_EQ(alias, spelled);
  EXPECT_TRUE(alias.wants_selfie(T::identity_card));
}

TEST(Scope, OneOfFlagsApplyToEveryChoice) {
  const auto scope = parse_scope(
      R"({"data":[{"one_of":["utility_bill","bank_statement"],"translation":1}],"v":1})");
  EXPECT_TRUE(scope.wants_translation(T::utility_bill));
  EXPECT_TRUE(scope.wants_translation(T::bank_statement));
}

TEST(Scope, OneOfWithOneTypeIsFine) {
  const auto scope = parse_scope(R"({"data":[{"one_of":["passport"]}],"v":1})");
  EXPECT_TRUE(scope.items[0].one_of);
  EXPECT_EQ(types_of(scope.items[0]), std::vector<T>{T::passport});
}

TEST(Scope, LegacyJsonArray) {
  const auto scope = parse_scope(R"(["personal_details","passport","email"])");
  EXPECT_EQ(scope.form, ScopeForm::legacy_array);
  EXPECT_EQ(scope.all_types(), (std::vector<T>{T::personal_details, T::passport, T::email}));
}

TEST(Scope, LegacyCommaList) {
  const auto scope = parse_scope("personal_details,passport, phone_number");
  EXPECT_EQ(scope.form, ScopeForm::legacy_list);
  EXPECT_EQ(scope.all_types(), (std::vector<T>{T::personal_details, T::passport, T::phone_number}));
  EXPECT_EQ(parse_scope("address").all_types(), std::vector<T>{T::address});
}

TEST(Scope, LegacyListErrorsNamePositions) {
  auto error = scope_error("personal_details,,passport");
  EXPECT_EQ(error.where(), "scope[1]");
  error = scope_error("personal_details,pasport");
  EXPECT_EQ(error.where(), "scope[1]");
  EXPECT_TRUE(says(error, "\"pasport\" is not a Passport element type"));
}

TEST(Scope, EachTypeAtMostOnce) {
  auto error =
      scope_error(R"({"data":["passport","email",{"type":"passport","selfie":true}],"v":1})");
  EXPECT_EQ(error.where(), "scope.data[2]");
  EXPECT_TRUE(says(error, "passport is asked for more than once (also at scope.data[0])"));
  // Across a one_of and an alias.
  error = scope_error(R"({"v":1,"d":["idd","dl"]})");
  EXPECT_EQ(error.where(), "scope.d[1]");
  // Inside one one_of.
  error = scope_error(R"({"data":[{"one_of":["passport","passport"]}],"v":1})");
  EXPECT_EQ(error.where(), "scope.data[0]");
  error = scope_error("email,email");
  EXPECT_EQ(error.where(), "scope[1]");
}

TEST(Scope, OneOfMustNotMixIdentityAndAddressDocuments) {
  auto error = scope_error(R"({"data":[{"one_of":["passport","utility_bill"]}],"v":1})");
  EXPECT_EQ(error.where(), "scope.data[0]");
  EXPECT_TRUE(says(error, "one_of must hold only identity documents"));
  error = scope_error(R"({"data":[{"one_of":["personal_details"]}],"v":1})");
  EXPECT_EQ(error.where(), "scope.data[0]");
  error = scope_error(R"({"v":1,"d":[{"_":["pp","ad"]}]})");
  EXPECT_EQ(error.where(), "scope.d[0]");
}

TEST(Scope, SelfieOnlyForIdentityDocuments) {
  auto error = scope_error(
      R"({"data":["email","personal_details",{"type":"address","selfie":true}],"v":1})");
  EXPECT_EQ(error.where(), "scope.data[2]");
  EXPECT_TRUE(says(error, "scope.data[2]: selfie is not allowed for address"));
  error = scope_error(R"({"data":[{"type":"address_document","selfie":true}],"v":1})");
  EXPECT_TRUE(says(error, "selfie is not allowed for utility_bill"));
  error = scope_error(R"({"v":1,"d":[{"_":"pd","s":1}]})");
  EXPECT_TRUE(says(error, "selfie is not allowed for personal_details"));
  for (const char* type : {"passport", "driver_license", "identity_card", "internal_passport"}) {
    const auto scope =
        parse_scope(std::string(R"({"data":[{"type":")") + type + R"(","selfie":true}],"v":1})");
    EXPECT_TRUE(scope.wants_selfie(scope.items[0].choices[0].type)) << type;
  }
}

TEST(Scope, TranslationOnlyForDocuments) {
  auto error = scope_error(R"({"data":[{"type":"personal_details","translation":true}],"v":1})");
  EXPECT_TRUE(says(error, "translation is not allowed for personal_details"));
  error = scope_error(R"({"v":1,"d":[{"_":"ad","t":1}]})");
  EXPECT_TRUE(says(error, "translation is not allowed for address"));
  error = scope_error(R"({"v":1,"d":[{"_":"em","t":1}]})");
  EXPECT_TRUE(says(error, "translation is not allowed for email"));
  EXPECT_TRUE(parse_scope(R"({"v":1,"d":[{"_":"tr","t":1}]})")
                  .wants_translation(T::temporary_registration));
  EXPECT_TRUE(
      parse_scope(R"({"v":1,"d":[{"_":"ic","t":true}]})").wants_translation(T::identity_card));
}

TEST(Scope, NativeNamesOnlyForPersonalDetails) {
  auto error = scope_error(R"({"data":[{"type":"passport","native_names":true}],"v":1})");
  EXPECT_TRUE(says(error, "native_names is not allowed for passport"));
  error = scope_error(R"({"data":[{"one_of":["passport"],"native_names":true}],"v":1})");
  EXPECT_TRUE(says(error, "native_names is not allowed for passport"));
  EXPECT_FALSE(parse_scope(R"({"v":1,"d":["pd"]})").wants_native_names());
  EXPECT_FALSE(parse_scope(R"({"v":1,"d":[{"_":"pd","n":0}]})").wants_native_names());
}

TEST(Scope, VersionMustBeOneWhenGiven) {
  EXPECT_NO_THROW(static_cast<void>(parse_scope(R"({"data":["email"]})")));
  for (const char* text : {R"({"data":["email"],"v":2})", R"({"data":["email"],"v":"1"})",
                           R"({"d":["em"],"v":0})", R"({"d":["em"],"v":1.5})"}) {
    EXPECT_EQ(scope_error(text).where(), "scope.v") << text;
  }
}

TEST(Scope, FlagsMustBeBooleanOrZeroOrOne) {
  auto error = scope_error(R"({"v":1,"d":[{"_":"pp","s":2}]})");
  EXPECT_EQ(error.where(), "scope.d[0].s");
  error = scope_error(R"({"data":[{"type":"passport","selfie":"yes"}],"v":1})");
  EXPECT_EQ(error.where(), "scope.data[0].selfie");
  error = scope_error(R"({"v":1,"d":[{"_":[{"_":"pp","t":null}]}]})");
  EXPECT_EQ(error.where(), "scope.d[0]._[0].t");
}

TEST(Scope, MalformedShapesAreRejectedWithPositions) {
  EXPECT_EQ(scope_error("").where(), "scope");
  EXPECT_EQ(scope_error("   ").where(), "scope");
  EXPECT_TRUE(says(scope_error("{\"data\":["), "not valid JSON"));
  EXPECT_EQ(scope_error(R"({"data":[],"v":1})").where(), "scope");  // asks for nothing
  EXPECT_EQ(scope_error(R"({"v":1})").where(), "scope");
  EXPECT_EQ(scope_error(R"({"d":[],"data":[]})").where(), "scope");
  EXPECT_EQ(scope_error(R"({"data":"email"})").where(), "scope.data");
  EXPECT_EQ(scope_error(R"({"data":[7]})").where(), "scope.data[0]");
  EXPECT_EQ(scope_error(R"({"data":[{"selfie":true}]})").where(), "scope.data[0]");
  EXPECT_EQ(scope_error(R"({"data":[{"type":"passport","one_of":["passport"]}]})").where(),
            "scope.data[0]");
  EXPECT_EQ(scope_error(R"({"data":[{"one_of":[]}]})").where(), "scope.data[0]");
  EXPECT_EQ(scope_error(R"({"data":[{"one_of":[{"one_of":["passport"]}]}]})").where(),
            "scope.data[0].one_of[0]");
  EXPECT_EQ(scope_error(R"({"v":1,"d":["pd",{"_":["pp","xx"]}]})").where(), "scope.d[1]._[1]");
  EXPECT_EQ(scope_error(R"({"data":[{"type":"nope"}]})").where(), "scope.data[0].type");
  EXPECT_EQ(scope_error(R"([1])").where(), "scope[0]");
  EXPECT_TRUE(says(scope_error(std::string(20000, ' ') + "email"), "longer than"));
}

TEST(Scope, UnknownKeysInElementsAreIgnored) {
  const auto scope =
      parse_scope(R"({"data":[{"type":"passport","future":{"x":1}}],"v":1,"extra":2})");
  EXPECT_EQ(scope.all_types(), std::vector<T>{T::passport});
}

TEST(ScopeWriter, V1JsonRoundTrips) {
  const auto scope = parse_scope(kOfficialPacked);
  const auto text = to_v1_json(scope);
  EXPECT_EQ(text.rfind(R"({"data":[{"type":"personal_details","native_names":true},"address",)", 0),
            0u)
      << text;
  const auto again = parse_scope(text);
  EXPECT_EQ(again.form, ScopeForm::v1_json);
  EXPECT_EQ(again, scope);
}

TEST(ScopeWriter, PackedRoundTripsAndMatchesTheSdkShape) {
  const auto scope = parse_scope(kOfficialPacked);
  const auto text = to_packed_json(scope);
  EXPECT_EQ(
      text,
      R"({"d":[{"_":"pd","n":1},"ad","pn","em",{"_":[{"_":"pp","s":1,"t":1},"ip","dl","ic"]},)"
      R"({"_":["ub","bs","ra","pr","tr"]}],"v":1})");
  EXPECT_EQ(parse_scope(text), scope);
}

TEST(ScopeWriter, SharedOneOfFlagsAreWrittenOnceOnTheGroup) {
  const auto scope =
      parse_scope(R"({"data":[{"type":"id_document","selfie":true,"translation":true}],"v":1})");
  EXPECT_EQ(
      to_v1_json(scope),
      R"({"data":[{"one_of":["passport","driver_license","identity_card"],"selfie":true,"translation":true}],"v":1})");
  EXPECT_EQ(parse_scope(to_packed_json(scope)), scope);
}

TEST(ScopeWriter, LegacyFormsRewriteAsV1) {
  const auto scope = parse_scope("personal_details,passport");
  EXPECT_EQ(to_v1_json(scope), R"({"data":["personal_details","passport"],"v":1})");
}

TEST(ScopeWriter, RefusesToWriteAnInvalidScope) {
  ScopeRequest scope;
  scope.items.push_back({{{T::address, /*selfie=*/true, false, false}}, false});
  EXPECT_THROW(static_cast<void>(to_v1_json(scope)), FormatError);
  EXPECT_THROW(static_cast<void>(to_packed_json(ScopeRequest{})), FormatError);
  ScopeRequest two_without_one_of;
  two_without_one_of.items.push_back({{{T::passport}, {T::identity_card}}, false});
  EXPECT_THROW(validate_scope(two_without_one_of), FormatError);
}

}  // namespace
}  // namespace idvault::vault

// The words a service's page and the holder's consent prompt share: "type (parts)".
TEST(ScopeDescription, SaysWhatEachItemAsksForInTheConsentPromptsWords) {
  using idvault::vault::describe_scope;
  using idvault::vault::parse_scope;
  EXPECT_EQ(
      describe_scope(parse_scope(
          R"({"data":[{"type":"personal_details"},{"type":"passport","selfie":true},{"type":"email"}],"v":1})")),
      "personal_details (data); passport (data, front_side, selfie); email (email)");
  EXPECT_EQ(describe_scope(parse_scope("personal_details,identity_card")),
            "personal_details (data); identity_card (data, front_side, reverse_side)");
  EXPECT_EQ(
      describe_scope(parse_scope(
          R"({"data":[{"one_of":[{"type":"utility_bill"},{"type":"bank_statement"}],"translation":true},{"type":"phone_number"}],"v":1})")),
      "utility_bill (files, translation) or bank_statement (files, translation); phone_number "
      "(phone_number)");
  // The consent prompt names an offered element the same way.
  EXPECT_EQ(idvault::vault::describe_element(idvault::vault::ElementType::passport,
                                             {"data", "front_side", "selfie"}),
            "passport (data, front_side, selfie)");
}
