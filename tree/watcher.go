package tree

import (
	"container/list"
	"path"
	"strings"
	"sync"
	"sync/atomic"
)

// watcherBuffer is each watcher's channel capacity (etcd's 100).
const watcherBuffer = 100

// Watcher receives the events of one v2 watch. Take events from EventChan;
// call Remove when the client goes away.
type Watcher struct {
	ch         chan *Event
	key        string
	recursive  bool
	stream     bool
	sinceIndex uint64 // events below this index are not delivered
	startIndex uint64 // store index when the watch began
	hub        *hub

	// Guarded by hub.mu.
	elem    *list.Element // position in hub.watchers[key]; nil when not registered
	removed bool          // unregistered (delivered, dropped as slow, or Remove)
	closed  bool          // ch closed by Remove
}

// EventChan delivers the events. A one-shot watcher gets one event. A
// stream watcher gets every matching event until Remove, except that, as in
// etcd, a watch satisfied from the history gets only that one event, and a
// watcher whose buffer fills is silently unregistered (the events already
// buffered stay readable; the channel is not closed). Remove closes it.
func (w *Watcher) EventChan() <-chan *Event { return w.ch }

// StartIndex is the store index when the watch began: the X-Etcd-Index of
// the watch response.
func (w *Watcher) StartIndex() uint64 { return w.startIndex }

// Remove unregisters w and closes its channel. Safe to call more than once
// and from any goroutine.
func (w *Watcher) Remove() {
	w.hub.mu.Lock()
	defer w.hub.mu.Unlock()
	if !w.closed {
		w.closed = true
		close(w.ch)
	}
	w.hub.unlinkLocked(w)
}

// hub holds the live watchers by watched key. Lock order: Store.mu, then
// hub.mu; Watcher.Remove takes only hub.mu.
type hub struct {
	mu sync.Mutex
	// watchers maps a clean key to its watchers, oldest first. Guarded by
	// mu. Only looked up by key, never iterated.
	watchers map[string]*list.List
	count    atomic.Int64 // registered watchers, for the stats
}

func newHub() *hub { return &hub{watchers: make(map[string]*list.List)} }

func (h *hub) add(w *Watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.watchers[w.key]
	if l == nil {
		l = list.New()
		h.watchers[w.key] = l
	}
	w.elem = l.PushBack(w)
	h.count.Add(1)
}

func (h *hub) unlinkLocked(w *Watcher) {
	if w.removed {
		return
	}
	w.removed = true
	if w.elem == nil {
		return
	}
	l := h.watchers[w.key]
	l.Remove(w.elem)
	w.elem = nil
	h.count.Add(-1)
	if l.Len() == 0 {
		delete(h.watchers, w.key)
	}
}

// notify delivers e to the watchers on its key and on each ancestor
// ("/", "/a", "/a/b" for "/a/b"), as etcd's watcherHub.notify.
func (h *hub) notify(e *Event) {
	curr := "/"
	for _, seg := range strings.Split(e.Node.Key, "/") {
		curr = path.Join(curr, seg)
		h.notifyWatchers(e, curr, false)
	}
}

// notifyWatchers delivers e to the watchers registered on nodePath.
// deleted is set when nodePath is a node removed by e (a deleted or expired
// dir reaches the watchers of everything under it). A one-shot watcher is
// unregistered once it got its event; a watcher whose buffer is full is
// unregistered instead of blocking the writer.
func (h *hub) notifyWatchers(e *Event, nodePath string, deleted bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	l := h.watchers[nodePath]
	if l == nil {
		return
	}
	original := e.Node.Key == nodePath
	if !original && isHidden(nodePath, e.Node.Key) {
		return
	}
	for el := l.Front(); el != nil; {
		next := el.Next()
		w := el.Value.(*Watcher)
		if (w.recursive || original || deleted) && e.Index() >= w.sinceIndex {
			select {
			case w.ch <- e:
				if !w.stream {
					h.unlinkLocked(w)
				}
			default:
				h.unlinkLocked(w)
			}
		}
		el = next
	}
}

// isHidden is etcd's rule: a change at keyPath is hidden from a watcher on
// watchPath when the part of keyPath below watchPath has a segment starting
// with "_". A watchPath below keyPath (a removed descendant) never hides.
func isHidden(watchPath, keyPath string) bool {
	if len(watchPath) > len(keyPath) {
		return false
	}
	after := path.Clean("/" + keyPath[len(watchPath):])
	return strings.Contains(after, "/_")
}
