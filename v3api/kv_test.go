package v3api_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/v3api"
)

// TestRevisionBookkeeping replays the spec's revision table (v3.md 1.1) step by step.
func TestRevisionBookkeeping(t *testing.T) {
	c := startMember(t, nil).client(t)
	kv := c.KV
	get := must[*clientv3.GetResponse](t)
	put := must[*clientv3.PutResponse](t)
	del := must[*clientv3.DeleteResponse](t)

	r := get(kv.Get(ctx(t), "foo"))
	if r.Header.Revision != 1 || r.Count != 0 || len(r.Kvs) != 0 {
		t.Fatalf("empty store: %+v", r)
	}
	p := put(kv.Put(ctx(t), "foo", "bar"))
	if p.Header.Revision != 2 {
		t.Fatalf("first put rev %d", p.Header.Revision)
	}
	p = put(kv.Put(ctx(t), "foo", "bar", clientv3.WithPrevKV()))
	if p.Header.Revision != 3 || kvString(p.PrevKv) != "foo=bar c2 m2 v1" {
		t.Fatalf("same-value put: rev %d prev %v", p.Header.Revision, p.PrevKv)
	}
	p = put(kv.Put(ctx(t), "foo", "baz", clientv3.WithPrevKV()))
	if p.Header.Revision != 4 || kvString(p.PrevKv) != "foo=bar c2 m3 v2" {
		t.Fatalf("put baz: rev %d prev %v", p.Header.Revision, p.PrevKv)
	}
	p = put(kv.Put(ctx(t), "new", "1", clientv3.WithPrevKV()))
	if p.Header.Revision != 5 || p.PrevKv != nil {
		t.Fatalf("put new: rev %d prev %v", p.Header.Revision, p.PrevKv)
	}
	p = put(kv.Put(ctx(t), "empty", ""))
	r = get(kv.Get(ctx(t), "empty"))
	if p.Header.Revision != 6 || len(r.Kvs) != 1 || kvString(r.Kvs[0]) != "empty= c6 m6 v1" {
		t.Fatalf("empty value: rev %d kvs %v", p.Header.Revision, r.Kvs)
	}
	d := del(kv.Delete(ctx(t), "foo", clientv3.WithPrevKV()))
	if d.Header.Revision != 7 || d.Deleted != 1 || len(d.PrevKvs) != 1 || kvString(d.PrevKvs[0]) != "foo=baz c2 m4 v3" {
		t.Fatalf("delete: %+v", d)
	}
	d = del(kv.Delete(ctx(t), "foo", clientv3.WithPrevKV()))
	if d.Header.Revision != 7 || d.Deleted != 0 || len(d.PrevKvs) != 0 {
		t.Fatalf("delete of a missing key moved things: %+v", d)
	}
	put(kv.Put(ctx(t), "foo", "again"))
	r = get(kv.Get(ctx(t), "foo"))
	if kvString(r.Kvs[0]) != "foo=again c8 m8 v1" {
		t.Fatalf("re-created key: %v", r.Kvs[0])
	}
	p = put(kv.Put(ctx(t), "foo", "", clientv3.WithIgnoreValue(), clientv3.WithPrevKV()))
	r = get(kv.Get(ctx(t), "foo"))
	if p.Header.Revision != 9 || p.PrevKv == nil || kvString(r.Kvs[0]) != "foo=again c8 m9 v2" {
		t.Fatalf("ignore_value put: rev %d prev %v now %v", p.Header.Revision, p.PrevKv, r.Kvs[0])
	}
	// Arbitrary bytes round-trip.
	put(kv.Put(ctx(t), "k\x00z", "\xff\xfe"))
	r = get(kv.Get(ctx(t), "k\x00z"))
	if len(r.Kvs) != 1 || !bytes.Equal(r.Kvs[0].Value, []byte("\xff\xfe")) {
		t.Fatalf("binary key: %v", r.Kvs)
	}
}

