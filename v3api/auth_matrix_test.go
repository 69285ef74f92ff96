package v3api_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

var updateMatrix = flag.Bool("update", false,
	"rewrite "+authMatrixGolden+" from the server named by $LARCH_AUTH_MATRIX_ENDPOINT (etcd 3.6.6, see TestAuthMatrix)")

const authMatrixGolden = "../testdata/v3api/auth_matrix.golden"

// TestAuthMatrix is issue 6's permission matrix for the v3 API: once auth is
// on, every v3 RPC is called by every kind of caller, and the outcomes must be
// exactly those of etcd 3.6.6, recorded in ../testdata/v3api/auth_matrix.golden
// as one line per call: "<RPC> <variant> <caller>: OK", or ": <gRPC code>
// <message>" (streams: "created", "canceled <reason>").
//
// The callers, in the order each row is tried: none (no token), bogus (a token
// the server never issued), carol (a user without roles), bob (role ro: READ
// on the prefix a/), dave (role wo: WRITE on a/, which shows where etcd wants
// READ as well, as for prev_kv), alice (role rw: READWRITE on a/) and root.
//
// Every call goes through raw gRPC stubs, the caller's token in the "token"
// metadata, so that no client library retries or refreshes a token in
// between. Mutating rows act on names of their own per caller (users del-bob,
// roles gprole-alice, a lease per caller to revoke, ...), so a call that
// succeeds does not change what a later caller sees; the few rows whose order
// still matters say so where they are built. AuthDisable comes last.
//
// The golden comes from etcd, never from Larch. To regenerate it, start a
// fresh etcd 3.6.6 (the test needs an empty server) on loopback ports and run
// the test against it:
//
//	d=$(mktemp -d)
//	/tmp/etcdref/bin/etcd --name m1 --data-dir $d/m1 --log-level error \
//	    --listen-client-urls http://127.0.0.1:32379 --advertise-client-urls http://127.0.0.1:32379 \
//	    --listen-peer-urls http://127.0.0.1:32380 --initial-advertise-peer-urls http://127.0.0.1:32380 \
//	    --initial-cluster m1=http://127.0.0.1:32380 &
//	LARCH_AUTH_MATRIX_ENDPOINT=127.0.0.1:32379 GOTOOLCHAIN=local go test ./v3api -run TestAuthMatrix -update -count=1
//	kill %1; rm -rf $d
//
// Without -update, LARCH_AUTH_MATRIX_ENDPOINT compares that server with the
// golden (how the golden's stability is checked); without the variable the
// test starts a Larch member.
func TestAuthMatrix(t *testing.T) {
	endpoint := os.Getenv("LARCH_AUTH_MATRIX_ENDPOINT")
	if *updateMatrix && endpoint == "" {
		t.Fatal("-update needs LARCH_AUTH_MATRIX_ENDPOINT: the golden is recorded from etcd 3.6.6, not from Larch")
	}
	if endpoint == "" {
		endpoint = strings.TrimPrefix(startMember(t, nil).URL, "http://")
	}
	fx := newAuthMatrixFixture(t, endpoint)

	var got []string
	for _, row := range fx.rows() {
		for _, c := range fx.callers {
			if row.setup != nil {
				row.setup(c)
			}
			cctx, cancel := fx.callCtx(c)
			detail, err := row.call(cctx, c)
			cancel()
			got = append(got, fmt.Sprintf("%s %s %s: %s", row.rpc, row.variant, c.name, fx.normalise(outcome(detail, err))))
		}
	}

	if *updateMatrix {
		st, err := fx.maint.Status(fx.rootCtx(), &pb.StatusRequest{})
		if err != nil {
			t.Fatalf("status of the reference server: %v", err)
		}
		text := fmt.Sprintf("# TestAuthMatrix (v3api/auth_matrix_test.go), recorded from etcd %s; regenerate as its doc comment says.\n", st.Version) +
			strings.Join(got, "\n") + "\n"
		if err := os.MkdirAll(filepath.Dir(authMatrixGolden), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(authMatrixGolden, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %d rows to %s", len(got), authMatrixGolden)
		return
	}
	compareAuthMatrix(t, got)
}

// larchDiffers are the rows where Larch answers otherwise than etcd 3.6.6 on
// purpose, with Larch's answer and why.
var larchDiffers = map[string]struct{ want, why string }{
	"Watch from-key-a/ bob":                  {"canceled rpc error: code = PermissionDenied desc = etcdserver: permission denied", fromKeyWhy},
	"Watch from-key-a/ alice":                {"canceled rpc error: code = PermissionDenied desc = etcdserver: permission denied", fromKeyWhy},
	"Txn nested-put-a/ none":                 {"InvalidArgument etcdserver: user name is empty", nestedWhy},
	"Txn nested-put-a/ carol":                {"PermissionDenied etcdserver: permission denied", nestedWhy},
	"Txn nested-put-a/ bob":                  {"PermissionDenied etcdserver: permission denied", nestedWhy},
	"Txn nested-put-a/ dave":                 {"PermissionDenied etcdserver: permission denied", nestedWhy},
	"Txn nested-put-zt dave":                 {"PermissionDenied etcdserver: permission denied", nestedWhy},
	"Txn nested-put-zt alice":                {"PermissionDenied etcdserver: permission denied", nestedWhy},
	"Txn nested-range-z none":                {"InvalidArgument etcdserver: user name is empty", nestedWhy},
	"Txn nested-range-z carol":               {"PermissionDenied etcdserver: permission denied", nestedWhy},
	"Txn nested-range-z bob":                 {"PermissionDenied etcdserver: permission denied", nestedWhy},
	"Txn nested-range-z dave":                {"PermissionDenied etcdserver: permission denied", nestedWhy},
	"Txn nested-range-z alice":               {"PermissionDenied etcdserver: permission denied", nestedWhy},
	"Downgrade validate-1.0.0 root":          {"Unimplemented method Downgrade not implemented", downgradeWhy},
	"Downgrade cancel-none-in-progress root": {"Unimplemented method Downgrade not implemented", downgradeWhy},
}

const (
	nestedWhy = "etcd 3.6.6 checks neither the compares nor the operations of a nested txn, " +
		"which lets anyone write and read outside their permissions; Larch checks them as it checks the outer txn"
	fromKeyWhy = "etcd 3.6.6 checks a from-key watch as its first key only, so reading one key shows every later one; " +
		"Larch checks the whole range, as it does for a from-key Range"
	downgradeWhy = "Larch has one storage version and no downgrade to manage: root is told Downgrade is not " +
		"implemented (everyone else is refused exactly as etcd refuses them)"
)

// compareAuthMatrix reports every row whose outcome differs from the
// golden's, and the rows one side has and the other lacks. Rows are matched
// by their "<RPC> <variant> <caller>" part.
func compareAuthMatrix(t *testing.T, got []string) {
	t.Helper()
	data, err := os.ReadFile(authMatrixGolden)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	var order []string
	for line := range strings.SplitSeq(strings.TrimRight(string(data), "\n"), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, _ := strings.Cut(line, ": ")
		want[k] = v
		order = append(order, k)
	}
	var diffs []string
	seen := map[string]bool{}
	for _, line := range got {
		k, v, _ := strings.Cut(line, ": ")
		seen[k] = true
		w, ok := want[k]
		if d, differs := larchDiffers[k]; differs && ok {
			if w == d.want {
				diffs = append(diffs, fmt.Sprintf("%s\n\tetcd now answers %s as Larch does: drop it from larchDiffers", k, w))
			}
			w = d.want
		}
		switch {
		case !ok:
			diffs = append(diffs, fmt.Sprintf("%s\n\tgot  %s\n\tnot in the golden", k, v))
		case w != v:
			diffs = append(diffs, fmt.Sprintf("%s\n\tgot  %s\n\twant %s", k, v, w))
		}
	}
	for _, k := range order {
		if !seen[k] {
			diffs = append(diffs, fmt.Sprintf("%s\n\tnot run\n\twant %s", k, want[k]))
		}
	}
	if len(diffs) > 0 {
		t.Errorf("%d of %d rows differ from %s (etcd 3.6.6):\n%s", len(diffs), len(got), authMatrixGolden, strings.Join(diffs, "\n"))
	}
}

// outcome is a call's cell in the matrix.
func outcome(detail string, err error) string {
	if err != nil {
		s, _ := status.FromError(err)
		return s.Code().String() + " " + s.Message()
	}
	if detail == "" {
		return "OK"
	}
	return detail
}

// matrixCaller is one column of the matrix.
type matrixCaller struct {
	name  string // as written in the golden; also the suffix of its throwaway names
	user  string // "" for none and bogus
	token string // "" sends no token
}

type matrixRow struct {
	rpc, variant string
	// setup, when set, runs as root before each caller's call.
	setup func(c *matrixCaller)
	call  func(ctx context.Context, c *matrixCaller) (detail string, err error)
}

type authMatrixFixture struct {
	t       *testing.T
	callers []*matrixCaller
	root    *matrixCaller

	kv      pb.KVClient
	watch   pb.WatchClient
	lease   pb.LeaseClient
	cluster pb.ClusterClient
	maint   pb.MaintenanceClient
	auth    pb.AuthClient

	leaseA, leaseZ int64 // with a/leased and with z attached
	// Per caller, leases made only to be revoked: with a key under a/, with a
	// key outside a/, with no key.
	revokeA, revokeZ, revokeEmpty map[string]int64
	peerURL                       string
	memberID                      uint64
	replacer                      *strings.Replacer
}

// newAuthMatrixFixture builds the users, roles, keys and leases through
// etcd's client while auth is still off, then enables auth and logs the
// callers in.
func newAuthMatrixFixture(t *testing.T, endpoint string) *authMatrixFixture {
	t.Helper()
	fx := &authMatrixFixture{
		t: t,
		callers: []*matrixCaller{
			{name: "none"},
			{name: "bogus", token: "bogus"},
			{name: "carol", user: "carol"},
			{name: "bob", user: "bob"},
			{name: "dave", user: "dave"},
			{name: "alice", user: "alice"},
			{name: "root", user: "root"},
		},
		revokeA:     map[string]int64{},
		revokeZ:     map[string]int64{},
		revokeEmpty: map[string]int64{},
	}
	fx.root = fx.callers[len(fx.callers)-1]

	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	setup := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("setup: %s: %v", what, err)
		}
	}
	c := ctx(t)
	for _, u := range []struct{ name, password, role string }{
		{"root", "rootpw", "root"}, {"alice", "alicepw", "rw"}, {"bob", "bobpw", "ro"}, {"dave", "davepw", "wo"},
		{"carol", "carolpw", ""},
	} {
		_, err := cli.UserAdd(c, u.name, u.password)
		setup("user add "+u.name, err)
		if u.role == "" {
			continue
		}
		if _, err := cli.RoleGet(c, u.role); err != nil {
			_, err = cli.RoleAdd(c, u.role)
			setup("role add "+u.role, err)
		}
		_, err = cli.UserGrantRole(c, u.name, u.role)
		setup("grant "+u.role+" to "+u.name, err)
	}
	_, err = cli.RoleGrantPermission(c, "rw", "a/", "a0", clientv3.PermissionType(clientv3.PermReadWrite))
	setup("grant rw", err)
	_, err = cli.RoleGrantPermission(c, "ro", "a/", "a0", clientv3.PermissionType(clientv3.PermRead))
	setup("grant ro", err)
	_, err = cli.RoleGrantPermission(c, "wo", "a/", "a0", clientv3.PermissionType(clientv3.PermWrite))
	setup("grant wo", err)

	for _, k := range []string{"a/k", "a/x", "a/y"} {
		_, err := cli.Put(c, k, "v")
		setup("put "+k, err)
	}
	_, err = cli.Put(c, "z", "v")
	setup("put z", err)
	grant := func(key string) int64 {
		t.Helper()
		g, err := cli.Grant(c, 600)
		setup("grant a lease", err)
		if key != "" {
			_, err := cli.Put(c, key, "v", clientv3.WithLease(g.ID))
			setup("put "+key, err)
		}
		return int64(g.ID)
	}
	fx.leaseA = grant("a/leased")
	fx.leaseZ = grant("z")

	// The throwaway names of each caller.
	for _, caller := range fx.callers {
		n := caller.name
		for _, u := range []string{"del-" + n, "pw-" + n, "grant-" + n, "revoke-" + n} {
			_, err := cli.UserAdd(c, u, "pw")
			setup("user add "+u, err)
		}
		_, err := cli.UserGrantRole(c, "revoke-"+n, "ro")
		setup("grant ro to revoke-"+n, err)
		for _, r := range []string{"delrole-" + n, "gprole-" + n, "rprole-" + n} {
			_, err := cli.RoleAdd(c, r)
			setup("role add "+r, err)
		}
		_, err = cli.RoleGrantPermission(c, "rprole-"+n, "a/", "a0", clientv3.PermissionType(clientv3.PermRead))
		setup("grant to rprole-"+n, err)
		fx.revokeA[n] = grant("a/revoke/" + n)
		fx.revokeZ[n] = grant("zrevoke/" + n)
		fx.revokeEmpty[n] = grant("")
	}

	ml, err := cli.MemberList(c)
	setup("member list", err)
	if len(ml.Members) != 1 || len(ml.Members[0].PeerURLs) == 0 {
		t.Fatalf("setup: want one member with a peer URL, got %v", ml.Members)
	}
	fx.peerURL = ml.Members[0].PeerURLs[0]
	fx.memberID = ml.Members[0].ID

	_, err = cli.AuthEnable(c)
	setup("auth enable", err)

	conn, err := grpc.NewClient(endpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fx.kv = pb.NewKVClient(conn)
	fx.watch = pb.NewWatchClient(conn)
	fx.lease = pb.NewLeaseClient(conn)
	fx.cluster = pb.NewClusterClient(conn)
	fx.maint = pb.NewMaintenanceClient(conn)
	fx.auth = pb.NewAuthClient(conn)

	var secrets []string
	for _, caller := range fx.callers {
		if caller.user == "" {
			continue
		}
		r, err := fx.auth.Authenticate(c, &pb.AuthenticateRequest{Name: caller.user, Password: caller.user + "pw"})
		setup("authenticate "+caller.user, err)
		caller.token = r.Token
		secrets = append(secrets, r.Token, "<token>")
	}

	// Whatever varies between runs is replaced in the messages.
	ids := map[string]int64{"<lease-a>": fx.leaseA, "<lease-z>": fx.leaseZ}
	for _, caller := range fx.callers {
		ids["<lease-revoke-a>"] = fx.revokeA[caller.name]
		ids["<lease-revoke-z>"] = fx.revokeZ[caller.name]
		ids["<lease-revoke-empty>"] = fx.revokeEmpty[caller.name]
		for name, id := range ids {
			secrets = append(secrets, fmt.Sprintf("%016x", id), name, fmt.Sprintf("%x", id), name, fmt.Sprint(id), name)
		}
	}
	secrets = append(secrets, fmt.Sprintf("%016x", fx.memberID), "<member>", fmt.Sprintf("%x", fx.memberID), "<member>",
		fmt.Sprint(fx.memberID), "<member>")
	// Longest first, so that no value is replaced inside a longer one; short
	// values (a server may number its leases 1, 2, ...) would match anywhere.
	pairs := make([][2]string, 0, len(secrets)/2)
	for i := 0; i < len(secrets); i += 2 {
		if len(secrets[i]) >= 6 {
			pairs = append(pairs, [2]string{secrets[i], secrets[i+1]})
		}
	}
	slices.SortStableFunc(pairs, func(a, b [2]string) int { return len(b[0]) - len(a[0]) })
	var args []string
	for _, p := range pairs {
		args = append(args, p[0], p[1])
	}
	fx.replacer = strings.NewReplacer(args...)
	return fx
}

func (fx *authMatrixFixture) normalise(s string) string { return fx.replacer.Replace(s) }

// callCtx is the context of one call by c: its token, and a deadline short
// enough that a server that hangs fails the test in minutes, not hours.
func (fx *authMatrixFixture) callCtx(c *matrixCaller) (context.Context, context.CancelFunc) {
	cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	if c.token != "" {
		cctx = metadata.AppendToOutgoingContext(cctx, rpctypes.TokenFieldNameGRPC, c.token)
	}
	return cctx, cancel
}

func (fx *authMatrixFixture) rootCtx() context.Context {
	cctx, cancel := fx.callCtx(fx.root)
	fx.t.Cleanup(cancel)
	return cctx
}

// done drops a response: only the error is recorded.
func done[T any](_ T, err error) (string, error) { return "", err }

// streamErr is the error of a client stream whose Send failed: gRPC reports
// io.EOF there and the status at the next Recv.
func streamErr[T any](err error, recv func() (T, error)) error {
	if errors.Is(err, io.EOF) {
		_, err = recv()
	}
	return err
}

func (fx *authMatrixFixture) rows() []matrixRow {
	var rows []matrixRow
	add := func(rpc, variant string, call func(ctx context.Context, c *matrixCaller) (string, error)) {
		rows = append(rows, matrixRow{rpc: rpc, variant: variant, call: call})
	}
	kv, lease, auth := fx.kv, fx.lease, fx.auth

	// KV. Writes go to keys that no other row reads; nothing deletes a/leased
	// or z, which the lease rows rely on.
	for _, r := range []struct {
		variant string
		req     *pb.RangeRequest
	}{
		{"a/k", &pb.RangeRequest{Key: []byte("a/k")}},
		{"z", &pb.RangeRequest{Key: []byte("z")}},
		{"prefix-a/", &pb.RangeRequest{Key: []byte("a/"), RangeEnd: []byte("a0")}},
		{"a/..b", &pb.RangeRequest{Key: []byte("a/"), RangeEnd: []byte("b")}},
		{"from-key-a/", &pb.RangeRequest{Key: []byte("a/"), RangeEnd: []byte{0}}},
		{"serializable-a/k", &pb.RangeRequest{Key: []byte("a/k"), Serializable: true}},
		{"serializable-z", &pb.RangeRequest{Key: []byte("z"), Serializable: true}},
	} {
		add("Range", r.variant, func(ctx context.Context, _ *matrixCaller) (string, error) { return done(kv.Range(ctx, r.req)) })
	}
	for _, r := range []struct {
		variant string
		req     *pb.PutRequest
	}{
		{"a/p", &pb.PutRequest{Key: []byte("a/p"), Value: []byte("v")}},
		{"zp", &pb.PutRequest{Key: []byte("zp"), Value: []byte("v")}},
		{"a/p-prev-kv", &pb.PutRequest{Key: []byte("a/p"), Value: []byte("v"), PrevKv: true}},
		{"a/p-lease-a", &pb.PutRequest{Key: []byte("a/p-lease-a"), Value: []byte("v"), Lease: fx.leaseA}},
		// Root's put attaches a/p-lease-z to the lease of z: that lease
		// keeps a key outside a/, so its later rows do not change.
		{"a/p-lease-z", &pb.PutRequest{Key: []byte("a/p-lease-z"), Value: []byte("v"), Lease: fx.leaseZ}},
	} {
		add("Put", r.variant, func(ctx context.Context, _ *matrixCaller) (string, error) { return done(kv.Put(ctx, r.req)) })
	}
	for _, r := range []struct {
		variant string
		req     *pb.DeleteRangeRequest
	}{
		{"a/d", &pb.DeleteRangeRequest{Key: []byte("a/d")}},
		{"a/d-prev-kv", &pb.DeleteRangeRequest{Key: []byte("a/d"), PrevKv: true}},
		{"prefix-a/d/", &pb.DeleteRangeRequest{Key: []byte("a/d/"), RangeEnd: []byte("a/d0")}},
		{"zd", &pb.DeleteRangeRequest{Key: []byte("zd")}},
	} {
		add("DeleteRange", r.variant, func(ctx context.Context, _ *matrixCaller) (string, error) { return done(kv.DeleteRange(ctx, r.req)) })
	}
	cmpA := []*pb.Compare{{Key: []byte("a/k"), Target: pb.Compare_VERSION, Result: pb.Compare_GREATER, TargetUnion: &pb.Compare_Version{Version: 0}}}
	cmpZ := []*pb.Compare{{Key: []byte("z"), Target: pb.Compare_VERSION, Result: pb.Compare_GREATER, TargetUnion: &pb.Compare_Version{Version: 0}}}
	rangeOp := func(k string) *pb.RequestOp {
		return &pb.RequestOp{Request: &pb.RequestOp_RequestRange{RequestRange: &pb.RangeRequest{Key: []byte(k)}}}
	}
	putOp := func(k string) *pb.RequestOp {
		return &pb.RequestOp{Request: &pb.RequestOp_RequestPut{RequestPut: &pb.PutRequest{Key: []byte(k), Value: []byte("v")}}}
	}
	deleteOp := func(k string) *pb.RequestOp {
		return &pb.RequestOp{Request: &pb.RequestOp_RequestDeleteRange{RequestDeleteRange: &pb.DeleteRangeRequest{Key: []byte(k)}}}
	}
	txnOp := func(r *pb.TxnRequest) *pb.RequestOp {
		return &pb.RequestOp{Request: &pb.RequestOp_RequestTxn{RequestTxn: r}}
	}
	for _, r := range []struct {
		variant string
		req     *pb.TxnRequest
	}{
		{"compare-a/", &pb.TxnRequest{Compare: cmpA}},
		{"compare-z", &pb.TxnRequest{Compare: cmpZ}},
		{"compare-a/-range-a/", &pb.TxnRequest{Compare: cmpA, Success: []*pb.RequestOp{rangeOp("a/k")}}},
		{"compare-a/-range-z-failure", &pb.TxnRequest{Compare: cmpA, Success: []*pb.RequestOp{rangeOp("a/k")}, Failure: []*pb.RequestOp{rangeOp("z")}}},
		{"compare-a/-put-a/", &pb.TxnRequest{Compare: cmpA, Success: []*pb.RequestOp{putOp("a/t")}}},
		// The compare holds, so the failure branch's put of zt is never
		// applied; it is checked all the same.
		{"compare-a/-put-zt-failure", &pb.TxnRequest{Compare: cmpA, Success: []*pb.RequestOp{putOp("a/t")}, Failure: []*pb.RequestOp{putOp("zt")}}},
		{"compare-z-put-a/", &pb.TxnRequest{Compare: cmpZ, Success: []*pb.RequestOp{putOp("a/t")}}},
		{"delete-a/", &pb.TxnRequest{Success: []*pb.RequestOp{deleteOp("a/t")}}},
		{"delete-a/-prev-kv", &pb.TxnRequest{Success: []*pb.RequestOp{{Request: &pb.RequestOp_RequestDeleteRange{
			RequestDeleteRange: &pb.DeleteRangeRequest{Key: []byte("a/t"), PrevKv: true}}}}}},
		{"empty", &pb.TxnRequest{}},
		// etcd 3.6.6 checks neither the compares nor the ops of a nested txn.
		{"nested-put-a/", &pb.TxnRequest{Success: []*pb.RequestOp{txnOp(&pb.TxnRequest{Compare: cmpA, Success: []*pb.RequestOp{putOp("a/t")}})}}},
		{"nested-put-zt", &pb.TxnRequest{Success: []*pb.RequestOp{putOp("a/t"), txnOp(&pb.TxnRequest{Success: []*pb.RequestOp{putOp("zt")}})}}},
		{"nested-range-z", &pb.TxnRequest{Success: []*pb.RequestOp{txnOp(&pb.TxnRequest{Success: []*pb.RequestOp{rangeOp("z")}})}}},
	} {
		add("Txn", r.variant, func(ctx context.Context, _ *matrixCaller) (string, error) { return done(kv.Txn(ctx, r.req)) })
	}
	// Each caller compacts at a revision of its own, made by root just
	// before, so root's success is not "already compacted" for a later one.
	var compactRev int64
	rows = append(rows, matrixRow{rpc: "Compact", variant: "current-revision",
		setup: func(*matrixCaller) {
			r, err := kv.Put(fx.rootCtx(), &pb.PutRequest{Key: []byte("a/compact"), Value: []byte("v")})
			if err != nil {
				fx.t.Fatalf("setup: put a/compact as root: %v", err)
			}
			compactRev = r.Header.Revision
		},
		call: func(ctx context.Context, _ *matrixCaller) (string, error) {
			return done(kv.Compact(ctx, &pb.CompactionRequest{Revision: compactRev}))
		}})

	// Watch: what the stream answers to one create request.
	for _, r := range []struct {
		variant string
		req     *pb.WatchCreateRequest
	}{
		{"a/k", &pb.WatchCreateRequest{Key: []byte("a/k")}},
		{"z", &pb.WatchCreateRequest{Key: []byte("z")}},
		{"prefix-a/", &pb.WatchCreateRequest{Key: []byte("a/"), RangeEnd: []byte("a0")}},
		{"from-key-a/", &pb.WatchCreateRequest{Key: []byte("a/"), RangeEnd: []byte{0}}},
	} {
		add("Watch", r.variant, func(ctx context.Context, _ *matrixCaller) (string, error) {
			s, err := fx.watch.Watch(ctx)
			if err != nil {
				return "", err
			}
			err = s.Send(&pb.WatchRequest{RequestUnion: &pb.WatchRequest_CreateRequest{CreateRequest: r.req}})
			if err != nil {
				return "", streamErr(err, s.Recv)
			}
			resp, err := s.Recv()
			switch {
			case err != nil:
				return "", err
			case resp.Canceled:
				return "canceled " + resp.CancelReason, nil
			case resp.Created:
				return "created", nil
			}
			return fmt.Sprintf("unexpected response %v", resp), nil
		})
	}

	// Lease.
	add("LeaseGrant", "ttl-600", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(lease.LeaseGrant(ctx, &pb.LeaseGrantRequest{TTL: 600}))
	})
	for _, r := range []struct {
		variant string
		id      func(c *matrixCaller) int64
	}{
		{"lease-of-a/key", func(c *matrixCaller) int64 { return fx.revokeA[c.name] }},
		{"lease-of-zkey", func(c *matrixCaller) int64 { return fx.revokeZ[c.name] }},
		{"lease-without-keys", func(c *matrixCaller) int64 { return fx.revokeEmpty[c.name] }},
		{"unknown-lease", func(*matrixCaller) int64 { return 0x7a7a7a }},
	} {
		add("LeaseRevoke", r.variant, func(ctx context.Context, c *matrixCaller) (string, error) {
			return done(lease.LeaseRevoke(ctx, &pb.LeaseRevokeRequest{ID: r.id(c)}))
		})
	}
	for _, r := range []struct {
		variant string
		id      int64
	}{{"lease-of-a/leased", fx.leaseA}, {"lease-of-z", fx.leaseZ}, {"unknown-lease", 0x7a7a7a}} {
		add("LeaseKeepAlive", r.variant, func(ctx context.Context, _ *matrixCaller) (string, error) {
			s, err := lease.LeaseKeepAlive(ctx)
			if err != nil {
				return "", err
			}
			if err := s.Send(&pb.LeaseKeepAliveRequest{ID: r.id}); err != nil {
				return "", streamErr(err, s.Recv)
			}
			resp, err := s.Recv()
			if err != nil {
				return "", err
			}
			if resp.TTL <= 0 {
				return fmt.Sprintf("OK TTL %d", resp.TTL), nil
			}
			return "OK", nil
		})
	}
	for _, r := range []struct {
		variant string
		req     *pb.LeaseTimeToLiveRequest
	}{
		{"lease-of-a/leased", &pb.LeaseTimeToLiveRequest{ID: fx.leaseA}},
		{"lease-of-a/leased-keys", &pb.LeaseTimeToLiveRequest{ID: fx.leaseA, Keys: true}},
		{"lease-of-z", &pb.LeaseTimeToLiveRequest{ID: fx.leaseZ}},
		{"lease-of-z-keys", &pb.LeaseTimeToLiveRequest{ID: fx.leaseZ, Keys: true}},
	} {
		add("LeaseTimeToLive", r.variant, func(ctx context.Context, _ *matrixCaller) (string, error) {
			return done(lease.LeaseTimeToLive(ctx, r.req))
		})
	}
	add("LeaseLeases", "all", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(lease.LeaseLeases(ctx, &pb.LeaseLeasesRequest{}))
	})

	// Cluster: requests that fail after any auth check, so nothing changes.
	const unknownMember = 0x7a7a7a
	add("MemberList", "linearizable", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(fx.cluster.MemberList(ctx, &pb.MemberListRequest{Linearizable: true}))
	})
	add("MemberList", "serializable", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(fx.cluster.MemberList(ctx, &pb.MemberListRequest{}))
	})
	add("MemberAdd", "existing-peer-url", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(fx.cluster.MemberAdd(ctx, &pb.MemberAddRequest{PeerURLs: []string{fx.peerURL}}))
	})
	add("MemberRemove", "unknown-id", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(fx.cluster.MemberRemove(ctx, &pb.MemberRemoveRequest{ID: unknownMember}))
	})
	add("MemberUpdate", "unknown-id", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(fx.cluster.MemberUpdate(ctx, &pb.MemberUpdateRequest{ID: unknownMember, PeerURLs: []string{"http://127.0.0.1:1"}}))
	})
	add("MemberPromote", "unknown-id", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(fx.cluster.MemberPromote(ctx, &pb.MemberPromoteRequest{ID: unknownMember}))
	})

	// Maintenance.
	m := fx.maint
	add("Alarm", "get", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(m.Alarm(ctx, &pb.AlarmRequest{Action: pb.AlarmRequest_GET}))
	})
	// No alarm is raised, so deactivating one changes nothing.
	add("Alarm", "deactivate-nospace", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(m.Alarm(ctx, &pb.AlarmRequest{Action: pb.AlarmRequest_DEACTIVATE, MemberID: fx.memberID, Alarm: pb.AlarmType_NOSPACE}))
	})
	add("Status", "self", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(m.Status(ctx, &pb.StatusRequest{}))
	})
	add("Defragment", "self", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(m.Defragment(ctx, &pb.DefragmentRequest{}))
	})
	add("Hash", "self", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(m.Hash(ctx, &pb.HashRequest{}))
	})
	add("HashKV", "revision-0", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(m.HashKV(ctx, &pb.HashKVRequest{}))
	})
	add("Snapshot", "first-message", func(ctx context.Context, _ *matrixCaller) (string, error) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		s, err := m.Snapshot(ctx, &pb.SnapshotRequest{})
		if err != nil {
			return "", err
		}
		return done(s.Recv())
	})
	add("MoveLeader", "unknown-id", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(m.MoveLeader(ctx, &pb.MoveLeaderRequest{TargetID: unknownMember}))
	})
	add("Downgrade", "validate-1.0.0", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(m.Downgrade(ctx, &pb.DowngradeRequest{Action: pb.DowngradeRequest_VALIDATE, Version: "1.0.0"}))
	})
	add("Downgrade", "cancel-none-in-progress", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(m.Downgrade(ctx, &pb.DowngradeRequest{Action: pb.DowngradeRequest_CANCEL}))
	})

	// Auth.
	for _, r := range []struct{ variant, name, password string }{
		{"alice-right-password", "alice", "alicepw"},
		{"alice-wrong-password", "alice", "nope"},
		{"unknown-user", "nobody", "nope"},
	} {
		add("Authenticate", r.variant, func(ctx context.Context, _ *matrixCaller) (string, error) {
			return done(auth.Authenticate(ctx, &pb.AuthenticateRequest{Name: r.name, Password: r.password}))
		})
	}
	add("AuthStatus", "self", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(auth.AuthStatus(ctx, &pb.AuthStatusRequest{}))
	})
	add("AuthEnable", "already-enabled", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(auth.AuthEnable(ctx, &pb.AuthEnableRequest{}))
	})
	add("UserAdd", "new-<caller>", func(ctx context.Context, c *matrixCaller) (string, error) {
		return done(auth.UserAdd(ctx, &pb.AuthUserAddRequest{Name: "new-" + c.name, Password: "pw", Options: &authpb.UserAddOptions{}}))
	})
	for _, name := range []string{"alice", "carol", "root", ""} {
		variant := name
		if name == "" {
			variant = "empty-name"
		}
		add("UserGet", variant, func(ctx context.Context, _ *matrixCaller) (string, error) {
			return done(auth.UserGet(ctx, &pb.AuthUserGetRequest{Name: name}))
		})
	}
	add("UserList", "all", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(auth.UserList(ctx, &pb.AuthUserListRequest{}))
	})
	add("UserDelete", "del-<caller>", func(ctx context.Context, c *matrixCaller) (string, error) {
		return done(auth.UserDelete(ctx, &pb.AuthUserDeleteRequest{Name: "del-" + c.name}))
	})
	add("UserChangePassword", "pw-<caller>", func(ctx context.Context, c *matrixCaller) (string, error) {
		return done(auth.UserChangePassword(ctx, &pb.AuthUserChangePasswordRequest{Name: "pw-" + c.name, Password: "pw2"}))
	})
	add("UserGrantRole", "ro-to-grant-<caller>", func(ctx context.Context, c *matrixCaller) (string, error) {
		return done(auth.UserGrantRole(ctx, &pb.AuthUserGrantRoleRequest{User: "grant-" + c.name, Role: "ro"}))
	})
	add("UserRevokeRole", "ro-from-revoke-<caller>", func(ctx context.Context, c *matrixCaller) (string, error) {
		return done(auth.UserRevokeRole(ctx, &pb.AuthUserRevokeRoleRequest{Name: "revoke-" + c.name, Role: "ro"}))
	})
	add("RoleAdd", "newrole-<caller>", func(ctx context.Context, c *matrixCaller) (string, error) {
		return done(auth.RoleAdd(ctx, &pb.AuthRoleAddRequest{Name: "newrole-" + c.name}))
	})
	for _, role := range []string{"rw", "ro", "root"} {
		add("RoleGet", role, func(ctx context.Context, _ *matrixCaller) (string, error) {
			return done(auth.RoleGet(ctx, &pb.AuthRoleGetRequest{Role: role}))
		})
	}
	add("RoleList", "all", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(auth.RoleList(ctx, &pb.AuthRoleListRequest{}))
	})
	add("RoleDelete", "delrole-<caller>", func(ctx context.Context, c *matrixCaller) (string, error) {
		return done(auth.RoleDelete(ctx, &pb.AuthRoleDeleteRequest{Role: "delrole-" + c.name}))
	})
	add("RoleGrantPermission", "read-prefix-a/-to-gprole-<caller>", func(ctx context.Context, c *matrixCaller) (string, error) {
		return done(auth.RoleGrantPermission(ctx, &pb.AuthRoleGrantPermissionRequest{Name: "gprole-" + c.name,
			Perm: &authpb.Permission{PermType: authpb.READ, Key: []byte("a/"), RangeEnd: []byte("a0")}}))
	})
	add("RoleRevokePermission", "prefix-a/-from-rprole-<caller>", func(ctx context.Context, c *matrixCaller) (string, error) {
		return done(auth.RoleRevokePermission(ctx, &pb.AuthRoleRevokePermissionRequest{Role: "rprole-" + c.name,
			Key: []byte("a/"), RangeEnd: []byte("a0")}))
	})
	// Last: root, the last caller, turns auth off, and no row follows.
	add("AuthDisable", "self", func(ctx context.Context, _ *matrixCaller) (string, error) {
		return done(auth.AuthDisable(ctx, &pb.AuthDisableRequest{}))
	})
	return rows
}
