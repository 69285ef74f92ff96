package auth

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"sync"
)

// Names with a meaning of their own.
const (
	// RootUser is the user auth cannot be enabled without.
	RootUser = "root"
	// RootRole grants everything: every key range, every path, and the
	// management of auth, members and maintenance.
	RootRole = "root"
	// GuestRole is what a v2 request without credentials may do once auth
	// is on (etcd v2's guest).
	GuestRole = "guest"
)

// Errors. Their texts are etcd's auth package's; the APIs turn them into
// etcd's wire errors.
var (
	// ErrRootUserNotExist is returned by Enable without a root user.
	ErrRootUserNotExist = errors.New("auth: root user does not exist")
	// ErrRootRoleNotExist is returned by Enable when root lacks the root role.
	ErrRootRoleNotExist = errors.New("auth: root user does not have root role")
	// ErrUserAlreadyExist is returned when adding a user that exists.
	ErrUserAlreadyExist = errors.New("auth: user already exists")
	// ErrUserEmpty is returned for an empty user name, and for a request
	// without credentials while auth is on.
	ErrUserEmpty = errors.New("auth: user name is empty")
	// ErrUserNotFound is returned for a user that does not exist.
	ErrUserNotFound = errors.New("auth: user not found")
	// ErrRoleAlreadyExist is returned when adding a role that exists.
	ErrRoleAlreadyExist = errors.New("auth: role already exists")
	// ErrRoleNotFound is returned for a role that does not exist.
	ErrRoleNotFound = errors.New("auth: role not found")
	// ErrRoleEmpty is returned for an empty role name.
	ErrRoleEmpty = errors.New("auth: role name is empty")
	// ErrPermissionNotGiven is returned by a grant without a permission.
	ErrPermissionNotGiven = errors.New("auth: permission not given")
	// ErrAuthFailed is returned for a wrong password or an unknown user.
	ErrAuthFailed = errors.New("auth: authentication failed, invalid user ID or password")
	// ErrNoPasswordUser is returned when a password is given for a user
	// made without one.
	ErrNoPasswordUser = errors.New("auth: authentication failed, password was given for no password user")
	// ErrPermissionDenied is returned when the user may not do what it asks.
	ErrPermissionDenied = errors.New("auth: permission denied")
	// ErrRoleNotGranted is returned when revoking a role the user lacks.
	ErrRoleNotGranted = errors.New("auth: role is not granted to the user")
	// ErrPermissionNotGranted is returned when revoking a permission the
	// role lacks.
	ErrPermissionNotGranted = errors.New("auth: permission is not granted to the role")
	// ErrAuthNotEnabled is returned by authentication while auth is off.
	ErrAuthNotEnabled = errors.New("auth: authentication is not enabled")
	// ErrAuthOldRevision is returned for a request authorised at an auth
	// revision older than the store's: the client authenticates again.
	ErrAuthOldRevision = errors.New("auth: revision in header is old")
	// ErrInvalidAuthToken is returned for a token that names no session.
	ErrInvalidAuthToken = errors.New("auth: invalid auth token")
	// ErrInvalidAuthMgmt is returned for a change auth forbids: deleting
	// root while auth is on, a permission with an empty or inverted range.
	ErrInvalidAuthMgmt = errors.New("auth: invalid auth management")
)

// PermType is what a permission allows; the values are etcd's authpb ones.
type PermType int32

// Permission types.
const (
	Read      PermType = 0
	Write     PermType = 1
	ReadWrite PermType = 2
)

// Permission is a v3 key range a role may read, write or both. RangeEnd
// follows the KV API: empty for the single key Key, "\x00" for every key
// from Key on.
type Permission struct {
	Type     PermType `json:"Type"`
	Key      []byte   `json:"Key"`
	RangeEnd []byte   `json:"RangeEnd"`
}

func (p Permission) clone() Permission {
	return Permission{Type: p.Type, Key: bytes.Clone(p.Key), RangeEnd: bytes.Clone(p.RangeEnd)}
}

// User is a copy of one user.
//
// Its JSON form is part of the log (v2 auth entries) and of snapshots:
// the tags fix it, whatever the fields come to be called.
type User struct {
	Name string `json:"Name"`
	// Password is the bcrypt hash; nil for a user without a password.
	Password   []byte `json:"Password"`
	NoPassword bool   `json:"NoPassword"`
	// Roles are sorted.
	Roles []string `json:"Roles"`
}