func TestResponseHeader(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	p := must[*clientv3.PutResponse](t)(c.Put(ctx(t), "a", "1"))
	ids := []cluster.MemberID{m.server.ID()}
	h := p.Header
	if h.ClusterId != uint64(cluster.ComputeClusterID(ids)) || h.MemberId != uint64(m.server.ID()) || h.RaftTerm < 2 || h.Revision != 2 {
		t.Fatalf("header %+v, member %x", h, uint64(m.server.ID()))
	}
	// etcd derives the member ID from the peer URLs and the cluster token.
	if want := cluster.ComputeMemberID([]string{"http://127.0.0.1:2380"}, cluster.DefaultClusterToken); m.server.ID() != want {
		t.Fatalf("member ID %s, want %s", m.server.ID(), want)
	}
}

func TestPutErrors(t *testing.T) {
	c := startMember(t, nil).client(t)
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "leased", "v"))
	for _, tc := range []struct {
		name string
		req  *pb.PutRequest
		want error
	}{
		{"empty key", &pb.PutRequest{Value: []byte("v")}, rpctypes.ErrGRPCEmptyKey},
		{"ignore value with value", &pb.PutRequest{Key: []byte("leased"), Value: []byte("v"), IgnoreValue: true}, rpctypes.ErrGRPCValueProvided},
		{"ignore lease with lease", &pb.PutRequest{Key: []byte("leased"), Lease: 5, IgnoreLease: true}, rpctypes.ErrGRPCLeaseProvided},
		{"ignore value on missing key", &pb.PutRequest{Key: []byte("nope"), IgnoreValue: true}, rpctypes.ErrGRPCKeyNotFound},
		{"ignore lease on missing key", &pb.PutRequest{Key: []byte("nope"), IgnoreLease: true}, rpctypes.ErrGRPCKeyNotFound},
		{"unknown lease", &pb.PutRequest{Key: []byte("k"), Value: []byte("v"), Lease: 99}, rpctypes.ErrGRPCLeaseNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := pb.NewKVClient(c.ActiveConnection()).Put(ctx(t), tc.req)
			assertStatus(t, err, tc.want)
		})
	}
}

func assertStatus(t *testing.T, err, want error) {
	t.Helper()
	got, want2 := status.Convert(err), status.Convert(want)
	if err == nil || got.Code() != want2.Code() || got.Message() != want2.Message() {
		t.Fatalf("error %v, want %v", err, want)
	}
}

// rangeFixture builds the spec's range fixture (v3.md 1.3): current revision 9.
func rangeFixture(t *testing.T, c *clientv3.Client) {
	for _, kv := range [][2]string{{"a", "1"}, {"b", "2"}, {"c", "3"}, {"d", "0"}, {"b", "9"}, {"c", "5"}, {"c", "4"}, {"ab", "x"}} {
		must[*clientv3.PutResponse](t)(c.Put(ctx(t), kv[0], kv[1]))
	}
}

