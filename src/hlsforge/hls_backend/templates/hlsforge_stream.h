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
#include <new>
#include <type_traits>

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

// Arrays of beats that a destroyed stream leaves for the next one of the same element type on
// the same thread: the top function's FIFOs are locals, built and torn down on every event of
// a C simulation, and would otherwise allocate and grow their arrays every time.
template <class T>
struct spare_arrays {
    enum { slots = 16 };
    T *buf[slots];
    std::size_t cap[slots];
    unsigned n;
    spare_arrays() : n(0) {}
    ~spare_arrays() {
        for (unsigned i = 0; i < n; i++) ::operator delete(static_cast<void *>(buf[i]));
    }
    static spare_arrays &get() {
        static thread_local spare_arrays s; // once per stream construction, not per beat
        return s;
    }
};

template <class T>
class stream : public hlsforge::sim::stream_base {
    static_assert(std::is_trivially_destructible<T>::value, "hlsforge's stream holds plain values");

  public:
    stream() : buf_(0), head_(0), tail_(0), cap_(0), max_(0), name_("") { take(); }
    explicit stream(const char *name) : buf_(0), head_(0), tail_(0), cap_(0), max_(0), name_(name) { take(); }
    ~stream() {
        if (!buf_) return;
        spare_arrays<T> &s = spare_arrays<T>::get();
        if (s.n < spare_arrays<T>::slots) {
            s.buf[s.n] = buf_;
            s.cap[s.n++] = cap_;
        } else {
            ::operator delete(static_cast<void *>(buf_));
        }
    }

    // A plain array with a read and a write index: the C simulation moves every beat of a
    // design through here, so a read or a write is a few instructions. The indices restart
    // at 0 whenever the FIFO drains (in an io_stream C simulation, after every layer of every
    // event), so the array stays as small as the deepest occupancy.
    T read() {
        hlsforge::sim::hooks *h = hlsforge::sim::current_hooks();
        if (h) h->before_read(this);
        if (head_ == tail_) {
            std::fprintf(stderr, "hlsforge stream %s: read from an empty stream\n", name_);
            std::abort();
        }
        const std::size_t i = head_++;
        if (head_ == tail_) head_ = tail_ = 0;
        return buf_[i]; // nothing is written before the value is copied out
    }
    void read(T &v) { v = read(); }
    // The next n beats as one array, consumed (hlsforge addition, for the C simulation's fused
    // top function, which reads a whole input at once); null while a tracked dataflow run is
    // active or when fewer than n beats wait: then read them one by one. The array stays valid
    // until the next write.
    const T *read_block(std::size_t n) {
        if (hlsforge::sim::current_hooks() || tail_ - head_ < n) return 0;
        const T *p = buf_ + head_;
        head_ += n;
        if (head_ == tail_) head_ = tail_ = 0;
        return p;
    }
    void write(const T &v) {
        hlsforge::sim::hooks *h = hlsforge::sim::current_hooks();
        if (h) h->before_write(this);
        if (tail_ == cap_) grow();
        new (static_cast<void *>(buf_ + tail_++)) T(v);
        if (tail_ - head_ > max_) max_ = tail_ - head_;
    }
    void operator>>(T &v) { read(v); }
    void operator<<(const T &v) { write(v); }
    bool empty() const { return head_ == tail_; }
    bool full() const { return false; }
    std::size_t size() const { return tail_ - head_; }
    std::size_t sim_size() const { return size(); }
    // Largest number of beats this FIFO ever held: the depth it needs (hlsforge addition).
    std::size_t max_occupancy() const { return max_; }

  private:
    stream(const stream &);
    stream &operator=(const stream &);
    // The largest spare array of this element type, if any.
    void take() {
        spare_arrays<T> &s = spare_arrays<T>::get();
        if (!s.n) return;
        unsigned best = 0;
        for (unsigned i = 1; i < s.n; i++)
            if (s.cap[i] > s.cap[best]) best = i;
        buf_ = s.buf[best];
        cap_ = s.cap[best];
        s.buf[best] = s.buf[s.n - 1];
        s.cap[best] = s.cap[s.n - 1];
        s.n--;
    }
    // The array is full: move the unread beats to the front when at least half of it has
    // been read, else double it (amortized O(1) per beat).
    void grow() {
        const std::size_t n = tail_ - head_;
        if (head_ > 0 && head_ * 2 >= cap_) {
            for (std::size_t i = 0; i < n; i++) new (static_cast<void *>(buf_ + i)) T(buf_[head_ + i]);
        } else {
            const std::size_t cap = cap_ ? cap_ * 2 : 64;
            T *b = static_cast<T *>(::operator new(cap * sizeof(T)));
            for (std::size_t i = 0; i < n; i++) new (static_cast<void *>(b + i)) T(buf_[head_ + i]);
            if (buf_) ::operator delete(static_cast<void *>(buf_));
            buf_ = b;
            cap_ = cap;
        }
        head_ = 0;
        tail_ = n;
    }
    T *buf_;
    std::size_t head_, tail_, cap_;
    std::size_t max_;
    const char *name_;
};

} // namespace hls

#endif
