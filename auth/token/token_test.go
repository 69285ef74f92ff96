package token

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestSimpleTokens(t *testing.T) {
	s := NewSimple(time.Minute)
	now := time.Unix(100, 0)
	prefix, err := NewPrefix()
	if err != nil || len(prefix) != 16 || strings.Trim(prefix, prefixLetters) != "" {
		t.Fatalf("prefix %q, %v", prefix, err)
	}
	tok, err := s.Assign(prefix, 42, "alice", 7, now)
	if err != nil || tok != prefix+".42" {
		t.Fatalf("token %q, %v", tok, err)
	}
	if u, rev, ok := s.Info(tok, 9, now.Add(59*time.Second)); !ok || u != "alice" || rev != 9 {
		t.Fatalf("info: %q %d %v", u, rev, ok)
	}
	// Used at 59 s, it lives until 119 s.
	if _, _, ok := s.Info(tok, 9, now.Add(118*time.Second)); !ok {
		t.Fatal("a token in use expired")
	}
	if _, _, ok := s.Info(tok, 9, now.Add(179*time.Second)); ok {
		t.Fatal("a token unused for a TTL lives on")
	}
	tok2, _ := s.Assign(prefix, 43, "bob", 7, now)
	tok3, _ := s.Assign(prefix, 44, "carol", 7, now)
	s.InvalidateUser("bob")
	if _, _, ok := s.Info(tok2, 9, now); ok {
		t.Fatal("an invalidated user's token works")
	}
	if _, _, ok := s.Info(tok3, 9, now); !ok {
		t.Fatal("another user's token went with bob's")
	}
	s.Clear()
	if _, _, ok := s.Info(tok3, 9, now); ok {
		t.Fatal("a token outlived Clear")
	}
	if _, err := s.Assign("", 1, "x", 1, now); err == nil {
		t.Fatal("a simple token without a prefix")
	}
}

func TestParseOptions(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Options
		bad  bool
	}{
		{in: "simple", want: Options{Type: "simple"}},
		{in: "jwt,pub-key=a,priv-key=b,sign-method=RS256,ttl=1m", want: Options{Type: "jwt", PubKey: "a", PrivKey: "b", SignMethod: "RS256", TTL: time.Minute}},
		{in: "jwt,pub-key=a", bad: true},
		{in: "jwt,pub-key=a,sign-method=RS256,bogus=1", bad: true},
		{in: "jwt,sign-method=RS256,ttl=x", bad: true},
		{in: "simple,ttl=1m", bad: true},
		{in: "opaque", bad: true},
	} {
		got, err := ParseOptions(c.in)
		if (err != nil) != c.bad || (!c.bad && got != c.want) {
			t.Errorf("ParseOptions(%q) = %+v, %v", c.in, got, err)
		}
	}
}

func writeEdKeys(t *testing.T) (priv, pub string) {
	t.Helper()
	pk, sk, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	skDER, _ := x509.MarshalPKCS8PrivateKey(sk)
	pkDER, _ := x509.MarshalPKIXPublicKey(pk)
	dir := t.TempDir()
	priv, pub = filepath.Join(dir, "k"), filepath.Join(dir, "k.pub")
	os.WriteFile(priv, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: skDER}), 0o600)
	os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkDER}), 0o644)
	return priv, pub
}

func TestJWT(t *testing.T) {
	priv, pub := writeEdKeys(t)
	j, err := NewJWT(Options{Type: "jwt", PubKey: pub, PrivKey: priv, SignMethod: "EdDSA", TTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1_000_000, 0)
	tok, err := j.Assign("", 0, "alice", 5, now)
	if err != nil {
		t.Fatal(err)
	}
	if u, rev, ok := j.Info(tok, 99, now.Add(30*time.Second)); !ok || u != "alice" || rev != 5 {
		t.Fatalf("info: %q %d %v", u, rev, ok)
	}
	if _, _, ok := j.Info(tok, 5, now.Add(2*time.Minute)); ok {
		t.Fatal("an expired JWT verified")
	}
	if _, _, ok := j.Info(tok[:len(tok)-2]+"xx", 5, now); ok {
		t.Fatal("a JWT with a broken signature verified")
	}
	verifier, err := NewJWT(Options{Type: "jwt", PubKey: pub, SignMethod: "EdDSA"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, ok := verifier.Info(tok, 5, now); !ok {
		t.Fatal("a verify-only member refused a good token")
	}
	if _, err := verifier.Assign("", 0, "alice", 5, now); err != ErrVerifyOnly {
		t.Fatalf("signing without the private key: %v", err)
	}
	otherPriv, otherPub := writeEdKeys(t)
	other, _ := NewJWT(Options{Type: "jwt", PubKey: otherPub, PrivKey: otherPriv, SignMethod: "EdDSA"})
	if _, _, ok := other.Info(tok, 5, now); ok {
		t.Fatal("a token verified with another key")
	}
	if _, err := NewJWT(Options{Type: "jwt", PubKey: pub, SignMethod: "none"}); err == nil {
		t.Fatal("sign-method none accepted")
	}
}
