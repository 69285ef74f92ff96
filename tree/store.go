package tree

import (
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/armon/go-radix"
)

// Store is the v2 hierarchical store. Writes come from the apply loop, one
// at a time; reads and watch registrations may come from any goroutine.
type Store struct {
	// mu guards root (and every node under it), index, ttls and hist.
	// Writes hold it exclusively for the whole operation, including the
	// notification of watchers, so a Watch (which holds it shared) never
	// misses an event between its history scan and its registration.
	// Lock order: mu, then hub.mu.
	mu    sync.RWMutex
	root  *node
	index uint64      // the store index: one more per modification
	ttls  *radix.Tree // expiryKey(expire, path) -> *node, for every node with a TTL
	hist  *history

	hub   *hub // has its own lock
	stats stats
}

// New returns an empty store at index 0 with the read-only root "/".
//
// etcd's store also holds internal namespaces (/0 for membership, /2 for
// v2 auth) next to the user keyspace /1, and strips "/1" from every key it
// shows. Here the root is the user keyspace itself: users never see the
// other namespaces, which Larch keeps elsewhere.
func New() *Store { return NewAt(0) }

// NewAt returns an empty store whose index is already at index, as if
// index modifications had happened that no user can see: etcd's store
// starts at 3 because of its internal writes, and Larch starts there too so
// that indexes look alike. A watch from an index at or below it waits for
// the next matching event instead of failing as cleared.
func NewAt(index uint64) *Store {
	return &Store{
		index: index,
		root:  newDir("/", 0, nil, time.Time{}),
		ttls:  radix.New(),
		hist:  newHistory(),
		hub:   newHub(),
	}
}

// AdvanceIndex records n modifications that no user can see, as etcd's
// writes to its own namespaces (/0 for the membership) are: the store index
// then moves exactly as etcd's does. No event is recorded or sent.
func (s *Store) AdvanceIndex(n uint64) {
	s.mu.Lock()
	s.index += n
	s.mu.Unlock()
}

// ReplaceWith makes s hold the state of other, a store restored from a
// snapshot, in place: readers and registered watchers keep using s. other
// must not be used afterwards.
func (s *Store) ReplaceWith(other *Store) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.root, s.index, s.ttls, s.hist = other.root, other.index, other.ttls, other.hist
}

// clean is etcd's path normalisation: absolute, no duplicate or trailing
// slashes, no "." or "..".
func clean(p string) string { return path.Join("/", p) }

// Index is the store-wide index (X-Etcd-Index): the index of the last
// modification.
func (s *Store) Index() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.index
}

// Get returns the node at p. A dir lists its children (not hidden ones);
// with recursive, their children too. Children always come in key order, so
// sorted changes nothing (see repr). It advances no index.
func (s *Store) Get(p string, recursive, sorted bool, now time.Time) (*Event, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, err := s.getLocked(clean(p))
	if err != nil {
		return s.stats.gets.count(nil, err)
	}
	return s.stats.gets.count(&Event{Action: ActionGet, Node: n.repr(true, recursive, now), EtcdIndex: s.index}, nil)
}

// getLocked walks to the node at the clean path p. Errors: 104 with the
// file met on the way, 100 with the first missing path.
func (s *Store) getLocked(p string) (*node, *Error) {
	curr := s.root
	if p == "/" {
		return curr, nil
	}
	for _, name := range strings.Split(p[1:], "/") {
		if !curr.dir {
			return nil, NewError(EcodeNotDir, curr.path, s.index)
		}
		next := curr.child(name)
		if next == nil {
			return nil, NewError(EcodeKeyNotFound, path.Join(curr.path, name), s.index)
		}
		curr = next
	}
	return curr, nil
}

// Set creates or replaces the node at p (action "set"): a file with value,
// or an empty dir. Missing parents are created. An existing dir is 102; a
// replaced file is the event's PrevNode. With ttl.Refresh the node must
// exist, keeps its value and is still re-created; the event is marked
// Refresh and notifies no watcher.
func (s *Store) Set(p string, dir bool, value string, ttl TTLOptions, now time.Time) (*Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p = clean(p)
	n, gerr := s.getLocked(p)
	if gerr != nil && (gerr.ErrorCode != EcodeKeyNotFound || ttl.Refresh) {
		return s.stats.sets.count(nil, gerr)
	}
	if ttl.Refresh {
		value = n.value
	}
	e, err := s.createLocked(p, dir, value, false, true, ttl.ExpireTime, ActionSet, now)
	if err == nil {
		s.commitLocked(e, ttl.Refresh)
	}
	return s.stats.sets.count(e, err)
}

