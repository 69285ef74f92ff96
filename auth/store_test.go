package auth

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func mustDo(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// withRoot returns a store with root (holding the root role) and auth on.
func withRoot(t *testing.T) *Store {
	t.Helper()
	s := NewStore()
	mustDo(t, s.AddUser(RootUser, []byte("hash"), false))
	mustDo(t, s.AddRole(RootRole))
	mustDo(t, s.GrantRole(RootUser, RootRole))
	mustDo(t, s.Enable())
	return s
}

// TestStoreRules walks etcd's auth rules, one change after another.
func TestStoreRules(t *testing.T) {
	s := NewStore()
	if s.Revision() != 1 || s.Enabled() {
		t.Fatalf("fresh store: revision %d, enabled %v", s.Revision(), s.Enabled())
	}
	steps := []struct {
		name string
		do   func() error
		want error
	}{
		{"enable without root", s.Enable, ErrRootUserNotExist},
		{"add root", func() error { return s.AddUser(RootUser, []byte("h"), false) }, nil},
		{"enable without the root role", s.Enable, ErrRootRoleNotExist},
		{"grant root before the role exists", func() error { return s.GrantRole(RootUser, RootRole) }, nil},
		{"grant a missing role", func() error { return s.GrantRole(RootUser, "nope") }, ErrRoleNotFound},
		{"grant to a missing user", func() error { return s.GrantRole("nobody", RootRole) }, ErrUserNotFound},
		{"add an empty user", func() error { return s.AddUser("", nil, false) }, ErrUserEmpty},
		{"add root again", func() error { return s.AddUser(RootUser, nil, false) }, ErrUserAlreadyExist},
		{"add an empty role", func() error { return s.AddRole("") }, ErrRoleEmpty},
		{"add role r", func() error { return s.AddRole("r") }, nil},
		{"add role r again", func() error { return s.AddRole("r") }, ErrRoleAlreadyExist},
		{"grant an empty key", func() error { return s.GrantPermission("r", Permission{Key: nil}) }, ErrInvalidAuthMgmt},
		{"grant an inverted range", func() error { return s.GrantPermission("r", Permission{Key: []byte("b"), RangeEnd: []byte("a")}) }, ErrInvalidAuthMgmt},
		{"grant to a missing role", func() error { return s.GrantPermission("x", Permission{Key: []byte("a")}) }, ErrRoleNotFound},
		{"revoke an ungranted range", func() error { return s.RevokePermission("r", []byte("a"), nil) }, ErrPermissionNotGranted},
		{"enable", s.Enable, nil},
		{"enable again", s.Enable, nil},
		{"delete root while on", func() error { return s.DeleteUser(RootUser) }, ErrInvalidAuthMgmt},
		{"delete the root role while on", func() error { return s.DeleteRole(RootRole) }, ErrInvalidAuthMgmt},
		{"revoke root from root while on", func() error { return s.RevokeRole(RootUser, RootRole) }, ErrInvalidAuthMgmt},
		{"add alice", func() error { return s.AddUser("alice", []byte("h"), false) }, nil},
		{"revoke a role alice lacks", func() error { return s.RevokeRole("alice", "r") }, ErrRoleNotGranted},
		{"change a missing user's password", func() error { return s.ChangePassword("bob", []byte("h")) }, ErrUserNotFound},
	}
	for _, st := range steps {
		if err := st.do(); !errors.Is(err, st.want) {
			t.Fatalf("%s: %v, want %v", st.name, err, st.want)
		}
	}

	// Every change moves the revision; a change that changes nothing, a
	// refused one and enabling do not.
	rev := s.Revision()
	mustDo(t, s.GrantRole("alice", "r"))
	if s.Revision() != rev+1 {
		t.Fatalf("grant: revision %d, want %d", s.Revision(), rev+1)
	}
	mustDo(t, s.GrantRole("alice", "r"))
	_ = s.AddRole("r")
	if s.Revision() != rev+1 {
		t.Fatalf("a grant held already or a refused add moved the revision to %d", s.Revision())
	}
	mustDo(t, s.DeleteRole("r"))
	if u, _ := s.User("alice"); len(u.Roles) != 0 {
		t.Fatalf("a deleted role stays with its users: %v", u.Roles)
	}
	s.Disable()
	if s.Enabled() || s.Revision() != rev+3 {
		t.Fatalf("disable: enabled %v revision %d", s.Enabled(), s.Revision())
	}
	mustDo(t, s.DeleteUser(RootUser))
}

// TestNoPasswordUserKeepsNone: a user made without a password has no
// hash, and a password change gives it none (etcd's rule).
func TestNoPasswordUserKeepsNone(t *testing.T) {
	s := NewStore()
	mustDo(t, s.AddUser("carol", []byte("ignored"), true))
	mustDo(t, s.ChangePassword("carol", []byte("h2")))
	if u, _ := s.User("carol"); u.Password != nil || !u.NoPassword {
		t.Fatalf("carol: %+v", u)
	}
}

// TestCheckRules: who may do what once auth is on.
func TestCheckRules(t *testing.T) {
	s := withRoot(t)
	mustDo(t, s.AddRole("rw"))
	mustDo(t, s.GrantPermission("rw", Permission{Type: ReadWrite, Key: []byte("a/"), RangeEnd: []byte("a0")}))
	mustDo(t, s.AddRole("w"))
	mustDo(t, s.GrantPermission("w", Permission{Type: Write, Key: []byte("w")}))
	mustDo(t, s.AddUser("alice", []byte("h"), false))
	mustDo(t, s.GrantRole("alice", "rw"))
	mustDo(t, s.GrantRole("alice", "w"))
	rev := s.Revision()
	cases := []struct {
		user     string
		rev      uint64
		key, end string
		t        PermType
		want     error
	}{
		{"alice", rev, "a/x", "", Read, nil},
		{"alice", rev, "a/", "a0", Write, nil},
		{"alice", rev, "a/", "a1", Read, ErrPermissionDenied},
		{"alice", rev, "a/", "\x00", Read, ErrPermissionDenied},
		{"alice", rev, "w", "", Write, nil},
		{"alice", rev, "w", "", Read, ErrPermissionDenied},
		{"alice", rev, "b", "", Read, ErrPermissionDenied},
		{"alice", rev - 1, "a/x", "", Read, ErrAuthOldRevision},
		{"", rev, "a/x", "", Read, ErrUserEmpty},
		{"nobody", rev, "a/x", "", Read, ErrPermissionDenied},
		{RootUser, rev, "anything", "\x00", Write, nil},
	}
	for _, c := range cases {
		if err := s.Check(c.user, c.rev, []byte(c.key), []byte(c.end), c.t); !errors.Is(err, c.want) {
			t.Errorf("Check(%q, %d, %q, %q, %d) = %v, want %v", c.user, c.rev, c.key, c.end, c.t, err, c.want)
		}
	}
	for user, want := range map[string]error{RootUser: nil, "alice": ErrPermissionDenied, "": ErrUserEmpty, "nobody": ErrUserNotFound} {
		if err := s.CheckAdmin(user); !errors.Is(err, want) {
			t.Errorf("CheckAdmin(%q) = %v, want %v", user, err, want)
		}
	}
	s.Disable()
	if err := s.Check("", 0, []byte("x"), nil, Write); err != nil {
		t.Fatalf("with auth off: %v", err)
	}
}

// TestCheckV2 follows spec/v2.md §5.4's observed examples.
func TestCheckV2(t *testing.T) {
	s := withRoot(t)
	rev := s.Revision()
	mustDo(t, s.PutRoleV2("rw", []string{"/app/*"}, []string{"/app/*"}, rev))
	mustDo(t, s.PutRoleV2("ex", []string{"/exact", "/foo*"}, nil, s.Revision()))
	mustDo(t, s.PutUser(User{Name: "alice", Password: []byte("h"), Roles: []string{"rw"}}, s.Revision()))
	mustDo(t, s.PutUser(User{Name: "bob", Password: []byte("h"), Roles: []string{"ex", "gone"}}, s.Revision()))
	mustDo(t, s.PutRoleV2(GuestRole, []string{"/pub/*"}, nil, s.Revision()))
	cases := []struct {
		user, path       string
		recursive, write bool
		want             bool
	}{
		{"alice", "/app/x", false, true, true},
		{"alice", "/app", false, false, false},
		{"alice", "/app/", false, false, true},
		{"alice", "/app", true, false, false},
		{"alice", "/app/", true, false, true},
		{"bob", "/exact", false, false, true},
		{"bob", "/exact", true, false, false},
		{"bob", "/foo", false, false, true},
		{"bob", "/foobar", false, false, true},
		{"bob", "/foo", false, true, false},
		{"", "/pub/x", false, false, true},
		{"", "/pub/x", true, false, true}, // guests' checks ignore recursive
		{"", "/pub/x", false, true, false},
		{"", "/c1", false, false, false},
		{"nobody", "/pub/x", false, false, false}, // no fall back to guest
		{RootUser, "/anything", true, true, true},
	}
	for _, c := range cases {
		if got := s.CheckV2(c.user, c.path, c.recursive, c.write); got != c.want {
			t.Errorf("CheckV2(%q, %q, recursive %v, write %v) = %v, want %v", c.user, c.path, c.recursive, c.write, got, c.want)
		}
	}
	if err := s.PutUser(User{Name: "x"}, rev); !errors.Is(err, ErrAuthOldRevision) {
		t.Fatalf("PutUser at an old revision: %v", err)
	}
}

// TestPermissionGrantsAsEtcd: the same range granted again changes its
// type; granted behind another range with its key it is held twice, and
// one revoke takes both; ranges stay sorted by key.
func TestPermissionGrantsAsEtcd(t *testing.T) {
	s := NewStore()
	mustDo(t, s.AddRole("r"))
	grant := func(typ PermType, key, end string) {
		t.Helper()
		var e []byte
		if end != "" {
			e = []byte(end)
		}
		mustDo(t, s.GrantPermission("r", Permission{Type: typ, Key: []byte(key), RangeEnd: e}))
	}
	grant(Read, "k", "")
	grant(Write, "k", "")
	grant(Read, "k", "m")
	grant(Read, "k", "m")
	grant(Read, "a", "")
	r, _ := s.Role("r")
	var got []string
	for _, p := range r.KV {
		got = append(got, fmt.Sprintf("%d:%s-%s", p.Type, p.Key, p.RangeEnd))
	}
	if want := []string{"0:a-", "1:k-", "0:k-m", "0:k-m"}; !slices.Equal(got, want) {
		t.Fatalf("permissions %v, want %v", got, want)
	}
	mustDo(t, s.RevokePermission("r", []byte("k"), []byte("m")))
	if r, _ := s.Role("r"); len(r.KV) != 2 {
		t.Fatalf("after one revoke: %d permissions, want 2", len(r.KV))
	}
}

// TestRangeChecksAgainstModel checks the merged-range checks against a
// plain model: the union of the user's ranges, cut into disjoint pieces,
// must hold the requested range in one piece.
func TestRangeChecksAgainstModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	keys := []string{"a", "a\x00", "aa", "ab", "b", "b\x00", "ba", "c", "ca", "d"}
	for iter := range 2000 {
		s := NewStore()
		mustDo(t, s.AddRole("r"))
		mustDo(t, s.AddUser("u", []byte("h"), false))
		mustDo(t, s.GrantRole("u", "r"))
		var perms []Permission
		for range rng.IntN(5) {
			p := Permission{Type: Read, Key: []byte(keys[rng.IntN(len(keys))])}
			switch rng.IntN(3) {
			case 1:
				p.RangeEnd = []byte{0}
			case 2:
				p.RangeEnd = []byte(keys[rng.IntN(len(keys))])
			}
			if !ValidPermissionRange(p.Key, p.RangeEnd) {
				continue
			}
			mustDo(t, s.GrantPermission("r", p))
			perms = append(perms, p)
		}
		s.enabled = true
		key := []byte(keys[rng.IntN(len(keys))])
		var end []byte
		switch rng.IntN(3) {
		case 1:
			end = []byte{0}
		case 2:
			end = []byte(keys[rng.IntN(len(keys))])
			if bytes.Compare(end, key) <= 0 {
				end = nil
			}
		}
		got := s.Check("u", s.Revision(), key, end, Read) == nil
		if want := modelCovers(perms, key, end); got != want {
			t.Fatalf("iteration %d: perms %q, request [%q, %q): got %v, want %v", iter, perms, key, end, got, want)
		}
	}
}

