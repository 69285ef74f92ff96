// Package token issues and checks the tokens the v3 API's Authenticate
// hands out, as etcd's --auth-token types do:
//
//   - simple: a random prefix and the Raft index of the Authenticate entry
//     ("QtpIUuRkhMGgkbsh.141"). The member that takes the request draws the
//     prefix; the entry carries it, so every member learns the token when it
//     applies the entry and keeps it in memory until it goes unused for the
//     TTL (--auth-token-ttl), the user's password changes or the user goes.
//     A token tells only the user: it is good at the store's current auth
//     revision.
//   - jwt: a signed JWT with the user name, the auth revision it was issued
//     at and an expiry; any member holding the public key verifies it, and
//     an auth change makes it old (the client authenticates again).
//
// Time is an argument (now), never read here, so tests drive it.
package token

import (
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// Provider issues and checks tokens.
type Provider interface {
	// Assign returns the token for user, issued by the Authenticate entry
	// at Raft index index, carrying prefix (drawn with NewPrefix by the
	// member that took the request, for providers that want one) and made
	// at auth revision rev.
	Assign(prefix string, index uint64, user string, rev uint64, now time.Time) (string, error)
	// Info returns the user of a token and the auth revision it stands
	// for; current is the store's revision now.
	Info(token string, current uint64, now time.Time) (user string, rev uint64, ok bool)
	// InvalidateUser forgets the user's tokens, where tokens are held.
	InvalidateUser(user string)
	// Clear forgets every token (auth was turned off).
	Clear()
	// WantsPrefix tells whether Assign uses a prefix.
	WantsPrefix() bool
}

// DefaultTTL is how long a simple token lives unused (etcd's 300 s).
const DefaultTTL = 300 * time.Second

// prefixLetters are those of a simple token's prefix.
const prefixLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// NewPrefix draws a simple token's random part: 16 letters, each equally
// likely (bytes past the last whole multiple of the alphabet are redrawn).
func NewPrefix() (string, error) {
	out := make([]byte, 0, 16)
	limit := byte(256 / len(prefixLetters) * len(prefixLetters))
	var b [32]byte
	for len(out) < cap(out) {
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		for _, c := range b {
			if c < limit && len(out) < cap(out) {
				out = append(out, prefixLetters[int(c)%len(prefixLetters)])
			}
		}
	}
	return string(out), nil
}

// Simple holds simple tokens.
type Simple struct {
	ttl time.Duration

	mu     sync.Mutex // guards the fields below
	tokens map[string]*simpleToken
	// sweepAt is the count of tokens at which expired ones are swept out.
	sweepAt int
}

type simpleToken struct {
	user    string
	expires time.Time
}

var _ Provider = (*Simple)(nil)

// NewSimple returns a holder of simple tokens that live ttl unused.
func NewSimple(ttl time.Duration) *Simple {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Simple{ttl: ttl, tokens: map[string]*simpleToken{}, sweepAt: 1024}
}

// WantsPrefix is true: a simple token's prefix comes with the entry.
func (s *Simple) WantsPrefix() bool { return true }

// Assign records the token prefix.index for user.
func (s *Simple) Assign(prefix string, index uint64, user string, _ uint64, now time.Time) (string, error) {
	if prefix == "" {
		return "", errors.New("token: a simple token needs a prefix")
	}
	tok := fmt.Sprintf("%s.%d", prefix, index)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.tokens) >= s.sweepAt {
		for t, st := range s.tokens {
			if !now.Before(st.expires) {
				delete(s.tokens, t)
			}
		}
		s.sweepAt = max(1024, 2*len(s.tokens))
	}
	s.tokens[tok] = &simpleToken{user: user, expires: now.Add(s.ttl)}
	return tok, nil
}

// Info returns the token's user, good at the current revision, and gives
// the token its whole TTL again (etcd's rule: a token in use stays).
func (s *Simple) Info(tok string, current uint64, now time.Time) (string, uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, ok := s.tokens[tok]
	if !ok {
		return "", 0, false
	}
	if !now.Before(st.expires) {
		delete(s.tokens, tok)
		return "", 0, false
	}
	st.expires = now.Add(s.ttl)
	return st.user, current, true
}

// InvalidateUser forgets user's tokens.
func (s *Simple) InvalidateUser(user string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, st := range s.tokens {
		if st.user == user {
			delete(s.tokens, t)
		}
	}
}

// Clear forgets every token.
func (s *Simple) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

// Options is a parsed --auth-token value.
type Options struct {
	// Type is "simple" or "jwt".
	Type string
	// The jwt type's options.
	PubKey, PrivKey, SignMethod string
	TTL                         time.Duration
}

// ParseOptions parses --auth-token: "simple", or
// "jwt,pub-key=FILE,priv-key=FILE,sign-method=RS256,ttl=5m".
func ParseOptions(s string) (Options, error) {
	parts := strings.Split(s, ",")
	o := Options{Type: parts[0]}
	switch o.Type {
	case "simple":
		if len(parts) > 1 {
			return o, fmt.Errorf("token: simple takes no options: %q", s)
		}
		return o, nil
	case "jwt":
	default:
		return o, fmt.Errorf("token: unknown token type %q (simple or jwt)", o.Type)
	}
	o.TTL = 5 * time.Minute
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return o, fmt.Errorf("token: bad option %q in %q", p, s)
		}
		switch k {
		case "pub-key":
			o.PubKey = v
		case "priv-key":
			o.PrivKey = v
		case "sign-method":
			o.SignMethod = v
		case "ttl":
			d, err := time.ParseDuration(v)
			if err != nil {
				return o, fmt.Errorf("token: bad ttl %q: %w", v, err)
			}
			o.TTL = d
		default:
			return o, fmt.Errorf("token: unknown jwt option %q", k)
		}
	}
	if o.SignMethod == "" {
		return o, errors.New("token: jwt needs sign-method")
	}
	return o, nil
}

// New returns the provider the options describe; simpleTTL is the
// simple tokens' TTL (--auth-token-ttl).
func New(o Options, simpleTTL time.Duration) (Provider, error) {
	if o.Type == "jwt" {
		return NewJWT(o)
	}
	return NewSimple(simpleTTL), nil
}