// Create creates the node at p (action "create"); an existing node is 105.
// With unique (in-order POST) the node is p/<new index as 20 digits> and p
// is created as a dir if missing. ttl.Refresh is ignored, as in etcd.
func (s *Store) Create(p string, dir bool, value string, unique bool, ttl TTLOptions, now time.Time) (*Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.createLocked(p, dir, value, unique, false, ttl.ExpireTime, ActionCreate, now)
	if err == nil {
		s.commitLocked(e, false)
	}
	return s.stats.creates.count(e, err)
}

// createLocked is etcd's internalCreate: it adds the node and advances the
// index, but leaves history and watchers to commitLocked.
func (s *Store) createLocked(p string, dir bool, value string, unique, replace bool, expire time.Time, action string, now time.Time) (*Event, *Error) {
	next := s.index + 1
	if unique {
		p += fmt.Sprintf("/%020d", next)
	}
	p = clean(p)
	if p == "/" {
		return nil, NewError(EcodeRootROnly, "/", s.index)
	}
	if expire.Before(minExpireTime) {
		expire = time.Time{}
	}
	expire = expire.UTC()

	dirName, name := path.Split(p)
	d, err := s.mkdirAllLocked(dirName, next)
	if err != nil {
		return nil, err
	}
	e := &Event{Action: action, Node: &NodeExtern{Key: p, ModifiedIndex: next, CreatedIndex: next}, EtcdIndex: next}
	if old := d.child(name); old != nil {
		if !replace {
			return nil, NewError(EcodeNodeExist, p, s.index)
		}
		if old.dir {
			return nil, NewError(EcodeNotFile, p, s.index)
		}
		e.PrevNode = old.repr(false, false, now)
		s.removeLocked(old, nil)
	}
	var n *node
	if dir {
		n = newDir(p, next, d, expire)
		e.Node.Dir = true
	} else {
		n = newFile(p, value, next, d, expire)
		v := value
		e.Node.Value = &v
	}
	d.children.Insert(name, n)
	if !expire.IsZero() {
		s.ttls.Insert(expiryKey(expire, p), n)
		e.Node.Expiration, e.Node.TTL = ttlAt(expire, now)
	}
	s.index = next
	return e, nil
}

// mkdirAllLocked returns the dir at the clean path dirName (which may end
// in "/"), creating missing dirs with index. A file on the way is 104 with
// its path. Nothing is created before a failure: a file can only be met
// below dirs that already existed.
func (s *Store) mkdirAllLocked(dirName string, index uint64) (*node, *Error) {
	curr := s.root
	for _, name := range strings.Split(dirName, "/") {
		if name == "" {
			continue
		}
		next := curr.child(name)
		if next == nil {
			next = newDir(path.Join(curr.path, name), index, curr, time.Time{})
			curr.children.Insert(name, next)
		} else if !next.dir {
			return nil, NewError(EcodeNotDir, next.path, s.index)
		}
		curr = next
	}
	return curr, nil
}

// commitLocked records a successful write's event in the history and
// notifies the watchers (unless it is a refresh, which no watcher sees).
func (s *Store) commitLocked(e *Event, refresh bool) {
	e.Refresh = refresh
	s.hist.add(e)
	if !refresh {
		s.hub.notify(e)
	}
}

// Update changes the value (files) or TTL of an existing node (action
// "update"); createdIndex is kept. The TTL becomes ttl.ExpireTime: a write
// without one makes the node permanent. With ttl.Refresh the value is kept
// and no watcher is notified.
//
// On a dir, value must be empty and the update changes the dir's TTL (and
// its modifiedIndex). This is etcd 2.3's behaviour and its documented way
// to refresh a dir TTL; etcd 3.5 fails here with a 300 (etcd-io/etcd#13589).
func (s *Store) Update(p string, value string, ttl TTLOptions, now time.Time) (*Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.updateLocked(p, value, ttl, now)
	if err == nil {
		s.commitLocked(e, ttl.Refresh)
	}
	return s.stats.updates.count(e, err)
}

func (s *Store) updateLocked(p string, value string, ttl TTLOptions, now time.Time) (*Event, *Error) {
	p = clean(p)
	if p == "/" {
		return nil, NewError(EcodeRootROnly, "/", s.index)
	}
	n, err := s.getLocked(p)
	if err != nil {
		return nil, err
	}
	if n.dir && value != "" {
		return nil, NewError(EcodeNotFile, p, s.index)
	}
	if ttl.Refresh {
		value = n.value
	}
	next := s.index + 1
	e := &Event{Action: ActionUpdate, Node: &NodeExtern{Key: p, ModifiedIndex: next, CreatedIndex: n.createdIndex}, EtcdIndex: next}
	e.PrevNode = n.repr(false, false, now)
	if n.dir {
		e.Node.Dir = true
	} else {
		n.value = value
		v := value
		e.Node.Value = &v
	}
	n.modifiedIndex = next
	s.setTTLLocked(n, ttl.ExpireTime)
	e.Node.Expiration, e.Node.TTL = ttlAt(n.expire, now)
	s.index = next
	return e, nil
}

