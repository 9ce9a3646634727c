// Password hashing for the to-do example: PBKDF2-HMAC-SHA256 (RFC 8018)
// over squall's crypto API (engine/crypto.hpp), with a random 16-byte salt
// per password.
//
// A hash is stored as "pbkdf2_sha256$<iterations>$<salt>$<hex digest>"
// (Django's layout), so the iteration count can be raised later without
// invalidating the hashes already stored. Both functions are CPU-bound on
// purpose (tens of milliseconds at the default count): call them off the
// loop, through run_in_pool. Pure functions, any thread.
// Tests: tests/examples/todo_test.py checks a stored hash with Python's
// hashlib.pbkdf2_hmac.
#pragma once

#include <string>
#include <string_view>

namespace squall::examples {

inline constexpr unsigned default_password_iterations = 100'000;

std::string hash_password(std::string_view password, unsigned iterations = default_password_iterations);

// False for a wrong password and for a stored value that is not a hash in
// the format above. Compares in constant time.
bool verify_password(std::string_view password, std::string_view stored);

}  // namespace squall::examples