func TestRange(t *testing.T) {
	c := startMember(t, nil).client(t)
	rangeFixture(t, c)
	raw := pb.NewKVClient(c.ActiveConnection())
	for _, tc := range []struct {
		name  string
		req   *pb.RangeRequest
		count int64
		more  bool
		kvs   string
	}{
		{"everything", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}}, 5, false, "a=1 ab=x b=9 c=4 d=0"},
		{"half open", &pb.RangeRequest{Key: []byte("a"), RangeEnd: []byte("c")}, 3, false, "a=1 ab=x b=9"},
		{"from key", &pb.RangeRequest{Key: []byte("b"), RangeEnd: []byte{0}}, 3, false, "b=9 c=4 d=0"},
		{"end before key", &pb.RangeRequest{Key: []byte("c"), RangeEnd: []byte("a")}, 0, false, ""},
		{"end equals key", &pb.RangeRequest{Key: []byte("c"), RangeEnd: []byte("c")}, 0, false, ""},
		{"limit 2", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Limit: 2}, 5, true, "a=1 ab=x"},
		{"limit 5", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Limit: 5}, 5, false, "a=1 ab=x b=9 c=4 d=0"},
		{"limit -1", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Limit: -1}, 5, false, "a=1 ab=x b=9 c=4 d=0"},
		{"keys only", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, KeysOnly: true}, 5, false, "a= ab= b= c= d="},
		{"count only", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, CountOnly: true, Limit: 2}, 5, false, ""},
		{"min mod 6", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, MinModRevision: 6}, 5, false, "ab=x b=9 c=4"},
		{"max mod 5", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, MaxModRevision: 5}, 5, false, "a=1 d=0"},
		{"create 3..4", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, MinCreateRevision: 3, MaxCreateRevision: 4}, 5, false, "b=9 c=4"},
		{"min mod 6 limit 1", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, MinModRevision: 6, Limit: 1}, 5, true, "ab=x"},
		{"min create 100", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, MinCreateRevision: 100}, 5, false, ""},
		{"revision 4", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Revision: 4}, 3, false, "a=1 b=2 c=3"},
		{"revision 1", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Revision: 1}, 0, false, ""},
		{"revision -1", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, Revision: -1}, 5, false, "a=1 ab=x b=9 c=4 d=0"},
		{"version descend", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, SortTarget: pb.RangeRequest_VERSION, SortOrder: pb.RangeRequest_DESCEND}, 5, false, "c=4 b=9 a=1 ab=x d=0"},
		{"value descend limit 2", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, SortTarget: pb.RangeRequest_VALUE, SortOrder: pb.RangeRequest_DESCEND, Limit: 2}, 5, true, "ab=x b=9"},
		{"key descend", &pb.RangeRequest{Key: []byte{0}, RangeEnd: []byte{0}, SortOrder: pb.RangeRequest_DESCEND}, 5, false, "d=0 c=4 b=9 ab=x a=1"},
		{"serializable", &pb.RangeRequest{Key: []byte("a"), Serializable: true}, 1, false, "a=1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := raw.Range(ctx(t), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, kv := range resp.Kvs {
				got = append(got, string(kv.Key)+"="+string(kv.Value))
			}
			if resp.Count != tc.count || resp.More != tc.more || strings.Join(got, " ") != tc.kvs || resp.Header.Revision != 9 {
				t.Fatalf("got count %d more %v kvs %q rev %d; want %d %v %q 9", resp.Count, resp.More, strings.Join(got, " "), resp.Header.Revision, tc.count, tc.more, tc.kvs)
			}
		})
	}
	for _, tc := range []struct {
		name string
		req  *pb.RangeRequest
		want error
	}{
		{"future revision", &pb.RangeRequest{Key: []byte("a"), Revision: 10}, rpctypes.ErrGRPCFutureRev},
		{"bad sort order", &pb.RangeRequest{Key: []byte("a"), SortOrder: 5}, rpctypes.ErrGRPCInvalidSortOption},
		{"bad sort target", &pb.RangeRequest{Key: []byte("a"), SortTarget: 9}, rpctypes.ErrGRPCInvalidSortOption},
		{"empty key", &pb.RangeRequest{}, rpctypes.ErrGRPCEmptyKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := raw.Range(ctx(t), tc.req)
			assertStatus(t, err, tc.want)
		})
	}
}

