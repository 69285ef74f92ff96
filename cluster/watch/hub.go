// Package watch delivers the v3 keyspace's changes to watchers: every
// watcher sees every change to its keys, once, in revision order, from the
// revision it asked for, without ever holding up the apply loop.
//
// # Synced and unsynced watchers
//
// The apply loop hands the Hub each committed revision's events (Notify).
// A synced watcher, one that has seen everything before, gets its share at
// once through a non-blocking send into its stream's queue. A watcher that
// starts in the past, or whose queue was full when a revision came (a
// client that does not read), is unsynced: Notify skips it, and the Hub's
// catch-up goroutine reads what it missed from the keyspace's versions
// (mvcc.Store.History) and sends it, then moves it back among the synced.
// Nothing is dropped: a revision that could not be sent is sent again from
// history. A watcher whose next revision was compacted away is cancelled
// with the compaction revision, as etcd does.
//
// The catch-up goroutine only sends revisions the Hub was notified of, so
// a revision is never delivered both by catch-up and by Notify: a watcher
// is moved back among the synced only when it has everything up to the
// last notified revision, under the Hub's lock, which Notify holds too.
package watch

import (
	"bytes"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/larchkv/larch/tree/mvcc"
)

// Response is what a watcher receives: events of one or more revisions, or
// its cancellation.
type Response struct {
	WatchID int64
	Events  []mvcc.Event
	// Revision is the keyspace revision the response reflects: the last
	// revision notified when it was made.
	Revision int64
	// CompactRevision is set when the watcher was cancelled because the
	// revisions it needed were compacted.
	CompactRevision int64
	Canceled        bool
	// Progress marks an empty response that only tells the revision.
	Progress bool
	// Created and CancelReason are never set by the Hub: a stream that
	// shares its queue with its watchers uses them for its own answers.
	Created      bool
	CancelReason string
}

// Request describes a watcher.
type Request struct {
	WatchID int64
	// Key and End select keys as mvcc.RangeRequest does.
	Key, End []byte
	// StartRevision is the first revision to deliver; 0 means the next one.
	StartRevision int64
	PrevKV        bool
	NoPut         bool
	NoDelete      bool
}

// Watcher is one registered watcher.
type Watcher struct {
	req Request
	out chan<- Response

	// Guarded by Hub.mu.
	next     int64 // the first revision not delivered yet
	synced   bool
	canceled bool
}

// ID returns the watcher's ID.
func (w *Watcher) ID() int64 { return w.req.WatchID }

// Synced reports whether the watcher has everything up to the last
// notified revision.
func (h *Hub) Synced(w *Watcher) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return w.synced
}

// Hub keeps the watchers of one member.
type Hub struct {
	store  *mvcc.Store
	logger *slog.Logger

	mu sync.Mutex // guards the fields below and the watchers' mutable fields
	// notified is the last revision Notify was given.
	notified int64
	// byKey holds the synced single-key watchers by key; ranges the synced
	// range watchers.
	byKey    map[string][]*Watcher
	ranges   []*Watcher
	unsynced map[*Watcher]struct{}

	wake     chan struct{} // one slot: wake-ups merge
	stopc    chan struct{}
	done     chan struct{}
	stopOnce sync.Once
}

// catchUpLimit bounds the events one catch-up step reads for one watcher,
// so that a watcher far behind does not hold the others up.
const catchUpLimit = 1000

// catchUpInterval is how often unsynced watchers are retried without a
// wake-up: a full queue has no notification when it drains.
const catchUpInterval = 20 * time.Millisecond

// New returns a Hub over store, whose current revision is taken as
// notified, and starts its catch-up goroutine; Stop ends it.
func New(store *mvcc.Store, logger *slog.Logger) *Hub {
	if logger == nil {
		logger = slog.Default()
	}
	h := &Hub{
		store:    store,
		logger:   logger,
		notified: store.Rev(),
		byKey:    map[string][]*Watcher{},
		unsynced: map[*Watcher]struct{}{},
		wake:     make(chan struct{}, 1),
		stopc:    make(chan struct{}),
		done:     make(chan struct{}),
	}
	go h.run()
	return h
}