// setTTLLocked gives n the expiration expire (zero: permanent) and keeps the
// TTL index in step. Unlike Create and Set, times before 2000 are kept, as
// in etcd's UpdateTTL (the node then expires at the next sweep).
func (s *Store) setTTLLocked(n *node, expire time.Time) {
	if !n.expire.IsZero() {
		s.ttls.Delete(expiryKey(n.expire, n.path))
	}
	n.expire = expire.UTC()
	if expire.IsZero() {
		n.expire = time.Time{}
		return
	}
	s.ttls.Insert(expiryKey(n.expire, n.path), n)
}

// compareLocked is etcd's Compare plus getCompareFailCause: a non-empty
// prevValue must equal the value and a non-zero prevIndex the modifiedIndex.
func (s *Store) compareLocked(n *node, prevValue string, prevIndex uint64) *Error {
	valueOK := prevValue == "" || n.value == prevValue
	indexOK := prevIndex == 0 || n.modifiedIndex == prevIndex
	var cause string
	switch {
	case valueOK && indexOK:
		return nil
	case indexOK:
		cause = fmt.Sprintf("[%s != %s]", prevValue, n.value)
	case valueOK:
		cause = fmt.Sprintf("[%d != %d]", prevIndex, n.modifiedIndex)
	default:
		cause = fmt.Sprintf("[%s != %s] [%d != %d]", prevValue, n.value, prevIndex, n.modifiedIndex)
	}
	return NewError(EcodeTestFailed, cause, s.index)
}

// CompareAndSwap replaces a file's value when prevValue (if not empty) and
// prevIndex (if not zero) match (action "compareAndSwap"); createdIndex is
// kept and the TTL becomes ttl.ExpireTime. Errors: 107 root, 100, 104, 102
// dir, 101 with etcd's "[a != b]" causes.
func (s *Store) CompareAndSwap(p, prevValue string, prevIndex uint64, value string, ttl TTLOptions, now time.Time) (*Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, err := s.casLocked(p, prevValue, prevIndex, value, ttl, now)
	if err == nil {
		s.commitLocked(e, ttl.Refresh)
	}
	return s.stats.cas.count(e, err)
}

func (s *Store) casLocked(p, prevValue string, prevIndex uint64, value string, ttl TTLOptions, now time.Time) (*Event, *Error) {
	p = clean(p)
	if p == "/" {
		return nil, NewError(EcodeRootROnly, "/", s.index)
	}
	n, err := s.getLocked(p)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return nil, NewError(EcodeNotFile, p, s.index)
	}
	if err := s.compareLocked(n, prevValue, prevIndex); err != nil {
		return nil, err
	}
	if ttl.Refresh {
		value = n.value
	}
	next := s.index + 1
	v := value
	e := &Event{Action: ActionCompareAndSwap, Node: &NodeExtern{Key: p, Value: &v, ModifiedIndex: next, CreatedIndex: n.createdIndex}, EtcdIndex: next}
	e.PrevNode = n.repr(false, false, now)
	n.value = value
	n.modifiedIndex = next
	s.setTTLLocked(n, ttl.ExpireTime)
	e.Node.Expiration, e.Node.TTL = ttlAt(n.expire, now)
	s.index = next
	return e, nil
}

// Delete removes the node at p (action "delete"). A file goes whatever dir
// and recursive say; a dir needs dir (and recursive when it has children,
// hidden ones included); recursive implies dir. Errors: 107 root, 100, 104,
// 102 dir without dir, 108 dir not empty.
func (s *Store) Delete(p string, dir, recursive bool, now time.Time) (*Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.deletes.count(s.deleteLocked(p, dir, recursive, now))
}

func (s *Store) deleteLocked(p string, dir, recursive bool, now time.Time) (*Event, *Error) {
	p = clean(p)
	if p == "/" {
		return nil, NewError(EcodeRootROnly, "/", s.index)
	}
	dir = dir || recursive
	n, err := s.getLocked(p)
	if err != nil {
		return nil, err
	}
	if n.dir && !dir {
		return nil, NewError(EcodeNotFile, n.path, s.index)
	}
	if n.dir && n.children.Len() > 0 && !recursive {
		return nil, NewError(EcodeDirNotEmpty, n.path, s.index)
	}
	return s.removeWithEventLocked(n, ActionDelete, now), nil
}

