// One element error as a service operator writes it on the command line, turned into a
// PassportElementError for a share that was received and decrypted (the hashes come
// from that share's credentials, so the error names exactly what the holder sent):
//
//   data:TYPE:FIELD=MESSAGE               the field of the element's data
//   front_side:TYPE=MESSAGE   reverse_side:TYPE=MESSAGE   selfie:TYPE=MESSAGE
//   file:TYPE:INDEX=MESSAGE               one of the element's files (0-based)
//   files:TYPE=MESSAGE                    all of them
//   translation_file:TYPE:INDEX=MESSAGE   translation_files:TYPE=MESSAGE
//   unspecified:TYPE=MESSAGE              the element as a whole
#pragma once

#include <string_view>

#include "vault/model/element_error.h"
#include "vault/wire/passport_decryptor.h"

namespace idvault::rp {

// Throws vault::FormatError("error '<spec head>'", ...) for a bad spec, a type the share
// lacks, a slot the element does not carry, an index out of range, or an unspecified
// error about an element that came without its hash (older Bot API data): that one needs
// the element hash, every other source works from the credentials' hashes.
[[nodiscard]] vault::PassportElementError error_from_spec(std::string_view spec,
                                                          const vault::DecryptedPassport& share,
                                                          const vault::PassportData& received);

}  // namespace idvault::rp
