// Package lease is the v3 keyspace's lease state machine: which leases
// exist, their granted TTLs, the remaining TTLs last checkpointed, and the
// keys attached to each.
//
// Like the other stores under tree, it is deterministic: no clock, no
// goroutine, no I/O. Time never enters it: the leader decides that a lease
// expired (by its own clock) and proposes its revocation through Raft, and
// every member applies the same revocation at the same index. Keep-alives
// only move the leader's deadlines; they are not replicated, except as the
// remaining TTLs the leader checkpoints now and then, so that a lease
// outlives a change of leader with its time left, not a fresh TTL.
package lease

import (
	"errors"
	"maps"
	"slices"
	"sync"
)

// ID names a lease. 0 means "no lease".
type ID int64

// NoLease is the ID of no lease.
const NoLease ID = 0

// MaxTTL is the largest TTL a lease may be granted, in seconds (etcd's).
const MaxTTL = 9000000000

// Errors, with etcd's texts.
var (
	// ErrNotFound is returned for an ID that names no lease.
	ErrNotFound = errors.New("lease not found")
	// ErrExists is returned when granting an ID that is taken.
	ErrExists = errors.New("lease already exists")
	// ErrTTLTooLarge is returned for a TTL above MaxTTL.
	ErrTTLTooLarge = errors.New("too large lease TTL")
)

// Lease is a copy of one lease's state.
type Lease struct {
	ID ID
	// TTL is the granted time to live, in seconds.
	TTL int64
	// RemainingTTL is the time left at the last checkpoint, in seconds;
	// 0 when none was taken since the grant or the last keep-alive.
	RemainingTTL int64
	// Keys are the attached keys, sorted.
	Keys []string
}

type lease struct {
	ttl       int64
	remaining int64
	keys      map[string]struct{}
}

// Store holds the leases. Writes come from the apply loop; reads may come
// from any goroutine.
type Store struct {
	mu     sync.RWMutex // guards leases
	leases map[ID]*lease
}

// New returns an empty Store.
func New() *Store { return &Store{leases: map[ID]*lease{}} }

// Grant creates lease id with ttl seconds.
func (s *Store) Grant(id ID, ttl int64) error {
	if id == NoLease {
		return ErrNotFound
	}
	if ttl > MaxTTL {
		return ErrTTLTooLarge
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.leases[id]; ok {
		return ErrExists
	}
	s.leases[id] = &lease{ttl: ttl, keys: map[string]struct{}{}}
	return nil
}

// Revoke removes lease id and returns its keys, sorted: the caller deletes
// them from the keyspace in the same revision.
func (s *Store) Revoke(id ID) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.leases[id]
	if !ok {
		return nil, ErrNotFound
	}
	delete(s.leases, id)
	return slices.Sorted(maps.Keys(l.keys)), nil
}

// Attach records that key is attached to lease id. Attaching to a lease
// that does not exist is a no-op: the keyspace refuses such puts first.
func (s *Store) Attach(id ID, key string) {
	if id == NoLease {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.leases[id]; ok {
		l.keys[key] = struct{}{}
	}
}

// Detach records that key no longer belongs to lease id.
func (s *Store) Detach(id ID, key string) {
	if id == NoLease {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.leases[id]; ok {
		delete(l.keys, key)
	}
}

// Checkpoint records the time left on lease id, as the leader measured it.
func (s *Store) Checkpoint(id ID, remaining int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l, ok := s.leases[id]; ok {
		l.remaining = remaining
	}
}

// Renewed clears the checkpoint of lease id: a keep-alive gave it its whole
// TTL again. Renewals reach the state machine only through checkpoints.
func (s *Store) Renewed(id ID) {
	s.Checkpoint(id, 0)
}

// Exists reports whether lease id exists.
func (s *Store) Exists(id ID) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.leases[id]
	return ok
}

// LeaseExists is Exists for the keyspace's LeaseChecker.
func (s *Store) LeaseExists(id int64) bool { return s.Exists(ID(id)) }

// Get returns a copy of lease id.
func (s *Store) Get(id ID) (Lease, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	l, ok := s.leases[id]
	if !ok {
		return Lease{}, false
	}
	return Lease{ID: id, TTL: l.ttl, RemainingTTL: l.remaining, Keys: slices.Sorted(maps.Keys(l.keys))}, true
}

// IDs returns the IDs of every lease, sorted.
func (s *Store) IDs() []ID {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Sorted(maps.Keys(s.leases))
}

// All returns a copy of every lease, by ascending ID.
func (s *Store) All() []Lease {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Lease, 0, len(s.leases))
	for _, id := range slices.Sorted(maps.Keys(s.leases)) {
		l := s.leases[id]
		out = append(out, Lease{ID: id, TTL: l.ttl, RemainingTTL: l.remaining, Keys: slices.Sorted(maps.Keys(l.keys))})
	}
	return out
}

// ReplaceWith makes s hold the state of other, in place.
func (s *Store) ReplaceWith(other *Store) {
	other.mu.Lock()
	leases := other.leases
	other.leases = map[ID]*lease{}
	other.mu.Unlock()
	s.mu.Lock()
	s.leases = leases
	s.mu.Unlock()
}
