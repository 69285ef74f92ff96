package ctlv3

import (
	"io"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// tablePrinter draws ASCII tables; only the member list and the endpoint commands have one.
type tablePrinter struct {
	w io.Writer
	changesUnsupported
	leasesUnsupported
	authUnsupported
}

var _ printer = (*tablePrinter)(nil)

func (p *tablePrinter) Del(clientv3.DeleteResponse) error  { return unsupported("table") }
func (p *tablePrinter) Get(clientv3.GetResponse) error     { return unsupported("table") }
func (p *tablePrinter) Put(clientv3.PutResponse) error     { return unsupported("table") }
func (p *tablePrinter) Txn(clientv3.TxnResponse) error     { return unsupported("table") }
func (p *tablePrinter) Watch(clientv3.WatchResponse) error { return unsupported("table") }
func (p *tablePrinter) Alarm(clientv3.AlarmResponse) error { return unsupported("table") }

func (p *tablePrinter) MemberList(r clientv3.MemberListResponse) error {
	hdr, rows := memberListTable(r)
	writeTable(p.w, hdr, rows)
	return nil
}

func (p *tablePrinter) EndpointHealth(hs []epHealth) error {
	hdr, rows := endpointHealthTable(hs)
	writeTable(p.w, hdr, rows)
	return nil
}

func (p *tablePrinter) EndpointStatus(sts []epStatus) error {
	hdr, rows := endpointStatusTable(sts)
	writeTable(p.w, hdr, rows)
	return nil
}

func (p *tablePrinter) EndpointHashKV(hs []epHashKV) error {
	hdr, rows := endpointHashKVTable(hs)
	writeTable(p.w, hdr, rows)
	return nil
}
