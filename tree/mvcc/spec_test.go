package mvcc

import (
	"fmt"
	"slices"
	"testing"
)

// The tests in this file reproduce the fixtures of spec/v3.md section 1
// (observed on etcd 3.6.6). Rows marked "(source)" follow from reading
// etcd's code rather than from an observation.

// compactReq is a scripted Compact call.
type compactReq int64

// run applies one scripted request and renders its result or error.
func run(s *Store, req any, leases LeaseChecker) string {
	var out string
	var err error
	switch r := req.(type) {
	case RangeRequest:
		var res RangeResult
		if res, err = s.Range(r); err == nil {
			out = renderRange(res)
		}
	case PutRequest:
		var res PutResult
		if res, _, err = s.Put(r, leases); err == nil {
			out = renderPut(res)
		}
	case DeleteRequest:
		var res DeleteResult
		if res, _, err = s.Delete(r); err == nil {
			out = renderDelete(res)
		}
	case TxnRequest:
		var res TxnResult
		if res, _, err = s.Txn(r, leases); err == nil {
			out = renderTxn(res)
		}
	case compactReq:
		if err = s.Compact(int64(r)); err == nil {
			out = fmt.Sprintf("ok rev=%d", s.Rev())
		}
	default:
		panic(fmt.Sprintf("unknown scripted request %T", req))
	}
	if err != nil {
		return renderErr(err)
	}
	return out
}

type scriptStep struct {
	name string
	req  any
	want string
}

func runScript(t *testing.T, s *Store, leases LeaseChecker, steps []scriptStep) {
	t.Helper()
	for i, st := range steps {
		checkStr(t, fmt.Sprintf("step %d (%s)", i, st.name), run(s, st.req, leases), st.want)
	}
}

func getReq(key string) RangeRequest { return RangeRequest{Key: bs(key)} }

// Spec 1.1: one fresh store, each row following from the previous one.
func TestSpecRevisionBookkeeping(t *testing.T) {
	runScript(t, New(), nil, []scriptStep{
		{"range on empty store", getReq("foo"), `rev=1 count=0 more=false []`},
		{"put foo=bar", PutRequest{Key: bs("foo"), Value: bs("bar")}, `rev=2 prev=nil`},
		{"get foo", getReq("foo"), `rev=2 count=1 more=false ["foo"="bar"/c2/m2/v1/l0]`},
		{"same value still bumps", PutRequest{Key: bs("foo"), Value: bs("bar"), PrevKV: true}, `rev=3 prev="foo"="bar"/c2/m2/v1/l0`},
		{"get foo", getReq("foo"), `rev=3 count=1 more=false ["foo"="bar"/c2/m3/v2/l0]`},
		{"put foo=baz", PutRequest{Key: bs("foo"), Value: bs("baz"), PrevKV: true}, `rev=4 prev="foo"="bar"/c2/m3/v2/l0`},
		{"put new key, no prev", PutRequest{Key: bs("new"), Value: bs("1"), PrevKV: true}, `rev=5 prev=nil`},
		{"empty value", PutRequest{Key: bs("empty")}, `rev=6 prev=nil`},
		{"get empty", getReq("empty"), `rev=6 count=1 more=false ["empty"=""/c6/m6/v1/l0]`},
		{"delete foo", DeleteRequest{Key: bs("foo"), PrevKV: true}, `rev=7 deleted=1 prevs=["foo"="baz"/c2/m4/v3/l0]`},
		{"delete missing keeps rev", DeleteRequest{Key: bs("foo"), PrevKV: true}, `rev=7 deleted=0 prevs=[]`},
		{"re-create restarts version", PutRequest{Key: bs("foo"), Value: bs("again")}, `rev=8 prev=nil`},
		{"get foo", getReq("foo"), `rev=8 count=1 more=false ["foo"="again"/c8/m8/v1/l0]`},
		{"ignore_value", PutRequest{Key: bs("foo"), IgnoreValue: true, PrevKV: true}, `rev=9 prev="foo"="again"/c8/m8/v1/l0`},
		{"get foo", getReq("foo"), `rev=9 count=1 more=false ["foo"="again"/c8/m9/v2/l0]`},
		{"historical read reports current rev", RangeRequest{Key: bs("foo"), Revision: 4}, `rev=9 count=1 more=false ["foo"="baz"/c2/m4/v3/l0]`},
		{"empty txn", TxnRequest{}, `rev=9 ok=true []`},
		{"read-only txn", TxnRequest{Success: []Op{{Range: &RangeRequest{Key: bs("new")}}}}, `rev=9 ok=true [9:range{rev=9 count=1 more=false ["new"="1"/c5/m5/v1/l0]}]`},
		{"txn deleting nothing", TxnRequest{Success: []Op{{Delete: &DeleteRequest{Key: bs("nope")}}}}, `rev=9 ok=true [9:del{rev=9 deleted=0 prevs=[]}]`},
		{"compaction keeps the revision", compactReq(5), `ok rev=9`},
		{"binary keys and values", PutRequest{Key: []byte("k\x00z"), Value: []byte("\xff\xfe")}, `rev=10 prev=nil`},
		{"get binary", getReq("k\x00z"), `rev=10 count=1 more=false ["k\x00z"="\xff\xfe"/c10/m10/v1/l0]`},
	})
}

