package discovery

import (
	"errors"
	"testing"
)

func member(name string, phase Phase, set string) Meta {
	return Meta{Name: name, PeerURLs: []string{"http://" + name + ":2380"}, Size: 3, Phase: phase, Set: set}
}

func TestDecide(t *testing.T) {
	abc := setHash([]Meta{member("a", "", ""), member("b", "", ""), member("c", "", "")})
	bcd := setHash([]Meta{member("b", "", ""), member("c", "", ""), member("d", "", "")})
	if abc == bcd || abc != setHash([]Meta{member("c", "", ""), member("a", "", ""), member("b", "", "")}) {
		t.Fatalf("set hashes: abc %s bcd %s", abc, bcd)
	}
	w, p, s := PhaseWaiting, PhaseProposed, PhaseStarted
	for _, tc := range []struct {
		name    string
		self    string
		view    []Meta
		want    decisionKind
		wantSet string
		err     error
	}{
		{"too few", "a", []Meta{member("a", w, ""), member("b", w, "")}, wait, "", nil},
		{"enough: propose", "b", []Meta{member("c", w, ""), member("a", w, ""), member("b", w, "")}, propose, abc, nil},
		{"some proposed", "a", []Meta{member("a", p, abc), member("b", p, abc), member("c", w, "")}, propose, abc, nil},
		{"all proposed: start", "c", []Meta{member("a", p, abc), member("b", p, abc), member("c", p, abc)}, start, abc, nil},
		{"one proposes another set", "a", []Meta{member("a", p, abc), member("b", p, abc), member("c", p, bcd)}, propose, abc, nil},
		{"smallest names win", "a", []Meta{member("d", w, ""), member("a", w, ""), member("c", w, ""), member("b", w, "")}, propose, abc, nil},
		{"left out, not yet agreed", "d", []Meta{member("d", w, ""), member("a", p, abc), member("c", w, ""), member("b", w, "")}, wait, "", nil},
		{"left out, agreed: full", "d", []Meta{member("d", w, ""), member("a", p, abc), member("c", p, abc), member("b", p, abc)}, fail, "", ErrClusterFull},
		{"duplicate name", "a", []Meta{member("a", w, ""), {Name: "a", PeerURLs: []string{"http://other:2380"}, Size: 3, Phase: w}, member("b", w, "")}, fail, "", ErrDuplicateName},
		{"others duplicate: wait", "a", []Meta{member("a", w, ""), member("b", w, ""), member("b", w, ""), member("c", w, "")}, wait, "", nil},
		{"size mismatch", "a", []Meta{member("a", w, ""), {Name: "b", PeerURLs: []string{"http://b:2380"}, Size: 5, Phase: w}}, fail, "", ErrSizeMismatch},
		{"running cluster: join", "d", []Meta{member("d", w, ""), member("a", s, abc), member("b", s, ""), member("c", s, abc)}, join, "", nil},
		{"a peer of my set started: start", "c", []Meta{member("a", s, abc), member("b", p, abc), member("c", p, abc)}, start, "", nil},
		{"started members' names do not count as duplicates", "a", []Meta{member("a", w, ""), member("a", s, "")}, join, "", nil},
		{"a running cluster first: a stray size does not stop its member", "c", []Meta{member("a", s, abc), member("c", p, abc), {Name: "z", PeerURLs: []string{"http://z:2380"}, Size: 5, Phase: w}}, start, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var self Meta
			for _, m := range tc.view {
				if m.Name == tc.self && m.PeerURLs[0] == "http://"+tc.self+":2380" {
					self = m
				}
			}
			d := decide(self, tc.view, 3)
			if d.kind != tc.want {
				t.Fatalf("decision %d, want %d (%+v)", d.kind, tc.want, d)
			}
			if tc.wantSet != "" && setHash(d.set) != tc.wantSet {
				t.Fatalf("set %s, want %s", names(d.set), tc.wantSet)
			}
			if tc.err != nil && !errors.Is(d.err, tc.err) {
				t.Fatalf("error %v, want %v", d.err, tc.err)
			}
		})
	}
}

func TestTokenSize(t *testing.T) {
	const r = "0123456789abcdef0123456789abcdef"
	for token, want := range map[string]int{"3-" + r: 3, "12-" + r: 12, r: 0, "03-" + r: 0, "0-" + r: 0, "-" + r: 0, "x-" + r: 0, "3": 0,
		"2024-prod-secret": 0, "1-my-secret": 0, "3-" + r + "0": 0, "3-0123456789ABCDEF0123456789abcdef": 0} {
		if got := TokenSize(token); got != want {
			t.Errorf("TokenSize(%q) = %d, want %d", token, got, want)
		}
	}
}
