package ctlv3

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

var update = flag.Bool("update", false, "rewrite the golden files from larchctl's own output "+
	"(they hold what real etcdctl 3.6.6 printed: check any change against etcdctl first)")

// The printer goldens in testdata/larchctl/printers are what etcdctl 3.6.6 printed against a
// real etcd 3.6.6 for one scenario, replayed on a fresh single-member cluster (name e2e,
// client 127.0.0.1:23379, peer 127.0.0.1:23380) once per output format:
//
//	member add l1 --peer-urls=http://127.0.0.1:33390 --learner
//	put foo bar                                   → put
//	put foo baz --prev-kv                         → put_prev
//	put a 1; put b 2; put c 3; put multi $'line1\nline2'; put bin $'\x01\xfe"q'
//	get "" --prefix --limit 3                     → get_limit (and the other get_* cases)
//	del a c --range --prev-kv                     → del_prev
//	del nothing                                   → del_none
//	put b x --prev-kv --hex                       → put_hex
//	put key1 v1; put key2 v2
//	txn <<< 'val("key1") = "nope"' …              → txn_failure, txn_success, txn_empty
//	member list, endpoint status|health           → member_list*, endpoint_*
//
// The *_nospace cases come from a second cluster (client 127.0.0.1:25379) whose
// --quota-backend-bytes=300000 was exhausted. Endpoint health "took" values were replaced
// by 1.234567ms and the raft indexes of endpoint_status_nospace by 28 (same widths);
// everything else is byte for byte etcdctl's output. Each case below rebuilds the response
// etcdctl printed; the protobuf goldens prove the rebuilt message equals the real one.
// <case>.<format> holds stdout, <case>.<format>.stderr stderr and <case>.<format>.exit a
// non-zero exit code.
//
// The alarm and hashkv cases were recorded later on fresh clusters of the same names and
// ports, so with the same IDs: alarm list and alarm disarm at revision 1, then
// `put foo bar` and endpoint hashkv (endpoint_hashkv_none is what an endpoint that fails
// leaves, with the failure lines on stderr left out: they are the command's). On the
// nospace cluster, after the alarm was raised: alarm list, then alarm disarm once per
// format, with a put in between that raised the alarm again.
//
// Where larchctl deliberately prints something else (differs, by format), its output is
// held to <case>.<format>.larchctl*, and <case>.<format>* keep etcdctl's for reference.

const (
	refCluster = 2086831020734302442
	refMember  = 7059799375513725458
	refLearner = 12863642917636108540
)

func hdr(rev int64) *pb.ResponseHeader {
	return &pb.ResponseHeader{ClusterId: refCluster, MemberId: refMember, Revision: rev, RaftTerm: 2}
}

// opHdr is the header of a response inside a txn: only the revision.
func opHdr(rev int64) *pb.ResponseHeader { return &pb.ResponseHeader{Revision: rev} }

func kv(key, value string, create, mod, version int64) *mvccpb.KeyValue {
	return &mvccpb.KeyValue{Key: []byte(key), Value: []byte(value), CreateRevision: create, ModRevision: mod, Version: version}
}

// The keys of the scenario at revision 8.
var (
	kvA     = kv("a", "1", 4, 4, 1)
	kvB     = kv("b", "2", 5, 5, 1)
	kvBin   = kv("bin", "\x01\xfe\"q", 8, 8, 1)
	kvC     = kv("c", "3", 6, 6, 1)
	kvFoo   = kv("foo", "baz", 2, 3, 2)
	kvMulti = kv("multi", "line1\nline2", 7, 7, 1)
	kvKey1  = kv("key1", "v1", 11, 11, 1)
)

func keysOnly(kvs ...*mvccpb.KeyValue) []*mvccpb.KeyValue {
	out := make([]*mvccpb.KeyValue, len(kvs))
	for i, x := range kvs {
		c := *x
		c.Value = nil
		out[i] = &c
	}
	return out
}

func rangeOp(r *pb.RangeResponse) *pb.ResponseOp {
	return &pb.ResponseOp{Response: &pb.ResponseOp_ResponseRange{ResponseRange: r}}
}

func putOp(r *pb.PutResponse) *pb.ResponseOp {
	return &pb.ResponseOp{Response: &pb.ResponseOp_ResponsePut{ResponsePut: r}}
}

func delOp(r *pb.DeleteRangeResponse) *pb.ResponseOp {
	return &pb.ResponseOp{Response: &pb.ResponseOp_ResponseDeleteRange{ResponseDeleteRange: r}}
}

