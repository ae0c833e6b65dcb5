// hlsforge_stream.h -- hlsforge's own minimal hls::stream, used when Xilinx's hls_stream.h is
// not in use (C simulation with hlsforge's fixed-point header). hlsforge_kernels/stream_common.h
// picks it; with HLSFORGE_USE_AP_FIXED (or under synthesis) the real <hls_stream.h> is used.
//
// Why its own: the C simulation must say how deep every FIFO of an io_stream design needs to
// be. This stream counts its maximum occupancy, and, when a deterministic dataflow schedule
// is running (hlsforge::sim::dataflow, compiled only with HLSFORGE_FIFO_TRACKING), every
// read/write is a point where the layer may wait for its next cycle: each layer reads at most
// one beat per stream per cycle (one per `ii` cycles), writes at most one beat per stream per
// cycle, and all layers advance together, as the DATAFLOW processes do in hardware. The
// schedule does not depend on the data, so one event gives the depths.
//
// Outside a tracked run the stream is a plain unbounded FIFO (as in Vitis C simulation), and
// reading an empty stream is a fatal error (it means the dataflow order is wrong).
#ifndef HLSFORGE_STREAM_H_
#define HLSFORGE_STREAM_H_

#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace hlsforge {
namespace sim {

// What the scheduler needs to know about a stream without knowing its element type.
class stream_base {
  public:
    virtual ~stream_base() {}
    virtual std::size_t sim_size() const = 0;
};

// Hooks set by a tracked dataflow run (HLSFORGE_FIFO_TRACKING); null otherwise.
struct hooks {
    void (*before_read)(const stream_base *s);
    void (*before_write)(const stream_base *s);
};
inline hooks *&active_hooks() {
    static thread_local hooks *h = 0;
    return h;
}
// Number of tracked runs in progress anywhere in the process: while it is zero, a stream
// never touches the thread-local hooks (a thread_local in a shared library costs a call to
// __tls_get_addr on every access, i.e. on every beat of an ordinary C simulation).
inline int &tracked_runs() {
    static int n = 0;
    return n;
}
inline hooks *current_hooks() { return tracked_runs() ? active_hooks() : 0; }

} // namespace sim
} // namespace hlsforge

namespace hls {

template <class T>
class stream : public hlsforge::sim::stream_base {
  public:
    stream() : head_(0), max_(0), name_("") {}
    explicit stream(const char *name) : head_(0), max_(0), name_(name) {}

    T read() {
        hlsforge::sim::hooks *h = hlsforge::sim::current_hooks();
        if (h) h->before_read(this);
        if (head_ >= buf_.size()) {
            std::fprintf(stderr, "hlsforge stream %s: read from an empty stream\n", name_);
            std::abort();
        }
        T v = buf_[head_++];
        if (head_ == buf_.size()) {
            buf_.clear();
            head_ = 0;
        } else if (head_ >= 4096 && head_ * 2 >= buf_.size()) {
            buf_.erase(buf_.begin(), buf_.begin() + static_cast<std::ptrdiff_t>(head_));
            head_ = 0;
        }
        return v;
    }
    void read(T &v) { v = read(); }
    void write(const T &v) {
        hlsforge::sim::hooks *h = hlsforge::sim::current_hooks();
        if (h) h->before_write(this);
        if (buf_.capacity() == 0) buf_.reserve(64);
        buf_.push_back(v);
        if (buf_.size() - head_ > max_) max_ = buf_.size() - head_;
    }
    void operator>>(T &v) { read(v); }
    void operator<<(const T &v) { write(v); }
    bool empty() const { return head_ >= buf_.size(); }
    bool full() const { return false; }
    std::size_t size() const { return buf_.size() - head_; }
    std::size_t sim_size() const { return size(); }
    // Largest number of beats this FIFO ever held: the depth it needs (hlsforge addition).
    std::size_t max_occupancy() const { return max_; }

  private:
    stream(const stream &);
    stream &operator=(const stream &);
    std::vector<T> buf_;
    std::size_t head_;
    std::size_t max_;
    const char *name_;
};

} // namespace hls

#endif
