package wal

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// logModel is the obviously correct log that the WAL must agree with: a map
// of entries, Raft's overwrite rule, the last hard state and mark.
type logModel struct {
	ents map[uint64]Entry
	last uint64
	hs   HardState
	mark SnapshotMark
}

func (m *logModel) save(hs HardState, ents []Entry) {
	if len(ents) > 0 {
		for i := ents[0].Index; i <= m.last; i++ {
			delete(m.ents, i)
		}
		for _, e := range ents {
			m.ents[e.Index] = e
		}
		m.last = ents[len(ents)-1].Index
	}
	if !hs.IsZero() {
		m.hs = hs
	}
}

// replay is what a restart from the last mark must return.
func (m *logModel) replay(t *testing.T) []Entry {
	var out []Entry
	for i := m.mark.Index + 1; i <= m.last; i++ {
		e, ok := m.ents[i]
		if !ok {
			t.Fatalf("model has no entry %d", i)
		}
		out = append(out, e)
	}
	return out
}

// TestRandomAgainstModel drives the WAL with random appends, overwrites,
// snapshot marks (including a follower's jump past its log), releases and
// restarts, with tiny segments, and checks every restart against logModel.
func TestRandomAgainstModel(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed))
			dir := t.TempDir()
			opts, _ := testOpts(t, 700)
			w := mustCreate(t, dir, opts)
			m := &logModel{ents: map[uint64]Entry{}}
			term := uint64(1)
			restarts := 0
			restart := func() {
				mustClose(t, w)
				var hs HardState
				var ents []Entry
				w, hs, ents = reopen(t, dir, m.mark, opts)
				equalEntries(t, ents, m.replay(t))
				if hs != m.hs {
					t.Fatalf("hard state %+v, model %+v", hs, m.hs)
				}
				restarts++
			}
			for step := 0; step < 400; step++ {
				switch op := rng.IntN(20); {
				case op < 12: // Save: append, or overwrite the tail after the mark
					lo := m.last + 1
					if rng.IntN(4) == 0 && m.last > m.mark.Index {
						lo = m.mark.Index + 1 + rng.Uint64N(m.last-m.mark.Index)
						term++
					}
					var ents []Entry
					if n := rng.Uint64N(8); n > 0 {
						ents = mkEnts(lo, lo+n-1, term)
					}
					var hs HardState
					if rng.IntN(2) == 0 {
						hs = HardState{Term: term, Vote: rng.Uint64N(3), Commit: m.mark.Index + rng.Uint64N(5)}
					}
					mustSave(t, w, hs, ents)
					m.save(hs, ents)
				case op < 14: // a snapshot of the log, or a follower's jump past it
					var mark SnapshotMark
					switch {
					case rng.IntN(6) == 0:
						mark = SnapshotMark{Index: m.last + 1 + rng.Uint64N(40), Term: term}
						m.last = mark.Index
					case m.last > m.mark.Index:
						i := m.mark.Index + 1 + rng.Uint64N(m.last-m.mark.Index)
						mark = SnapshotMark{Index: i, Term: m.ents[i].Term}
					default:
						continue
					}
					if err := w.SaveSnapshot(mark); err != nil {
						t.Fatal(err)
					}
					m.mark = mark
					m.hs.Commit = max(m.hs.Commit, mark.Index)
				case op < 16:
					if err := w.ReleaseTo(m.mark.Index); err != nil {
						t.Fatal(err)
					}
				case op < 17:
					restart()
				default: // nothing new: a no-op
					off := w.off
					mustSave(t, w, m.hs, nil)
					if w.off != off {
						t.Fatal("a no-op Save wrote")
					}
				}
			}
			restart()
			mustClose(t, w)
			if restarts < 5 || len(segmentFiles(t, dir)) < 2 {
				t.Fatalf("weak run: %d restarts, %d segments", restarts, len(segmentFiles(t, dir)))
			}
		})
	}
}