// modelCovers merges the ranges into disjoint ones and looks for one that
// holds [key, end) (a single key when end is empty, no end when "\x00").
func modelCovers(perms []Permission, key, end []byte) bool {
	var rs []keyRange
	for _, p := range perms {
		rs = append(rs, rangeOf(p))
	}
	slices.SortFunc(rs, func(a, b keyRange) int { return bytes.Compare(a.begin, b.begin) })
	var merged []keyRange
	for _, r := range rs {
		if n := len(merged); n > 0 && (len(merged[n-1].end) == 0 || bytes.Compare(r.begin, merged[n-1].end) <= 0) {
			if len(merged[n-1].end) != 0 && (len(r.end) == 0 || bytes.Compare(r.end, merged[n-1].end) > 0) {
				merged[n-1].end = r.end
			}
			continue
		}
		merged = append(merged, r)
	}
	want := keyRange{begin: key, end: end}
	switch {
	case len(end) == 0:
		want.end = append(bytes.Clone(key), 0)
	case len(end) == 1 && end[0] == 0:
		want.end = nil
	}
	for _, m := range merged {
		if bytes.Compare(m.begin, want.begin) <= 0 && (len(m.end) == 0 || (len(want.end) != 0 && bytes.Compare(want.end, m.end) <= 0)) {
			return true
		}
	}
	return false
}

