package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
)

// The maintenance commands print hashes, timings and whole response messages, which the
// script goldens of TestE2EV3 would have to hide. These tests ask the server the same
// question over the Maintenance RPCs with the test's own client and build the bytes
// etcdctl 3.6.6 prints for that answer (the printer goldens in testdata/larchctl/printers
// pin those formats down against etcdctl). They run against etcd the same way:
//
//	LARCH_E2E_SERVER=/path/to/etcd LARCH_E2E_CTL=/path/to/etcdctl \
//	    go test ./cmd/larchctl -run 'TestE2E(Alarm|EndpointHashKV|Defrag)'

// ctlCase is one larchctl command and what it must print.
type ctlCase struct {
	args   []string
	stdout string
	stderr string
	code   int
}

// runCtl runs larchctl with ETCDCTL_ENDPOINTS set to the cluster, unless args have
// --endpoints (both together are an error).
func (cl *cluster) runCtl(t *testing.T, ctl string, args ...string) result {
	t.Helper()
	env := []string{"PATH=" + os.Getenv("PATH"), "ETCDCTL_ENDPOINTS=" + cl.clientAddr}
	for _, a := range args {
		if strings.HasPrefix(a, "--endpoints") {
			env = env[:1]
		}
	}
	res, err := runStep(ctl, env, nil, step{text: strings.Join(args, " "), args: args})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (cl *cluster) checkCtl(t *testing.T, ctl string, tc ctlCase) {
	t.Helper()
	res := cl.runCtl(t, ctl, tc.args...)
	if string(res.stdout) != tc.stdout || string(res.stderr) != tc.stderr || res.code != tc.code {
		t.Errorf("larchctl %s:\n got stdout %q\n     stderr %q\n     exit %d\nwant stdout %q\n     stderr %q\n     exit %d",
			strings.Join(tc.args, " "), res.stdout, res.stderr, res.code, tc.stdout, tc.stderr, tc.code)
	}
}

// headerFields is a response header in the fields format, IDs in hex with --hex.
func headerFields(h *pb.ResponseHeader, hex bool) string {
	id := func(v uint64) string {
		if hex {
			return fmt.Sprintf("%x", v)
		}
		return fmt.Sprint(v)
	}
	s := fmt.Sprintf("\"ClusterID\" : %s\n\"MemberID\" : %s\n", id(h.ClusterId), id(h.MemberId))
	if h.Revision > 0 {
		s += fmt.Sprintf("\"Revision\" : %d\n", h.Revision)
	}
	return s + fmt.Sprintf("\"RaftTerm\" : %d\n", h.RaftTerm)
}

// testCtx bounds a test's direct client calls; generous, as one context
// may span several larchctl runs on a loaded machine.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestE2EAlarm runs `alarm list` and `alarm disarm` on a cluster without alarms, in every
// output format.
func TestE2EAlarm(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped in -short mode")
	}
	server, ctl := e2eBinaries(t)
	cl := startCluster(t, server)

	list, err := cl.cli.AlarmList(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Alarms) != 0 {
		t.Fatalf("a fresh cluster has alarms: %v", list.Alarms)
	}
	msg := (*pb.AlarmResponse)(list)
	js, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	const noTable = "Error: table not supported as output format\n"
	for _, tc := range []ctlCase{
		{args: []string{"alarm", "list"}},
		{args: []string{"alarm", "list", "-w", "json"}, stdout: string(js) + "\n"},
		{args: []string{"alarm", "list", "-w", "fields"}, stdout: headerFields(list.Header, false)},
		{args: []string{"alarm", "list", "-w", "fields", "--hex"}, stdout: headerFields(list.Header, true)},
		{args: []string{"alarm", "list", "-w", "protobuf"}, stdout: string(raw)},
		{args: []string{"alarm", "list", "-w", "table"}, stderr: noTable, code: 4},
		// clientv3 disarms alarm by alarm and returns what it cleared, without a header:
		// nothing here. (The fields format is left out: etcdctl crashes on it.)
		{args: []string{"alarm", "disarm"}},
		{args: []string{"alarm", "disarm", "-w", "json"}, stdout: "{}\n"},
		{args: []string{"alarm", "disarm", "-w", "protobuf"}},
		{args: []string{"alarm", "disarm", "-w", "table"}, stderr: noTable, code: 4},
		{args: []string{"alarm", "list", "extra"}, stderr: "Error: alarm list command accepts no arguments\n", code: 128},
	} {
		cl.checkCtl(t, ctl, tc)
	}
}

