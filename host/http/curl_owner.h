// One owner per libcurl object for the clients (the holder's delivery, the cloud client,
// the agent's URL parsing): a unique_ptr whose deleter is libcurl's own cleanup, so no
// curl_*_cleanup is ever called by hand. Header only: a user links CURL::libcurl itself.
#pragma once

#include <curl/curl.h>

#include <memory>

namespace idvault::http {

struct CurlFree {
  void operator()(CURL* easy) const noexcept { curl_easy_cleanup(easy); }
  void operator()(CURLU* url) const noexcept { curl_url_cleanup(url); }
  void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
  void operator()(char* text) const noexcept { curl_free(text); }
};

template <typename T>
using CurlOwner = std::unique_ptr<T, CurlFree>;

// CURLM is the same type as CURL to a C++ compiler (both void), so its own deleter.
struct CurlMultiFree {
  void operator()(CURLM* multi) const noexcept { curl_multi_cleanup(multi); }
};
using CurlMultiOwner = std::unique_ptr<CURLM, CurlMultiFree>;

}  // namespace idvault::http
