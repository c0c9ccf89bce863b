// SPDX-License-Identifier: Apache-2.0
#include "net/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <ctime>
#include <fstream>
#include <mutex>
#include <sstream>

#include <sys/stat.h>

namespace sluice::net {
namespace {

void globalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool startsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

constexpr size_t kUploadBufferBytes = 512 << 10;

size_t onBody(char* data, size_t size, size_t count, void* user) {
  static_cast<HttpResponse*>(user)->body.append(data, size * count);
  return size * count;
}

struct StreamState {
  const HttpRequest* request;
  HttpResponse* out;
  CURL* curl;
};

size_t onStreamBody(char* data, size_t size, size_t count, void* user) {
  auto* st = static_cast<StreamState*>(user);
  long status = 0;
  curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status < 200 || status >= 300) {  // an error answer's body is kept whole: it says why
    st->out->body.append(data, size * count);
    return size * count;
  }
  if (!st->request->on_body(std::string_view(data, size * count))) return 0;
  return size * count;
}

size_t on200Body(char* data, size_t size, size_t count, void* user) {
  auto* st = static_cast<StreamState*>(user);
  long status = 0;
  curl_easy_getinfo(st->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status == 200) {
    st->request->on_200_body(std::string_view(data, size * count));
  } else {
    st->out->body.append(data, size * count);
  }
  return size * count;
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* request = static_cast<const HttpRequest*>(user);
  return request->keep_going() ? 0 : 1;
}

size_t onHeader(char* data, size_t size, size_t count, void* user) {
  auto* out = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * count);
  if (startsWithNoCase(line, "http/")) {  // a new response (after a 100 or a redirect)
    out->retry_after_ns = -1;
    out->content_type.clear();
  } else if (startsWithNoCase(line, "retry-after:")) {
    out->retry_after_ns = parseRetryAfter(line.substr(12), static_cast<int64_t>(std::time(nullptr)));
  } else if (startsWithNoCase(line, "content-type:")) {
    out->content_type = trim(line.substr(13));
  }
  return size * count;
}

}  // namespace

HttpClient::HttpClient(TlsOptions tls) : tls_(std::move(tls)) {
  globalInit();
  easy_ = curl_easy_init();
  error_buf_[0] = '\0';
}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(easy_)); }

void HttpClient::send(const HttpRequest& request, HttpResponse& out) {
  out.status = 0;
  out.body.clear();
  out.content_type.clear();
  out.retry_after_ns = -1;
  out.error.clear();
  auto* curl = static_cast<CURL*>(easy_);
  if (curl == nullptr) {
    out.error = "libcurl could not create a handle";
    return;
  }
  // Options are set again on every request; the connection cache survives the reset.
  curl_easy_reset(curl);
  std::string url(request.url);
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buf_);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(request.connect_timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.timeout_ms));
  curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
  // No Accept-Encoding: bulk and push answers are read once, on a cluster network; compressing
  // them would cost both ends more CPU than the bytes are worth.
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, nullptr);
  StreamState stream{&request, &out, curl};
  if (request.on_body) {
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onStreamBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &stream);
  } else if (request.on_200_body) {
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on200Body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &stream);
  } else {
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, onBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &out);
  }
  if (request.keep_going) {
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, onProgress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &request);
  }
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, onHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &out);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, tls_.verify ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, tls_.verify ? 2L : 0L);
  if (!tls_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, tls_.ca_file.c_str());
  if (!tls_.client_cert.empty()) curl_easy_setopt(curl, CURLOPT_SSLCERT, tls_.client_cert.c_str());
  if (!tls_.client_key.empty()) curl_easy_setopt(curl, CURLOPT_SSLKEY, tls_.client_key.c_str());

  std::string method(request.method);
  if (method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else {
    // libcurl copies a body through its upload buffer (64 KB) and sends a buffer at a time, with a
    // poll() between sends. A large body (an 8 MB bulk request) goes through 512 KB: fewer send()
    // and poll() calls, 7% less CPU on the node workload's stage run (bench/RESULTS.md, issue
    // 20); 2 MB measured no better and holds 1.5 MB more per client.
    if (request.body.size() > kUploadBufferBytes / 8) {
      curl_easy_setopt(curl, CURLOPT_UPLOAD_BUFFERSIZE, static_cast<long>(kUploadBufferBytes));
    }
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    if (method != "POST") curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  curl_slist* headers = nullptr;
  for (const std::string& h : request.headers) headers = curl_slist_append(headers, h.c_str());
  // No "Expect: 100-continue" round trip before large bodies.
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);

  error_buf_[0] = '\0';
  CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    out.status = 0;
    // A stream the caller ended (on_body or keep_going said stop) still tells its status.
    if (request.on_body && (rc == CURLE_WRITE_ERROR || rc == CURLE_ABORTED_BY_CALLBACK)) {
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
    }
    out.error = error_buf_[0] != '\0' ? error_buf_ : curl_easy_strerror(rc);
    out.error += " (" + redactUrl(request.url) + ")";
    return;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
}