// TestE2EAlarmNoSpace fills a server with a small --quota-backend-bytes until it raises
// the NOSPACE alarm, then lists the alarm in every format and disarms it.
func TestE2EAlarmNoSpace(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped in -short mode")
	}
	server, ctl := e2eBinaries(t)
	cl := startCluster(t, wrapServer(t, server, []string{"--quota-backend-bytes=300000"}))

	ctx := testCtx(t)
	value := strings.Repeat("x", 50000)
	raise := func() {
		t.Helper()
		for i := 0; ; i++ {
			_, err := cl.cli.Put(ctx, fmt.Sprintf("k%d", i), value)
			if err != nil && strings.Contains(err.Error(), "database space exceeded") {
				return
			}
			if err != nil || i == 100 {
				t.Fatalf("put %d: %v, want the space to run out", i, err)
			}
		}
	}
	raise()

	list, err := cl.cli.AlarmList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []*pb.AlarmMember{{MemberID: cl.memberID, Alarm: pb.AlarmType_NOSPACE}}
	if len(list.Alarms) != 1 || list.Alarms[0].MemberID != cl.memberID || list.Alarms[0].Alarm != pb.AlarmType_NOSPACE {
		t.Fatalf("AlarmList: %v, want %v", list.Alarms, want)
	}
	msg := (*pb.AlarmResponse)(list)
	js, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := msg.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	line := fmt.Sprintf("memberID:%d alarm:NOSPACE \n", cl.memberID)
	alarmFields := func(hex bool) string {
		id := fmt.Sprint(cl.memberID)
		if hex {
			id = fmt.Sprintf("%x", cl.memberID)
		}
		return fmt.Sprintf("\"MemberID\" : %s\n\"AlarmType\" : NOSPACE\n\n", id)
	}
	for _, tc := range []ctlCase{
		{args: []string{"alarm", "list"}, stdout: line},
		{args: []string{"alarm", "list", "--hex"}, stdout: line},
		{args: []string{"alarm", "list", "-w", "json"}, stdout: string(js) + "\n"},
		{args: []string{"alarm", "list", "-w", "fields"}, stdout: headerFields(list.Header, false) + alarmFields(false)},
		{args: []string{"alarm", "list", "-w", "fields", "--hex"}, stdout: headerFields(list.Header, true) + alarmFields(true)},
		{args: []string{"alarm", "list", "-w", "protobuf"}, stdout: string(raw)},
	} {
		cl.checkCtl(t, ctl, tc)
	}

	// Each disarm prints the alarm it cleared; a put raises it again, since the space is
	// still used.
	cleared := &pb.AlarmResponse{Alarms: want}
	js, err = json.Marshal(cleared)
	if err != nil {
		t.Fatal(err)
	}
	raw, err = cleared.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []ctlCase{
		{args: []string{"alarm", "disarm"}, stdout: line},
		{args: []string{"alarm", "disarm", "-w", "json"}, stdout: string(js) + "\n"},
		{args: []string{"alarm", "disarm", "-w", "protobuf"}, stdout: string(raw)},
	} {
		cl.checkCtl(t, ctl, tc)
		raise()
	}
}