func TestDeleteRange(t *testing.T) {
	c := startMember(t, nil).client(t)
	rangeFixture(t, c)
	d := must[*clientv3.DeleteResponse](t)(c.Delete(ctx(t), "a", clientv3.WithRange("c"), clientv3.WithPrevKV()))
	if d.Deleted != 3 || d.Header.Revision != 10 || len(d.PrevKvs) != 3 || string(d.PrevKvs[0].Key) != "a" || string(d.PrevKvs[2].Key) != "b" {
		t.Fatalf("delete [a,c): %+v", d)
	}
	r := must[*clientv3.GetResponse](t)(c.Get(ctx(t), "", clientv3.WithFromKey()))
	if r.Count != 2 {
		t.Fatalf("left %d keys, want c and d", r.Count)
	}
	// Keys deleted together share one mod revision, visible in history.
	old := must[*clientv3.GetResponse](t)(c.Get(ctx(t), "a", clientv3.WithRev(9)))
	if len(old.Kvs) != 1 {
		t.Fatalf("history lost: %+v", old)
	}
	d = must[*clientv3.DeleteResponse](t)(c.Delete(ctx(t), "", clientv3.WithFromKey()))
	if d.Deleted != 2 || d.Header.Revision != 11 {
		t.Fatalf("delete everything: %+v", d)
	}
}

func TestCompaction(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	for i := 0; i < 5; i++ { // revisions 2..6
		must[*clientv3.PutResponse](t)(c.Put(ctx(t), "a", string(rune('0'+i))))
	}
	raw := pb.NewKVClient(c.ActiveConnection())
	steps := []struct {
		rev  int64
		want error
	}{
		{0, nil},
		{-1, rpctypes.ErrGRPCCompacted},
		{1, nil},
		{7, rpctypes.ErrGRPCFutureRev},
		{3, nil},
		{3, rpctypes.ErrGRPCCompacted},
		{2, rpctypes.ErrGRPCCompacted},
	}
	for _, s := range steps {
		resp, err := raw.Compact(ctx(t), &pb.CompactionRequest{Revision: s.rev})
		if s.want != nil {
			assertStatus(t, err, s.want)
			continue
		}
		if err != nil {
			t.Fatalf("compact %d: %v", s.rev, err)
		}
		if resp.Header.Revision != 6 {
			t.Fatalf("compact %d: header revision %d", s.rev, resp.Header.Revision)
		}
	}
	_, err := c.Get(ctx(t), "a", clientv3.WithRev(2))
	if !errors.Is(err, rpctypes.ErrCompacted) {
		t.Fatalf("read below compaction: %v", err)
	}
	r := must[*clientv3.GetResponse](t)(c.Get(ctx(t), "a", clientv3.WithRev(3)))
	if len(r.Kvs) != 1 || string(r.Kvs[0].Value) != "1" {
		t.Fatalf("read at compaction: %+v", r.Kvs)
	}
	must[*clientv3.CompactResponse](t)(c.Compact(ctx(t), 6, clientv3.WithCompactPhysical()))
	if _, err := c.Get(ctx(t), "a", clientv3.WithRev(5)); !errors.Is(err, rpctypes.ErrCompacted) {
		t.Fatalf("read below physical compaction: %v", err)
	}
	// A txn holding a range at a compacted revision fails as a whole.
	_, err = c.Txn(ctx(t)).Then(clientv3.OpPut("x", "1"), clientv3.OpGet("a", clientv3.WithRev(2))).Commit()
	if !errors.Is(err, rpctypes.ErrCompacted) {
		t.Fatalf("txn with compacted range: %v", err)
	}
	if r := must[*clientv3.GetResponse](t)(c.Get(ctx(t), "x")); r.Count != 0 {
		t.Fatal("failed txn left its put behind")
	}
	// etcd answers HashKV at a revision it compacted at from the hash that
	// compaction took: at 6 the compaction before was 3, and "compact 0"
	// left one for revision 0 too (the fresh store's hash).
	hk := must[*clientv3.HashKVResponse](t)(c.HashKV(ctx(t), m.listener.Addr().String(), 6))
	if hk.CompactRevision != 3 || hk.HashRevision != 6 {
		t.Fatalf("hashkv after compaction: %+v", hk)
	}
	hk = must[*clientv3.HashKVResponse](t)(c.HashKV(ctx(t), m.listener.Addr().String(), 0))
	if hk.Hash != 1084519789 || hk.CompactRevision != -1 || hk.HashRevision != 0 {
		t.Fatalf("hashkv 0 after compact 0: %+v", hk)
	}
}

