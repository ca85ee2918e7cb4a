// `idvault authorize --deliver`: the bundle POSTed to the request's callback_url with
// libcurl — HTTPS anywhere, plain HTTP only to this machine (127.0.0.0/8, ::1, localhost),
// no redirects followed.
#pragma once

#include <string>

namespace idvault::cli {

// UsageError unless the URL is https://..., or http:// to a loopback host.
void check_callback_url(const std::string& url);

// Returns the HTTP status (2xx). Throws OperationFailed with curl's reason when the POST
// fails, or with the status and the first line of the body for a non-2xx answer.
long deliver_bundle(const std::string& url, const std::string& bundle_json);

}  // namespace idvault::cli
