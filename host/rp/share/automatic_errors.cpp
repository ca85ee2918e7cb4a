#include "host/rp/share/automatic_errors.h"

#include <tuple>

#include "common/base64.h"
#include "common/utc_time.h"
#include "vault/model/element_data.h"
#include "vault/model/errors.h"

namespace idvault::rp {
namespace {

using vault::ErrorSource;

vault::PassportElementError data_error(const vault::DecryptedElement& element, std::string field,
                                       std::string message) {
  vault::PassportElementError error;
  error.source = ErrorSource::data;
  error.type = element.type;
  error.field_name = std::move(field);
  error.message = std::move(message);
  error.hashes.push_back(element.data_hash);
  return error;
}

void missing_file(const vault::DecryptedElement& element,
                  const std::optional<vault::DecryptedFile>& file, ErrorSource source,
                  std::vector<vault::PassportElementError>& out) {
  if (!file || !file->missing()) return;
  out.push_back({source,
                 element.type,
                 "The file did not arrive; please upload it again",
                 {},
                 {file->file_hash}});
}

}  // namespace

std::vector<vault::PassportElementError> automatic_errors(const vault::DecryptedPassport& share,
                                                          std::int64_t now) {
  std::vector<vault::PassportElementError> out;
  const CalendarDate utc = utc_calendar_date(now);
  const auto today = std::make_tuple(utc.year, utc.month, utc.day);

  for (const vault::DecryptedElement& element : share.elements) {
    if (!element.data.is_null() && !element.data_hash.empty()) {
      try {
        const vault::ElementData data =
            vault::parse_element_data(element.type, element.data, vault::Strictness::peer_input);
        if (const auto* document = std::get_if<vault::IdDocumentData>(&data);
            document && document->expiry_date) {
          const auto& expiry = *document->expiry_date;
          if (std::make_tuple(expiry.year, expiry.month, expiry.day) < today) {
            out.push_back(data_error(element, "expiry_date", "The document has expired"));
          }
        }
      } catch (const vault::FormatError& e) {
        // where() is "<type>.<field>": the field Telegram's own client would have flagged.
        const std::string& where = e.where();
        const auto dot = where.find('.');
        const std::string field = dot == std::string::npos ? std::string() : where.substr(dot + 1);
        const auto names = vault::data_field_names(element.type);
        bool known = false;
        for (const auto name : names) known = known || name == field;
        if (known) {
          out.push_back(data_error(element, field, "This field is not valid; please correct it"));
        } else if (element.hash) {
          // An unspecified error names the element by its hash; older Bot API data has
          // none, and then this finding cannot be sent to the holder.
          vault::PassportElementError error;
          error.type = element.type;
          error.message = "The data is not valid; please enter it again";
          error.hashes.push_back(base64_decode(*element.hash, "element.hash"));
          out.push_back(std::move(error));
        }
      }
    }
    missing_file(element, element.front_side, ErrorSource::front_side, out);
    missing_file(element, element.reverse_side, ErrorSource::reverse_side, out);
    missing_file(element, element.selfie, ErrorSource::selfie, out);
    for (const auto& file : element.files) {
      if (file.missing())
        out.push_back({ErrorSource::file,
                       element.type,
                       "The file did not arrive; please upload it again",
                       {},
                       {file.file_hash}});
    }
    for (const auto& file : element.translation) {
      if (file.missing()) {
        out.push_back({ErrorSource::translation_file,
                       element.type,
                       "The file did not arrive; please upload it again",
                       {},
                       {file.file_hash}});
      }
    }
  }
  return out;
}

}  // namespace idvault::rp
