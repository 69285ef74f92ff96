package mvcc

import (
	"fmt"
	"strings"
	"testing"
)

// The tests in this file reproduce spec/v3.md section 2 (Txn).

func opPutKV(key, value string) Op { return Op{Put: &PutRequest{Key: bs(key), Value: bs(value)}} }
func opGet(key string) Op          { return Op{Range: &RangeRequest{Key: bs(key)}} }
func opDel(key, end string) Op     { return Op{Delete: &DeleteRequest{Key: bs(key), End: bs(end)}} }
func opNested(r TxnRequest) Op     { return Op{Txn: &r} }

// storeAt returns a store whose current revision is rev, made by puts of
// "~filler", a key above those the tests touch.
func storeAt(t testing.TB, rev int64) *Store {
	s := New()
	for s.Rev() < rev {
		mustPut(t, s, "~filler", fmt.Sprint(s.Rev()))
	}
	return s
}

// Spec 2.1.
func TestSpecTxnExecution(t *testing.T) {
	t.Run("compares see the state before the txn", func(t *testing.T) {
		s := New()
		req := TxnRequest{Success: []Op{
			opPutKV("p", "1"),
			opNested(TxnRequest{
				Compare: []Compare{{Key: bs("p"), Target: CompareVersion, Result: CompareEqual, Number: 1}},
				Success: []Op{opPutKV("then", "1")},
				Failure: []Op{opPutKV("else", "1")},
			}),
		}}
		checkStr(t, "txn", run(s, req, nil), `rev=2 ok=true [2:put{rev=2 prev=nil} 0:txn{rev=0 ok=false [2:put{rev=2 prev=nil}]}]`)
		checkStr(t, "else", get(t, s, "else"), `"else"="1"/c2/m2/v1/l0`)
	})

	t.Run("a range sees earlier writes of the txn", func(t *testing.T) {
		s := New()
		mustPut(t, s, "a", "1")
		mustPut(t, s, "z", "1") // rev 3
		req := TxnRequest{Success: []Op{opPutKV("x", "1"), opPutKV("y", "1"), opDel("a", ""), opGet("x"), opGet("a")}}
		checkStr(t, "txn", run(s, req, nil), `rev=4 ok=true [4:put{rev=4 prev=nil} 4:put{rev=4 prev=nil} 4:del{rev=4 deleted=1 prevs=[]} `+
			`4:range{rev=4 count=1 more=false ["x"="1"/c4/m4/v1/l0]} 4:range{rev=4 count=0 more=false []}]`)
	})

	t.Run("per-op revision before the first change", func(t *testing.T) {
		s := storeAt(t, 9)
		mustPut(t, s, "k", "0") // rev 10
		req := TxnRequest{Success: []Op{opGet("k"), opPutKV("k", "1")}}
		checkStr(t, "txn", run(s, req, nil), `rev=11 ok=true [10:range{rev=10 count=1 more=false ["k"="0"/c10/m10/v1/l0]} 11:put{rev=11 prev=nil}]`)
	})

	t.Run("a delete of nothing before any change", func(t *testing.T) {
		s := storeAt(t, 13)
		req := TxnRequest{Success: []Op{opDel("a", "m"), opPutKV("m", "1"), opDel("a", "b")}}
		checkStr(t, "txn", run(s, req, nil), `rev=14 ok=true [13:del{rev=13 deleted=0 prevs=[]} 14:put{rev=14 prev=nil} 14:del{rev=14 deleted=0 prevs=[]}]`)
	})

	t.Run("succeeded is the top-level compares, ANDed", func(t *testing.T) {
		s := New()
		mustPut(t, s, "a", "1")
		yes := Compare{Key: bs("a"), Target: CompareValue, Result: CompareEqual, Value: bs("1")}
		no := Compare{Key: bs("a"), Target: CompareValue, Result: CompareEqual, Value: bs("2")}
		for _, tc := range []struct {
			cmps []Compare
			want bool
		}{{nil, true}, {[]Compare{yes}, true}, {[]Compare{no}, false}, {[]Compare{yes, no}, false}, {[]Compare{yes, yes}, true}} {
			res, _, err := s.Txn(TxnRequest{Compare: tc.cmps}, nil)
			if err != nil || res.Succeeded != tc.want {
				t.Fatalf("compares %+v: succeeded=%t err=%v, want %t", tc.cmps, res.Succeeded, err, tc.want)
			}
		}
	})

	leases := leaseSet{1: true}
	for _, tc := range []struct {
		name string
		ops  []Op // the branch that runs, after a put of "w" (rev 3 if it sticks)
		want string
	}{
		{"unknown lease", []Op{{Put: &PutRequest{Key: bs("n"), Lease: 99}}}, `error: requested lease not found`},
		{"ignore_value on a missing key", []Op{{Put: &PutRequest{Key: bs("n"), IgnoreValue: true}}}, `error: key not found`},
		{"ignore_lease on a missing key", []Op{{Put: &PutRequest{Key: bs("n"), IgnoreLease: true}}}, `error: key not found`},
		{"range at a future revision", []Op{{Range: &RangeRequest{Key: bs("k"), Revision: 3}}}, `error: mvcc: required revision is a future revision`},
		{"nested failure", []Op{opNested(TxnRequest{Success: []Op{opDel("k", ""), {Put: &PutRequest{Key: bs("n"), Lease: 99}}}})}, `error: requested lease not found`},
		{"known lease", []Op{{Put: &PutRequest{Key: bs("n"), Lease: 1}}}, `rev=3 ok=true [3:put{rev=3 prev=nil} 3:put{rev=3 prev=nil}]`},
	} {
		t.Run("apply-time error: "+tc.name, func(t *testing.T) {
			s := New()
			mustPut(t, s, "k", "old") // rev 2
			before := s.Hash()
			req := TxnRequest{Success: append([]Op{opPutKV("k", "new")}, tc.ops...)}
			checkStr(t, "txn", run(s, req, leases), tc.want)
			if strings.HasPrefix(tc.want, "error") {
				checkStr(t, "k after failure", get(t, s, "k"), `"k"="old"/c2/m2/v1/l0`)
				checkStr(t, "n after failure", get(t, s, "n"), `none`)
				if s.Rev() != 2 || s.Hash() != before {
					t.Fatalf("failed txn changed the store: rev %d", s.Rev())
				}
			}
			// The same op in the branch not taken is ignored.
			req = TxnRequest{Success: []Op{opPutKV("k", "newer")}, Failure: tc.ops}
			if _, _, err := s.Txn(req, leases); err != nil {
				t.Fatalf("invalid op in the branch not taken: %v", err)
			}
		})
	}

	t.Run("events", func(t *testing.T) {
		s := New()
		mustPut(t, s, "a", "1") // 2
		mustPut(t, s, "b", "1") // 3
		req := TxnRequest{Success: []Op{
			opDel("a", ""), // a existed: prev a
			opPutKV("c", "1"),
			opNested(TxnRequest{Success: []Op{opPutKV("b", "2")}}),
			// A from-key delete is not checked against puts (2.4), so it
			// can remove the c this txn created: etcd's watchers read the
			// previous value at ModRevision-1, where c did not exist.
			{Delete: &DeleteRequest{Key: bs("c"), End: []byte{0}}},
		}}
		_, evs, err := s.Txn(req, nil)
		if err != nil {
			t.Fatal(err)
		}
		checkStr(t, "events", renderEvents(evs), `[DELETE "a"=""/c0/m4/v0/l0 prev="a"="1"/c2/m2/v1/l0; `+
			`PUT "c"="1"/c4/m4/v1/l0 prev=nil; `+
			`PUT "b"="2"/c3/m4/v2/l0 prev="b"="1"/c3/m3/v1/l0; `+
			`DELETE "c"=""/c0/m4/v0/l0 prev=nil]`)
		checkStr(t, "c", get(t, s, "c"), "none")
		checkStr(t, "history of c", run(s, RangeRequest{Key: bs("c"), Revision: 4}, nil), `rev=4 count=0 more=false []`)
	})
}

