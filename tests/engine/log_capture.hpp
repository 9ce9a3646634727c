// Captures what spdlog's default logger writes during a test.
#pragma once

#include <spdlog/sinks/ringbuffer_sink.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <string>

namespace squall::testing {

class log_capture {
public:
    log_capture() : sink_(std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(256)) {
        previous_ = spdlog::default_logger();
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("capture", sink_));
    }
    ~log_capture() { spdlog::set_default_logger(previous_); }

    std::string text() const {
        std::string all;
        for (auto& line : sink_->last_formatted()) all += line;
        return all;
    }

private:
    std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
    std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace squall::testing