func TestTxn(t *testing.T) {
	c := startMember(t, nil).client(t)
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "k1", "v1")) // rev 2

	// Compares see the state before the txn; reads see the txn's own writes.
	resp := must[*clientv3.TxnResponse](t)(c.Txn(ctx(t)).
		If(clientv3.Compare(clientv3.Value("k1"), "=", "v1")).
		Then(clientv3.OpPut("k1", "v2"), clientv3.OpGet("k1"), clientv3.OpTxn(
			[]clientv3.Cmp{clientv3.Compare(clientv3.Value("k1"), "=", "v2")},
			[]clientv3.Op{clientv3.OpPut("then", "1")},
			[]clientv3.Op{clientv3.OpPut("else", "1")},
		)).
		Else(clientv3.OpDelete("k1")).Commit())
	if !resp.Succeeded || resp.Header.Revision != 3 || len(resp.Responses) != 3 {
		t.Fatalf("txn: %+v", resp)
	}
	if got := resp.Responses[1].GetResponseRange(); got.Header.Revision != 3 || string(got.Kvs[0].Value) != "v2" {
		t.Fatalf("range inside txn: %+v", got)
	}
	nested := resp.Responses[2].GetResponseTxn()
	if nested.Succeeded || nested.Header.Revision != 0 || nested.Responses[0].GetResponsePut().Header.Revision != 3 {
		t.Fatalf("nested txn must see the pre-txn state and have an empty header: %+v", nested)
	}
	if r := must[*clientv3.GetResponse](t)(c.Get(ctx(t), "else")); r.Count != 1 || r.Kvs[0].ModRevision != 3 {
		t.Fatalf("nested else branch: %+v", r)
	}

	// Per-op revisions: an op before the first change shows the old revision.
	resp = must[*clientv3.TxnResponse](t)(c.Txn(ctx(t)).Then(clientv3.OpGet("k1"), clientv3.OpPut("k1", "v3")).Commit())
	if r := resp.Responses[0].GetResponseRange().Header.Revision; r != 3 {
		t.Fatalf("get before put saw rev %d, want 3", r)
	}
	if r := resp.Responses[1].GetResponsePut().Header.Revision; r != 4 {
		t.Fatalf("put saw rev %d, want 4", r)
	}

	// Missing keys compare as zeros; VALUE on a missing key is always false.
	for _, tc := range []struct {
		cmp  clientv3.Cmp
		want bool
	}{
		{clientv3.Compare(clientv3.Version("missing"), "=", 0), true},
		{clientv3.Compare(clientv3.CreateRevision("missing"), "=", 0), true},
		{clientv3.Compare(clientv3.Version("missing"), ">", 0), false},
		{clientv3.Compare(clientv3.Value("missing"), "=", ""), false},
		{clientv3.Compare(clientv3.Value("missing"), "!=", "x"), false},
		{clientv3.Compare(clientv3.Value("k1"), ">", "v2"), true},
		{clientv3.Compare(clientv3.ModRevision("k1"), "=", 4), true},
		{clientv3.Compare(clientv3.Version("k"), ">", 0).WithPrefix(), true},
		{clientv3.Compare(clientv3.Version("a"), ">", 0).WithRange("z"), true},
		{clientv3.Compare(clientv3.Version("zz"), "=", 0).WithPrefix(), true},
		{clientv3.Compare(clientv3.Value("zz"), "=", "").WithPrefix(), false},
		{clientv3.Compare(clientv3.LeaseValue("k1"), "=", 0), true},
		{clientv3.Compare(clientv3.CreateRevision("k1"), "<", 3), true},
		{clientv3.Compare(clientv3.Version("k1"), "!=", 3), false},
	} {
		r := must[*clientv3.TxnResponse](t)(c.Txn(ctx(t)).If(tc.cmp).Commit())
		if r.Succeeded != tc.want {
			t.Errorf("compare %v: succeeded %v, want %v", tc.cmp, r.Succeeded, tc.want)
		}
		if r.Header.Revision != 4 {
			t.Errorf("read-only txn moved the revision to %d", r.Header.Revision)
		}
	}

	// etcd compares 0 when the union member is not the one the target
	// names: VERSION against a create_revision value of 1 means version = 0.
	raw := pb.NewKVClient(c.ActiveConnection())
	mismatched := &pb.TxnRequest{Compare: []*pb.Compare{{Key: []byte("k1"), Target: pb.Compare_VERSION, Result: pb.Compare_EQUAL,
		TargetUnion: &pb.Compare_CreateRevision{CreateRevision: 3}}}}
	if r, err := raw.Txn(ctx(t), mismatched); err != nil || r.Succeeded {
		t.Fatalf("version=create_revision(3) on a key at version 3: %v, %v", r, err)
	}
	mismatched.Compare[0].Result = pb.Compare_LESS
	mismatched.Compare[0].TargetUnion = &pb.Compare_Value{Value: []byte("zzz")}
	if r, err := raw.Txn(ctx(t), mismatched); err != nil || r.Succeeded {
		t.Fatalf("version < value(zzz): %v, %v", r, err)
	}

	// The branch not taken is not validated at apply time.
	must[*clientv3.TxnResponse](t)(c.Txn(ctx(t)).Then(clientv3.OpPut("ok", "1")).Else(clientv3.OpPut("x", "1", clientv3.WithLease(99))).Commit())
	_, err := c.Txn(ctx(t)).Then(clientv3.OpPut("bad", "1", clientv3.WithLease(99))).Commit()
	if !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		t.Fatalf("lease in the taken branch: %v", err)
	}
}

