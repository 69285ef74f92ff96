package token

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// JWT issues and verifies signed tokens (etcd's claims: username,
// revision, exp). A member given only the public key verifies tokens and
// cannot issue them.
type JWT struct {
	method  jwt.SigningMethod
	signKey any // nil when only verifying
	verify  any
	ttl     time.Duration
}

var _ Provider = (*JWT)(nil)

// ErrVerifyOnly is returned by Assign on a member without the private key.
var ErrVerifyOnly = errors.New("auth: token signing attempted with verify-only key")

// NewJWT loads the keys the options name.
func NewJWT(o Options) (*JWT, error) {
	method := jwt.GetSigningMethod(o.SignMethod)
	if method == nil {
		return nil, fmt.Errorf("token: unknown sign-method %q", o.SignMethod)
	}
	j := &JWT{method: method, ttl: o.TTL}
	if j.ttl <= 0 {
		j.ttl = 5 * time.Minute
	}
	read := func(path string) ([]byte, error) {
		if path == "" {
			return nil, nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("token: %w", err)
		}
		return b, nil
	}
	priv, err := read(o.PrivKey)
	if err != nil {
		return nil, err
	}
	pub, err := read(o.PubKey)
	if err != nil {
		return nil, err
	}
	name := method.Alg()
	switch {
	case strings.HasPrefix(name, "HS"):
		// One shared secret signs and verifies.
		if priv == nil {
			return nil, errors.New("token: an HMAC sign-method needs priv-key (the shared secret)")
		}
		j.signKey, j.verify = priv, priv
	case strings.HasPrefix(name, "RS"), strings.HasPrefix(name, "PS"):
		if priv != nil {
			if j.signKey, err = jwt.ParseRSAPrivateKeyFromPEM(priv); err != nil {
				return nil, fmt.Errorf("token: priv-key: %w", err)
			}
		}
		if pub != nil {
			if j.verify, err = jwt.ParseRSAPublicKeyFromPEM(pub); err != nil {
				return nil, fmt.Errorf("token: pub-key: %w", err)
			}
		}
	case strings.HasPrefix(name, "ES"):
		if priv != nil {
			if j.signKey, err = jwt.ParseECPrivateKeyFromPEM(priv); err != nil {
				return nil, fmt.Errorf("token: priv-key: %w", err)
			}
		}
		if pub != nil {
			if j.verify, err = jwt.ParseECPublicKeyFromPEM(pub); err != nil {
				return nil, fmt.Errorf("token: pub-key: %w", err)
			}
		}
	case name == "EdDSA":
		if priv != nil {
			if j.signKey, err = jwt.ParseEdPrivateKeyFromPEM(priv); err != nil {
				return nil, fmt.Errorf("token: priv-key: %w", err)
			}
		}
		if pub != nil {
			if j.verify, err = jwt.ParseEdPublicKeyFromPEM(pub); err != nil {
				return nil, fmt.Errorf("token: pub-key: %w", err)
			}
		}
	default:
		return nil, fmt.Errorf("token: unsupported sign-method %q", name)
	}
	if j.verify == nil {
		return nil, errors.New("token: jwt needs pub-key")
	}
	return j, nil
}

// WantsPrefix is false: a JWT is made from its claims alone.
func (j *JWT) WantsPrefix() bool { return false }

// Assign signs a token for user at revision rev.
func (j *JWT) Assign(_ string, _ uint64, user string, rev uint64, now time.Time) (string, error) {
	if j.signKey == nil {
		return "", ErrVerifyOnly
	}
	t := jwt.NewWithClaims(j.method, jwt.MapClaims{
		"username": user,
		"revision": rev,
		"exp":      now.Add(j.ttl).Unix(),
	})
	return t.SignedString(j.signKey)
}

// Info verifies a token and returns its user and revision.
func (j *JWT) Info(tok string, _ uint64, now time.Time) (string, uint64, bool) {
	parsed, err := jwt.Parse(tok, func(t *jwt.Token) (any, error) {
		if t.Method.Alg() != j.method.Alg() {
			return nil, fmt.Errorf("token: signed with %s, want %s", t.Method.Alg(), j.method.Alg())
		}
		return j.verify, nil
	}, jwt.WithTimeFunc(func() time.Time { return now }), jwt.WithExpirationRequired())
	if err != nil || !parsed.Valid {
		return "", 0, false
	}
	claims, ok := parsed.Claims.(jwt.MapClaims)
	if !ok {
		return "", 0, false
	}
	user, ok := claims["username"].(string)
	if !ok {
		return "", 0, false
	}
	rev, ok := claims["revision"].(float64)
	if !ok || rev < 1 {
		return "", 0, false
	}
	return user, uint64(rev), true
}

// InvalidateUser does nothing: a JWT holds until it expires or the auth
// revision passes it.
func (j *JWT) InvalidateUser(string) {}

// Clear does nothing, for the same reason.
func (j *JWT) Clear() {}