// CompareAndDelete removes a file when prevValue (if not empty) and
// prevIndex (if not zero) match (action "compareAndDelete"). Errors: 100,
// 104, 102 dir (also for the root: etcd gives 102, not 107, with no
// cause), 101.
func (s *Store) CompareAndDelete(p, prevValue string, prevIndex uint64, now time.Time) (*Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.cad.count(s.cadLocked(p, prevValue, prevIndex, now))
}

func (s *Store) cadLocked(p, prevValue string, prevIndex uint64, now time.Time) (*Event, *Error) {
	p = clean(p)
	n, err := s.getLocked(p)
	if err != nil {
		return nil, err
	}
	if n.dir {
		return nil, NewError(EcodeNotFile, n.key(), s.index)
	}
	if err := s.compareLocked(n, prevValue, prevIndex); err != nil {
		return nil, err
	}
	return s.removeWithEventLocked(n, ActionCompareAndDelete, now), nil
}

// removeWithEventLocked removes n and everything under it as one event
// (delete, compareAndDelete or expire) at the next index. As in etcd, the
// watchers on every removed path get the event first (so a dir's removal
// reaches watchers of its descendants), then the usual notification walks
// the event key's ancestors; a stream watcher on a removed node therefore
// sees the event twice, as it does in etcd.
func (s *Store) removeWithEventLocked(n *node, action string, now time.Time) *Event {
	next := s.index + 1
	e := &Event{Action: action, Node: &NodeExtern{Key: n.path, Dir: n.dir, ModifiedIndex: next, CreatedIndex: n.createdIndex}, EtcdIndex: next}
	e.PrevNode = n.repr(false, false, now)
	s.removeLocked(n, func(p string) { s.hub.notifyWatchers(e, p, true) })
	s.index = next
	s.hist.add(e)
	s.hub.notify(e)
	return e
}

// removeLocked detaches n from its parent and drops it and its subtree
// from the TTL index, calling removed (if not nil) for each removed path,
// children before their dir, in key order.
func (s *Store) removeLocked(n *node, removed func(string)) {
	s.dropLocked(n, removed)
	n.parent.children.Delete(n.name())
}

func (s *Store) dropLocked(n *node, removed func(string)) {
	if n.dir {
		for _, c := range n.sortedChildren() {
			s.dropLocked(c, removed)
		}
	}
	if removed != nil {
		removed(n.path)
	}
	if !n.expire.IsZero() {
		s.ttls.Delete(expiryKey(n.expire, n.path))
	}
}

// DeleteExpiredKeys applies a leader time tick: every node whose expiration
// is at or before now is removed with one "expire" event each, in order of
// expiration then key (the same order on every member). A dir takes its
// children with it; they get no event of their own.
func (s *Store) DeleteExpiredKeys(now time.Time) []*Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var events []*Event
	for {
		_, v, ok := s.ttls.Minimum()
		if !ok {
			break
		}
		n := v.(*node)
		if n.expire.After(now) {
			break
		}
		events = append(events, s.removeWithEventLocked(n, ActionExpire, now))
		s.stats.expireCount.Add(1)
	}
	return events
}

// NextExpiration returns the earliest expiration in the store, so that the
// leader can tell whether a time tick is worth proposing.
func (s *Store) NextExpiration() (time.Time, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, v, ok := s.ttls.Minimum()
	if !ok {
		return time.Time{}, false
	}
	return v.(*node).expire, true
}

// Watch registers a watch on key. sinceIndex 0 means the next change;
// otherwise the history is searched from sinceIndex first (401 when it is
// older than the oldest kept event), and a match is delivered at once with
// EtcdIndex set to the current index. Without a match the watcher waits for
// a live event with an index >= sinceIndex. The key need not exist.
func (s *Store) Watch(key string, recursive, stream bool, sinceIndex uint64) (*Watcher, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	key = clean(key)
	if sinceIndex == 0 {
		sinceIndex = s.index + 1
	}
	e, err := s.hist.scan(key, recursive, sinceIndex)
	if err != nil {
		err.Index = s.index
		return nil, err
	}
	w := &Watcher{
		ch:         make(chan *Event, watcherBuffer),
		key:        key,
		recursive:  recursive,
		stream:     stream,
		sinceIndex: sinceIndex,
		startIndex: s.index,
		hub:        s.hub,
	}
	if e != nil {
		// As in etcd, a watcher served from the history is not registered,
		// even a stream one.
		c := e.Clone()
		c.EtcdIndex = s.index
		w.ch <- c
		w.removed = true
		return w, nil
	}
	s.hub.add(w)
	return w, nil
}
