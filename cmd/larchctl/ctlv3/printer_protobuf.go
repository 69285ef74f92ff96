package ctlv3

import (
	"fmt"
	"io"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// pbPrinter writes the marshalled response message, with no newline.
type pbPrinter struct {
	w    io.Writer
	errw io.Writer
	messagePrinter
}

var _ printer = (*pbPrinter)(nil)

type marshaler interface {
	Marshal() ([]byte, error)
}

func (p *pbPrinter) print(m marshaler) error {
	b, err := m.Marshal()
	if err != nil {
		fmt.Fprintf(p.errw, "%v\n", err)
		return nil
	}
	p.w.Write(b)
	return nil
}

func (p *pbPrinter) Del(r clientv3.DeleteResponse) error {
	return p.print((*pb.DeleteRangeResponse)(&r))
}
func (p *pbPrinter) Get(r clientv3.GetResponse) error { return p.print((*pb.RangeResponse)(&r)) }
func (p *pbPrinter) Put(r clientv3.PutResponse) error { return p.print((*pb.PutResponse)(&r)) }
func (p *pbPrinter) Txn(r clientv3.TxnResponse) error { return p.print((*pb.TxnResponse)(&r)) }
func (p *pbPrinter) MemberList(r clientv3.MemberListResponse) error {
	return p.print((*pb.MemberListResponse)(&r))
}

// Watch marshals the fields of the response that clientv3 keeps: no watch ID, fragment
// flag or cancel reason.
func (p *pbPrinter) Watch(r clientv3.WatchResponse) error {
	evs := make([]*mvccpb.Event, len(r.Events))
	for i, ev := range r.Events {
		evs[i] = (*mvccpb.Event)(ev)
	}
	return p.print(&pb.WatchResponse{
		Header:          &r.Header,
		Events:          evs,
		CompactRevision: r.CompactRevision,
		Canceled:        r.Canceled,
		Created:         r.Created,
	})
}

// The lease responses are clientv3's own types, not messages. Those that embed the
// response header have its Marshal method, so etcdctl prints the header alone; the
// revoke response has none, and etcdctl makes the request, then refuses to print it.
func (p *pbPrinter) Grant(r clientv3.LeaseGrantResponse) error { return p.print(r.ResponseHeader) }
func (p *pbPrinter) Revoke(_ clientv3.LeaseID, r clientv3.LeaseRevokeResponse) error {
	return marshalUnsupported(r)
}
func (p *pbPrinter) KeepAlive(r clientv3.LeaseKeepAliveResponse) error {
	return p.print(r.ResponseHeader)
}
func (p *pbPrinter) TimeToLive(r clientv3.LeaseTimeToLiveResponse, _ bool) error {
	return p.print(r.ResponseHeader)
}
func (p *pbPrinter) Leases(r clientv3.LeaseLeasesResponse) error { return p.print(r.ResponseHeader) }

// marshalUnsupported is etcdctl's error for a response that is not a message.
func marshalUnsupported(v any) error {
	return failf(exitBadFeature, "marshal unsupported for type %T (%v)", v, v)
}

func (p *pbPrinter) EndpointHealth([]epHealth) error { return unsupported("protobuf") }
func (p *pbPrinter) EndpointStatus([]epStatus) error { return unsupported("protobuf") }
func (p *pbPrinter) EndpointHashKV([]epHashKV) error { return unsupported("protobuf") }