func TestTxnValidation(t *testing.T) {
	c := startMember(t, nil).client(t)
	raw := pb.NewKVClient(c.ActiveConnection())
	put := func(k string) *pb.RequestOp {
		return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte(k)}}}
	}
	del := func(k, end string) *pb.RequestOp {
		return &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: &pb.DeleteRangeRequest{Key: []byte(k), RangeEnd: []byte(end)}}}
	}
	nested := func(success ...*pb.RequestOp) *pb.RequestOp {
		return &pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: &pb.TxnRequest{Success: success}}}
	}
	puts := func(n int) []*pb.RequestOp {
		ops := make([]*pb.RequestOp, n)
		for i := range ops {
			ops[i] = put(strings.Repeat("k", i+1))
		}
		return ops
	}
	for _, tc := range []struct {
		name string
		req  *pb.TxnRequest
		want error
	}{
		{"128 puts", &pb.TxnRequest{Success: puts(128)}, nil},
		{"129 puts", &pb.TxnRequest{Success: puts(129)}, rpctypes.ErrGRPCTooManyOps},
		{"129 failure ops", &pb.TxnRequest{Failure: puts(129)}, rpctypes.ErrGRPCTooManyOps},
		{"nested limit 27", &pb.TxnRequest{Success: append(puts(100), nested(puts(27)...))}, rpctypes.ErrGRPCDuplicateKey},
		{"nested limit 28", &pb.TxnRequest{Success: append(puts(100), nested(puts(28)...))}, rpctypes.ErrGRPCTooManyOps},
		{"put put", &pb.TxnRequest{Success: []*pb.RequestOp{put("k"), put("k")}}, rpctypes.ErrGRPCDuplicateKey},
		{"del range then put inside", &pb.TxnRequest{Success: []*pb.RequestOp{del("a", "z"), put("m")}}, rpctypes.ErrGRPCDuplicateKey},
		{"del range then put at end", &pb.TxnRequest{Success: []*pb.RequestOp{del("a", "m"), put("m")}}, nil},
		{"from-key delete quirk", &pb.TxnRequest{Success: []*pb.RequestOp{del("a", "\x00"), put("m")}}, nil},
		{"success and failure", &pb.TxnRequest{Success: []*pb.RequestOp{put("k")}, Failure: []*pb.RequestOp{put("k")}}, nil},
		{"nested duplicate", &pb.TxnRequest{Success: []*pb.RequestOp{put("k"), nested(put("k"))}}, rpctypes.ErrGRPCDuplicateKey},
		{"empty op", &pb.TxnRequest{Success: []*pb.RequestOp{{}}}, rpctypes.ErrGRPCKeyNotFound},
		{"empty compare key", &pb.TxnRequest{Compare: []*pb.Compare{{}}}, rpctypes.ErrGRPCEmptyKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := raw.Txn(ctx(t), tc.req)
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			assertStatus(t, err, tc.want)
		})
	}
}