// Spec 1.2.
func TestSpecPutOptions(t *testing.T) {
	leases := leaseSet{1: true, 2: true}
	for _, tc := range []struct {
		name  string
		setup []PutRequest
		req   PutRequest
		want  string // result of req, then the key as stored
	}{
		{"ignore_value on missing key", nil, PutRequest{Key: bs("k"), IgnoreValue: true}, `error: key not found; none`},
		{"ignore_lease on missing key", nil, PutRequest{Key: bs("k"), Value: bs("v"), IgnoreLease: true}, `error: key not found; none`},
		{"unknown lease", nil, PutRequest{Key: bs("k"), Value: bs("v"), Lease: 99}, `error: requested lease not found; none`},
		{"unknown lease wins over ignore_value (Put RPC order)", nil, PutRequest{Key: bs("k"), IgnoreValue: true, Lease: 99}, `error: requested lease not found; none`},
		{"failed put changes nothing", []PutRequest{{Key: bs("k"), Value: bs("v")}}, PutRequest{Key: bs("k"), Value: bs("w"), Lease: 99}, `error: requested lease not found; "k"="v"/c2/m2/v1/l0`},
		{"ignore_lease keeps the lease", []PutRequest{{Key: bs("k"), Value: bs("v"), Lease: 1}}, PutRequest{Key: bs("k"), Value: bs("w"), IgnoreLease: true}, `rev=3 prev=nil; "k"="w"/c2/m3/v2/l1`},
		{"ignore_value detaches the lease", []PutRequest{{Key: bs("k"), Value: bs("v"), Lease: 1}}, PutRequest{Key: bs("k"), IgnoreValue: true}, `rev=3 prev=nil; "k"="v"/c2/m3/v2/l0`},
		{"ignore_value with a lease", []PutRequest{{Key: bs("k"), Value: bs("v"), Lease: 1}}, PutRequest{Key: bs("k"), IgnoreValue: true, Lease: 2}, `rev=3 prev=nil; "k"="v"/c2/m3/v2/l2`},
		{"both ignores", []PutRequest{{Key: bs("k"), Value: bs("v"), Lease: 1}}, PutRequest{Key: bs("k"), IgnoreValue: true, IgnoreLease: true}, `rev=3 prev=nil; "k"="v"/c2/m3/v2/l1`},
		{"plain put detaches", []PutRequest{{Key: bs("k"), Value: bs("v"), Lease: 1}}, PutRequest{Key: bs("k"), Value: bs("w")}, `rev=3 prev=nil; "k"="w"/c2/m3/v2/l0`},
		{"lease given again", []PutRequest{{Key: bs("k"), Value: bs("v"), Lease: 1}}, PutRequest{Key: bs("k"), Value: bs("w"), Lease: 1}, `rev=3 prev=nil; "k"="w"/c2/m3/v2/l1`},
		{"prev_kv carries the lease", []PutRequest{{Key: bs("k"), Value: bs("v"), Lease: 2}}, PutRequest{Key: bs("k"), Value: bs("w"), PrevKV: true}, `rev=3 prev="k"="v"/c2/m2/v1/l2; "k"="w"/c2/m3/v2/l0`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			for _, p := range tc.setup {
				if _, _, err := s.Put(p, leases); err != nil {
					t.Fatal(err)
				}
			}
			checkStr(t, "result", run(s, tc.req, leases)+"; "+get(t, s, "k"), tc.want)
		})
	}
	t.Run("nil LeaseChecker knows no lease", func(t *testing.T) {
		checkStr(t, "result", run(New(), PutRequest{Key: bs("k"), Lease: 1}, nil), `error: requested lease not found`)
	})
	t.Run("validation", func(t *testing.T) {
		for _, tc := range []struct {
			req  PutRequest
			want error
		}{
			{PutRequest{Value: bs("v")}, ErrEmptyKey},
			{PutRequest{Key: bs("k"), Value: bs("v"), IgnoreValue: true}, ErrValueProvided},
			{PutRequest{Key: bs("k"), Lease: 1, IgnoreLease: true}, ErrLeaseProvided},
			{PutRequest{Key: bs("k"), IgnoreValue: true, IgnoreLease: true}, nil},
			{PutRequest{Key: bs("k"), Lease: 1, IgnoreValue: true}, nil},
		} {
			checkErr(t, fmt.Sprintf("ValidatePut(%+v)", tc.req), ValidatePut(tc.req), tc.want)
		}
	})
}

