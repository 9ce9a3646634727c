// The in-memory test stream. See test_stream.hpp.
#include <squall/engine/test_stream.hpp>

#include <algorithm>
#include <cstring>

#include <squall/engine/loop.hpp>

namespace squall {

namespace {

// Parks a task on `list` until woken, the deadline or its token.
class park_on {
public:
    park_on(detail::waiter_list* list, std::optional<clock::time_point> deadline) noexcept
        : list_(list), deadline_(deadline) {}
    bool await_ready() const noexcept { return false; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        return w_.park(h, token_of(h), deadline_, list_);
    }
    result<void> await_resume() const noexcept { return w_.status(); }

private:
    detail::waiter_list* list_;
    std::optional<clock::time_point> deadline_;
    detail::waiter w_;
};

// One trip through the loop's ready queue, as a kernel completion takes.
struct through_the_loop {
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) const { loop::current()->schedule(h); }
    void await_resume() const noexcept {}
};

std::size_t queued_bytes(const std::deque<std::string>& q) noexcept {
    std::size_t n = 0;
    for (const auto& c : q) n += c.size();
    return n;
}

}  // namespace

// Waits for this writer's turn: writes go out whole and in call order.
class test_stream::turn {
public:
    explicit turn(test_stream* s) noexcept : s_(s) {}
    bool await_ready() const noexcept { return !s_->writing_; }
    template <class P>
    bool await_suspend(std::coroutine_handle<P> h) {
        return w_.park(h, token_of(h), std::nullopt, &s_->turn_waiters_);
    }
    result<void> await_resume() noexcept {
        if (w_.state() == detail::waiter::outcome::waiting) s_->writing_ = true;  // did not suspend
        return w_.status();  // woken: the previous writer handed the turn over
    }

private:
    test_stream* s_;
    detail::waiter w_;
};

test_stream::~test_stream() { unlink_peer(); }

std::pair<std::unique_ptr<test_stream>, std::unique_ptr<test_stream>> test_stream::pair(fail_count* fc,
                                                                                        fail_count* peer_fc) {
    auto a = std::make_unique<test_stream>(fc);
    auto b = std::make_unique<test_stream>(peer_fc);
    a->peer_ = b.get();
    b->peer_ = a.get();
    return {std::move(a), std::move(b)};
}

void test_stream::unlink_peer() noexcept {
    if (!peer_) return;
    test_stream* p = peer_;
    peer_ = nullptr;
    p->peer_ = nullptr;
    p->in_end_ = true;  // what we sent is still read, then the end
    p->broken_ = true;  // and its writes have nobody to go to
    p->readers_.wake_all();
    p->room_waiters_.wake_all();
}

void test_stream::append(std::string_view bytes) {
    if (bytes.empty()) return;
    in_.emplace_back(bytes);
    readers_.wake_one();
}

void test_stream::end_input() {
    in_end_ = true;
    readers_.wake_all();
}

void test_stream::write_limit(std::size_t n) noexcept {
    write_limit_ = n;
    room_waiters_.wake_all();
}

std::string test_stream::take_output() {
    std::string out = std::move(out_);
    out_.clear();
    room_waiters_.wake_all();
    return out;
}

bool test_stream::chunk_ready() const noexcept {
    return !in_.empty() || in_end_ || closed_ || (fc_ && fc_->next_fails());
}

bool test_stream::park_reader(std::coroutine_handle<> h, cancel_state* token, std::optional<clock::time_point> deadline,
                              detail::waiter& w) {
    if (!deadline && read_timeout_ > clock::duration::zero()) deadline = clock::now() + read_timeout_;
    return w.park(h, token, deadline, &readers_);
}

result<buffer_lease> test_stream::take_chunk() {
    if (closed_) return errc::closed;
    if (fc_ && fc_->fail()) return fc_->error();
    if (in_.empty()) return errc::eof;  // in_end_
    std::string& front = in_.front();
    std::size_t n = read_size_ ? std::min(read_size_, front.size()) : front.size();
    auto mem = std::make_unique_for_overwrite<std::byte[]>(n);
    std::memcpy(mem.get(), front.data(), n);
    if (n == front.size()) in_.pop_front();
    else front.erase(0, n);
    if (peer_) peer_->on_read_by_peer();
    return buffer_lease(std::move(mem), n);
}

