package lease

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func TestGrantRevokeAttach(t *testing.T) {
	s := New()
	if err := s.Grant(5, 10); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"grant an existing ID", s.Grant(5, 20), ErrExists},
		{"grant the zero ID", s.Grant(NoLease, 20), ErrNotFound},
		{"grant beyond the maximum TTL", s.Grant(6, MaxTTL+1), ErrTTLTooLarge},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, tc.err, tc.want)
		}
	}
	s.Attach(5, "b")
	s.Attach(5, "a")
	s.Attach(5, "c")
	s.Detach(5, "c")
	s.Attach(7, "x") // no such lease: nothing
	s.Checkpoint(5, 4)
	l, ok := s.Get(5)
	if !ok || l.TTL != 10 || l.RemainingTTL != 4 || fmt.Sprint(l.Keys) != "[a b]" {
		t.Fatalf("lease 5: %+v, %v", l, ok)
	}
	s.Renewed(5)
	if l, _ := s.Get(5); l.RemainingTTL != 0 {
		t.Fatalf("a renewed lease keeps the checkpoint %d", l.RemainingTTL)
	}
	if !s.LeaseExists(5) || s.LeaseExists(7) {
		t.Fatal("LeaseExists")
	}
	keys, err := s.Revoke(5)
	if err != nil || fmt.Sprint(keys) != "[a b]" {
		t.Fatalf("revoke: %v, %v", keys, err)
	}
	if _, err := s.Revoke(5); !errors.Is(err, ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
	if len(s.IDs()) != 0 {
		t.Fatalf("leases left: %v", s.IDs())
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := New()
	for i := range 50 {
		id := ID(i*7 - 100)
		if id == NoLease {
			continue
		}
		if err := s.Grant(id, int64(i+1)); err != nil {
			t.Fatal(err)
		}
		for k := range i % 5 {
			s.Attach(id, fmt.Sprintf("key-%d-%d", i, k))
		}
		s.Checkpoint(id, int64(i/2))
	}
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	r, err := Restore(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(r.All()), fmt.Sprint(s.All()); got != want {
		t.Fatalf("restored %s\nwant %s", got, want)
	}
	// Any damage is refused.
	good := buf.Bytes()
	for _, cut := range []int{0, 5, headerSize, len(good) / 2, len(good) - 1} {
		if _, err := Restore(bytes.NewReader(good[:cut])); !errors.Is(err, ErrCorrupt) {
			t.Errorf("snapshot cut at %d: %v", cut, err)
		}
	}
	for i := range good {
		bad := bytes.Clone(good)
		bad[i] ^= 0x10
		if _, err := Restore(bytes.NewReader(bad)); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("snapshot with byte %d flipped: %v", i, err)
		}
	}
}

func FuzzRestore(f *testing.F) {
	s := New()
	_ = s.Grant(1, 5)
	s.Attach(1, "k")
	var buf bytes.Buffer
	_, _ = s.WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Restore(bytes.NewReader(b))
		if err != nil {
			return
		}
		// What restores writes back the same.
		var out bytes.Buffer
		if _, err := r.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		if r2, err := Restore(bytes.NewReader(out.Bytes())); err != nil || fmt.Sprint(r2.All()) != fmt.Sprint(r.All()) {
			t.Fatalf("round trip of a restored store: %v", err)
		}
	})
}