// Stop ends the catch-up goroutine.
func (h *Hub) Stop() {
	h.stopOnce.Do(func() { close(h.stopc) })
	<-h.done
}

// Rev returns the last notified revision.
func (h *Hub) Rev() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.notified
}

// Watch registers a watcher whose responses go to out. The caller sends
// the "created" answer before calling Watch, so that it precedes every
// event. It returns the revision the watcher was created at.
func (h *Hub) Watch(req Request, out chan<- Response) (*Watcher, int64) {
	w := &Watcher{req: req, out: out}
	h.mu.Lock()
	defer h.mu.Unlock()
	w.next = req.StartRevision
	if w.next <= 0 {
		w.next = h.notified + 1
	}
	if w.next > h.notified {
		h.addSyncedLocked(w)
	} else {
		h.unsynced[w] = struct{}{}
		h.wakeUp()
	}
	return w, h.notified
}

// Cancel removes w; no response is sent for it afterwards.
func (h *Hub) Cancel(w *Watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.removeLocked(w)
}

func (h *Hub) removeLocked(w *Watcher) {
	if w.canceled {
		return
	}
	w.canceled = true
	delete(h.unsynced, w)
	if !w.synced {
		return
	}
	w.synced = false
	if w.req.End == nil {
		k := string(w.req.Key)
		ws := h.byKey[k]
		for i, o := range ws {
			if o == w {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(h.byKey, k)
		} else {
			h.byKey[k] = ws
		}
		return
	}
	for i, o := range h.ranges {
		if o == w {
			h.ranges = append(h.ranges[:i], h.ranges[i+1:]...)
			return
		}
	}
}

func (h *Hub) addSyncedLocked(w *Watcher) {
	w.synced = true
	if w.req.End == nil {
		h.byKey[string(w.req.Key)] = append(h.byKey[string(w.req.Key)], w)
		return
	}
	h.ranges = append(h.ranges, w)
}

// Kick tells the Hub that a consumer freed room in a queue: watchers that
// fell behind because it was full are retried at once, instead of at the
// next catch-up tick. It never blocks.
func (h *Hub) Kick() { h.wakeUp() }

func (h *Hub) wakeUp() {
	select {
	case h.wake <- struct{}{}:
	default:
	}
}

// Notify hands the Hub the events of revision rev, just applied. It is
// called by the apply loop for every revision, in order, and never blocks.
func (h *Hub) Notify(rev int64, events []mvcc.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rev <= h.notified {
		return
	}
	h.notified = rev
	if len(events) == 0 || (len(h.byKey) == 0 && len(h.ranges) == 0) {
		return
	}
	// A watcher's events of one revision go out together, in the
	// transaction's order.
	matched := map[*Watcher][]mvcc.Event{}
	var order []*Watcher
	add := func(w *Watcher, ev mvcc.Event) {
		if !w.wants(ev) {
			return
		}
		if _, ok := matched[w]; !ok {
			order = append(order, w)
		}
		matched[w] = append(matched[w], ev)
	}
	for _, ev := range events {
		for _, w := range h.byKey[string(ev.KV.Key)] {
			add(w, ev)
		}
		for _, w := range h.ranges {
			if inRange(ev.KV.Key, w.req.Key, w.req.End) {
				add(w, ev)
			}
		}
	}
	for _, w := range order {
		select {
		case w.out <- Response{WatchID: w.req.WatchID, Events: matched[w], Revision: rev}:
			w.next = rev + 1
		default:
			// The stream is not keeping up: the watcher catches up from
			// history, starting with this revision.
			h.unsyncLocked(w, rev)
		}
	}
}

// unsyncLocked moves a synced watcher to the unsynced, to be sent
// everything from revision next on by the catch-up goroutine.
func (h *Hub) unsyncLocked(w *Watcher, next int64) {
	h.removeLocked(w)
	w.canceled = false
	w.next = next
	h.unsynced[w] = struct{}{}
	h.wakeUp()
}

// Restored tells the Hub that the keyspace was replaced by a leader's
// snapshot at revision rev, skipping the revisions in between: every synced
// watcher catches up from the restored keyspace's history, or is
// cancelled if it was compacted there.
func (h *Hub) Restored(rev int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if rev <= h.notified {
		return
	}
	next := h.notified + 1
	var synced []*Watcher
	for _, ws := range h.byKey {
		synced = append(synced, ws...)
	}
	synced = append(synced, h.ranges...)
	for _, w := range synced {
		h.unsyncLocked(w, next)
	}
	h.notified = rev
}

// wants reports whether the watcher's filters let ev through.
func (w *Watcher) wants(ev mvcc.Event) bool {
	if ev.Type == mvcc.EventPut {
		return !w.req.NoPut
	}
	return !w.req.NoDelete
}

// inRange reports whether key is in [start, end) in RangeRequest's forms.
func inRange(key, start, end []byte) bool {
	switch {
	case end == nil:
		return bytes.Equal(key, start)
	case len(end) == 0 || (len(end) == 1 && end[0] == 0):
		return bytes.Compare(key, start) >= 0
	}
	return bytes.Compare(key, start) >= 0 && bytes.Compare(key, end) < 0
}

// run is the catch-up goroutine.
func (h *Hub) run() {
	defer close(h.done)
	ticker := time.NewTicker(catchUpInterval)
	defer ticker.Stop()
	for {
		select {
		case <-h.wake:
		case <-ticker.C:
		case <-h.stopc:
			return
		}
		h.mu.Lock()
		if len(h.unsynced) == 0 {
			h.mu.Unlock()
			continue
		}
		ws := make([]*Watcher, 0, len(h.unsynced))
		for w := range h.unsynced {
			ws = append(ws, w)
		}
		h.mu.Unlock()
		progressed := false
		for _, w := range ws {
			if h.catchUp(w) {
				progressed = true
			}
		}
		if progressed {
			// More may be due right away (a limited read, a watcher that
			// fell behind again): go round without waiting for the ticker.
			h.wakeUp()
		}
	}
}

// catchUp sends w what it missed, as far as history and its queue allow,
// and reports whether it made progress.
func (h *Hub) catchUp(w *Watcher) bool {
	h.mu.Lock()
	if w.canceled || w.synced {
		h.mu.Unlock()
		return false
	}
	from, upTo := w.next, h.notified
	h.mu.Unlock()
	if len(w.out) == cap(w.out) {
		return false // nothing could be sent: do not read history for it
	}

	var resp Response
	events, through, err := h.store.History(w.req.Key, w.req.End, from, catchUpLimit)
	switch {
	case errors.Is(err, mvcc.ErrCompacted):
		resp = Response{WatchID: w.req.WatchID, Canceled: true, CompactRevision: h.store.CompactRev(), Revision: upTo}
	case err != nil:
		h.logger.Error("watch: reading history", "error", err)
		return false
	default:
		through = min(through, upTo)
		kept := events[:0]
		for _, ev := range events {
			if ev.KV.ModRevision <= through && w.wants(ev) {
				kept = append(kept, ev)
			}
		}
		resp = Response{WatchID: w.req.WatchID, Events: kept, Revision: upTo}
	}

	h.mu.Lock()
	defer h.mu.Unlock()
	if w.canceled || w.synced || w.next != from {
		return false
	}
	if resp.Canceled || len(resp.Events) > 0 {
		select {
		case w.out <- resp:
		default:
			return false // the queue is still full; the next round retries
		}
	}
	if resp.Canceled {
		h.removeLocked(w)
		return true
	}
	w.next = through + 1
	if w.next > h.notified {
		delete(h.unsynced, w)
		h.addSyncedLocked(w)
	}
	return true
}

// ProgressAll returns whether every given watcher is synced, and the
// revision they are all synced to: etcd answers a progress request only
// then.
func (h *Hub) ProgressAll(ws []*Watcher) (int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range ws {
		if !w.synced {
			return 0, false
		}
	}
	return h.notified, true
}