// Spec 2.2, on a=1 (v1), b=2 (v2, lease 1), c=3, empty="" and the range [a,d).
func TestSpecCompare(t *testing.T) {
	s := New()
	leases := leaseSet{1: true}
	for _, p := range []PutRequest{
		{Key: bs("a"), Value: bs("1")},           // 2
		{Key: bs("b"), Value: bs("x")},           // 3
		{Key: bs("b"), Value: bs("2"), Lease: 1}, // 4
		{Key: bs("c"), Value: bs("3")},           // 5
		{Key: bs("empty")},                       // 6
		{Key: bs("v"), Value: bs("3")},           // 7
	} {
		if _, _, err := s.Put(p, leases); err != nil {
			t.Fatal(err)
		}
	}
	cmp := func(key string, target CompareTarget, result CompareResult, n int64) Compare {
		return Compare{Key: bs(key), Target: target, Result: result, Number: n}
	}
	val := func(key string, result CompareResult, v string) Compare {
		return Compare{Key: bs(key), Target: CompareValue, Result: result, Value: bs(v)}
	}
	withEnd := func(c Compare, end string) Compare { c.End = []byte(end); return c }
	for _, tc := range []struct {
		name string
		c    Compare
		want bool
	}{
		{"missing version=0", cmp("zz", CompareVersion, CompareEqual, 0), true},
		{"missing create=0", cmp("zz", CompareCreate, CompareEqual, 0), true},
		{"missing mod=0", cmp("zz", CompareMod, CompareEqual, 0), true},
		{"missing lease=0", cmp("zz", CompareLease, CompareEqual, 0), true},
		{"missing version>0", cmp("zz", CompareVersion, CompareGreater, 0), false},
		{"missing version<1", cmp("zz", CompareVersion, CompareLess, 1), true},
		{"missing value=\"\"", val("zz", CompareEqual, ""), false},
		{"missing value!=x", val("zz", CompareNotEqual, "x"), false},
		{"missing value<x", val("zz", CompareLess, "x"), false},
		{"missing value>\"\"", val("zz", CompareGreater, ""), false},
		{"value 3>2", val("v", CompareGreater, "2"), true},
		{"value 3<30", val("v", CompareLess, "30"), true},
		{"value 3=3", val("v", CompareEqual, "3"), true},
		{"value 3!=3", val("v", CompareNotEqual, "3"), false},
		{"empty value equals no value", Compare{Key: bs("empty"), Target: CompareValue, Result: CompareEqual}, true},
		{"value target without a value", Compare{Key: bs("v"), Target: CompareValue, Result: CompareGreater}, true},
		{"version=1", cmp("a", CompareVersion, CompareEqual, 1), true},
		{"create=3", cmp("b", CompareCreate, CompareEqual, 3), true},
		{"mod=4", cmp("b", CompareMod, CompareEqual, 4), true},
		{"mod<4", cmp("b", CompareMod, CompareLess, 4), false},
		{"lease=1", cmp("b", CompareLease, CompareEqual, 1), true},
		{"lease!=1", cmp("b", CompareLease, CompareNotEqual, 1), false},
		{"[a,d) version>0: all of them", withEnd(cmp("a", CompareVersion, CompareGreater, 0), "d"), true},
		{"[a,d) version>1: not all", withEnd(cmp("a", CompareVersion, CompareGreater, 1), "d"), false},
		{"[a,d) version=1: not all", withEnd(cmp("a", CompareVersion, CompareEqual, 1), "d"), false},
		{"empty range version=0", withEnd(cmp("m", CompareVersion, CompareEqual, 0), "n"), true},
		{"empty range value=\"\"", withEnd(val("m", CompareEqual, ""), "n"), false},
		{"end below key is empty", withEnd(cmp("c", CompareVersion, CompareEqual, 0), "a"), true},
		{"from-key version>0", withEnd(cmp("b", CompareVersion, CompareGreater, 0), "\x00"), true},
		{"from-key lease=1: not all", withEnd(cmp("b", CompareLease, CompareEqual, 1), "\x00"), false},
		{"version target, value union", Compare{Key: bs("b"), Target: CompareVersion, Result: CompareEqual, Number: 2, HasValue: true}, false},
		{"version target, value union, =0", Compare{Key: bs("b"), Target: CompareVersion, Result: CompareGreater, HasValue: true}, true},
		{"result enum 7", cmp("zz", CompareVersion, 7, 5), true},
		{"target enum 9, equal", cmp("a", 9, CompareEqual, 12345), true},
		{"target enum 9, not equal", cmp("a", 9, CompareNotEqual, 12345), false},
		{"target enum 9, greater", cmp("a", 9, CompareGreater, -1), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, evs, err := s.Txn(TxnRequest{Compare: []Compare{tc.c}}, nil)
			if err != nil || res.Succeeded != tc.want || len(evs) != 0 || res.Revision != 7 {
				t.Fatalf("succeeded=%t rev=%d events=%d err=%v; want %t at 7", res.Succeeded, res.Revision, len(evs), err, tc.want)
			}
		})
	}
	checkErr(t, "empty compare key", ValidateTxn(TxnRequest{Compare: []Compare{{Target: CompareVersion}}}, 128), ErrEmptyKey)
}

