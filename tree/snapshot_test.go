package tree

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand"
	"testing"
	"time"
)

func snapshot(t testing.TB, s *Store) []byte {
	t.Helper()
	var b bytes.Buffer
	n, err := s.WriteTo(&b)
	if err != nil || n != int64(b.Len()) {
		t.Fatalf("WriteTo: %d, %v", n, err)
	}
	return b.Bytes()
}

func sampleStore(t *testing.T) *Store {
	s := New()
	must(s.Set("/a/b", false, "v", ttl(time.Minute, t0), t0))
	must(s.Set("/a/_h", false, "hidden", TTLOptions{}, t0))
	must(s.Set("/d", true, "", ttl(time.Hour, t0), t0))
	must(s.Set("/d/x", false, "", TTLOptions{}, t0))
	must(s.Create("/q", false, "job", true, TTLOptions{}, t0))
	must(s.Update("/a/b", "", TTLOptions{ExpireTime: t0.Add(2 * time.Minute), Refresh: true}, t0))
	must(s.Set("/e", false, "ünï\x00code", TTLOptions{}, t0))
	must(s.Delete("/e", false, false, t0))
	must(s.Set("/f", false, "gone", ttl(time.Second, t0), t0))
	s.DeleteExpiredKeys(t0.Add(time.Second))
	return s
}

func TestSnapshotRoundTrip(t *testing.T) {
	s := sampleStore(t)
	b := snapshot(t, s)
	r, err := Restore(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	checkInvariants(t, r)
	if r.Index() != s.Index() {
		t.Fatalf("index %d, want %d", r.Index(), s.Index())
	}
	now := t0.Add(10 * time.Second)
	if g, w := mustJSON(t, must(r.Get("/", true, true, now))), mustJSON(t, must(s.Get("/", true, true, now))); g != w {
		t.Fatalf("tree\n got %s\nwant %s", g, w)
	}
	if !bytes.Equal(snapshot(t, r), b) {
		t.Fatal("re-snapshot differs")
	}
	// The history survives: the same watch answers the same.
	for i := uint64(1); i <= s.Index(); i++ {
		ws, _ := s.Watch("/", true, false, i)
		wr, _ := r.Watch("/", true, false, i)
		if g, w := fmt.Sprint(got(wr)), fmt.Sprint(got(ws)); g != w {
			t.Fatalf("watch from %d: %s, want %s", i, g, w)
		}
	}
	// TTLs survive as absolute times: both expire the same nodes.
	later := t0.Add(3 * time.Hour)
	if g, w := mustJSON(t, r.DeleteExpiredKeys(later)), mustJSON(t, s.DeleteExpiredKeys(later)); g != w || g == "null" {
		t.Fatalf("expiry after restore\n got %s\nwant %s", g, w)
	}
}

func TestRestoreRejectsDamage(t *testing.T) {
	b := snapshot(t, sampleStore(t))
	for i := range b {
		c := bytes.Clone(b)
		c[i] ^= 0x41
		if _, err := Restore(bytes.NewReader(c)); !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownVersion) {
			t.Fatalf("flipped byte %d: %v", i, err)
		}
	}
	for n := 0; n < len(b); n++ {
		if _, err := Restore(bytes.NewReader(b[:n])); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("truncated at %d: %v", n, err)
		}
	}
	c := bytes.Clone(b)
	c[8] = 2
	if _, err := Restore(bytes.NewReader(c)); !errors.Is(err, ErrUnknownVersion) {
		t.Fatalf("version 2: %v", err)
	}
	if _, err := Restore(bytes.NewReader(snapshot(t, New()))); err != nil {
		t.Fatalf("empty store: %v", err)
	}
}

func FuzzRestore(f *testing.F) {
	f.Add(snapshot(f, New()))
	s := New()
	must(s.Set("/a/b", false, "v", TTLOptions{ExpireTime: t0}, t0))
	f.Add(snapshot(f, s))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Restore(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrUnknownVersion) {
				t.Fatalf("unmarked error %v", err)
			}
			return
		}
		checkInvariants(t, r)
		b2 := snapshot(t, r)
		r2, err := Restore(bytes.NewReader(b2))
		if err != nil {
			t.Fatalf("re-restore: %v", err)
		}
		if !bytes.Equal(snapshot(t, r2), b2) {
			t.Fatal("snapshot not stable")
		}
		// A restored store must keep working.
		r.DeleteExpiredKeys(t0)
		r.Set("/fuzz/k", false, "v", TTLOptions{}, t0)
		r.Get("/", true, true, t0)
	})
}

// TestRandomOps drives two stores with the same random operations (one of
// them snapshotted and restored along the way) and checks that results,
// events and snapshots stay identical and the invariants hold.
func TestRandomOps(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	keys := []string{"/a", "/a/b", "/a/b/c", "/a/_h", "/b", "/b/x", "/_c", "/q"}
	a, b := New(), New()
	wa := watch(t, a, "/", true, true, 0)
	defer wa.Remove()
	now := t0
	for i := 0; i < 5000; i++ {
		now = now.Add(time.Duration(rng.Intn(300)) * time.Millisecond)
		k := keys[rng.Intn(len(keys))]
		var opt TTLOptions
		if rng.Intn(3) == 0 {
			opt.ExpireTime = now.Add(time.Duration(rng.Intn(5000)) * time.Millisecond)
			opt.Refresh = rng.Intn(4) == 0
		}
		val := fmt.Sprint(rng.Intn(3))
		dir := rng.Intn(5) == 0
		var op func(s *Store) (any, error)
		switch rng.Intn(9) {
		case 0:
			op = func(s *Store) (any, error) { return s.Set(k, dir, val, opt, now) }
		case 1:
			op = func(s *Store) (any, error) { return s.Create(k, dir, val, rng.Intn(2) == 0, opt, now) }
		case 2:
			op = func(s *Store) (any, error) { return s.Update(k, val, opt, now) }
		case 3:
			pi := uint64(rng.Intn(int(a.Index()) + 2))
			op = func(s *Store) (any, error) { return s.CompareAndSwap(k, val, pi, "n"+val, opt, now) }
		case 4:
			rec := rng.Intn(2) == 0
			op = func(s *Store) (any, error) { return s.Delete(k, dir, rec, now) }
		case 5:
			op = func(s *Store) (any, error) { return s.CompareAndDelete(k, val, 0, now) }
		case 6:
			op = func(s *Store) (any, error) { return s.DeleteExpiredKeys(now), nil }
		case 7:
			op = func(s *Store) (any, error) { return s.Get(k, rng.Intn(2) == 0, true, now) }
		case 8:
			r, err := Restore(bytes.NewReader(snapshot(t, b)))
			if err != nil {
				t.Fatal(err)
			}
			b = r
			continue
		}
		// Ops read rng lazily; give both stores the same draws.
		state := rng.Int63()
		rng.Seed(state)
		ra, ea := op(a)
		rng.Seed(state)
		rb, eb := op(b)
		if g, w := fmt.Sprintf("%s %v", mustJSON(t, rb), eb), fmt.Sprintf("%s %v", mustJSON(t, ra), ea); g != w {
			t.Fatalf("op %d diverged:\n a %s\n b %s", i, w, g)
		}
		if i%250 == 0 {
			checkInvariants(t, a)
			checkInvariants(t, b)
			if !bytes.Equal(snapshot(t, a), snapshot(t, b)) {
				t.Fatalf("op %d: snapshots differ", i)
			}
			for len(wa.EventChan()) > 0 {
				<-wa.EventChan()
			}
		}
	}
}
