package tree

import (
	"fmt"
	"strings"
)

// historyCapacity is how many events the store keeps for watches with a
// waitIndex (etcd's 1000).
const historyCapacity = 1000

// history is the ring of the last historyCapacity events, oldest first. Every
// index increment of the store adds exactly one event, so the kept events
// have the consecutive indexes startIndex..lastIndex and the event at index
// i sits at offset i-startIndex. Guarded by Store.mu.
type history struct {
	events     []*Event // ring buffer of historyCapacity slots
	front      int      // slot of the oldest event
	size       int
	startIndex uint64 // index of the oldest event; 0 when empty
	lastIndex  uint64 // index of the newest event; 0 when empty
}

func newHistory() *history { return &history{events: make([]*Event, historyCapacity)} }

func (h *history) add(e *Event) {
	back := (h.front + h.size) % len(h.events)
	h.events[back] = e
	if h.size == len(h.events) {
		h.front = (h.front + 1) % len(h.events)
	} else {
		h.size++
	}
	h.lastIndex = e.Index()
	h.startIndex = h.events[h.front].Index()
}

// at returns the i-th kept event, oldest first.
func (h *history) at(i int) *Event { return h.events[(h.front+i)%len(h.events)] }

// scan is etcd's EventHistory.scan: the first non-refresh event at or after
// index that a watch on key would see, nil if none has happened yet, or 401
// when index is older than the oldest kept event (the caller sets Index).
//
// An event matches when its key is key; for a recursive watch also when it
// lies under key+"/"; and a delete or expire of a dir matches every key that
// has the dir's key as a plain string prefix (etcd's rule, quirk included:
// deleting /pfx matches a watch on /pfxother). Hidden keys are not filtered
// here, as in etcd.
func (h *history) scan(key string, recursive bool, index uint64) (*Event, *Error) {
	if index < h.startIndex && h.size < len(h.events) {
		// Nothing was ever dropped: the indexes before the first kept
		// event are the store's starting index (NewAt), with no events.
		index = h.startIndex
	}
	if index < h.startIndex {
		return nil, NewError(EcodeEventIndexCleared,
			fmt.Sprintf("the requested history has been cleared [%d/%d]", h.startIndex, index), 0)
	}
	if index > h.lastIndex {
		return nil, nil
	}
	prefix := key
	if !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	for i := int(index - h.startIndex); i < h.size; i++ {
		e := h.at(i)
		if e.Refresh {
			continue
		}
		ok := e.Node.Key == key || (recursive && strings.HasPrefix(e.Node.Key, prefix))
		if (e.Action == ActionDelete || e.Action == ActionExpire) && e.PrevNode != nil && e.PrevNode.Dir {
			ok = ok || strings.HasPrefix(key, e.PrevNode.Key)
		}
		if ok {
			return e, nil
		}
	}
	return nil, nil
}