func (u *User) clone() User {
	return User{Name: u.Name, Password: bytes.Clone(u.Password), NoPassword: u.NoPassword, Roles: slices.Clone(u.Roles)}
}

// HasRole tells whether the user holds role.
func (u *User) HasRole(role string) bool {
	_, ok := slices.BinarySearch(u.Roles, role)
	return ok
}

// Role is a copy of one role.
//
// Its JSON form is in snapshots, fixed by the tags as User's.
type Role struct {
	Name string `json:"Name"`
	// KV are the v3 key ranges, sorted by key.
	KV []Permission `json:"KV"`
	// V2Read and V2Write are the v2 path patterns, as etcd v2 kept them:
	// "/foo" for the path itself, "/foo*" for every path it begins.
	// A nil list and an empty one are told apart, as v2 shows them.
	V2Read  []string `json:"V2Read"`
	V2Write []string `json:"V2Write"`
}

func (r *Role) clone() Role {
	c := Role{Name: r.Name, V2Read: slices.Clone(r.V2Read), V2Write: slices.Clone(r.V2Write)}
	for _, p := range r.KV {
		c.KV = append(c.KV, p.clone())
	}
	return c
}

// Store is the replicated auth state. The methods that change it are for
// the apply loop; the others may be called from any goroutine.
type Store struct {
	mu sync.RWMutex // guards the fields below
	// enabled says whether requests are checked at all.
	enabled bool
	// revision counts the changes; it starts at 1 (etcd's).
	revision uint64
	users    map[string]*User
	roles    map[string]*Role
	// merged are the key ranges each user may read and write, from all
	// its roles, rebuilt on every change.
	merged map[string]*mergedPerms
}

// NewStore returns an empty store with auth off, at revision 1.
func NewStore() *Store {
	s := &Store{revision: 1, users: map[string]*User{}, roles: map[string]*Role{}}
	s.rebuildLocked()
	return s
}

// Enabled tells whether auth is on.
func (s *Store) Enabled() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.enabled
}

// Revision is the auth revision: it grows with every change.
func (s *Store) Revision() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.revision
}

// State is Enabled and Revision read together, in one look.
func (s *Store) State() (enabled bool, revision uint64) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.enabled, s.revision
}

// User returns a copy of the named user.
func (s *Store) User(name string) (User, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[name]
	if !ok {
		return User{}, false
	}
	return u.clone(), true
}

// Users returns the user names, sorted.
func (s *Store) Users() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sortedKeys(s.users)
}

// Role returns a copy of the named role.
func (s *Store) Role(name string) (Role, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.roles[name]
	if !ok {
		return Role{}, false
	}
	return r.clone(), true
}

// Roles returns the role names, sorted.
func (s *Store) Roles() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sortedKeys(s.roles)
}

// HasRole tells whether user exists and holds role.
func (s *Store) HasRole(user, role string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[user]
	return ok && u.HasRole(role)
}

func sortedKeys[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// changedLocked records a change: a new revision and fresh merged ranges.
func (s *Store) changedLocked() {
	s.revision++
	s.rebuildLocked()
}

// Enable turns auth on. The root user must exist and hold the root role.
// Enabling twice is not an error. As in etcd, it does not move the revision.
func (s *Store) Enable() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.enableLocked()
}

func (s *Store) enableLocked() error {
	if s.enabled {
		return nil
	}
	root, ok := s.users[RootUser]
	if !ok {
		return ErrRootUserNotExist
	}
	if !root.HasRole(RootRole) {
		return ErrRootRoleNotExist
	}
	s.enabled = true
	return nil
}

// Disable turns auth off. Disabling twice is not an error.
func (s *Store) Disable() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.enabled {
		return
	}
	s.enabled = false
	s.changedLocked()
}

