package auth

import (
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

// TestAuthenticate: right, wrong, unknown, no-password users; a verified
// pair is remembered, and only as a digest.
func TestAuthenticate(t *testing.T) {
	p, err := NewPasswords(bcrypt.MinCost)
	mustDo(t, err)
	s := NewStore()
	hash, err := p.Hash("pw")
	mustDo(t, err)
	mustDo(t, s.AddUser("alice", hash, false))
	mustDo(t, s.AddUser("carol", nil, true))
	if rev, err := p.Authenticate(s, "alice", "pw"); err != nil || rev != s.Revision() {
		t.Fatalf("right password: %d, %v", rev, err)
	}
	for _, c := range []struct {
		user, password string
		want           error
	}{
		{"alice", "wrong", ErrAuthFailed},
		{"nobody", "pw", ErrAuthFailed},
		{"", "", ErrAuthFailed},
		{"carol", "anything", ErrNoPasswordUser},
	} {
		if _, err := p.Authenticate(s, c.user, c.password); !errors.Is(err, c.want) {
			t.Errorf("%s/%s: %v, want %v", c.user, c.password, err, c.want)
		}
	}
	if len(p.verified) != 1 {
		t.Fatalf("%d verified pairs remembered, want 1", len(p.verified))
	}
	for k := range p.verified {
		if string(k[:]) == "pw" || len(k) != 32 {
			t.Fatal("a remembered pair is not a digest")
		}
	}
}

// TestUnknownUserCostsABcrypt: an unknown user's password is compared with
// a hash of the same cost as the users' (no user enumeration by timing);
// BenchmarkAuthenticate shows the times.
func TestUnknownUserCostsABcrypt(t *testing.T) {
	p, err := NewPasswords(DefaultBcryptCost)
	mustDo(t, err)
	cost, err := bcrypt.Cost(p.dummy)
	mustDo(t, err)
	hash, err := p.Hash("pw")
	mustDo(t, err)
	userCost, err := bcrypt.Cost(hash)
	mustDo(t, err)
	if cost != userCost || cost != DefaultBcryptCost {
		t.Fatalf("dummy hash cost %d, users' %d", cost, userCost)
	}
	if _, err := NewPasswords(bcrypt.MaxCost + 1); err == nil {
		t.Fatal("a cost above bcrypt's maximum was taken")
	}
}

// BenchmarkAuthenticate compares a wrong password with an unknown user
// (they should take the same time) and a remembered right password.
func BenchmarkAuthenticate(b *testing.B) {
	p, err := NewPasswords(DefaultBcryptCost)
	if err != nil {
		b.Fatal(err)
	}
	s := NewStore()
	hash, _ := p.Hash("pw")
	_ = s.AddUser("alice", hash, false)
	for _, c := range []struct{ name, user, password string }{
		{"wrong-password", "alice", "nope"},
		{"unknown-user", "nobody", "nope"},
		{"right-password-cached", "alice", "pw"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				_, _ = p.Authenticate(s, c.user, c.password)
			}
		})
	}
}

// TestUnknownUserCostsAsRoot: with stored hashes of another cost than this
// member's (--bcrypt-cost changed, or differs between members), an
// unknown user is compared with a dummy of the stored cost.
func TestUnknownUserCostsAsRoot(t *testing.T) {
	p, err := NewPasswords(bcrypt.MinCost)
	mustDo(t, err)
	s := NewStore()
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost+1)
	mustDo(t, err)
	mustDo(t, s.AddUser(RootUser, hash, false))
	if _, err := p.Authenticate(s, "nobody", "pw"); !errors.Is(err, ErrAuthFailed) {
		t.Fatal(err)
	}
	if cost, _ := bcrypt.Cost(p.dummyLike(hash)); cost != bcrypt.MinCost+1 {
		t.Fatalf("dummy of cost %d, want the stored %d", cost, bcrypt.MinCost+1)
	}
}
