#include <squall/engine/log_file.hpp>

#include <spdlog/details/file_helper.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <mutex>

namespace squall {
namespace {

class reopenable_sink final : public spdlog::sinks::base_sink<std::mutex> {
public:
    explicit reopenable_sink(std::string path) : path_(std::move(path)) { file_.open(path_, false); }

    void reopen() {
        std::lock_guard<std::mutex> lock(mutex_);
        try {
            file_.flush();
            file_.reopen(false);  // reopens the name, not the renamed file
        } catch (const std::exception& e) {
            std::fprintf(stderr, "squall: reopening %s: %s\n", path_.c_str(), e.what());
        }
    }

protected:
    void sink_it_(const spdlog::details::log_msg& msg) override {
        spdlog::memory_buf_t out;
        formatter_->format(msg, out);
        file_.write(out);
        file_.flush();  // an access log line is complete at once, as nginx's
    }
    void flush_() override { file_.flush(); }

private:
    std::string path_;
    spdlog::details::file_helper file_;
};

std::shared_ptr<reopenable_sink> g_sink;

}  // namespace

void log_to_file(const std::string& path) {
    g_sink = std::make_shared<reopenable_sink>(path);
    auto logger = std::make_shared<spdlog::logger>("squall", g_sink);
    logger->set_level(spdlog::default_logger()->level());
    spdlog::set_default_logger(std::move(logger));
}

bool reopen_log_file() {
    if (!g_sink) return false;
    g_sink->reopen();
    return true;
}

}  // namespace squall
