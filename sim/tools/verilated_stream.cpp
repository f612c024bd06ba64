// A Verilated stream engine driven in-process (loaded by memrl.sim.verilated).
//
// The top has a clock `clk`, a reset `rst`, a command stream `cmd`, an input
// stream `din`, an output stream `dout` and a `busy` flag. Each cycle the
// inputs are set while the clock is low, the outputs are sampled (what the
// next rising edge transfers) and the clock rises: the cocotb testbench's
// falling-edge / read-only discipline, without a call per cycle.
#include <cstdint>

#include "verilated.h"
#include MEMRL_TOP_HEADER

namespace {

struct Engine {
    VerilatedContext ctx;
    MEMRL_TOP* top;
    Engine() { top = new MEMRL_TOP{&ctx}; }
    ~Engine() {
        top->final();
        delete top;
    }
    void rise() {
        top->clk = 1;
        top->eval();
        top->clk = 0;
    }
};

inline int64_t sign_extend(uint64_t v, int bits) {
    const uint64_t m = 1ULL << (bits - 1);
    v &= (m << 1) - 1;
    return static_cast<int64_t>(v ^ m) - static_cast<int64_t>(m);
}

}  // namespace

extern "C" {

void* mr_new() {
    auto* e = new Engine();
    e->top->clk = 0;
    e->top->rst = 1;
    e->top->cmd___05Fvalid = 0;
    e->top->din___05Fvalid = 0;
    e->top->dout___05Fready = 0;
    e->top->eval();
    for (int k = 0; k < 3; ++k) {
        e->top->eval();
        e->rise();
    }
    e->top->rst = 0;
    e->top->eval();
    return e;
}

void mr_free(void* h) { delete static_cast<Engine*>(h); }

// Run one command to its end. Returns 0, or 1 if no word moved for `stall`
// cycles (progress[0..1] then say how far it got). `cycles` gets the cycles
// counted as the testbench counts them.
int mr_command(void* h, uint64_t cmd, const int64_t* din, int64_t n_in, int64_t* dout,
               int64_t n_out, int dout_bits, uint64_t din_mask, uint64_t stall,
               uint64_t* cycles, int64_t* progress) {
    auto* e = static_cast<Engine*>(h);
    auto* t = e->top;
    // The idle edge between two commands.
    t->eval();
    e->rise();
    t->dout___05Fready = 1;
    bool cmd_sent = false;
    int64_t i = 0, k = 0;
    uint64_t cycle = 0, idle = 0;
    while (true) {
        ++cycle;
        t->cmd___05Fvalid = !cmd_sent;
        t->cmd___05Fpayload = cmd;
        const bool more = cmd_sent && i < n_in;
        t->din___05Fvalid = more;
        if (more) t->din___05Fpayload = static_cast<uint64_t>(din[i]) & din_mask;
        t->eval();
        bool moved = false;
        if (!cmd_sent && t->cmd___05Fready) {
            cmd_sent = moved = true;
        } else if (more && t->din___05Fready) {
            ++i;
            moved = true;
        }
        if (t->dout___05Fvalid) {
            if (k < n_out) dout[k] = sign_extend(t->dout___05Fpayload, dout_bits);
            ++k;
            moved = true;
        }
        const bool busy = t->busy;
        if (cmd_sent && i == n_in && k >= n_out && !busy) break;
        idle = moved ? 0 : idle + 1;
        if (idle > stall) {
            progress[0] = i;
            progress[1] = k;
            *cycles = cycle;
            return 1;
        }
        e->rise();
    }
    e->rise();
    t->cmd___05Fvalid = 0;
    t->din___05Fvalid = 0;
    *cycles = cycle;
    progress[0] = i;
    progress[1] = k;
    return k == n_out ? 0 : 2;
}

}  // extern "C"