// rangeFixture builds spec 1.3's store: a=1@2, b=2@3, c=3@4, d=0@5, b=9@6,
// c=5@7, c=4@8, ab=x@9.
func rangeFixture(t testing.TB) *Store {
	s := New()
	for _, kv := range [][2]string{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "0"}, {"b", "9"}, {"c", "5"}, {"c", "4"}, {"ab", "x"}} {
		mustPut(t, s, kv[0], kv[1])
	}
	return s
}

// Spec 1.3.
func TestSpecRange(t *testing.T) {
	const (
		a  = `"a"="1"/c2/m2/v1/l0`
		ab = `"ab"="x"/c9/m9/v1/l0`
		b  = `"b"="9"/c3/m6/v2/l0`
		c  = `"c"="4"/c4/m8/v3/l0`
		d  = `"d"="0"/c5/m5/v1/l0`
	)
	everything := func(r RangeRequest) RangeRequest { r.Key, r.End = []byte{0}, []byte{0}; return r }
	for _, tc := range []struct {
		name string
		req  RangeRequest
		want string
	}{
		{"everything", everything(RangeRequest{}), `rev=9 count=5 more=false [` + a + ` ` + ab + ` ` + b + ` ` + c + ` ` + d + `]`},
		{"[a,c)", RangeRequest{Key: bs("a"), End: bs("c")}, `rev=9 count=3 more=false [` + a + ` ` + ab + ` ` + b + `]`},
		{"from b", RangeRequest{Key: bs("b"), End: []byte{0}}, `rev=9 count=3 more=false [` + b + ` ` + c + ` ` + d + `]`},
		{"[c,a)", RangeRequest{Key: bs("c"), End: bs("a")}, `rev=9 count=0 more=false []`},
		{"[c,c)", RangeRequest{Key: bs("c"), End: bs("c")}, `rev=9 count=0 more=false []`},
		{"limit 2", everything(RangeRequest{Limit: 2}), `rev=9 count=5 more=true [` + a + ` ` + ab + `]`},
		{"limit 5", everything(RangeRequest{Limit: 5}), `rev=9 count=5 more=false [` + a + ` ` + ab + ` ` + b + ` ` + c + ` ` + d + `]`},
		{"limit 6", everything(RangeRequest{Limit: 6}), `rev=9 count=5 more=false [` + a + ` ` + ab + ` ` + b + ` ` + c + ` ` + d + `]`},
		{"limit -1", everything(RangeRequest{Limit: -1}), `rev=9 count=5 more=false [` + a + ` ` + ab + ` ` + b + ` ` + c + ` ` + d + `]`},
		{"keys_only", everything(RangeRequest{KeysOnly: true}), `rev=9 count=5 more=false ["a"=""/c2/m2/v1/l0 "ab"=""/c9/m9/v1/l0 "b"=""/c3/m6/v2/l0 "c"=""/c4/m8/v3/l0 "d"=""/c5/m5/v1/l0]`},
		{"count_only", everything(RangeRequest{CountOnly: true}), `rev=9 count=5 more=false []`},
		{"count_only limit 2", everything(RangeRequest{CountOnly: true, Limit: 2}), `rev=9 count=5 more=false []`},
		{"count_only keys_only", everything(RangeRequest{CountOnly: true, KeysOnly: true}), `rev=9 count=5 more=false []`},
		{"min_mod 6", everything(RangeRequest{MinModRevision: 6}), `rev=9 count=5 more=false [` + ab + ` ` + b + ` ` + c + `]`},
		{"max_mod 5", everything(RangeRequest{MaxModRevision: 5}), `rev=9 count=5 more=false [` + a + ` ` + d + `]`},
		{"min_create 3 max_create 4", everything(RangeRequest{MinCreateRevision: 3, MaxCreateRevision: 4}), `rev=9 count=5 more=false [` + b + ` ` + c + `]`},
		{"min_mod 6 limit 1", everything(RangeRequest{MinModRevision: 6, Limit: 1}), `rev=9 count=5 more=true [` + ab + `]`},
		{"min_create 100", everything(RangeRequest{MinCreateRevision: 100}), `rev=9 count=5 more=false []`},
		{"revision 4", everything(RangeRequest{Revision: 4}), `rev=9 count=3 more=false ["a"="1"/c2/m2/v1/l0 "b"="2"/c3/m3/v1/l0 "c"="3"/c4/m4/v1/l0]`},
		{"revision 1", everything(RangeRequest{Revision: 1}), `rev=9 count=0 more=false []`},
		{"revision 9", everything(RangeRequest{Revision: 9, Limit: 1}), `rev=9 count=5 more=true [` + a + `]`},
		{"revision 10", everything(RangeRequest{Revision: 10}), `error: mvcc: required revision is a future revision`},
		{"revision -1", everything(RangeRequest{Revision: -1, Limit: 1}), `rev=9 count=5 more=true [` + a + `]`},
		{"version descend, ties in key order", everything(RangeRequest{SortOrder: SortDescend, SortTarget: SortByVersion}), `rev=9 count=5 more=false [` + c + ` ` + b + ` ` + a + ` ` + ab + ` ` + d + `]`},
		{"version ascend, ties in key order", everything(RangeRequest{SortOrder: SortAscend, SortTarget: SortByVersion}), `rev=9 count=5 more=false [` + a + ` ` + ab + ` ` + d + ` ` + b + ` ` + c + `]`},
		{"value descend limit 2", everything(RangeRequest{SortOrder: SortDescend, SortTarget: SortByValue, Limit: 2}), `rev=9 count=5 more=true [` + ab + ` ` + b + `]`},
		{"key descend", everything(RangeRequest{SortOrder: SortDescend}), `rev=9 count=5 more=false [` + d + ` ` + c + ` ` + b + ` ` + ab + ` ` + a + `]`},
		{"none on mod sorts ascending", everything(RangeRequest{SortTarget: SortByMod}), `rev=9 count=5 more=false [` + a + ` ` + d + ` ` + b + ` ` + c + ` ` + ab + `]`},
		{"create ascend limit 2", everything(RangeRequest{SortOrder: SortAscend, SortTarget: SortByCreate, Limit: 2}), `rev=9 count=5 more=true [` + a + ` ` + b + `]`},
		// (source) NONE does not make etcd fetch everything: it sorts only the
		// first limit+1 keys.
		{"none on mod limit 2 sorts the first 3 keys", everything(RangeRequest{SortTarget: SortByMod, Limit: 2}), `rev=9 count=5 more=true [` + a + ` ` + b + `]`},
		{"ascend on mod limit 2 sorts all", everything(RangeRequest{SortOrder: SortAscend, SortTarget: SortByMod, Limit: 2}), `rev=9 count=5 more=true [` + a + ` ` + d + `]`},
		{"single missing key", getReq("zz"), `rev=9 count=0 more=false []`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkStr(t, "range", run(rangeFixture(t), tc.req, nil), tc.want)
		})
	}

	t.Run("below the compaction", func(t *testing.T) {
		s := rangeFixture(t)
		runScript(t, s, nil, []scriptStep{
			{"compact", compactReq(5), `ok rev=9`},
			{"revision 4", everything(RangeRequest{Revision: 4}), `error: mvcc: required revision has been compacted`},
			{"revision 5", everything(RangeRequest{Revision: 5}), `rev=9 count=4 more=false ["a"="1"/c2/m2/v1/l0 "b"="2"/c3/m3/v1/l0 "c"="3"/c4/m4/v1/l0 ` + d + `]`},
		})
	})

	// Go sorts up to 12 elements by insertion sort, which is stable by
	// luck; this checks ties on a set big enough to need the stable sort.
	t.Run("ties stay in key order on big sets", func(t *testing.T) {
		s := New()
		var asc, desc [3][]string
		for i := range 60 {
			key := fmt.Sprintf("k%02d", i)
			for range i % 3 {
				mustPut(t, s, key, "v")
			}
			mustPut(t, s, key, "v") // version i%3+1
			asc[i%3] = append(asc[i%3], key)
			desc[2-i%3] = append(desc[2-i%3], key)
		}
		for _, tc := range []struct {
			order SortOrder
			want  [3][]string
		}{{SortAscend, asc}, {SortDescend, desc}} {
			var got []string
			for _, kv := range mustRange(t, s, RangeRequest{Key: []byte{0}, End: []byte{0}, SortOrder: tc.order, SortTarget: SortByVersion}).KVs {
				got = append(got, string(kv.Key))
			}
			want := slices.Concat(tc.want[0], tc.want[1], tc.want[2])
			checkStr(t, fmt.Sprint("order ", tc.order), fmt.Sprint(got), fmt.Sprint(want))
		}
	})

	t.Run("validation", func(t *testing.T) {
		for _, tc := range []struct {
			req  RangeRequest
			want error
		}{
			{RangeRequest{}, ErrEmptyKey},
			{RangeRequest{Key: bs("a"), SortOrder: 5}, ErrInvalidSortOption},
			{RangeRequest{Key: bs("a"), SortTarget: 9}, ErrInvalidSortOption},
			{RangeRequest{Key: bs("a"), SortOrder: -1}, ErrInvalidSortOption},
			{RangeRequest{Key: bs("a"), SortOrder: SortDescend, SortTarget: SortByValue}, nil},
		} {
			checkErr(t, fmt.Sprintf("ValidateRange(%+v)", tc.req), ValidateRange(tc.req), tc.want)
		}
	})
}