std::size_t test_stream::unread_out() const noexcept { return peer_ ? queued_bytes(peer_->in_) : out_.size(); }

std::size_t test_stream::room() const noexcept {
    std::size_t queued = unread_out();
    return queued >= write_limit_ ? 0 : write_limit_ - queued;
}

void test_stream::deliver(std::span<const std::byte> bytes) {
    std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    if (peer_) peer_->append(text);
    else out_.append(text);
}

clock::time_point test_stream::write_deadline() const noexcept {
    if (write_timeout_ <= clock::duration::zero()) return clock::time_point::max();
    return clock::now() + write_timeout_;
}

void test_stream::end_turn() noexcept {
    if (!turn_waiters_.wake_one()) writing_ = false;
}

namespace {
struct turn_guard {
    void (*end)(test_stream*) noexcept;
    test_stream* s;
    ~turn_guard() { end(s); }
};
}  // namespace

// The bytes go out in sends of up to write_size, each one operation.
// Called with the turn held.
task<result<void>> test_stream::send(std::span<const std::byte> bytes, clock::time_point deadline) {
    if (write_error_) co_return write_error_;
    result<void> r = co_await send_some(bytes, deadline);
    if (!r && !write_error_) write_error_ = r.error();  // part may be out: nothing may follow
    co_return r;
}

task<result<void>> test_stream::send_some(std::span<const std::byte> bytes, clock::time_point deadline) {
    while (!bytes.empty()) {
        if (closed_) co_return errc::closed;
        if (out_shut_ || broken_) co_return std::make_error_code(std::errc::broken_pipe);
        if (room() == 0) {
            std::optional<clock::time_point> until;
            if (deadline != clock::time_point::max()) until = deadline;
            result<void> w = co_await park_on(&room_waiters_, until);
            if (!w) co_return w;
            continue;
        }
        co_await through_the_loop{};
        if (closed_) co_return errc::closed;
        if (fc_ && fc_->fail()) co_return fc_->error();
        std::size_t n = std::min({bytes.size(), write_size_, room()});
        if (n == 0) continue;  // the room went while we yielded
        deliver(bytes.first(n));
        bytes = bytes.subspan(n);
    }
    co_return result<void>{};
}

task<result<void>> test_stream::write(std::span<const std::byte> bytes) {
    result<void> t = co_await turn(this);
    if (!t) co_return t;
    turn_guard g{[](test_stream* s) noexcept { s->end_turn(); }, this};
    co_return co_await send(bytes, write_deadline());
}

task<result<void>> test_stream::writev(std::vector<iovec> parts) {
    result<void> t = co_await turn(this);
    if (!t) co_return t;
    turn_guard g{[](test_stream* s) noexcept { s->end_turn(); }, this};
    auto deadline = write_deadline();
    for (const iovec& v : parts) {
        result<void> r = co_await send({static_cast<const std::byte*>(v.iov_base), v.iov_len}, deadline);
        if (!r) co_return r;
    }
    co_return result<void>{};
}

task<result<void>> test_stream::write_owned(owned_bytes bytes) {
    std::span<const std::byte> view = bytes_of(bytes);
    result<void> r = co_await write(view);
    co_return r;
}

task<result<void>> test_stream::shutdown_write() {
    result<void> t = co_await turn(this);
    if (!t) co_return t;
    turn_guard g{[](test_stream* s) noexcept { s->end_turn(); }, this};
    if (write_error_) co_return write_error_;
    co_await through_the_loop{};
    if (closed_) co_return errc::closed;
    if (fc_ && fc_->fail()) co_return fc_->error();
    out_shut_ = true;
    if (peer_) peer_->end_input();
    co_return result<void>{};
}

void test_stream::close() noexcept {
    if (closed_) return;
    closed_ = true;
    in_.clear();
    readers_.wake_all();
    room_waiters_.wake_all();
    unlink_peer();
}

}  // namespace squall