func memberList() clientv3.MemberListResponse {
	return clientv3.MemberListResponse{
		Header: &pb.ResponseHeader{ClusterId: refCluster, MemberId: refMember, RaftTerm: 2},
		Members: []*pb.Member{
			{ID: refMember, Name: "e2e", PeerURLs: []string{"http://127.0.0.1:23380"}, ClientURLs: []string{"http://127.0.0.1:23379"}},
			{ID: refLearner, PeerURLs: []string{"http://127.0.0.1:33390"}, IsLearner: true},
		},
	}
}

func endpointStatus() []epStatus {
	return []epStatus{{Ep: "127.0.0.1:23379", Resp: &clientv3.StatusResponse{
		Header:           hdr(14),
		Version:          "3.6.6",
		DbSize:           20480,
		Leader:           refMember,
		RaftIndex:        19,
		RaftTerm:         2,
		RaftAppliedIndex: 19,
		DbSizeInUse:      16384,
		StorageVersion:   "3.6.0",
		DbSizeQuota:      2147483648,
		DowngradeInfo:    &pb.DowngradeInfo{},
	}}}
}

// The IDs of the nospace cluster.
const (
	noSpaceCluster = 2375181864447732657
	noSpaceMember  = 9368506742490709939
)

func endpointStatusNoSpace() []epStatus {
	return []epStatus{{Ep: "127.0.0.1:25379", Resp: &clientv3.StatusResponse{
		Header:           &pb.ResponseHeader{ClusterId: noSpaceCluster, MemberId: noSpaceMember, Revision: 7, RaftTerm: 2},
		Version:          "3.6.6",
		DbSize:           724992,
		Leader:           noSpaceMember,
		RaftIndex:        28,
		RaftTerm:         2,
		RaftAppliedIndex: 28,
		Errors:           []string{"memberID:9368506742490709939 alarm:NOSPACE "},
		DbSizeInUse:      622592,
		StorageVersion:   "3.6.0",
		DbSizeQuota:      300000,
		DowngradeInfo:    &pb.DowngradeInfo{},
	}}}
}

// alarmsNoSpace is the nospace cluster's one alarm.
func alarmsNoSpace() []*pb.AlarmMember {
	return []*pb.AlarmMember{{MemberID: noSpaceMember, Alarm: pb.AlarmType_NOSPACE}}
}

func endpointHashKV() []epHashKV {
	return []epHashKV{{Ep: "127.0.0.1:23379", Resp: &clientv3.HashKVResponse{
		Header:          hdr(2),
		Hash:            3305255506,
		CompactRevision: -1,
		HashRevision:    2,
	}}}
}

// disarmFieldsDiffers is why larchctl's fields output of alarm disarm is its own.
const disarmFieldsDiffers = "etcdctl crashes on the disarm response, which has no header (see fieldsPrinter.Alarm)"

type printerCase struct {
	name    string
	hex     bool
	print   func(c *ctl) error
	differs map[string]string // format → why larchctl's output is not etcdctl's
}

