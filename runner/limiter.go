package runner

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A limiter bounds how many tests run at once. Fixed, it is a plain
// semaphore (-j N). Adaptive, it fits the machine as it is now: most of a
// test is waiting (a spec's own gaps and deadlines, programs starting), so
// more tests than CPUs overlap the waits; but tests measure time, and
// CPUs that are oversubscribed, by sockrun or by anything else on the
// machine, stretch it until correct programs miss their deadlines. A busy
// CPU is no harm; a long queue of threads waiting for one is. So the
// limiter watches the number of runnable threads on the machine
// (procs_running in /proc/stat), averaged: while it stays under 3 per CPU
// and tests wait for a slot, it lets one more test per CPU run, up to
// max; above 6 per CPU it lets a quarter fewer, down to min (a share of
// the machine that keeps going however busy it is). The limit is there to
// change how fast a run goes, never a verdict a correct program gets.
type limiter struct {
	mu       sync.Mutex
	cond     *sync.Cond
	running  int
	limit    int
	min, max int
	adaptive bool
	users    int       // runs using it; the sampler runs while there are any
	stop     chan bool // ends the sampler
}

// How the adaptive limit moves: the run queue is sampled every
// limiterTick into a moving average (a new sample weighs queueWeight);
// under queueLow runnable threads per CPU the limit grows by one per CPU,
// over queueHigh it shrinks by a quarter.
const (
	limiterTick = 100 * time.Millisecond
	queueWeight = 0.25
	queueLow    = 3.0
	queueHigh   = 6.0
)

func newLimiter(fixed int) *limiter {
	l := &limiter{limit: fixed, min: fixed, max: fixed}
	if fixed <= 0 {
		cpus := runtime.NumCPU()
		l.adaptive, l.min, l.max, l.limit = true, cpus, 16*cpus, 4*cpus
	}
	l.cond = sync.NewCond(&l.mu)
	return l
}

// acquire waits for a slot, or for ctx to be done (then false).
func (l *limiter) acquire(ctx context.Context) bool {
	stop := context.AfterFunc(ctx, func() {
		l.mu.Lock()
		l.cond.Broadcast()
		l.mu.Unlock()
	})
	defer stop()
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.running >= l.limit && ctx.Err() == nil {
		l.cond.Wait()
	}
	if ctx.Err() != nil {
		return false
	}
	l.running++
	return true
}

func (l *limiter) release() {
	l.mu.Lock()
	l.running--
	l.cond.Signal()
	l.mu.Unlock()
}

// use starts the sampler for a run, if the limiter adapts; done ends the
// run's use of it.
func (l *limiter) use() (done func()) {
	if !l.adaptive {
		return func() {}
	}
	l.mu.Lock()
	l.users++
	if l.users == 1 {
		l.stop = make(chan bool)
		go l.sample(l.stop)
	}
	l.mu.Unlock()
	return func() {
		l.mu.Lock()
		l.users--
		if l.users == 0 {
			close(l.stop)
		}
		l.mu.Unlock()
	}
}

// sample adjusts the limit to the machine's run queue.
func (l *limiter) sample(stop chan bool) {
	t := time.NewTicker(limiterTick)
	defer t.Stop()
	cpus := float64(runtime.NumCPU())
	avg, ok := runQueue()
	avg /= cpus
	for ok {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		n, ok := runQueue()
		if !ok {
			return
		}
		avg += queueWeight * (n/cpus - avg)
		l.adjust(avg)
	}
}

// adjust moves the limit for a run queue of perCPU runnable threads per
// CPU.
func (l *limiter) adjust(perCPU float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case perCPU < queueLow && l.running >= l.limit:
		// Every slot is taken, and the CPUs keep up.
		l.limit = min(l.max, l.limit+runtime.NumCPU())
		l.cond.Broadcast()
	case perCPU > queueHigh:
		l.limit = max(l.min, l.limit*3/4)
	}
}

// runQueue returns the number of threads runnable on the machine now
// (procs_running in /proc/stat); ok is false where it cannot be read (the
// limit then stays where it starts).
func runQueue() (float64, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, false
	}
	_, rest, found := strings.Cut(string(b), "\nprocs_running ")
	if !found {
		return 0, false
	}
	field, _, _ := strings.Cut(rest, "\n")
	n, err := strconv.Atoi(strings.TrimSpace(field))
	return float64(n), err == nil
}