// Spec 2.3.
func TestSpecNestedTxn(t *testing.T) {
	s := storeAt(t, 7)
	req := TxnRequest{Success: []Op{
		opPutKV("a", "1"),
		opNested(TxnRequest{Success: []Op{
			opPutKV("b", "1"),
			opNested(TxnRequest{
				Compare: []Compare{{Key: bs("a"), Target: CompareVersion, Result: CompareEqual, Number: 0}},
				Success: []Op{opPutKV("c", "1"), opGet("b")},
			}),
		}}),
	}}
	if err := ValidateTxn(req, 128); err != nil {
		t.Fatal(err)
	}
	checkStr(t, "txn", run(s, req, nil), `rev=8 ok=true [8:put{rev=8 prev=nil} 0:txn{rev=0 ok=true [8:put{rev=8 prev=nil} `+
		`0:txn{rev=0 ok=true [8:put{rev=8 prev=nil} 8:range{rev=8 count=1 more=false ["b"="1"/c8/m8/v1/l0]}]}]}]`)
}

// Spec 2.4: one op list at a time, as the success list of a txn.
func TestSpecDuplicateKeys(t *testing.T) {
	put := func(k string) Op { return opPutKV(k, "v") }
	del := func(k string) Op { return opDel(k, "") }
	delRange := func(k, end string) Op { return opDel(k, end) }
	then := func(ops ...Op) Op { return opNested(TxnRequest{Success: ops}) }
	thenElse := func(t, e []Op) Op { return opNested(TxnRequest{Success: t, Failure: e}) }
	for _, tc := range []struct {
		name string
		ops  []Op
		dup  bool
	}{
		{"put k, put k", []Op{put("k"), put("k")}, true},
		{"put k, del k", []Op{put("k"), del("k")}, true},
		{"del k, put k", []Op{del("k"), put("k")}, true},
		{"del [a,z), put m", []Op{delRange("a", "z"), put("m")}, true},
		{"del [a,m), put m", []Op{delRange("a", "m"), put("m")}, false},
		{"del k, del k", []Op{del("k"), del("k")}, false},
		{"overlapping deletes", []Op{delRange("a", "m"), delRange("c", "z")}, false},
		{"get k, put k", []Op{opGet("k"), put("k")}, false},
		{"put k, get k", []Op{put("k"), opGet("k")}, false},
		{"put k + nested put k", []Op{put("k"), then(put("k"))}, true},
		{"nested then put k, else put k", []Op{thenElse([]Op{put("k")}, []Op{put("k")})}, false},
		{"two nested txns each put k", []Op{then(put("k")), then(put("k"))}, true},
		{"del k + nested put k", []Op{del("k"), then(put("k"))}, true},
		{"nested del k + put k", []Op{then(del("k")), put("k")}, true},
		{"nested del k, then nested put k", []Op{then(del("k")), then(put("k"))}, true},
		{"nested del in else + put k", []Op{thenElse(nil, []Op{del("k")}), put("k")}, true},
		// (source) a nested txn's puts are checked before later siblings'
		// deletes are known.
		{"nested put k, then nested del k", []Op{then(put("k")), then(del("k"))}, false},
		{"deep nesting", []Op{del("k"), then(then(then(put("k"))))}, true},
		{"from-key delete + put m (quirk)", []Op{delRange("a", "\x00"), put("m")}, false},
		{"all-keys delete + put m (quirk)", []Op{delRange("\x00", "\x00"), put("m")}, false},
		{"end below key + put", []Op{delRange("z", "a"), put("m")}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want error
			if tc.dup {
				want = ErrDuplicateKey
			}
			checkErr(t, "success list", ValidateTxn(TxnRequest{Success: tc.ops}, 128), want)
			checkErr(t, "failure list", ValidateTxn(TxnRequest{Failure: tc.ops}, 128), want)
		})
	}
	t.Run("success and failure lists apart", func(t *testing.T) {
		err := ValidateTxn(TxnRequest{Success: []Op{put("k")}, Failure: []Op{put("k")}}, 128)
		checkErr(t, "put k in both", err, nil)
	})
}

