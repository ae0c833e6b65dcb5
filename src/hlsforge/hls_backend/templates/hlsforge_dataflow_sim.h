// hlsforge_dataflow_sim.h -- C simulation only: run the layers of an io_stream design as
// concurrent DATAFLOW processes on a deterministic cycle schedule, to measure how deep each
// FIFO must be (docs/hls_backend.md, "FIFO depths").
//
// Every process runs in its own thread, but only one thread runs at a time (a baton passed
// by the scheduler), so the run is deterministic. In each cycle the scheduler visits the
// processes in topological order; a process runs until it would
//   - read a stream that is empty, or that it already read this cycle, or any stream before
//     its initiation interval (ii cycles since its previous cycle with a read) has passed,
//   - write a stream it already wrote this cycle,
// and then waits for the next cycle. Streams are unbounded, so the largest occupancy each
// FIFO reaches (hls::stream::max_occupancy) is the depth that lets every process run at
// this rate without stalling. The schedule does not depend on the data.
#ifndef HLSFORGE_DATAFLOW_SIM_H_
#define HLSFORGE_DATAFLOW_SIM_H_

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "hlsforge_stream.h"

namespace hlsforge {
namespace sim {

class dataflow {
  public:
    dataflow() : turn_(-1), cycle_(0), progress_(false), abort_(false) {
        hooks_.before_read = &dataflow::on_read;
        hooks_.before_write = &dataflow::on_write;
    }

    void add(unsigned ii, std::function<void()> body) {
        proc p;
        p.body = body;
        p.ii = ii ? ii : 1;
        procs_.push_back(p);
    }

    // Runs every process to completion; returns the number of cycles, or -1 on a deadlock.
    long long run(long long max_idle = 64) {
        std::vector<std::thread> threads;
        {
            std::lock_guard<std::mutex> lk(global_mutex());
            tracked_runs()++;
        }
        for (std::size_t i = 0; i < procs_.size(); i++) threads.emplace_back(&dataflow::thread_main, this, (int)i);
        long long idle = 0;
        bool dead = false;
        for (cycle_ = 0;; cycle_++) {
            progress_ = false;
            bool all_done = true;
            for (std::size_t i = 0; i < procs_.size(); i++) {
                if (procs_[i].done) continue;
                all_done = false;
                pass((int)i);
            }
            if (all_done) break;
            idle = progress_ ? 0 : idle + 1;
            if (idle > max_idle + (long long)max_ii()) {
                dead = true;
                abort_ = true;
                for (std::size_t i = 0; i < procs_.size(); i++)
                    if (!procs_[i].done) pass((int)i);
                break;
            }
        }
        for (std::size_t i = 0; i < threads.size(); i++) threads[i].join();
        {
            std::lock_guard<std::mutex> lk(global_mutex());
            tracked_runs()--;
        }
        return dead ? -1 : cycle_;
    }

  private:
    struct aborted {};
    struct proc {
        std::function<void()> body;
        unsigned ii;
        long long ready = 0;     // first cycle in which it may read again
        long long touched = -1;  // the cycle of read_now / written_now
        std::vector<const stream_base *> read_now, written_now;
        bool done = false;
    };

    static std::mutex &global_mutex() {
        static std::mutex m;
        return m;
    }
    static dataflow *&self() {
        static thread_local dataflow *d = 0;
        return d;
    }
    static int &me() {
        static thread_local int i = -1;
        return i;
    }
    unsigned max_ii() const {
        unsigned m = 1;
        for (std::size_t i = 0; i < procs_.size(); i++) m = procs_[i].ii > m ? procs_[i].ii : m;
        return m;
    }

    // Hand the baton to process i and wait until it gives it back.
    void pass(int i) {
        std::unique_lock<std::mutex> lk(m_);
        turn_ = i;
        cv_.notify_all();
        cv_.wait(lk, [&] { return turn_ == -1; });
    }
    // Called by process i: give the baton back, wait for the next cycle's turn.
    void wait_next_cycle(int i) {
        std::unique_lock<std::mutex> lk(m_);
        turn_ = -1;
        cv_.notify_all();
        cv_.wait(lk, [&] { return turn_ == i; });
        if (abort_) throw aborted();
    }
    void thread_main(int i) {
        self() = this;
        me() = i;
        active_hooks() = &hooks_;
        {
            std::unique_lock<std::mutex> lk(m_);
            cv_.wait(lk, [&] { return turn_ == i; });
        }
        try {
            if (!abort_) procs_[i].body();
        } catch (const aborted &) {
        }
        active_hooks() = 0;
        std::unique_lock<std::mutex> lk(m_);
        procs_[i].done = true;
        turn_ = -1;
        cv_.notify_all();
    }
    void refresh(proc &p) {
        if (p.touched != cycle_) {
            p.touched = cycle_;
            p.read_now.clear();
            p.written_now.clear();
        }
    }
    static bool has(const std::vector<const stream_base *> &v, const stream_base *s) {
        for (std::size_t k = 0; k < v.size(); k++)
            if (v[k] == s) return true;
        return false;
    }
    static void on_read(const stream_base *s) {
        dataflow *d = self();
        const int i = me();
        for (;;) {
            proc &p = d->procs_[i];
            d->refresh(p);
            const bool first = p.read_now.empty();
            if (s->sim_size() > 0 && !has(p.read_now, s) && (!first || d->cycle_ >= p.ready)) {
                if (first) p.ready = d->cycle_ + p.ii;
                p.read_now.push_back(s);
                d->progress_ = true;
                return;
            }
            d->wait_next_cycle(i);
        }
    }
    static void on_write(const stream_base *s) {
        dataflow *d = self();
        const int i = me();
        for (;;) {
            proc &p = d->procs_[i];
            d->refresh(p);
            if (!has(p.written_now, s)) {
                p.written_now.push_back(s);
                d->progress_ = true;
                return;
            }
            d->wait_next_cycle(i);
        }
    }

    std::vector<proc> procs_;
    hooks hooks_;
    std::mutex m_;
    std::condition_variable cv_;
    int turn_;
    long long cycle_;
    bool progress_;
    bool abort_;
};

} // namespace sim
} // namespace hlsforge

#endif