std::string TokenFile::header(std::string* read_error) {
  std::lock_guard lock(mu_);
  struct stat st {};
  int64_t mtime = ::stat(path_.c_str(), &st) == 0
                      ? int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec
                      : -1;
  if (mtime != mtime_ns_ || mtime == -1) {
    std::ifstream f(path_);
    std::stringstream ss;
    ss << f.rdbuf();
    token_ = std::string(trim(ss.str()));
    mtime_ns_ = mtime;
    if (read_error != nullptr && token_.empty()) {
      *read_error = mtime == -1 ? "cannot read bearer token file " + path_
                                : "bearer token file " + path_ + " is empty";
    }
  }
  return "Authorization: Bearer " + token_;
}

void TokenFile::invalidate() {
  std::lock_guard lock(mu_);
  mtime_ns_ = -2;
}

std::string redactUrl(std::string_view url) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string_view::npos ? 0 : scheme + 3;
  size_t end = url.find_first_of("/?#", start);
  std::string_view authority = url.substr(start, end == std::string_view::npos ? url.npos : end - start);
  size_t at = authority.rfind('@');
  if (at == std::string_view::npos) return std::string(url);
  std::string out(url.substr(0, start));
  out += "***";
  out += url.substr(start + at);
  return out;
}

std::string base64Encode(std::string_view data, bool url) {
  static constexpr char kStd[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static constexpr char kUrl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const char* alphabet = url ? kUrl : kStd;
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  size_t i = 0;
  auto byte = [&](size_t k) { return static_cast<uint32_t>(static_cast<unsigned char>(data[k])); };
  for (; i + 3 <= data.size(); i += 3) {
    uint32_t v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (size_t rest = data.size() - i; rest > 0) {
    uint32_t v = byte(i) << 16 | (rest == 2 ? byte(i + 1) << 8 : 0);
    out += alphabet[v >> 18];
    out += alphabet[(v >> 12) & 63];
    if (rest == 2) out += alphabet[(v >> 6) & 63];
    if (!url) out.append(rest == 2 ? 1 : 2, '=');
  }
  return out;
}

std::string basicAuthHeader(std::string_view user, std::string_view password) {
  std::string plain(user);
  plain += ':';
  plain += password;
  return "Authorization: Basic " + base64Encode(plain);
}

std::string percentEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

int64_t parseRetryAfter(std::string_view value, int64_t now_s) {
  value = trim(value);
  if (value.empty()) return -1;
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec == std::errc() && end == value.data() + value.size()) {
    return seconds < 0 ? -1 : std::min<int64_t>(seconds, 86'400 * 365) * 1'000'000'000;
  }
  std::string date(value);
  time_t at = curl_getdate(date.c_str(), nullptr);
  if (at == -1) return -1;
  return std::max<int64_t>(0, static_cast<int64_t>(at) - now_s) * 1'000'000'000;
}

}  // namespace sluice::net
