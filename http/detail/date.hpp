// The Date field value (RFC 9110 5.6.7 IMF-fixdate), formatted once per
// second per thread.
#pragma once

#include <string_view>

namespace squall::http::detail {

std::string_view http_date() noexcept;

}  // namespace squall::http::detail