func TestRequestTooLarge(t *testing.T) {
	c := startMember(t, nil).client(t)
	_, err := c.Put(ctx(t), "big", strings.Repeat("x", 1600*1024))
	if !errors.Is(err, rpctypes.ErrRequestTooLarge) {
		t.Fatalf("1.6 MB put: %v", err)
	}
	_, err = c.Put(ctx(t), "huge", strings.Repeat("x", 2200*1024))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("2.2 MB put: %v", err)
	}
}

// etcd measures --max-request-bytes on the request as it proposes it: an
// InternalRaftRequest with a RequestHeader holding the request ID (the
// member's low 16 bits above 48 bits of timestamp and counter). A put whose
// entry is exactly the limit passes and one byte more is refused, on every
// RPC that proposes (etcd 3.6.6: a PutRequest of 1572848 bytes was refused
// at the default limit, which the entry Larch proposes left 1 byte under).
func TestRequestTooLargeBoundary(t *testing.T) {
	const limit = 10000
	m := startMember(t, func(c *cluster.Config, api *v3api.Config) {
		c.MaxRequestBytes = limit
		api.MaxRequestBytes = limit
	})
	kv := pb.NewKVClient(m.client(t).ActiveConnection())
	id := uint64(m.server.ID()) << 48
	if id == 0 {
		t.Skip("member ID with zero low bits: the request ID's length depends on the time")
	}
	entry := func(r *pb.InternalRaftRequest) int {
		r.Header = &pb.RequestHeader{ID: id}
		return r.Size()
	}
	value := func(size int, build func(v string) *pb.InternalRaftRequest) string {
		n := size - entry(build(""))
		for entry(build(strings.Repeat("x", n))) < size {
			n++
		}
		for entry(build(strings.Repeat("x", n))) > size {
			n--
		}
		if entry(build(strings.Repeat("x", n))) != size {
			t.Fatalf("no value gives an entry of %d bytes", size)
		}
		return strings.Repeat("x", n)
	}
	putReq := func(v string) *pb.InternalRaftRequest {
		return &pb.InternalRaftRequest{Put: &pb.PutRequest{Key: []byte("big"), Value: []byte(v)}}
	}
	for _, size := range []int{limit, limit + 1} {
		_, err := kv.Put(ctx(t), putReq(value(size, putReq)).Put)
		checkLimit(t, "put", size, err)
	}

	txnReq := func(v string) *pb.InternalRaftRequest {
		return &pb.InternalRaftRequest{Txn: &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte("big"), Value: []byte(v)}}}}}}
	}
	for _, size := range []int{limit, limit + 1} {
		_, err := kv.Txn(ctx(t), txnReq(value(size, txnReq)).Txn)
		checkLimit(t, "txn", size, err)
	}

	delReq := func(k string) *pb.InternalRaftRequest {
		return &pb.InternalRaftRequest{DeleteRange: &pb.DeleteRangeRequest{Key: []byte(k)}}
	}
	for _, size := range []int{limit, limit + 1} {
		_, err := kv.DeleteRange(ctx(t), delReq(value(size, delReq)).DeleteRange)
		checkLimit(t, "delete", size, err)
	}
}

