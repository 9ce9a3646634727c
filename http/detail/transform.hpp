// What happens to an ordinary response between the handler's finish()
// and its serialisation: the automatic ETag with its 304 (Tornado's
// compute_etag/check_etag_header), then compression
// (app_settings::compress_response, detail/compress.hpp). Responses the
// handler flushed or that carry a file body are not touched here.
// Loop thread only. Tests: tests/http/transform_test.cpp.
#pragma once

namespace squall::http {
class request_handler;
}

namespace squall::http::detail {

class exchange;

void transform_response(exchange& ex, request_handler& h);

}  // namespace squall::http::detail
