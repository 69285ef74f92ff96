package mvcc

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestHistoryMatchesWrites checks History against the events the writes
// themselves returned: a watcher that catches up from history must see
// exactly what a watcher present all along saw.
func TestHistoryMatchesWrites(t *testing.T) {
	for seed := range uint64(4) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			g := gen{rand.New(rand.NewPCG(seed, 0x415))}
			s := New()
			leases := leaseSet{1: true, 2: true, 7: true}
			var all []Event
			for step := range 1500 {
				var evs []Event
				var err error
				switch k := g.pick(20); {
				case k < 9:
					_, evs, err = s.Put(g.putReq(), leases)
				case k < 12:
					_, evs, err = s.Delete(g.deleteReq())
				case k < 18:
					_, evs, err = s.Txn(g.txnReq(0, s.Rev(), s.CompactRev()), leases)
				case k < 19:
					if r := s.Rev() - int64(g.pick(20)); r > s.CompactRev() && r > 0 {
						err = s.Compact(r)
					}
				default:
					checkHistoryAgainst(t, g, s, all)
				}
				if err == nil {
					all = append(all, evs...)
				}
				_ = step
			}
			checkHistoryAgainst(t, g, s, all)
		})
	}
}

func checkHistoryAgainst(t *testing.T, g gen, s *Store, all []Event) {
	t.Helper()
	for range 20 {
		key, end := g.key(), g.end()
		from := max(s.CompactRev(), 0) + int64(g.pick(int(s.Rev()-max(s.CompactRev(), 0)+2)))
		limit := 0
		if g.pick(3) == 0 {
			limit = 1 + g.pick(5)
		}
		got, through, err := s.History(key, end, from, limit)
		if from < s.CompactRev() {
			if !errors.Is(err, ErrCompacted) {
				t.Fatalf("History from %d below compaction %d: %v", from, s.CompactRev(), err)
			}
			continue
		}
		if from == s.CompactRev() {
			// What the compaction kept of its own revision: puts only,
			// each one that the writes made.
			if err != nil {
				t.Fatalf("History from the compaction revision %d: %v", from, err)
			}
			for _, ev := range got {
				if ev.KV.ModRevision == from && ev.Type != EventPut {
					t.Fatalf("History from the compaction revision gives a deletion at it: %s", renderEvents([]Event{ev}))
				}
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		var want []Event
		for _, ev := range all {
			if ev.KV.ModRevision >= from && ev.KV.ModRevision <= through && InRange(ev.KV.Key, key, end) {
				want = append(want, ev)
			}
		}
		if limit == 0 && through != s.Rev() {
			t.Fatalf("History without a limit covers through %d, store at %d", through, s.Rev())
		}
		if limit > 0 && through < s.Rev() && len(got) < limit {
			t.Fatalf("History with limit %d stopped at %d with %d events", limit, through, len(got))
		}
		if g, w := renderEvents(got), renderEvents(want); g != w {
			t.Fatalf("History(%q, %q, from %d, limit %d) through %d:\n got %s\nwant %s", key, end, from, limit, through, g, w)
		}
	}
}