// checkLimit wants a request of size bytes through under limit, refused above it.
func checkLimit(t *testing.T, what string, size int, err error) {
	t.Helper()
	if size <= 10000 {
		if err != nil {
			t.Fatalf("%s of %d bytes: %v", what, size, err)
		}
		return
	}
	assertStatus(t, err, rpctypes.ErrGRPCRequestTooLarge)
}

func TestMaintenanceAndCluster(t *testing.T) {
	m := startMember(t, func(_ *cluster.Config, api *v3api.Config) { api.QuotaBackendBytes = 1 << 30 })
	c := m.client(t)
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "a", "1"))
	st := must[*clientv3.StatusResponse](t)(c.Status(ctx(t), m.listener.Addr().String()))
	if st.Version != v3api.ServerVersion || st.Leader != uint64(m.server.ID()) || st.RaftTerm < 2 || st.RaftAppliedIndex == 0 ||
		st.DbSizeQuota != 1<<30 || st.Header.Revision != 2 || len(st.Errors) != 0 {
		t.Fatalf("status: %+v", st)
	}
	ml := must[*clientv3.MemberListResponse](t)(c.MemberList(ctx(t)))
	if len(ml.Members) != 1 || ml.Members[0].Name != "m1" || ml.Members[0].ClientURLs[0] != m.URL || ml.Header.Revision != 0 {
		t.Fatalf("member list: %+v", ml)
	}
	al := must[*clientv3.AlarmResponse](t)(c.AlarmList(ctx(t)))
	if len(al.Alarms) != 0 || al.Header.Revision != 2 {
		t.Fatalf("alarm list: %+v", al)
	}
	_, err := pb.NewAuthClient(c.ActiveConnection()).Authenticate(ctx(t), &pb.AuthenticateRequest{Name: "root", Password: "x"})
	assertStatus(t, err, rpctypes.ErrGRPCAuthNotEnabled)
}

// TestRestart checks that state written before a clean stop is back after
// a restart, through WAL replay, and through a snapshot plus replay.
func TestRestart(t *testing.T) {
	for _, snapshotCount := range []uint64{0, 5} {
		m := startMember(t, func(c *cluster.Config, _ *v3api.Config) { c.SnapshotCount = snapshotCount })
		c := m.client(t)
		for i := 0; i < 23; i++ {
			must[*clientv3.PutResponse](t)(c.Put(ctx(t), "k"+strings.Repeat("x", i%4), string(rune('a'+i))))
		}
		before := must[*clientv3.GetResponse](t)(c.Get(ctx(t), "", clientv3.WithFromKey()))
		m.restart()
		c = m.client(t)
		after := must[*clientv3.GetResponse](t)(c.Get(ctx(t), "", clientv3.WithFromKey()))
		if after.Header.Revision != before.Header.Revision || len(after.Kvs) != len(before.Kvs) {
			t.Fatalf("snapshot count %d: before %v after %v", snapshotCount, before.Kvs, after.Kvs)
		}
		for i := range before.Kvs {
			if kvString(before.Kvs[i]) != kvString(after.Kvs[i]) {
				t.Fatalf("snapshot count %d: %s became %s", snapshotCount, kvString(before.Kvs[i]), kvString(after.Kvs[i]))
			}
		}
		if p := must[*clientv3.PutResponse](t)(c.Put(ctx(t), "after", "1")); p.Header.Revision != before.Header.Revision+1 {
			t.Fatalf("first write after restart got revision %d", p.Header.Revision)
		}
	}
}

func TestStatusOfAnEmptyMember(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	st, err := c.Status(ctx(t), m.URL)
	if err != nil {
		t.Fatal(err)
	}
	// etcdctl's endpoint status table divides by the size.
	if st.DbSize <= 0 || st.DbSizeInUse != st.DbSize {
		t.Fatalf("db size %d, in use %d", st.DbSize, st.DbSizeInUse)
	}
	if st.IsLearner || st.Leader != st.Header.MemberId || st.RaftAppliedIndex == 0 {
		t.Fatalf("status %+v", st)
	}
}