// AddUser adds a user with a bcrypt password hash, or with none.
func (s *Store) AddUser(name string, hash []byte, noPassword bool) error {
	if name == "" {
		return ErrUserEmpty
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[name]; ok {
		return ErrUserAlreadyExist
	}
	u := &User{Name: name, NoPassword: noPassword}
	if !noPassword {
		u.Password = bytes.Clone(hash)
	}
	s.users[name] = u
	s.changedLocked()
	return nil
}

// DeleteUser deletes a user. root cannot go while auth is on.
func (s *Store) DeleteUser(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.enabled && name == RootUser {
		return ErrInvalidAuthMgmt
	}
	if _, ok := s.users[name]; !ok {
		return ErrUserNotFound
	}
	delete(s.users, name)
	s.changedLocked()
	return nil
}

// ChangePassword sets a user's password hash. A user made without a
// password keeps none.
func (s *Store) ChangePassword(name string, hash []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[name]
	if !ok {
		return ErrUserNotFound
	}
	if !u.NoPassword {
		u.Password = bytes.Clone(hash)
	}
	s.changedLocked()
	return nil
}

// GrantRole gives a user a role. The root role may be granted before it
// exists; granting a role held already changes nothing (etcd's rules).
func (s *Store) GrantRole(user, role string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[user]
	if !ok {
		return ErrUserNotFound
	}
	if _, ok := s.roles[role]; !ok && role != RootRole {
		return ErrRoleNotFound
	}
	i, held := slices.BinarySearch(u.Roles, role)
	if held {
		return nil
	}
	u.Roles = slices.Insert(u.Roles, i, role)
	s.changedLocked()
	return nil
}

// RevokeRole takes a role from a user. root keeps the root role while
// auth is on.
func (s *Store) RevokeRole(user, role string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.enabled && user == RootUser && role == RootRole {
		return ErrInvalidAuthMgmt
	}
	u, ok := s.users[user]
	if !ok {
		return ErrUserNotFound
	}
	i, held := slices.BinarySearch(u.Roles, role)
	if !held {
		return ErrRoleNotGranted
	}
	u.Roles = slices.Delete(u.Roles, i, i+1)
	s.changedLocked()
	return nil
}

// AddRole adds a role without permissions.
func (s *Store) AddRole(name string) error {
	if name == "" {
		return ErrRoleEmpty
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.roles[name]; ok {
		return ErrRoleAlreadyExist
	}
	s.roles[name] = &Role{Name: name}
	s.changedLocked()
	return nil
}

// DeleteRole deletes a role and takes it from every user. The root role
// cannot go while auth is on.
func (s *Store) DeleteRole(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.enabled && name == RootRole {
		return ErrInvalidAuthMgmt
	}
	if _, ok := s.roles[name]; !ok {
		return ErrRoleNotFound
	}
	delete(s.roles, name)
	for _, u := range s.users {
		if i, held := slices.BinarySearch(u.Roles, name); held {
			u.Roles = slices.Delete(u.Roles, i, i+1)
		}
	}
	s.changedLocked()
	return nil
}

// ValidPermissionRange tells whether a permission's range is one etcd
// accepts: a key, and an end after it, or none, or "\x00".
func ValidPermissionRange(key, rangeEnd []byte) bool {
	if len(key) == 0 {
		return false
	}
	return len(rangeEnd) == 0 || openEnded(rangeEnd) || bytes.Compare(key, rangeEnd) < 0
}

func openEnded(rangeEnd []byte) bool { return len(rangeEnd) == 1 && rangeEnd[0] == 0 }

// GrantPermission gives a role a key range, or changes the type of the
// range it has already.
func (s *Store) GrantPermission(role string, p Permission) error {
	if !ValidPermissionRange(p.Key, p.RangeEnd) {
		return ErrInvalidAuthMgmt
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.roles[role]
	if !ok {
		return ErrRoleNotFound
	}
	// As etcd: only the first range with the same key is looked at, so
	// the same range granted behind another with its key is held twice
	// (and RevokePermission takes both).
	i, _ := slices.BinarySearchFunc(r.KV, p.Key, func(q Permission, key []byte) int { return bytes.Compare(q.Key, key) })
	if i < len(r.KV) && bytes.Equal(r.KV[i].Key, p.Key) && bytes.Equal(r.KV[i].RangeEnd, p.RangeEnd) {
		r.KV[i].Type = p.Type
	} else {
		r.KV = append(r.KV, p.clone())
		slices.SortStableFunc(r.KV, func(a, b Permission) int { return bytes.Compare(a.Key, b.Key) })
	}
	s.changedLocked()
	return nil
}

// RevokePermission takes the range [key, rangeEnd) from a role, every
// time it holds it.
func (s *Store) RevokePermission(role string, key, rangeEnd []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.roles[role]
	if !ok {
		return ErrRoleNotFound
	}
	kept := slices.DeleteFunc(slices.Clone(r.KV), func(q Permission) bool {
		return bytes.Equal(q.Key, key) && bytes.Equal(q.RangeEnd, rangeEnd)
	})
	if len(kept) == len(r.KV) {
		return ErrPermissionNotGranted
	}
	r.KV = kept
	s.changedLocked()
	return nil
}

// PutUser stores a whole user, made or replaced, for the v2 API, which
// works out the new user from the one it read at revision expect: if the
// store has moved on since, it returns ErrAuthOldRevision and the caller
// reads again.
func (s *Store) PutUser(u User, expect uint64) error {
	if u.Name == "" {
		return ErrUserEmpty
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if expect != s.revision {
		return ErrAuthOldRevision
	}
	c := u.clone()
	if s.enabled && c.Name == RootUser && !c.HasRole(RootRole) {
		// v2 treats root's root role as implicit; it may not go while
		// auth is on (RevokeRole's rule), or nobody could manage auth.
		c.Roles = append(c.Roles, RootRole)
	}
	slices.Sort(c.Roles)
	c.Roles = slices.Compact(c.Roles)
	s.users[u.Name] = &c
	s.changedLocked()
	return nil
}

// PutRoleV2 makes a role, or sets the v2 path patterns of one, for the v2
// API, with PutUser's revision rule. The role's key ranges are kept.
func (s *Store) PutRoleV2(name string, read, write []string, expect uint64) error {
	if name == "" {
		return ErrRoleEmpty
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if expect != s.revision {
		return ErrAuthOldRevision
	}
	r, ok := s.roles[name]
	if !ok {
		r = &Role{Name: name}
		s.roles[name] = r
	}
	r.V2Read, r.V2Write = slices.Clone(read), slices.Clone(write)
	s.changedLocked()
	return nil
}

// EnableV2 turns auth on as etcd v2 did: with PutUser's revision rule,
// and making the guest role, with every v2 path, if there is none. Unlike
// Enable it is an error when auth is on already.
func (s *Store) EnableV2(expect uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if expect != s.revision {
		return ErrAuthOldRevision
	}
	if err := s.enableLocked(); err != nil {
		return err
	}
	if _, ok := s.roles[GuestRole]; !ok {
		s.roles[GuestRole] = &Role{Name: GuestRole, V2Read: []string{"/*"}, V2Write: []string{"/*"}}
	}
	s.changedLocked()
	return nil
}

// CheckAdmin tells whether user may manage auth, members and the
// maintenance calls etcd keeps for root: anyone while auth is off.
func (s *Store) CheckAdmin(user string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.enabled {
		return nil
	}
	if user == "" {
		return ErrUserEmpty
	}
	u, ok := s.users[user]
	if !ok {
		return ErrUserNotFound
	}
	if !u.HasRole(RootRole) {
		return ErrPermissionDenied
	}
	return nil
}

// Check tells whether user, authorised at auth revision rev, may read or
// write (t is Read or Write) the key, or the range [key, rangeEnd) with
// the KV API's meaning of rangeEnd. Anyone may while auth is off.
func (s *Store) Check(user string, rev uint64, key, rangeEnd []byte, t PermType) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.enabled {
		return nil
	}
	if user == "" || rev == 0 {
		return ErrUserEmpty
	}
	if rev < s.revision {
		return ErrAuthOldRevision
	}
	u, ok := s.users[user]
	if !ok {
		return ErrPermissionDenied
	}
	if u.HasRole(RootRole) {
		return nil
	}
	m := s.merged[user]
	ranges := m.read
	if t == Write {
		ranges = m.write
	}
	if len(rangeEnd) == 0 {
		if ranges.containsKey(key) {
			return nil
		}
	} else if ranges.containsRange(key, rangeEnd) {
		return nil
	}
	return ErrPermissionDenied
}

// CheckV2 tells whether user may read or write the v2 key at path (the
// raw URL path after /v2/keys, as etcd v2 matched it), recursively or
// not. An empty user is a request without credentials: the guest role's.
// Anyone may while auth is off.
func (s *Store) CheckV2(user, path string, recursive, write bool) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if !s.enabled {
		return true
	}
	var roles []string
	if user == "" {
		roles, recursive = []string{GuestRole}, false // guests' checks ignore recursive
	} else {
		u, ok := s.users[user]
		if !ok {
			return false
		}
		if u.HasRole(RootRole) {
			return true
		}
		roles = u.Roles
	}
	for _, name := range roles {
		r, ok := s.roles[name]
		if !ok {
			continue
		}
		patterns := r.V2Read
		if write {
			patterns = r.V2Write
		}
		for _, p := range patterns {
			if v2Match(p, path, recursive) {
				return true
			}
		}
	}
	return false
}

// v2Match is etcd v2's pattern rule: a pattern ending in * matches the
// paths it begins; any other only itself, and never a recursive request.
func v2Match(pattern, path string, recursive bool) bool {
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(path, prefix)
	}
	return !recursive && pattern == path
}
