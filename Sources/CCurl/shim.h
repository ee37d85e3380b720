// CCurl: libcurl for Swift.
//
// curl_easy_setopt / curl_easy_getinfo are C variadic functions and cannot be called from Swift,
// so these typed inline wrappers expose exactly the argument types Signet needs.
#ifndef SIGNET_CCURL_SHIM_H
#define SIGNET_CCURL_SHIM_H

#include <curl/curl.h>

/// The signature of CURLOPT_WRITEFUNCTION / CURLOPT_HEADERFUNCTION callbacks.
typedef size_t (*signet_curl_data_callback)(char *data, size_t size, size_t count, void *context);

/// curl_global_init(CURL_GLOBAL_ALL): the macro is not importable.
static inline CURLcode signet_curl_global_init(void) {
    return curl_global_init(CURL_GLOBAL_ALL);
}

static inline CURLcode signet_curl_setopt_long(CURL *handle, CURLoption option, long value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode signet_curl_setopt_off(CURL *handle, CURLoption option, curl_off_t value) {
    return curl_easy_setopt(handle, option, value);
}

/// Options taking a `char *` (libcurl copies strings except CURLOPT_POSTFIELDS).
static inline CURLcode signet_curl_setopt_str(CURL *handle, CURLoption option, const char *value) {
    return curl_easy_setopt(handle, option, value);
}

/// Options taking an arbitrary pointer (CURLOPT_WRITEDATA, CURLOPT_HTTPHEADER, CURLOPT_ERRORBUFFER, ...).
static inline CURLcode signet_curl_setopt_ptr(CURL *handle, CURLoption option, void *value) {
    return curl_easy_setopt(handle, option, value);
}

static inline CURLcode signet_curl_setopt_callback(CURL *handle, CURLoption option, signet_curl_data_callback value) {
    return curl_easy_setopt(handle, option, value);
}

/// Sets a binary-safe request body: the size first, then the (not copied) data pointer.
/// A NULL `data` means an empty body (Content-Length: 0). `data` must stay valid through curl_easy_perform.
static inline CURLcode signet_curl_set_body(CURL *handle, const void *data, curl_off_t size) {
    CURLcode rc = curl_easy_setopt(handle, CURLOPT_POSTFIELDSIZE_LARGE, size);
    if (rc != CURLE_OK) return rc;
    return curl_easy_setopt(handle, CURLOPT_POSTFIELDS, data ? data : (const void *)"");
}

static inline CURLcode signet_curl_getinfo_long(CURL *handle, CURLINFO info, long *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode signet_curl_getinfo_off(CURL *handle, CURLINFO info, curl_off_t *value) {
    return curl_easy_getinfo(handle, info, value);
}

static inline CURLcode signet_curl_getinfo_str(CURL *handle, CURLINFO info, char **value) {
    return curl_easy_getinfo(handle, info, value);
}

#endif
