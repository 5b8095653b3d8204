package runner

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
)

func TestLimiterFixedBounds(t *testing.T) {
	l := newLimiter(3)
	var running, peak atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		if !l.acquire(context.Background()) {
			t.Fatal("acquire failed")
		}
		wg.Go(func() {
			defer l.release()
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			runtime.Gosched()
			running.Add(-1)
		})
	}
	wg.Wait()
	if peak.Load() > 3 {
		t.Errorf("%d ran at once, the limit is 3", peak.Load())
	}
}

func TestLimiterAcquireEndsWithContext(t *testing.T) {
	l := newLimiter(1)
	if !l.acquire(context.Background()) {
		t.Fatal("first acquire failed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan bool)
	go func() { got <- l.acquire(ctx) }()
	cancel()
	if <-got {
		t.Error("acquire succeeded past a full limiter")
	}
}

func TestLimiterAdaptiveRange(t *testing.T) {
	l := newLimiter(0)
	cpus := runtime.NumCPU()
	if !l.adaptive || l.min != cpus || l.max != 16*cpus || l.limit < l.min || l.limit > l.max {
		t.Errorf("adaptive limiter: %+v", l)
	}
	if n, ok := runQueue(); !ok || n < 1 {
		t.Skip("no /proc/stat here: the limit stays where it starts")
	}
	done := l.use()
	done()
}

// TestLimiterAdjust checks the sampler's moves: one more test per CPU
// while the run queue is short and every slot is taken, none while a slot
// is free, a quarter fewer when the queue is long, within min and max.
func TestLimiterAdjust(t *testing.T) {
	cpus := runtime.NumCPU()
	l := newLimiter(0)
	start := l.limit
	l.running = l.limit - 1
	l.adjust(queueLow / 2)
	if l.limit != start {
		t.Errorf("a free slot and a short queue: limit %d, want %d", l.limit, start)
	}
	l.running = l.limit
	l.adjust(queueLow / 2)
	if l.limit != start+cpus {
		t.Errorf("every slot taken, a short queue: limit %d, want %d", l.limit, start+cpus)
	}
	l.adjust((queueLow + queueHigh) / 2)
	if l.limit != start+cpus {
		t.Errorf("a queue between the marks: limit %d, want %d", l.limit, start+cpus)
	}
	l.adjust(queueHigh * 2)
	if want := (start + cpus) * 3 / 4; l.limit != want {
		t.Errorf("a long queue: limit %d, want %d", l.limit, want)
	}
	for range 100 {
		l.adjust(queueHigh * 2)
	}
	if l.limit != l.min {
		t.Errorf("a long queue for long: limit %d, want the minimum %d", l.limit, l.min)
	}
	for range 100 {
		l.running = l.limit
		l.adjust(0)
	}
	if l.limit != l.max {
		t.Errorf("a short queue for long: limit %d, want the maximum %d", l.limit, l.max)
	}
}
