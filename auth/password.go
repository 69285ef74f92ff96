package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// DefaultBcryptCost is etcd's --bcrypt-cost default.
const DefaultBcryptCost = bcrypt.DefaultCost

// maxVerified bounds the remembered verifications; past it they are
// forgotten all at once (a cache, not a record).
const maxVerified = 4096

// Passwords hashes and verifies passwords with bcrypt. It remembers the
// (hash, password) pairs it has verified, as digests, so that a request
// that carries a password each time (v2's HTTP basic auth) pays bcrypt
// once; a changed password has a new hash, so nothing needs forgetting.
type Passwords struct {
	cost int
	// dummy is the hash an unknown user's password is compared with, so
	// that a wrong name costs what a wrong password costs.
	dummy []byte

	mu       sync.Mutex // guards verified and dummies
	verified map[[sha256.Size]byte]struct{}
	// dummies are dummy hashes of the other costs stored hashes have
	// (--bcrypt-cost is per member, and may have changed), by cost.
	dummies map[int][]byte
}

// NewPasswords returns a Passwords that hashes at the given bcrypt cost.
func NewPasswords(cost int) (*Passwords, error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("auth: bcrypt cost %d is not between %d and %d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		return nil, err
	}
	return &Passwords{cost: cost, dummy: dummy, verified: map[[sha256.Size]byte]struct{}{}, dummies: map[int][]byte{cost: dummy}}, nil
}

// Hash returns the bcrypt hash of password.
func (p *Passwords) Hash(password string) ([]byte, error) {
	return bcrypt.GenerateFromPassword([]byte(password), p.cost)
}

func verifiedKey(hash []byte, password string) [sha256.Size]byte {
	h := sha256.New()
	h.Write(hash)
	h.Write([]byte{0})
	h.Write([]byte(password))
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

// Verify tells whether password matches hash.
func (p *Passwords) Verify(hash []byte, password string) bool {
	k := verifiedKey(hash, password)
	p.mu.Lock()
	_, ok := p.verified[k]
	p.mu.Unlock()
	if ok {
		return true
	}
	if bcrypt.CompareHashAndPassword(hash, []byte(password)) != nil {
		return false
	}
	p.mu.Lock()
	if len(p.verified) >= maxVerified {
		clear(p.verified)
	}
	p.verified[k] = struct{}{}
	p.mu.Unlock()
	return true
}

// Authenticate checks a user's password against store and returns the
// auth revision it checked at. An unknown user and a wrong password are
// both ErrAuthFailed, and both cost one bcrypt comparison; a user made
// without a password gets ErrNoPasswordUser (etcd's answer).
func (p *Passwords) Authenticate(s *Store, name, password string) (uint64, error) {
	s.mu.RLock()
	u, ok := s.users[name]
	var hash []byte
	noPassword := false
	if ok {
		hash, noPassword = u.Password, u.NoPassword
	}
	rev := s.revision
	var rootHash []byte
	if root, ok := s.users[RootUser]; ok {
		rootHash = root.Password
	}
	s.mu.RUnlock()
	switch {
	case !ok:
		bcrypt.CompareHashAndPassword(p.dummyLike(rootHash), []byte(password))
		return 0, ErrAuthFailed
	case noPassword:
		return 0, ErrNoPasswordUser
	case !p.Verify(hash, password):
		return 0, ErrAuthFailed
	}
	return rev, nil
}

// dummyLike is a dummy hash of the cost of hash (the root user's, as the
// likely cost of the stored ones), or of this member's cost.
func (p *Passwords) dummyLike(hash []byte) []byte {
	cost, err := bcrypt.Cost(hash)
	if err != nil {
		return p.dummy
	}
	p.mu.Lock()
	d, ok := p.dummies[cost]
	p.mu.Unlock()
	if ok {
		return d
	}
	d, err = bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
	if err != nil {
		return p.dummy
	}
	p.mu.Lock()
	p.dummies[cost] = d
	p.mu.Unlock()
	return d
}