var printerCases = []printerCase{
	{name: "put", print: func(c *ctl) error {
		return c.display.Put(clientv3.PutResponse{Header: hdr(2)})
	}},
	{name: "put_prev", print: func(c *ctl) error {
		return c.display.Put(clientv3.PutResponse{Header: hdr(3), PrevKv: kv("foo", "bar", 2, 2, 1)})
	}},
	{name: "put_hex", hex: true, print: func(c *ctl) error {
		return c.display.Put(clientv3.PutResponse{Header: hdr(10)})
	}},
	{name: "get_limit", print: func(c *ctl) error {
		return c.showGet(&getOptions{}, clientv3.GetResponse{Header: hdr(8), Kvs: []*mvccpb.KeyValue{kvA, kvB, kvBin}, More: true, Count: 6})
	}},
	{name: "get_missing", print: func(c *ctl) error {
		return c.showGet(&getOptions{}, clientv3.GetResponse{Header: hdr(8)})
	}},
	{name: "get_range", print: func(c *ctl) error {
		return c.showGet(&getOptions{}, clientv3.GetResponse{Header: hdr(8), Kvs: []*mvccpb.KeyValue{kvA, kvB, kvBin}, Count: 3})
	}},
	{name: "get_keys_only", print: func(c *ctl) error {
		kvs := keysOnly(kvA, kvB, kvBin, kvC, kvFoo, kvMulti)
		return c.showGet(&getOptions{keysOnly: true}, clientv3.GetResponse{Header: hdr(8), Kvs: kvs, Count: 6})
	}},
	{name: "get_sorted", print: func(c *ctl) error {
		kvs := []*mvccpb.KeyValue{kvMulti, kvFoo, kvC, kvB, kvA, kvBin}
		return c.showGet(&getOptions{}, clientv3.GetResponse{Header: hdr(8), Kvs: kvs, Count: 6})
	}},
	{name: "get_hex", hex: true, print: func(c *ctl) error {
		kvs := []*mvccpb.KeyValue{kvA, kvB, kvBin, kvC, kvFoo, kvMulti}
		return c.showGet(&getOptions{}, clientv3.GetResponse{Header: hdr(8), Kvs: kvs, Count: 6})
	}},
	{name: "get_value_only", print: func(c *ctl) error {
		kvs := []*mvccpb.KeyValue{kvA, kvB, kvBin, kvC, kvFoo, kvMulti}
		return c.showGet(&getOptions{valueOnly: true}, clientv3.GetResponse{Header: hdr(8), Kvs: kvs, Count: 6})
	}},
	{name: "get_count_only", print: func(c *ctl) error {
		return c.showGet(&getOptions{countOnly: true}, clientv3.GetResponse{Header: hdr(8), Count: 6})
	}},
	{name: "del_prev", print: func(c *ctl) error {
		return c.display.Del(clientv3.DeleteResponse{Header: hdr(9), Deleted: 3, PrevKvs: []*mvccpb.KeyValue{kvA, kvB, kvBin}})
	}},
	{name: "del_none", print: func(c *ctl) error {
		return c.display.Del(clientv3.DeleteResponse{Header: hdr(9)})
	}},
	{name: "txn_failure", print: func(c *ctl) error {
		return c.display.Txn(clientv3.TxnResponse{Header: hdr(13), Responses: []*pb.ResponseOp{
			putOp(&pb.PutResponse{Header: opHdr(13)}),
			rangeOp(&pb.RangeResponse{Header: opHdr(13), Kvs: []*mvccpb.KeyValue{kvKey1}, Count: 1}),
			delOp(&pb.DeleteRangeResponse{Header: opHdr(13), Deleted: 1, PrevKvs: []*mvccpb.KeyValue{kv("key2", "v2", 12, 12, 1)}}),
			putOp(&pb.PutResponse{Header: opHdr(13)}),
		}})
	}},
	{name: "txn_success", print: func(c *ctl) error {
		return c.display.Txn(clientv3.TxnResponse{Header: hdr(14), Succeeded: true, Responses: []*pb.ResponseOp{
			rangeOp(&pb.RangeResponse{Header: opHdr(13), Kvs: []*mvccpb.KeyValue{kvKey1}, Count: 1}),
			putOp(&pb.PutResponse{Header: opHdr(14), PrevKv: kvKey1}),
			delOp(&pb.DeleteRangeResponse{Header: opHdr(14), Deleted: 1, PrevKvs: []*mvccpb.KeyValue{kv("key3", "x y", 13, 13, 1)}}),
			rangeOp(&pb.RangeResponse{Header: opHdr(14)}),
		}})
	}},
	{name: "txn_empty", print: func(c *ctl) error {
		return c.display.Txn(clientv3.TxnResponse{Header: hdr(14), Succeeded: true})
	}},
	{name: "member_list", print: func(c *ctl) error { return c.display.MemberList(memberList()) }},
	{name: "member_list_hex", hex: true, print: func(c *ctl) error { return c.display.MemberList(memberList()) }},
	{name: "endpoint_status", print: func(c *ctl) error { return c.display.EndpointStatus(endpointStatus()) }},
	{name: "endpoint_status_hex", hex: true, print: func(c *ctl) error { return c.display.EndpointStatus(endpointStatus()) }},
	{name: "endpoint_status_nospace", print: func(c *ctl) error { return c.display.EndpointStatus(endpointStatusNoSpace()) }},
	{name: "endpoint_health", print: func(c *ctl) error {
		return c.showHealth([]epHealth{{Ep: "127.0.0.1:23379", Health: true, Took: "1.234567ms"}})
	}},
	{name: "endpoint_health_nospace", print: func(c *ctl) error {
		return c.showHealth([]epHealth{{Ep: "127.0.0.1:25379", Took: "1.234567ms", Error: "Active Alarm(s): NOSPACE "}})
	}},
	{name: "endpoint_hashkv", print: func(c *ctl) error { return c.display.EndpointHashKV(endpointHashKV()) }},
	{name: "endpoint_hashkv_hex", hex: true, print: func(c *ctl) error { return c.display.EndpointHashKV(endpointHashKV()) }},
	{name: "endpoint_hashkv_none", print: func(c *ctl) error { return c.display.EndpointHashKV(nil) }},
	{name: "alarm_list_none", print: func(c *ctl) error {
		return c.display.Alarm(clientv3.AlarmResponse{Header: hdr(1)})
	}},
	{name: "alarm_list_nospace", print: func(c *ctl) error {
		h := &pb.ResponseHeader{ClusterId: noSpaceCluster, MemberId: noSpaceMember, Revision: 7, RaftTerm: 2}
		return c.display.Alarm(clientv3.AlarmResponse{Header: h, Alarms: alarmsNoSpace()})
	}},
	{name: "alarm_list_nospace_hex", hex: true, print: func(c *ctl) error {
		h := &pb.ResponseHeader{ClusterId: noSpaceCluster, MemberId: noSpaceMember, Revision: 7, RaftTerm: 2}
		return c.display.Alarm(clientv3.AlarmResponse{Header: h, Alarms: alarmsNoSpace()})
	}},
	{name: "alarm_disarm_none", differs: map[string]string{"fields": disarmFieldsDiffers}, print: func(c *ctl) error {
		return c.display.Alarm(clientv3.AlarmResponse{})
	}},
	{name: "alarm_disarm_nospace", differs: map[string]string{"fields": disarmFieldsDiffers}, print: func(c *ctl) error {
		return c.display.Alarm(clientv3.AlarmResponse{Alarms: alarmsNoSpace()})
	}},
}

