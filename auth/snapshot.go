package auth

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// ErrCorrupt marks a snapshot that does not decode.
var ErrCorrupt = errors.New("auth: corrupt snapshot")

// snapshotFormat is the version of the encoding below; formats are only
// appended to. Version 1 is JSON: the users and roles sorted by name, the
// hashes base64.
const snapshotFormat = 1

type snapshot struct {
	Format   int    `json:"format"`
	Enabled  bool   `json:"enabled"`
	Revision uint64 `json:"revision"`
	Users    []User `json:"users"`
	Roles    []Role `json:"roles"`
}

// Encode returns the whole state, the same bytes on every member that
// holds the same state.
func (s *Store) Encode() ([]byte, error) {
	s.mu.RLock()
	snap := snapshot{Format: snapshotFormat, Enabled: s.enabled, Revision: s.revision}
	for _, name := range sortedKeys(s.users) {
		snap.Users = append(snap.Users, s.users[name].clone())
	}
	for _, name := range sortedKeys(s.roles) {
		snap.Roles = append(snap.Roles, s.roles[name].clone())
	}
	s.mu.RUnlock()
	return json.Marshal(snap)
}

// Restore decodes a state that Encode wrote.
func Restore(data []byte) (*Store, error) {
	var snap snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if snap.Format != snapshotFormat {
		return nil, fmt.Errorf("%w: unknown format %d", ErrCorrupt, snap.Format)
	}
	if snap.Revision == 0 {
		return nil, fmt.Errorf("%w: revision 0", ErrCorrupt)
	}
	s := &Store{enabled: snap.Enabled, revision: snap.Revision, users: map[string]*User{}, roles: map[string]*Role{}}
	for _, u := range snap.Users {
		if _, dup := s.users[u.Name]; dup || u.Name == "" || !slices.IsSorted(u.Roles) {
			return nil, fmt.Errorf("%w: user %q", ErrCorrupt, u.Name)
		}
		s.users[u.Name] = &u
	}
	for _, r := range snap.Roles {
		if _, dup := s.roles[r.Name]; dup || r.Name == "" {
			return nil, fmt.Errorf("%w: role %q", ErrCorrupt, r.Name)
		}
		for _, p := range r.KV {
			if !ValidPermissionRange(p.Key, p.RangeEnd) {
				return nil, fmt.Errorf("%w: role %q: bad range", ErrCorrupt, r.Name)
			}
		}
		s.roles[r.Name] = &r
	}
	s.rebuildLocked()
	return s, nil
}

// ReplaceWith takes the state of other (restored from a snapshot) in
// place, so that holders of s see it.
func (s *Store) ReplaceWith(other *Store) {
	other.mu.RLock()
	defer other.mu.RUnlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.enabled, s.revision = other.enabled, other.revision
	s.users, s.roles, s.merged = other.users, other.roles, other.merged
}