// TestE2EEndpointHashKV runs `endpoint hashkv` after some writes and a compaction, in
// every output format, and checks the hashes against the HashKV RPC.
func TestE2EEndpointHashKV(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped in -short mode")
	}
	server, ctl := e2eBinaries(t)
	cl := startCluster(t, server)

	ctx := testCtx(t)
	for _, kv := range [][2]string{{"a", "1"}, {"b", "2"}, {"a", "3"}} {
		if _, err := cl.cli.Put(ctx, kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	del, err := cl.cli.Delete(ctx, "b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cl.cli.Compact(ctx, del.Header.Revision-1); err != nil {
		t.Fatal(err)
	}
	put, err := cl.cli.Put(ctx, "c", "4")
	if err != nil {
		t.Fatal(err)
	}
	rev := put.Header.Revision

	addr := cl.clientAddr
	hashKV := func(rev int64) *pb.HashKVResponse {
		t.Helper()
		resp, err := cl.cli.HashKV(ctx, addr, rev)
		if err != nil {
			t.Fatalf("HashKV(%d): %v", rev, err)
		}
		return (*pb.HashKVResponse)(resp)
	}
	cur, old := hashKV(0), hashKV(rev-1)
	if cur.HashRevision != rev || old.HashRevision != rev-1 {
		t.Fatalf("HashKV hashed revisions %d and %d, want %d and %d", cur.HashRevision, old.HashRevision, rev, rev-1)
	}

	simple := func(ep string, r *pb.HashKVResponse) string {
		return fmt.Sprintf("%s, %d, %d\n", ep, r.Hash, r.HashRevision)
	}
	jsonOut := func(ep string, r *pb.HashKVResponse) string {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("[{\"Endpoint\":%q,\"HashKV\":%s}]\n", ep, b)
	}
	fields := func(r *pb.HashKVResponse, hex bool) string {
		return headerFields(r.Header, hex) +
			fmt.Sprintf("\"Endpoint\" : %q\n\"Hash\" : %d\n\"HashRevision\" : %d\n\n", addr, r.Hash, r.HashRevision)
	}
	revFlag := fmt.Sprintf("--rev=%d", rev-1)
	for _, tc := range []ctlCase{
		{args: []string{"endpoint", "hashkv"}, stdout: simple(addr, cur)},
		{args: []string{"endpoint", "hashkv", revFlag}, stdout: simple(addr, old)},
		{args: []string{"endpoint", "hashkv", "--cluster"}, stdout: simple("http://"+addr, cur)},
		{args: []string{"endpoint", "hashkv", "-w", "json"}, stdout: jsonOut(addr, cur)},
		{args: []string{"endpoint", "hashkv", "-w", "json", revFlag}, stdout: jsonOut(addr, old)},
		{args: []string{"endpoint", "hashkv", "-w", "fields"}, stdout: fields(cur, false)},
		{args: []string{"endpoint", "hashkv", "-w", "fields", "--hex"}, stdout: fields(cur, true)},
		{args: []string{"endpoint", "hashkv", "-w", "protobuf"}, stderr: "Error: protobuf not supported as output format\n", code: 4},
	} {
		cl.checkCtl(t, ctl, tc)
	}

	// The table is checked with its cells' padding normalised.
	res := cl.runCtl(t, ctl, "endpoint", "hashkv", "-w", "table")
	wantTable := fmt.Sprintf("+-+-+-+\n| ENDPOINT | HASH | HASH REVISION |\n+-+-+-+\n| %s | %d | %d |\n+-+-+-+\n", addr, cur.Hash, cur.HashRevision)
	if got := string(normalizeTables(res.stdout)); got != wantTable || len(res.stderr) != 0 || res.code != 0 {
		t.Errorf("endpoint hashkv -w table: stdout\n%s\nwant (normalised)\n%s\nstderr %q, exit %d", res.stdout, wantTable, res.stderr, res.code)
	}

	// A revision the server refuses: the failed endpoint is reported, the (empty) output
	// printed, and the command fails with the server's error.
	_, rpcErr := cl.cli.HashKV(ctx, addr, rev+100)
	if rpcErr == nil {
		t.Fatalf("HashKV(%d) of a future revision succeeded", rev+100)
	}
	res = cl.runCtl(t, ctl, "endpoint", "hashkv", "-w", "json", fmt.Sprintf("--rev=%d", rev+100))
	wantErr := fmt.Sprintf("Failed to get the hash of endpoint %s (%v)\nError: %v\n", addr, rpcErr, rpcErr)
	if got := dropClientLogs(res.stderr); string(res.stdout) != "null\n" || got != wantErr || res.code != 1 {
		t.Errorf("endpoint hashkv of a future revision: stdout %q, stderr %q, exit %d; want stdout \"null\\n\", stderr %q, exit 1",
			res.stdout, got, res.code, wantErr)
	}
}

// dropClientLogs leaves out the client's JSON log lines ("retrying of unary invoker failed").
func dropClientLogs(b []byte) string {
	var out strings.Builder
	for _, line := range strings.SplitAfter(string(b), "\n") {
		if !strings.HasPrefix(line, `{"level":`) {
			out.WriteString(line)
		}
	}
	return out.String()
}

// took matches a time.Duration as Go prints it: 850µs, 12.748559ms, 1m2.5s.
const took = `took (\d+(\.\d+)?(ns|µs|ms|s)|\d+m\d+(\.\d+)?s)`

// TestE2EDefrag runs `defrag` on the cluster's member, alone and with --cluster, and with
// a second endpoint that cannot be reached. It needs the server's Defragment RPC.
func TestE2EDefrag(t *testing.T) {
	if testing.Short() {
		t.Skip("e2e: skipped in -short mode")
	}
	server, ctl := e2eBinaries(t)
	cl := startCluster(t, server)
	if _, err := cl.cli.Put(testCtx(t), "k", "v"); err != nil {
		t.Fatal(err)
	}

	finished := func(ep string) string {
		return `Finished defragmenting etcd member\[` + regexp.QuoteMeta(ep) + `\]\. ` + took + `\n`
	}
	for _, tc := range []struct {
		args           []string
		stdout, stderr string // regexps of the whole output
		code           int
	}{
		{args: []string{"defrag"}, stdout: finished(cl.clientAddr)},
		// -w is checked but not used.
		{args: []string{"defrag", "-w", "json"}, stdout: finished(cl.clientAddr)},
		{args: []string{"defrag", "--cluster"}, stdout: finished("http://" + cl.clientAddr)},
		{
			args:   []string{"defrag", "--endpoints=" + cl.clientAddr + ",127.0.0.1:1", "--command-timeout=300ms"},
			stdout: finished(cl.clientAddr),
			stderr: `Failed to defragment etcd member\[127\.0\.0\.1:1\]\. ` + took + `\. \(context deadline exceeded\)\n`,
			code:   1,
		},
	} {
		res := cl.runCtl(t, ctl, tc.args...)
		stderr := dropClientLogs(res.stderr)
		if !regexp.MustCompile(`^`+tc.stdout+`$`).Match(res.stdout) ||
			!regexp.MustCompile(`^`+tc.stderr+`$`).MatchString(stderr) || res.code != tc.code {
			t.Errorf("larchctl %s: stdout %q, stderr %q, exit %d; want stdout %s, stderr %s, exit %d",
				strings.Join(tc.args, " "), res.stdout, res.stderr, res.code, tc.stdout, tc.stderr, tc.code)
		}
	}

	// The data is still there.
	res := cl.runCtl(t, ctl, "get", "k")
	if string(res.stdout) != "k\nv\n" || res.code != 0 {
		t.Errorf("get k after defrag: stdout %q, stderr %q, exit %d", res.stdout, res.stderr, res.code)
	}
}
