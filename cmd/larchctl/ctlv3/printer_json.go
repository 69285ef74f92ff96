package ctlv3

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// jsonPrinter marshals the response messages with encoding/json, so the keys are the
// json tags of the generated gogo structs (`cluster_id`, `create_revision`, `peerURLs`),
// 64-bit integers are numbers, bytes are base64 and zero values are left out.
type jsonPrinter struct {
	w     io.Writer
	errw  io.Writer
	isHex bool
	messagePrinter
}

var _ printer = (*jsonPrinter)(nil)

func (p *jsonPrinter) print(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		fmt.Fprintf(p.errw, "%v\n", err)
		return nil
	}
	fmt.Fprintln(p.w, string(b))
	return nil
}

func (p *jsonPrinter) Del(r clientv3.DeleteResponse) error {
	return p.print((*pb.DeleteRangeResponse)(&r))
}
func (p *jsonPrinter) Get(r clientv3.GetResponse) error { return p.print((*pb.RangeResponse)(&r)) }
func (p *jsonPrinter) Put(r clientv3.PutResponse) error { return p.print((*pb.PutResponse)(&r)) }
func (p *jsonPrinter) Txn(r clientv3.TxnResponse) error { return p.print((*pb.TxnResponse)(&r)) }

// Watch marshals clientv3's WatchResponse itself, not the message, so its keys are the Go
// field names ("Header", "Events", "CompactRevision", "Canceled", "Created").
func (p *jsonPrinter) Watch(r clientv3.WatchResponse) error { return p.print(&r) }

// The lease responses are clientv3's structs, not messages: the header's fields are
// inlined, and ID and TTL keep their Go names unless a json tag renames them.
func (p *jsonPrinter) Grant(r clientv3.LeaseGrantResponse) error { return p.print(r) }
func (p *jsonPrinter) Revoke(_ clientv3.LeaseID, r clientv3.LeaseRevokeResponse) error {
	return p.print(r)
}
func (p *jsonPrinter) KeepAlive(r clientv3.LeaseKeepAliveResponse) error { return p.print(r) }
func (p *jsonPrinter) TimeToLive(r clientv3.LeaseTimeToLiveResponse, _ bool) error {
	return p.print(&r)
}
func (p *jsonPrinter) Leases(r clientv3.LeaseLeasesResponse) error { return p.print(&r) }

func (p *jsonPrinter) EndpointHealth(hs []epHealth) error  { return p.print(hs) }
func (p *jsonPrinter) EndpointStatus(sts []epStatus) error { return p.print(sts) }

// EndpointHashKV prints null when no endpoint answered, as etcdctl marshals its nil slice.
func (p *jsonPrinter) EndpointHashKV(hs []epHashKV) error { return p.print(hs) }

// MemberList with --hex writes the IDs as hex strings. etcdctl builds that document by
// hand: no isLearner, names copied without escaping, and no members key at all for an
// empty list. larchctl writes the same bytes.
func (p *jsonPrinter) MemberList(r clientv3.MemberListResponse) error {
	if !p.isHex {
		return p.print((*pb.MemberListResponse)(&r))
	}
	var b strings.Builder
	b.WriteString(`{"header":{"cluster_id":"` + strconv.FormatUint(r.Header.ClusterId, 16))
	b.WriteString(`","member_id":"` + strconv.FormatUint(r.Header.MemberId, 16))
	b.WriteString(`","raft_term":` + strconv.FormatUint(r.Header.RaftTerm, 10) + `}`)
	for i, m := range r.Members {
		if i == 0 {
			b.WriteString(`,"members":[`)
		} else {
			b.WriteString(`,`)
		}
		b.WriteString(`{"ID":"` + strconv.FormatUint(m.ID, 16) + `","name":"` + m.Name + `","peerURLs":`)
		peers, _ := json.Marshal(m.PeerURLs)
		b.Write(peers)
		b.WriteString(`,"clientURLs":`)
		clients, _ := json.Marshal(m.ClientURLs)
		b.Write(clients)
		b.WriteString(`}`)
		if i == len(r.Members)-1 {
			b.WriteString(`]`)
		}
	}
	b.WriteString(`}`)
	fmt.Fprintln(p.w, b.String())
	return nil
}