// Spec 2.5.
func TestSpecTxnLimits(t *testing.T) {
	puts := func(n int) []Op {
		ops := make([]Op, n)
		for i := range ops {
			ops[i] = opPutKV(fmt.Sprintf("k%03d", i), "v")
		}
		return ops
	}
	cmps := func(n int) []Compare {
		cs := make([]Compare, n)
		for i := range cs {
			cs[i] = Compare{Key: bs("k")}
		}
		return cs
	}
	nested := func(outer, inner int) TxnRequest {
		in := puts(inner)
		for i := range in {
			in[i].Put.Key = []byte(fmt.Sprintf("n%03d", i))
		}
		return TxnRequest{Success: append(puts(outer), opNested(TxnRequest{Success: in}))}
	}
	for _, tc := range []struct {
		name string
		req  TxnRequest
		want error
	}{
		{"128 puts", TxnRequest{Success: puts(128)}, nil},
		{"129 puts", TxnRequest{Success: puts(129)}, ErrTooManyOps},
		{"129 failure ops", TxnRequest{Failure: puts(129)}, ErrTooManyOps},
		{"129 compares", TxnRequest{Compare: cmps(129)}, ErrTooManyOps},
		{"100 puts + nested 27", nested(100, 27), nil},
		{"100 puts + nested 28", nested(100, 28), ErrTooManyOps},
		{"size before keys", TxnRequest{Compare: make([]Compare, 129)}, ErrTooManyOps},
		{"compare key before ops", TxnRequest{Compare: []Compare{{}}, Success: []Op{{}}}, ErrEmptyKey},
		{"empty op", TxnRequest{Success: []Op{opGet("k"), {}}}, ErrKeyNotFound},
		{"op key", TxnRequest{Success: []Op{{Delete: &DeleteRequest{}}}}, ErrEmptyKey},
		{"op sort", TxnRequest{Failure: []Op{{Range: &RangeRequest{Key: bs("k"), SortTarget: 7}}}}, ErrInvalidSortOption},
		{"op value provided", TxnRequest{Success: []Op{{Put: &PutRequest{Key: bs("k"), Value: bs("v"), IgnoreValue: true}}}}, ErrValueProvided},
		{"op lease provided", TxnRequest{Success: []Op{{Put: &PutRequest{Key: bs("k"), Lease: 1, IgnoreLease: true}}}}, ErrLeaseProvided},
		{"success ops before failure ops", TxnRequest{Success: []Op{{}}, Failure: []Op{{Put: &PutRequest{}}}}, ErrKeyNotFound},
		{"op checks before duplicates", TxnRequest{Success: []Op{opPutKV("k", ""), opPutKV("k", "")}, Failure: []Op{{}}}, ErrKeyNotFound},
		{"nested op checks", TxnRequest{Success: []Op{opNested(TxnRequest{Failure: []Op{{}}})}}, ErrKeyNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkErr(t, "ValidateTxn", ValidateTxn(tc.req, 128), tc.want)
		})
	}
	t.Run("128 puts apply in one revision", func(t *testing.T) {
		res, evs, err := New().Txn(TxnRequest{Success: puts(128)}, nil)
		if err != nil || res.Revision != 2 || len(evs) != 128 || evs[127].KV.ModRevision != 2 {
			t.Fatalf("rev=%d events=%d err=%v", res.Revision, len(evs), err)
		}
	})
}
