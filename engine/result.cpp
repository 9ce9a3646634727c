#include <squall/engine/result.hpp>

#include <string>

namespace squall {
namespace {

class engine_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "squall"; }

    std::string message(int c) const override {
        switch (static_cast<errc>(c)) {
            case errc::timed_out: return "operation timed out";
            case errc::canceled: return "operation canceled";
            case errc::closed: return "closed";
            case errc::full: return "full";
            case errc::empty: return "empty";
            case errc::not_acquired: return "released without being acquired";
            case errc::eof: return "end of stream";
            case errc::too_long: return "data exceeds the size limit";
        }
        return "unknown squall error " + std::to_string(c);
    }

    // Lets callers compare against the portable std::errc values too:
    // errc::timed_out == std::errc::timed_out, and so on.
    bool equivalent(int c, const std::error_condition& cond) const noexcept override {
        switch (static_cast<errc>(c)) {
            case errc::timed_out: return cond == std::errc::timed_out;
            case errc::canceled: return cond == std::errc::operation_canceled;
            default: return default_error_condition(c) == cond;
        }
    }
};

}  // namespace

const std::error_category& engine_category() noexcept {
    static const engine_category_impl cat;
    return cat;
}

}  // namespace squall