// Spec 1.4.
func TestSpecDeleteRange(t *testing.T) {
	fixture := func() *Store {
		s := New()
		for _, k := range []string{"c", "a", "b", "d", "ab"} {
			mustPut(t, s, k, "v"+k) // a@3 ab@6 b@4 c@2 d@5
		}
		return s
	}
	for _, tc := range []struct {
		name       string
		req        DeleteRequest
		want, left string
		events     string
	}{
		{"single key", DeleteRequest{Key: bs("b"), PrevKV: true},
			`rev=7 deleted=1 prevs=["b"="vb"/c4/m4/v1/l0]`, `a ab c d`,
			`[DELETE "b"=""/c0/m7/v0/l0 prev="b"="vb"/c4/m4/v1/l0]`},
		{"[a,c) in key order", DeleteRequest{Key: bs("a"), End: bs("c"), PrevKV: true},
			`rev=7 deleted=3 prevs=["a"="va"/c3/m3/v1/l0 "ab"="vab"/c6/m6/v1/l0 "b"="vb"/c4/m4/v1/l0]`, `c d`,
			`[DELETE "a"=""/c0/m7/v0/l0 prev="a"="va"/c3/m3/v1/l0; DELETE "ab"=""/c0/m7/v0/l0 prev="ab"="vab"/c6/m6/v1/l0; DELETE "b"=""/c0/m7/v0/l0 prev="b"="vb"/c4/m4/v1/l0]`},
		{"from key", DeleteRequest{Key: bs("b"), End: []byte{0}},
			`rev=7 deleted=3 prevs=[]`, `a ab`, ``},
		{"everything", DeleteRequest{Key: []byte{0}, End: []byte{0}},
			`rev=7 deleted=5 prevs=[]`, ``, ``},
		{"end below key", DeleteRequest{Key: bs("c"), End: bs("a"), PrevKV: true},
			`rev=6 deleted=0 prevs=[]`, `a ab b c d`, `[]`},
		{"missing key", DeleteRequest{Key: bs("zz")},
			`rev=6 deleted=0 prevs=[]`, `a ab b c d`, `[]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fixture()
			res, evs, err := s.Delete(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			checkStr(t, "result", renderDelete(res), tc.want)
			if tc.events != "" {
				checkStr(t, "events", renderEvents(evs), tc.events)
			}
			var left []string
			for _, kv := range mustRange(t, s, all).KVs {
				left = append(left, string(kv.Key))
			}
			checkStr(t, "left", fmt.Sprint(left), "["+tc.left+"]")
			checkStr(t, "store rev", fmt.Sprint(s.Rev()), fmt.Sprint(res.Revision))
		})
	}
}

// Spec 1.5, on a store at revision 6.
func TestSpecCompaction(t *testing.T) {
	s := New()
	mustPut(t, s, "a", "1")                                             // 2
	mustPut(t, s, "b", "1")                                             // 3
	mustPut(t, s, "a", "2")                                             // 4
	if _, _, err := s.Delete(DeleteRequest{Key: bs("b")}); err != nil { // 5
		t.Fatal(err)
	}
	mustPut(t, s, "c", "1") // 6
	if _, _, compactRev, _ := s.HashKV(0); compactRev != -1 {
		t.Fatalf("HashKV compact revision before any compaction: %d, want -1", compactRev)
	}
	const (
		compacted = `error: mvcc: required revision has been compacted`
		future    = `error: mvcc: required revision is a future revision`
	)
	txnRangeAt := func(rev int64) TxnRequest {
		return TxnRequest{Success: []Op{
			{Put: &PutRequest{Key: bs("x"), Value: bs("1")}},
			{Range: &RangeRequest{Key: bs("a"), Revision: rev}},
		}}
	}
	runScript(t, s, nil, []scriptStep{
		{"compact 0 on a fresh marker", compactReq(0), `ok rev=6`},
		{"compact -1", compactReq(-1), compacted},
		{"compact 1", compactReq(1), `ok rev=6`},
		{"compact 7", compactReq(7), future},
		{"compact 3", compactReq(3), `ok rev=6`},
		{"compact 3 again", compactReq(3), compacted},
		{"compact 2", compactReq(2), compacted},
		{"range rev 2", RangeRequest{Key: bs("a"), Revision: 2}, compacted},
		{"range rev 3", all3, `rev=6 count=2 more=false ["a"="1"/c2/m2/v1/l0 "b"="1"/c3/m3/v1/l0]`},
		{"compact 6", compactReq(6), `ok rev=6`},
		{"range rev 5", RangeRequest{Key: bs("a"), Revision: 5}, compacted},
		{"range rev 6", RangeRequest{Key: []byte{0}, End: []byte{0}, Revision: 6}, `rev=6 count=2 more=false ["a"="2"/c2/m4/v2/l0 "c"="1"/c6/m6/v1/l0]`},
		{"range current", all, `rev=6 count=2 more=false ["a"="2"/c2/m4/v2/l0 "c"="1"/c6/m6/v1/l0]`},
		{"txn reading a compacted rev fails whole", txnRangeAt(5), compacted},
		{"and changed nothing", getReq("x"), `rev=6 count=0 more=false []`},
		{"txn reading at the compaction works", txnRangeAt(6), `rev=7 ok=true [7:put{rev=7 prev=nil} 7:range{rev=7 count=1 more=false ["a"="2"/c2/m4/v2/l0]}]`},
	})
	if got := s.CompactRev(); got != 6 {
		t.Fatalf("CompactRev = %d, want 6", got)
	}
}

var all3 = RangeRequest{Key: []byte{0}, End: []byte{0}, Revision: 3}

// compactVersions against etcd's key_index.go worked example:
// put(1.0); put(2.0); tombstone(3.0); put(4.0); tombstone(5.0).
func TestCompactVersions(t *testing.T) {
	v := func(main, sub int64, tomb bool) version {
		if tomb {
			return version{rev: Revision{main, sub}}
		}
		return version{rev: Revision{main, sub}, create: main, ver: 1}
	}
	render := func(vs []version) string {
		s := "{"
		for i, x := range vs {
			if i > 0 {
				s += " "
			}
			s += fmt.Sprintf("%d.%d", x.rev.Main, x.rev.Sub)
			if x.tombstone() {
				s += "t"
			}
		}
		return s + "}"
	}
	example := []version{v(1, 0, false), v(2, 0, false), v(3, 0, true), v(4, 0, false), v(5, 0, true)}
	sameRev := []version{v(2, 0, false), v(4, 0, false), v(4, 1, true)}
	delThenPut := []version{v(2, 0, false), v(4, 0, true), v(4, 1, false)}
	for _, tc := range []struct {
		vs   []version
		rev  int64
		want string
	}{
		{example, 0, "{1.0 2.0 3.0t 4.0 5.0t}"},
		{example, 1, "{1.0 2.0 3.0t 4.0 5.0t}"},
		{example, 2, "{2.0 3.0t 4.0 5.0t}"},
		{example, 3, "{3.0t 4.0 5.0t}"}, // the tombstone at the compaction stays
		{example, 4, "{4.0 5.0t}"},
		{example, 5, "{5.0t}"},
		{example, 6, "{}"},
		{sameRev, 3, "{2.0 4.0 4.1t}"},
		{sameRev, 4, "{4.1t}"},
		{sameRev, 5, "{}"},
		{delThenPut, 4, "{4.0t 4.1}"}, // etcd keeps the tombstone's generation
		{delThenPut, 5, "{4.1}"},
	} {
		got := render(compactVersions(tc.vs, tc.rev))
		checkStr(t, fmt.Sprintf("compact(%d) of %s", tc.rev, render(tc.vs)), got, tc.want)
	}
}

// Spec 6.1: the fresh-store HashKV vector, and the revision checks.
func TestSpecHashKV(t *testing.T) {
	s := New()
	hash, hashRev, compactRev, err := s.HashKV(0)
	if err != nil || hash != 1084519789 || hashRev != 1 || compactRev != -1 {
		t.Fatalf("fresh HashKV = %d, %d, %d, %v; want 1084519789, 1, -1, nil", hash, hashRev, compactRev, err)
	}
	for i := 0; i < 5; i++ {
		mustPut(t, s, "k", fmt.Sprint(i)) // revisions 2..6
	}
	h6, _, _, _ := s.HashKV(0)
	if err := s.Compact(4); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rev     int64
		wantRev int64
		wantErr error
	}{
		{7, 0, ErrFutureRev},
		{3, 0, ErrCompacted},
		{4, 4, nil}, // at the compaction is allowed, unlike Range below it
		{6, 6, nil},
		{0, 6, nil},
		{-5, -5, nil}, // etcd hashes nothing at a negative revision
	} {
		_, hashRev, compactRev, err := s.HashKV(tc.rev)
		checkErr(t, fmt.Sprintf("HashKV(%d)", tc.rev), err, tc.wantErr)
		if err == nil && (hashRev != tc.wantRev || compactRev != 4) {
			t.Fatalf("HashKV(%d) revisions = %d, %d; want %d, 4", tc.rev, hashRev, compactRev, tc.wantRev)
		}
	}
	// Versions 2 and 3 are gone and 4 is no longer the newest, so the hash
	// at 6 now covers only revisions 5 and 6.
	if h, _, _, _ := s.HashKV(0); h == h6 {
		t.Fatalf("HashKV unchanged by a compaction that dropped versions")
	}
}

// The hand-written protobuf encoding, checked byte by byte against the
// wire format of mvccpb.KeyValue.
func TestKVProtoEncoding(t *testing.T) {
	live := version{rev: Revision{Main: 300, Sub: 2}, create: 5, ver: 2, lease: -1, value: []byte("vv")}
	got := appendRevKey(nil, &live)
	got = appendKVProto(got, []byte("key"), &live)
	want := []byte{
		0, 0, 0, 0, 0, 0, 1, 44, '_', 0, 0, 0, 0, 0, 0, 0, 2, // 300 '_' 2
		0x0a, 3, 'k', 'e', 'y', // 1: key
		0x10, 5, // 2: create_revision
		0x18, 0xac, 0x02, // 3: mod_revision 300
		0x20, 2, // 4: version
		0x2a, 2, 'v', 'v', // 5: value
		0x30, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, // 6: lease -1
	}
	checkStr(t, "live", fmt.Sprintf("% x", got), fmt.Sprintf("% x", want))

	tomb := version{rev: Revision{Main: 7}}
	got = appendRevKey(nil, &tomb)
	got = appendKVProto(got, []byte("k"), &tomb)
	want = []byte{0, 0, 0, 0, 0, 0, 0, 7, '_', 0, 0, 0, 0, 0, 0, 0, 0, 't', 0x0a, 1, 'k'}
	checkStr(t, "tombstone", fmt.Sprintf("% x", got), fmt.Sprintf("% x", want))
}

func TestSize(t *testing.T) {
	s := New()
	if s.Size() != 0 {
		t.Fatalf("empty store size %d", s.Size())
	}
	if _, _, err := s.Put(PutRequest{Key: []byte("k"), Value: make([]byte, 100)}, nil); err != nil {
		t.Fatal(err)
	}
	one := s.Size()
	if one < 101 {
		t.Fatalf("size %d after a 1+100 byte put", one)
	}
	if _, _, err := s.Put(PutRequest{Key: []byte("k"), Value: make([]byte, 100)}, nil); err != nil {
		t.Fatal(err)
	}
	if two := s.Size(); two <= one {
		t.Fatalf("a second version did not grow the size: %d then %d", one, two)
	}
	if err := s.Compact(s.Rev()); err != nil {
		t.Fatal(err)
	}
	if got := s.Size(); got != one {
		t.Fatalf("after compaction size %d, want %d", got, one)
	}
}