// TestSnapshotRoundTrip: a restored store equals the one encoded, and
// encoding is deterministic.
func TestSnapshotRoundTrip(t *testing.T) {
	s := withRoot(t)
	mustDo(t, s.AddRole("rw"))
	mustDo(t, s.GrantPermission("rw", Permission{Type: ReadWrite, Key: []byte("a"), RangeEnd: []byte{0}}))
	mustDo(t, s.PutRoleV2("rw", []string{"/x*"}, []string{}, s.Revision()))
	mustDo(t, s.AddUser("nopw", nil, true))
	mustDo(t, s.AddUser("alice", []byte("$2a$10$hash"), false))
	mustDo(t, s.GrantRole("alice", "rw"))
	enc, err := s.Encode()
	mustDo(t, err)
	r, err := Restore(enc)
	mustDo(t, err)
	enc2, err := r.Encode()
	mustDo(t, err)
	if !bytes.Equal(enc, enc2) {
		t.Fatalf("encodings differ:\n%s\n%s", enc, enc2)
	}
	if r.Check("alice", r.Revision(), []byte("zz"), nil, Write) != nil || !r.Enabled() {
		t.Fatal("restored store lost alice's permission or auth")
	}
	role, _ := r.Role("rw")
	if role.V2Write == nil || len(role.V2Write) != 0 {
		t.Fatalf("an empty v2 list came back as %#v", role.V2Write)
	}
	empty := NewStore()
	empty.ReplaceWith(r)
	if empty.Revision() != s.Revision() || !empty.HasRole("alice", "rw") {
		t.Fatal("ReplaceWith did not take the state")
	}
}

func FuzzRestore(f *testing.F) {
	s := NewStore()
	_ = s.AddUser("u", []byte("h"), false)
	enc, _ := s.Encode()
	f.Add(enc)
	f.Add([]byte(`{"format":1,"revision":1,"users":[{"Name":"a","Roles":["b","a"]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := Restore(data)
		if err != nil {
			return
		}
		enc, err := st.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Restore(enc); err != nil {
			t.Fatalf("a restored store does not restore again: %v", err)
		}
	})
}