var formats = []string{"simple", "json", "fields", "protobuf", "table"}

func TestPrinters(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "testdata", "larchctl", "printers")
	for _, tc := range printerCases {
		for _, format := range formats {
			t.Run(tc.name+"/"+format, func(t *testing.T) {
				var stdout, stderr bytes.Buffer
				c := &ctl{stdout: &stdout, stderr: &stderr}
				c.display = newPrinter(format, tc.hex, &stdout, &stderr)
				code := 0
				if err := tc.print(c); err != nil {
					code = c.report(err)
				}
				base := filepath.Join(dir, tc.name+"."+format)
				if why := tc.differs[format]; why != "" {
					t.Logf("known difference from etcdctl: %s", why)
					base += ".larchctl"
				}
				checkGolden(t, base, stdout.Bytes())
				checkGolden(t, base+".stderr", stderr.Bytes())
				exit := []byte(nil)
				if code != 0 {
					exit = []byte(strconv.Itoa(code) + "\n")
				}
				checkGolden(t, base+".exit", exit)
			})
		}
	}
}

// checkGolden compares got with a golden file; an absent file stands for empty output
// (except for stdout goldens, which always exist). With -update it rewrites the file.
func checkGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	optional := strings.HasSuffix(path, ".stderr") || strings.HasSuffix(path, ".exit")
	if *update {
		if optional && len(got) == 0 {
			os.Remove(path)
			return
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil && !(optional && os.IsNotExist(err)) {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs\n got: %q\nwant: %q", filepath.Base(path), got, want)
	}
}

// TestMemberChangeLines checks the simple format of the membership changes and
// move-leader where the e2e goldens (cluster.golden) cannot pin it down, since IDs vary
// there: IDs shorter than 16 hex digits, which the "Member %16x" lines pad with spaces and
// move-leader does not, and a member add while another added member has not started,
// whose INITIAL_CLUSTER entry has no name. The ETCD_* lines of "add" are what etcdctl
// 3.6.6 printed for that response in a 3-member etcd cluster.
func TestMemberChangeLines(t *testing.T) {
	const cluster = 0x2184ec6f8bf7f6ed
	h := &pb.ResponseHeader{ClusterId: cluster, MemberId: 0xf97e86855c631539, RaftTerm: 2}
	members := []*pb.Member{
		{ID: 0x165e35bc5417c03c, PeerURLs: []string{"http://127.0.0.1:34380"}, IsLearner: true},
		{ID: 0xbc1c8e7c820591c7, PeerURLs: []string{"http://127.0.0.1:35380"}},
		{ID: 0xca7a34e16cff9c1b, Name: "m2", PeerURLs: []string{"http://127.0.0.1:32380"}, ClientURLs: []string{"http://127.0.0.1:32379"}},
		{ID: 0xdaa54702714a88a8, Name: "m3", PeerURLs: []string{"http://127.0.0.1:33380"}, ClientURLs: []string{"http://127.0.0.1:33379"}},
		{ID: 0xf97e86855c631539, Name: "m1", PeerURLs: []string{"http://127.0.0.1:31380"}, ClientURLs: []string{"http://127.0.0.1:31379"}},
	}
	const short = 0x9434cc9ace5c60d
	tests := []struct {
		name  string
		print func(p printer) error
		want  string
	}{
		{"add", func(p printer) error {
			return p.MemberAdd(clientv3.MemberAddResponse{Header: h, Member: members[1], Members: members}, "m5", "http://127.0.0.1:35380")
		}, `Member bc1c8e7c820591c7 added to cluster 2184ec6f8bf7f6ed

ETCD_NAME="m5"
ETCD_INITIAL_CLUSTER="=http://127.0.0.1:34380,m5=http://127.0.0.1:35380,m2=http://127.0.0.1:32380,m3=http://127.0.0.1:33380,m1=http://127.0.0.1:31380"
ETCD_INITIAL_ADVERTISE_PEER_URLS="http://127.0.0.1:35380"
ETCD_INITIAL_CLUSTER_STATE="existing"
LARCH_NAME="m5"
LARCH_INITIAL_CLUSTER="=http://127.0.0.1:34380,m5=http://127.0.0.1:35380,m2=http://127.0.0.1:32380,m3=http://127.0.0.1:33380,m1=http://127.0.0.1:31380"
LARCH_INITIAL_ADVERTISE_PEER_URLS="http://127.0.0.1:35380"
LARCH_INITIAL_CLUSTER_STATE="existing"
`},
		{"add_learner_short_id", func(p printer) error {
			m := &pb.Member{ID: short, PeerURLs: []string{"http://a:1", "http://b:2"}, IsLearner: true}
			return p.MemberAdd(clientv3.MemberAddResponse{Header: h, Member: m, Members: []*pb.Member{m}}, `a "b"`, "http://a:1,http://b:2")
		}, `Member  9434cc9ace5c60d added as learner to cluster 2184ec6f8bf7f6ed

ETCD_NAME="a \"b\""
ETCD_INITIAL_CLUSTER="a \"b\"=http://a:1,a \"b\"=http://b:2"
ETCD_INITIAL_ADVERTISE_PEER_URLS="http://a:1,http://b:2"
ETCD_INITIAL_CLUSTER_STATE="existing"
LARCH_NAME="a \"b\""
LARCH_INITIAL_CLUSTER="a \"b\"=http://a:1,a \"b\"=http://b:2"
LARCH_INITIAL_ADVERTISE_PEER_URLS="http://a:1,http://b:2"
LARCH_INITIAL_CLUSTER_STATE="existing"
`},
		{"remove", func(p printer) error {
			return p.MemberRemove(short, clientv3.MemberRemoveResponse{Header: h, Members: members})
		}, "Member  9434cc9ace5c60d removed from cluster 2184ec6f8bf7f6ed\n"},
		{"update", func(p printer) error {
			return p.MemberUpdate(short, clientv3.MemberUpdateResponse{Header: h, Members: members})
		}, "Member  9434cc9ace5c60d updated in cluster 2184ec6f8bf7f6ed\n"},
		{"promote", func(p printer) error {
			return p.MemberPromote(short, clientv3.MemberPromoteResponse{Header: &pb.ResponseHeader{ClusterId: 0xfedcba98765432}, Members: members})
		}, "Member  9434cc9ace5c60d promoted in cluster   fedcba98765432\n"},
		{"move_leader", func(p printer) error {
			return p.MoveLeader(short, 0xf97e86855c631539, clientv3.MoveLeaderResponse{})
		}, "Leadership transferred from 9434cc9ace5c60d to f97e86855c631539\n"},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		if err := tc.print(newPrinter("simple", false, &stdout, &stderr)); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if stdout.String() != tc.want || stderr.Len() != 0 {
			t.Errorf("%s: stdout\n%s\nwant\n%s\nstderr %q", tc.name, stdout.String(), tc.want, stderr.String())
		}
	}
}
