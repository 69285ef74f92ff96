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
	// range watchers. Sets, so that a watcher leaves in O(1) however many
	// watch the same key.
	byKey  map[string]map[*Watcher]struct{}
	ranges map[*Watcher]struct{}
	// unsynced holds the unsynced watchers by the queue they send to, and
	// ready the queues worth a catch-up round: one that got a new unsynced
	// watcher or was drained (Kick). Queues still full are left alone.
	unsynced map[chan<- Response]map[*Watcher]struct{}
	ready    map[chan<- Response]bool

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
		byKey:    map[string]map[*Watcher]struct{}{},
		ranges:   map[*Watcher]struct{}{},
		unsynced: map[chan<- Response]map[*Watcher]struct{}{},
		ready:    map[chan<- Response]bool{},
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
		h.addUnsyncedLocked(w)
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
	h.deleteUnsyncedLocked(w)
	if !w.synced {
		return
	}
	w.synced = false
	if w.req.End == nil {
		k := string(w.req.Key)
		delete(h.byKey[k], w)
		if len(h.byKey[k]) == 0 {
			delete(h.byKey, k)
		}
		return
	}
	delete(h.ranges, w)
}

func (h *Hub) addSyncedLocked(w *Watcher) {
	w.synced = true
	if w.req.End == nil {
		k := string(w.req.Key)
		if h.byKey[k] == nil {
			h.byKey[k] = map[*Watcher]struct{}{}
		}
		h.byKey[k][w] = struct{}{}
		return
	}
	h.ranges[w] = struct{}{}
}

// Kick tells the Hub that a consumer freed room in queue: its watchers that
// fell behind because it was full are retried at once, instead of at the
// next catch-up tick. It never blocks for long.
func (h *Hub) Kick(queue chan<- Response) {
	h.mu.Lock()
	if len(h.unsynced[queue]) > 0 {
		h.ready[queue] = true
	}
	h.mu.Unlock()
	h.wakeUp()
}

func (h *Hub) addUnsyncedLocked(w *Watcher) {
	ws := h.unsynced[w.out]
	if ws == nil {
		ws = map[*Watcher]struct{}{}
		h.unsynced[w.out] = ws
	}
	ws[w] = struct{}{}
	h.ready[w.out] = true
	h.wakeUp()
}

func (h *Hub) deleteUnsyncedLocked(w *Watcher) {
	ws := h.unsynced[w.out]
	delete(ws, w)
	if len(ws) == 0 {
		delete(h.unsynced, w.out)
		delete(h.ready, w.out)
	}
}

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
		// A watcher that starts in the future skips what comes before.
		if w.next > rev || !w.wants(ev) {
			return
		}
		if _, ok := matched[w]; !ok {
			order = append(order, w)
		}
		matched[w] = append(matched[w], ev)
	}
	for _, ev := range events {
		for w := range h.byKey[string(ev.KV.Key)] {
			add(w, ev)
		}
		for w := range h.ranges {
			if mvcc.InRange(ev.KV.Key, w.req.Key, w.req.End) {
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
	h.addUnsyncedLocked(w)
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
		for w := range ws {
			synced = append(synced, w)
		}
	}
	for w := range h.ranges {
		synced = append(synced, w)
	}
	for _, w := range synced {
		// A watcher that starts in the future keeps its start.
		h.unsyncLocked(w, max(w.next, next))
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

// run is the catch-up goroutine.
func (h *Hub) run() {
	defer close(h.done)
	ticker := time.NewTicker(catchUpInterval)
	defer ticker.Stop()
	for {
		all := false
		select {
		case <-h.wake:
		case <-ticker.C:
			// A backstop: every queue, kicked or not.
			all = true
		case <-h.stopc:
			return
		}
		h.mu.Lock()
		var ws []*Watcher
		for q, set := range h.unsynced {
			if !all && !h.ready[q] {
				continue
			}
			delete(h.ready, q)
			if len(q) == cap(q) {
				continue // nothing could be sent; its consumer kicks when it drains
			}
			for w := range set {
				ws = append(ws, w)
			}
		}
		h.mu.Unlock()
		// Watchers of the same keys behind by the same amount (a crowd on
		// one stream that overflowed together) share one history read.
		reads := map[historyKey]historyRead{}
		for _, w := range ws {
			if len(w.out) == cap(w.out) {
				continue
			}
			if h.catchUp(w, reads) {
				// It got only part of what it missed: go round again
				// without waiting for a kick or the ticker.
				h.mu.Lock()
				if len(h.unsynced[w.out]) > 0 {
					h.ready[w.out] = true
				}
				h.mu.Unlock()
				h.wakeUp()
			}
		}
	}
}

// historyKey names one read of the keyspace's history.
type historyKey struct {
	key, end string
	endNil   bool
	from     int64
}

type historyRead struct {
	events  []mvcc.Event
	through int64
	err     error
}

// catchUp sends w what it missed, as far as history and its queue allow,
// and reports whether it has more to catch up right away. reads caches this
// round's history reads.
func (h *Hub) catchUp(w *Watcher, reads map[historyKey]historyRead) bool {
	h.mu.Lock()
	if w.canceled || w.synced {
		h.mu.Unlock()
		return false
	}
	from, upTo := w.next, h.notified
	h.mu.Unlock()

	var resp Response
	hk := historyKey{key: string(w.req.Key), end: string(w.req.End), endNil: w.req.End == nil, from: from}
	read, ok := reads[hk]
	if !ok {
		read.events, read.through, read.err = h.store.History(w.req.Key, w.req.End, from, catchUpLimit)
		reads[hk] = read
	}
	events, through, err := read.events, read.through, read.err
	switch {
	case errors.Is(err, mvcc.ErrCompacted):
		// etcd's cancel for compaction carries no revision.
		resp = Response{WatchID: w.req.WatchID, Canceled: true, CompactRevision: h.store.CompactRev()}
	case err != nil:
		h.logger.Error("watch: reading history", "error", err)
		return false
	default:
		through = min(through, upTo)
		// events is shared with other watchers of the same read.
		var kept []mvcc.Event
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
		return false
	}
	w.next = through + 1
	if w.next > h.notified {
		h.deleteUnsyncedLocked(w)
		h.addSyncedLocked(w)
		return false
	}
	return true
}

// SendProgress queues a progress notification for w at the last notified
// revision if w is synced, under the lock Notify holds, so it can never
// overtake one of w's events. It reports whether it queued one.
func (h *Hub) SendProgress(w *Watcher) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !w.synced || w.next > h.notified+1 {
		return false
	}
	select {
	case w.out <- Response{WatchID: w.req.WatchID, Revision: h.notified, Progress: true}:
		return true
	default:
		return false
	}
}

// ProgressAll returns whether a progress request for ws is answered, as
// etcd answers it: only if there is a watcher, and every one is synced and
// none starts in the future; and the revision to answer with.
func (h *Hub) ProgressAll(ws []*Watcher) (int64, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(ws) == 0 {
		return 0, false
	}
	for _, w := range ws {
		if !w.synced || w.next > h.notified+1 {
			return 0, false
		}
	}
	return h.notified, true
}
