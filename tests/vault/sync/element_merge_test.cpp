// The field-by-field merge (vault/sync/element_merge.h), rule by rule.
#include "vault/sync/element_merge.h"

#include <gtest/gtest.h>

#include <string>
#include <tuple>

#include "common/hex.h"

namespace idvault::vault {
namespace {

using Json = nlohmann::json;

ElementFields base() {
  ElementFields f;
  f.data = {{"document_no", "X123"}, {"expiry_date", "01.02.2030"}};
  f.files = {{"front_side", {"aa"}}, {"translation", {"b1", "b2"}}};
  return f;
}

TEST(ElementMerge, OneSidedChangesAreTaken) {
  const ElementFields parent = base();
  ElementFields local = parent;
  local.data["document_no"] = "L1";
  local.files.erase("front_side");
  ElementFields remote = parent;
  remote.data.erase("expiry_date");
  remote.files["translation"] = {"b1", "b2", "b3"};
  remote.files["selfie"] = {"cc"};

  const MergeResult merged = merge_element(parent, local, remote);
  ASSERT_TRUE(merged.element);
  EXPECT_TRUE(merged.conflicts.empty());
  ElementFields expected;
  expected.data = {{"document_no", "L1"}};
  expected.files = {{"translation", {"b1", "b2", "b3"}}, {"selfie", {"cc"}}};
  EXPECT_EQ(*merged.element, expected);
}

TEST(ElementMerge, TheSameChangeOnBothSidesIsTakenOnce) {
  const ElementFields parent = base();
  ElementFields both = parent;
  both.data["document_no"] = "Z9";
  both.plain = "15551234567";
  const MergeResult merged = merge_element(parent, both, both);
  EXPECT_EQ(merged.element, both);
  EXPECT_TRUE(merged.conflicts.empty());
}

TEST(ElementMerge, DifferentChangesConflictAndKeepBothValues) {
  const ElementFields parent = base();
  ElementFields local = parent;
  ElementFields remote = parent;
  local.data["document_no"] = "L1";
  remote.data["document_no"] = "R1";
  local.files["translation"] = {"b2", "b1"};  // a list is compared as a whole
  remote.files.erase("translation");

  const MergeResult merged = merge_element(parent, local, remote);
  ASSERT_TRUE(merged.element);
  EXPECT_EQ(merged.element->data.at("document_no"), "L1");  // the local value, until resolved
  EXPECT_EQ(merged.element->files.at("translation"), (std::vector<std::string>{"b2", "b1"}));
  const std::vector<FieldConflict> expected = {{"data.document_no", "L1", "R1"},
                                               {"translation", Json{"b2", "b1"}, Json()}};
  EXPECT_EQ(merged.conflicts, expected);

  MergeResult taken = merged;
  EXPECT_EQ(resolve(taken, std::string("data.document_no"), Take::remote), 1U);
  EXPECT_EQ(taken.element->data.at("document_no"), "R1");
  ASSERT_EQ(taken.conflicts.size(), 1U);
  EXPECT_EQ(taken.conflicts[0].field, "translation");
  EXPECT_EQ(resolve(taken, std::string("selfie"), Take::remote), 0U);
  EXPECT_EQ(resolve(taken, std::nullopt, Take::remote), 1U);
  EXPECT_EQ(taken.element->files.count("translation"), 0U);
  EXPECT_TRUE(taken.conflicts.empty());

  MergeResult kept = merged;
  EXPECT_EQ(resolve(kept, std::nullopt, Take::local), 2U);
  EXPECT_EQ(kept.element, local);
}

TEST(ElementMerge, DeleteAgainstUnchangedDeletes) {
  const ElementFields parent = base();
  EXPECT_FALSE(merge_element(parent, std::nullopt, parent).element);
  EXPECT_FALSE(merge_element(parent, parent, std::nullopt).element);
  EXPECT_FALSE(merge_element(parent, std::nullopt, std::nullopt).element);
}

TEST(ElementMerge, DeleteAgainstEditKeepsTheEditAndRecordsTheDelete) {
  const ElementFields parent = base();
  ElementFields edited = parent;
  edited.plain = "a@b.example";

  MergeResult merged = merge_element(parent, std::nullopt, edited);
  EXPECT_EQ(merged.element, edited);
  ASSERT_EQ(merged.conflicts.size(), 1U);
  EXPECT_EQ(merged.conflicts[0].field, kElementField);
  EXPECT_TRUE(merged.conflicts[0].local.is_null());
  EXPECT_EQ(fields_from_json(merged.conflicts[0].remote), edited);

  MergeResult mirrored = merge_element(parent, edited, std::nullopt);
  EXPECT_EQ(mirrored.element, edited);
  ASSERT_EQ(mirrored.conflicts.size(), 1U);
  EXPECT_TRUE(mirrored.conflicts[0].remote.is_null());

  EXPECT_EQ(resolve(merged, std::string(kElementField), Take::local), 1U);
  EXPECT_FALSE(merged.element);
  EXPECT_EQ(resolve(mirrored, std::nullopt, Take::local), 1U);
  EXPECT_EQ(mirrored.element, edited);
}

TEST(ElementMerge, CreatedOnOneOrBothSides) {
  const ElementFields made = base();
  EXPECT_EQ(merge_element(std::nullopt, made, std::nullopt).element, made);
  EXPECT_EQ(merge_element(std::nullopt, std::nullopt, made).element, made);
  ElementFields other = made;
  other.data["document_no"] = "R7";
  const MergeResult both = merge_element(std::nullopt, made, other);
  EXPECT_EQ(both.element, made);
  EXPECT_EQ(both.conflicts, (std::vector<FieldConflict>{{"data.document_no", "X123", "R7"}}));
}

TEST(ElementMerge, RecordedConflictsAreCarriedSettledAndMergedAsASet) {
  const ElementFields parent = base();
  const FieldConflict old{"data.document_no", "X123", "Q5"};
  const ElementState parent_state{parent, {old}};

  // Kept on both sides: kept once. The other device's record reads the other way round.
  const MergeResult kept =
      merge_element(parent_state, parent_state, ElementState{parent, {{old.field, "Q5", "X123"}}});
  EXPECT_EQ(kept.conflicts, std::vector<FieldConflict>{old});

  // Settled (resolved) on one side: gone.
  EXPECT_TRUE(
      merge_element(parent_state, ElementState{parent, {}}, parent_state).conflicts.empty());

  // Both sides set the field to the same value: settled by that.
  ElementFields agreed = parent;
  agreed.data["document_no"] = "Q5";
  const MergeResult settled =
      merge_element(parent_state, ElementState{agreed, {old}}, ElementState{agreed, {old}});
  EXPECT_TRUE(settled.conflicts.empty());
  EXPECT_EQ(settled.element, agreed);

  // New on the remote side: carried, seen from here.
  const MergeResult carried = merge_element(ElementState{parent, {}}, ElementState{parent, {}},
                                            ElementState{parent, {old}});
  EXPECT_EQ(carried.conflicts, (std::vector<FieldConflict>{{old.field, old.remote, old.local}}));
}

TEST(ElementMerge, FieldsOfAStoredElement) {
  StoredElement stored;
  stored.type = ElementType::passport;
  for (const auto& [slot, position, fill] :
       {std::tuple{"front_side", 0, 1}, std::tuple{"translation", 0, 2},
        std::tuple{"translation", 1, 3}}) {
    StoredFile file;
    file.slot = slot;
    file.position = position;
    file.file_hash = Bytes(32, static_cast<std::uint8_t>(fill));
    stored.files.push_back(file);
  }
  const Json data = {{"document_no", "X123"}, {"expiry_date", ""}};
  const ElementFields fields = element_fields(stored, data);
  EXPECT_EQ(fields.data, (std::map<std::string, Json>{{"document_no", "X123"}}));
  EXPECT_FALSE(fields.plain);
  EXPECT_EQ(fields.files.at("front_side"), std::vector<std::string>{hex_lower(Bytes(32, 1))});
  EXPECT_EQ(fields.files.at("translation").size(), 2U);
  EXPECT_EQ(data_object(fields), (Json{{"document_no", "X123"}}));
  EXPECT_EQ(fields_from_json(fields_json(fields)), fields);
  EXPECT_EQ(field_value(fields, "data.expiry_date"), Json());
  ElementFields copy = fields;
  EXPECT_THROW(set_field(copy, "colour", "red"), std::invalid_argument);
}

}  // namespace
}  // namespace idvault::vault
