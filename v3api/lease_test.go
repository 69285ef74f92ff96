package v3api_test

import (
	"fmt"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestLeaseGrantAttachRevoke(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	g := must[*clientv3.LeaseGrantResponse](t)(c.Grant(ctx(t), 60))
	if g.ID == 0 || g.TTL != 60 {
		t.Fatalf("grant %+v", g)
	}
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "a", "1", clientv3.WithLease(g.ID)))
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "b", "2", clientv3.WithLease(g.ID)))
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "c", "3"))
	ttl := must[*clientv3.LeaseTimeToLiveResponse](t)(c.TimeToLive(ctx(t), g.ID, clientv3.WithAttachedKeys()))
	if ttl.GrantedTTL != 60 || ttl.TTL <= 0 || ttl.TTL > 60 || len(ttl.Keys) != 2 {
		t.Fatalf("time to live %+v", ttl)
	}
	leases := must[*clientv3.LeaseLeasesResponse](t)(c.Leases(ctx(t)))
	if len(leases.Leases) != 1 || leases.Leases[0].ID != g.ID {
		t.Fatalf("leases %+v", leases.Leases)
	}
	// Revoking deletes the attached keys in one revision.
	before := must[*clientv3.GetResponse](t)(c.Get(ctx(t), "c")).Header.Revision
	rv := must[*clientv3.LeaseRevokeResponse](t)(c.Revoke(ctx(t), g.ID))
	if rv.Header.Revision != before+1 {
		t.Fatalf("revoke at revision %d, want %d", rv.Header.Revision, before+1)
	}
	got := must[*clientv3.GetResponse](t)(c.Get(ctx(t), "", clientv3.WithPrefix()))
	if len(got.Kvs) != 1 || string(got.Kvs[0].Key) != "c" {
		t.Fatalf("keys after revoke: %v", got.Kvs)
	}
	if _, err := c.Revoke(ctx(t), g.ID); err != rpctypes.ErrLeaseNotFound {
		t.Fatalf("revoke twice: %v", err)
	}
	if ttl := must[*clientv3.LeaseTimeToLiveResponse](t)(c.TimeToLive(ctx(t), g.ID)); ttl.TTL != -1 {
		t.Fatalf("time to live of a revoked lease: %d", ttl.TTL)
	}
	if _, err := c.Put(ctx(t), "d", "4", clientv3.WithLease(g.ID)); err != rpctypes.ErrLeaseNotFound {
		t.Fatalf("put with a revoked lease: %v", err)
	}
}

func TestLeaseGrantRules(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	// A TTL below the minimum (1.5 election timeouts, rounded up) is raised.
	g := must[*clientv3.LeaseGrantResponse](t)(c.Grant(ctx(t), 0))
	if g.TTL != m.server.MinLeaseTTL() {
		t.Fatalf("TTL 0 granted as %d, want %d", g.TTL, m.server.MinLeaseTTL())
	}
	if _, err := c.Grant(ctx(t), 9000000001); err != rpctypes.ErrLeaseTTLTooLarge {
		t.Fatalf("too large a TTL: %v", err)
	}
	// A client-chosen ID, then the same ID again.
	lc := pb.NewLeaseClient(c.ActiveConnection())
	if r, err := lc.LeaseGrant(ctx(t), &pb.LeaseGrantRequest{ID: 42, TTL: 10}); err != nil || r.ID != 42 {
		t.Fatalf("grant of ID 42: %+v, %v", r, err)
	}
	if _, err := lc.LeaseGrant(ctx(t), &pb.LeaseGrantRequest{ID: 42, TTL: 10}); err == nil || err.Error() != rpctypes.ErrGRPCLeaseExist.Error() {
		t.Fatalf("granting ID 42 twice: %v", err)
	}
}

func TestLeaseExpiresAndKeepAliveHolds(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	short := must[*clientv3.LeaseGrantResponse](t)(c.Grant(ctx(t), 1))
	// kept's TTL leaves the client's keep-alive cadence (TTL/3, on a
	// 500 ms tick) room for a slow round trip under -race; the test holds
	// on past 1.5 TTLs, so a lease not renewed would be gone by then.
	kept := must[*clientv3.LeaseGrantResponse](t)(c.Grant(ctx(t), 2))
	held := time.After(3 * time.Second)
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "short", "v", clientv3.WithLease(short.ID)))
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "kept", "v", clientv3.WithLease(kept.ID)))
	ch, err := c.KeepAlive(ctx(t), kept.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The short lease goes; its key goes with it, as a delete event.
	wch := c.Watch(ctx(t), "short", clientv3.WithRev(1))
	deadline := time.After(20 * time.Second)
	for deleted, holding := false, true; !deleted || holding; {
		select {
		case resp := <-wch:
			for _, ev := range resp.Events {
				deleted = deleted || ev.Type == clientv3.EventTypeDelete
			}
		case ka := <-ch:
			if ka == nil {
				t.Fatal("keep-alive channel closed")
			}
		case <-held:
			holding = false
		case <-deadline:
			t.Fatal("the unrenewed lease never expired")
		}
	}
	if got := must[*clientv3.GetResponse](t)(c.Get(ctx(t), "kept")); len(got.Kvs) != 1 {
		t.Fatal("the kept-alive lease's key is gone")
	}
}

