// The linked library's version (squall/version.hpp).
#include <squall/version.hpp>

namespace squall {

const char* library_version() noexcept { return SQUALL_VERSION_STRING; }

}  // namespace squall
