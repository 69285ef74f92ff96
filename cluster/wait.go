package cluster

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// waitRegistry hands each proposal's result from the apply loop to the
// goroutine that proposed it.
type waitRegistry struct {
	mu sync.Mutex // guards m
	m  map[uint64]chan outcome
}

// outcome is what a proposer learns: the result of applying its entry, or
// why it was never applied.
type outcome struct {
	res Result
	err error
}

func (w *waitRegistry) register(id uint64) <-chan outcome {
	ch := make(chan outcome, 1)
	w.mu.Lock()
	if w.m == nil {
		w.m = map[uint64]chan outcome{}
	}
	w.m[id] = ch
	w.mu.Unlock()
	return ch
}

func (w *waitRegistry) cancel(id uint64) {
	w.mu.Lock()
	delete(w.m, id)
	w.mu.Unlock()
}

// trigger delivers r to the waiter of id, if this member proposed it and
// the proposer still waits. It never blocks the apply loop.
func (w *waitRegistry) trigger(id uint64, r outcome) {
	w.mu.Lock()
	ch, ok := w.m[id]
	delete(w.m, id)
	w.mu.Unlock()
	if ok {
		ch <- r
	}
}

// indexWaiter lets readers wait until the apply loop has reached an index.
// Each advance closes the current channel and opens a new one, so any number
// of waiters wake with one close and nobody registers anything.
type indexWaiter struct {
	mu  sync.Mutex // guards cur and ch
	cur uint64
	ch  chan struct{}
}

func (w *indexWaiter) init() { w.ch = make(chan struct{}) }

func (w *indexWaiter) current() uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur
}

func (w *indexWaiter) advance(i uint64) {
	w.mu.Lock()
	if i > w.cur {
		w.cur = i
		close(w.ch)
		w.ch = make(chan struct{})
	}
	w.mu.Unlock()
}

func (w *indexWaiter) wait(ctx context.Context, stopping <-chan struct{}, i uint64) error {
	for {
		w.mu.Lock()
		cur, ch := w.cur, w.ch
		w.mu.Unlock()
		if cur >= i {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-stopping:
			return ErrStopped
		}
	}
}

// idGenerator makes request IDs unique across members and restarts: the top
// 16 bits are the member's, the rest a millisecond start stamp that is then
// counted up.
type idGenerator struct {
	prefix uint64
	suffix atomic.Uint64
}

const idSuffixBits = 48

func newIDGenerator(member MemberID, now time.Time) *idGenerator {
	g := &idGenerator{prefix: uint64(member) << idSuffixBits}
	g.suffix.Store(uint64(now.UnixMilli()) << 8 & (1<<idSuffixBits - 1))
	return g
}

func (g *idGenerator) next() uint64 {
	return g.prefix | g.suffix.Add(1)&(1<<idSuffixBits-1)
}
