package clustertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/larchkv/larch/v3api"
)

func health(t *testing.T, m *Member) string {
	t.Helper()
	resp, err := http.Get(m.ClientURL + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// TestQuotaNoSpace walks etcd's space-quota runbook: fill the quota, see
// NOSPACE raised cluster-wide with reads, deletes and compaction still
// working; a disarm before the space is given back does not stick; after
// compaction and defragmentation on every member the disarm does, and
// writes resume. The alarm survives a restart.
func TestQuotaNoSpace(t *testing.T) {
	const quota = 256 << 10
	c := New(t, Config{TuneAPI: func(cfg *v3api.Config) { cfg.QuotaBackendBytes = quota }})
	ctx := context.Background()
	cli := c.Members()[0].Client()
	value := strings.Repeat("v", 4<<10)
	var lastRev int64
	written := 0
	for ; ; written++ {
		resp, err := cli.Put(ctx, fmt.Sprintf("k%04d", written%20), value)
		if errors.Is(err, rpctypes.ErrNoSpace) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		lastRev = resp.Header.Revision
		if written > 10*quota/len(value) {
			t.Fatalf("%d puts of %d bytes and the quota of %d bytes was never reached", written, len(value), quota)
		}
	}
	if written < quota/(len(value)+300) {
		t.Fatalf("NOSPACE after %d puts of %d bytes, below the quota of %d", written, len(value), quota)
	}

	alarms, err := cli.AlarmList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(alarms.Alarms) != 1 || alarms.Alarms[0].Alarm != pb.AlarmType_NOSPACE || alarms.Alarms[0].MemberID != uint64(c.Members()[0].ID()) {
		t.Fatalf("alarms = %v, want NOSPACE of %s", alarms.Alarms, c.Members()[0].ID())
	}
	// Every member refuses growing writes, a txn of puts and a lease
	// grant; deletes and reads work.
	for _, m := range c.Members() {
		mc := m.Client()
		if _, err := mc.Put(ctx, "small", "x"); !errors.Is(err, rpctypes.ErrNoSpace) {
			t.Fatalf("%s: put under NOSPACE: %v", m.Name, err)
		}
		if _, err := mc.Txn(ctx).Then(clientv3.OpPut("t", "x")).Commit(); !errors.Is(err, rpctypes.ErrNoSpace) {
			t.Fatalf("%s: txn under NOSPACE: %v", m.Name, err)
		}
		if _, err := mc.Grant(ctx, 60); !errors.Is(err, rpctypes.ErrNoSpace) {
			t.Fatalf("%s: lease grant under NOSPACE: %v", m.Name, err)
		}
		if got, err := mc.Get(ctx, "k0000"); err != nil || len(got.Kvs) != 1 {
			t.Fatalf("%s: get under NOSPACE: %v %v", m.Name, got, err)
		}
		if h := health(t, m); h != `{"health":"false","reason":"ALARM NOSPACE"}` {
			t.Fatalf("%s: /health = %s", m.Name, h)
		}
		st, err := mc.Status(ctx, m.ClientURL)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("memberID:%d alarm:NOSPACE ", c.Members()[0].ID())
		if len(st.Errors) != 1 || st.Errors[0] != want || st.DbSizeQuota != quota || st.DbSize < quota-64<<10 {
			t.Fatalf("%s: status errors %q (want %q), db size %d, quota %d", m.Name, st.Errors, want, st.DbSize, st.DbSizeQuota)
		}
	}
	if _, err := cli.Delete(ctx, "k0019"); err != nil {
		t.Fatalf("delete under NOSPACE: %v", err)
	}

	// The alarm is replicated state: it survives a restart.
	c.Members()[2].Stop()
	c.Members()[2].Restart()
	c.Members()[2].WaitReady()
	if got := c.Members()[2].Server().Alarms(); len(got) != 1 || got[0].Type != pb.AlarmType_NOSPACE {
		t.Fatalf("alarms after restart: %v", got)
	}

	// Disarming before the space is given back does not stick: the next
	// write as large as the one refused raises the alarm again (deleting
	// and compacting free space in use, not the space taken).
	if _, err := cli.AlarmDisarm(ctx, &clientv3.AlarmMember{MemberID: alarms.Alarms[0].MemberID, Alarm: pb.AlarmType_NOSPACE}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "k0000", value); !errors.Is(err, rpctypes.ErrNoSpace) {
		t.Fatalf("put after disarm without defrag: %v", err)
	}

	if _, err := cli.Compact(ctx, lastRev); err != nil {
		t.Fatalf("compaction under NOSPACE: %v", err)
	}
	for _, m := range c.Members() {
		// Compact answers once one member applied it; a follower's
		// defragment must come after its own compaction.
		waitFor(t, m.Name+" to apply the compaction", func() bool { return m.Server().KV().CompactRev() >= lastRev })
		before, err := cli.Status(ctx, m.ClientURL)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Client().Defragment(ctx, m.ClientURL); err != nil {
			t.Fatalf("%s: defragment: %v", m.Name, err)
		}
		after, err := cli.Status(ctx, m.ClientURL)
		if err != nil {
			t.Fatal(err)
		}
		if after.DbSize >= before.DbSize || after.DbSize != after.DbSizeInUse || after.DbSize >= quota/2 {
			t.Fatalf("%s: defragment took the db size from %d to %d (in use %d)", m.Name, before.DbSize, after.DbSize, after.DbSizeInUse)
		}
	}
	alarms, err = cli.AlarmList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range alarms.Alarms {
		if _, err := cli.AlarmDisarm(ctx, &clientv3.AlarmMember{MemberID: a.MemberID, Alarm: a.Alarm}); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range c.Members() {
		if _, err := m.Client().Put(ctx, "small", "x"); err != nil {
			t.Fatalf("%s: put after compaction, defragmentation and disarm: %v", m.Name, err)
		}
		if h := health(t, m); h != `{"health":"true","reason":""}` {
			t.Fatalf("%s: /health = %s", m.Name, h)
		}
	}
	if alarms, err := cli.AlarmList(ctx); err != nil || len(alarms.Alarms) != 0 {
		t.Fatalf("alarms after disarm: %v %v", alarms, err)
	}
}

// TestCorruptAlarm: a CORRUPT alarm raised by hand stops every write,
// compaction included, while reads go on, and /health and /readyz say so.
func TestCorruptAlarm(t *testing.T) {
	c := New(t, Config{Size: 1})
	ctx := context.Background()
	m := c.Members()[0]
	cli := m.Client()
	if _, err := cli.Put(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.AlarmList(ctx)
	if err != nil || len(resp.Alarms) != 0 {
		t.Fatalf("alarms at start: %v %v", resp, err)
	}
	// Raising it again answers with the alarm too, as etcd does.
	for range 2 {
		resp, err := m.Server().Alarm(ctx, &pb.AlarmRequest{Action: pb.AlarmRequest_ACTIVATE, MemberID: uint64(m.ID()), Alarm: pb.AlarmType_CORRUPT})
		if err != nil || len(resp.Alarms) != 1 || resp.Alarms[0].Alarm != pb.AlarmType_CORRUPT {
			t.Fatalf("activate CORRUPT: %v %v", resp, err)
		}
	}
	for name, write := range map[string]func() error{
		"put":     func() error { _, err := cli.Put(ctx, "a", "2"); return err },
		"delete":  func() error { _, err := cli.Delete(ctx, "a"); return err },
		"compact": func() error { _, err := cli.Compact(ctx, 1); return err },
		"grant":   func() error { _, err := cli.Grant(ctx, 60); return err },
	} {
		if err := write(); !errors.Is(err, rpctypes.ErrCorrupt) {
			t.Errorf("%s under CORRUPT: %v, want %v", name, err, rpctypes.ErrCorrupt)
		}
	}
	if got, err := cli.Get(ctx, "a"); err != nil || string(got.Kvs[0].Value) != "1" {
		t.Fatalf("get under CORRUPT: %v %v", got, err)
	}
	if h := health(t, m); h != `{"health":"false","reason":"ALARM CORRUPT"}` {
		t.Fatalf("/health = %s", h)
	}
	r, err := http.Get(m.ClientURL + "/readyz/data_corruption")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz/data_corruption: %s", r.Status)
	}
	if _, err := cli.AlarmDisarm(ctx, &clientv3.AlarmMember{MemberID: uint64(m.ID()), Alarm: pb.AlarmType_CORRUPT}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Put(ctx, "a", "2"); err != nil {
		t.Fatalf("put after disarm: %v", err)
	}
}

// TestQuotaDisabled: a negative quota is no quota (etcd's rule), not one
// every write exceeds.
func TestQuotaDisabled(t *testing.T) {
	c := New(t, Config{Size: 1, TuneAPI: func(cfg *v3api.Config) { cfg.QuotaBackendBytes = -1 }})
	ctx := context.Background()
	value := strings.Repeat("v", 4<<10)
	for i := range 100 {
		if _, err := c.Client().Put(ctx, fmt.Sprintf("k%d", i), value); err != nil {
			t.Fatal(err)
		}
	}
	if alarms := c.Members()[0].Server().Alarms(); len(alarms) != 0 {
		t.Fatalf("alarms: %v", alarms)
	}
}