func TestLeaseAttachmentFollowsPuts(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	g := must[*clientv3.LeaseGrantResponse](t)(c.Grant(ctx(t), 60))
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "kept", "1", clientv3.WithLease(g.ID)))
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "moved", "1", clientv3.WithLease(g.ID)))
	// ignore_lease keeps the key on its lease; a plain put takes it off.
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "kept", "2", clientv3.WithIgnoreLease()))
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "moved", "2"))
	// A txn compares on the lease.
	tr := must[*clientv3.TxnResponse](t)(c.Txn(ctx(t)).If(clientv3.Compare(clientv3.LeaseValue("kept"), "=", g.ID)).
		Then(clientv3.OpPut("txn", "saw-lease")).Commit())
	if !tr.Succeeded {
		t.Fatal("txn compare on the lease failed")
	}
	ttl := must[*clientv3.LeaseTimeToLiveResponse](t)(c.TimeToLive(ctx(t), g.ID, clientv3.WithAttachedKeys()))
	if len(ttl.Keys) != 1 || string(ttl.Keys[0]) != "kept" {
		t.Fatalf("attached keys %q, want [kept]", ttl.Keys)
	}
	must[*clientv3.LeaseRevokeResponse](t)(c.Revoke(ctx(t), g.ID))
	got := must[*clientv3.GetResponse](t)(c.Get(ctx(t), "", clientv3.WithPrefix(), clientv3.WithKeysOnly()))
	var keys []string
	for _, kv := range got.Kvs {
		keys = append(keys, string(kv.Key))
	}
	if fmt.Sprint(keys) != "[moved txn]" {
		t.Fatalf("keys after revoke %v, want [moved txn]", keys)
	}
}

// TestManyExpiringLeasesDoNotStallWrites: a write made while thousands of
// leases expire completes while some of them still wait for their
// revocation (which goes out at a bounded rate, as separate entries), and
// in the end every lease and its key is gone. It would fail if expiry
// revoked everything in one step that writes had to wait behind; it does
// not measure the rate itself.
func TestManyExpiringLeasesDoNotStallWrites(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	const n = 2000
	for i := range n {
		g := must[*clientv3.LeaseGrantResponse](t)(c.Grant(ctx(t), 1))
		must[*clientv3.PutResponse](t)(c.Put(ctx(t), fmt.Sprintf("l/%04d", i), "v", clientv3.WithLease(g.ID)))
	}
	// Wait for the first revocations, then write.
	for len(m.server.Leases().IDs()) == n {
		time.Sleep(10 * time.Millisecond) // expiry has no event a client can wait on
	}
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "probe", "v"))
	// Revocations go out at most 500 per 500 ms tick, so 2000 take several
	// ticks: a write that completes before the last of them did not wait
	// behind them all.
	if left := len(m.server.Leases().IDs()); left == 0 {
		t.Fatalf("a write waited until all %d leases were revoked", n)
	}
	for len(m.server.Leases().IDs()) > 0 {
		time.Sleep(10 * time.Millisecond) // as above
	}
	got := must[*clientv3.GetResponse](t)(c.Get(ctx(t), "l/", clientv3.WithPrefix(), clientv3.WithCountOnly()))
	if got.Count != 0 {
		t.Fatalf("%d keys of revoked leases left", got.Count)
	}
}

// A txn that puts a key with a lease and then deletes it with a range
// delete leaves it on no lease: a later plain put of the key must survive
// the lease's revocation.
func TestTxnPutThenRangeDeleteDetachesTheKey(t *testing.T) {
	m := startMember(t, nil)
	c := m.client(t)
	g := must[*clientv3.LeaseGrantResponse](t)(c.Grant(ctx(t), 60))
	must[*clientv3.TxnResponse](t)(c.Txn(ctx(t)).Then(
		clientv3.OpPut("b", "1", clientv3.WithLease(g.ID)),
		clientv3.OpDelete("a", clientv3.WithFromKey()),
	).Commit())
	ttl := must[*clientv3.LeaseTimeToLiveResponse](t)(c.TimeToLive(ctx(t), g.ID, clientv3.WithAttachedKeys()))
	if len(ttl.Keys) != 0 {
		t.Fatalf("keys attached after the txn deleted them: %q", ttl.Keys)
	}
	must[*clientv3.PutResponse](t)(c.Put(ctx(t), "b", "plain"))
	must[*clientv3.LeaseRevokeResponse](t)(c.Revoke(ctx(t), g.ID))
	if got := must[*clientv3.GetResponse](t)(c.Get(ctx(t), "b")); len(got.Kvs) != 1 {
		t.Fatal("a key never on the lease was deleted by its revocation")
	}
}
