package ctlv3

import (
	"fmt"
	"io"
	"strconv"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// fieldsPrinter writes one `"Name" : value` line per field. Strings are Go-quoted; with
// --hex, IDs print in hex and leases as %016x.
type fieldsPrinter struct {
	w     io.Writer
	isHex bool
	changesUnsupported
	// authUnsupported gives user get, user list and auth status, which the format
	// cannot print; the other auth commands have their methods below.
	authUnsupported
}

var _ printer = (*fieldsPrinter)(nil)

func (p *fieldsPrinter) kv(prefix string, kv *mvccpb.KeyValue) {
	fmt.Fprintf(p.w, "\"%sKey\" : %q\n", prefix, string(kv.Key))
	fmt.Fprintf(p.w, "\"%sCreateRevision\" : %d\n", prefix, kv.CreateRevision)
	fmt.Fprintf(p.w, "\"%sModRevision\" : %d\n", prefix, kv.ModRevision)
	fmt.Fprintf(p.w, "\"%sVersion\" : %d\n", prefix, kv.Version)
	fmt.Fprintf(p.w, "\"%sValue\" : %q\n", prefix, string(kv.Value))
	if p.isHex {
		fmt.Fprintf(p.w, "\"%sLease\" : %016x\n", prefix, kv.Lease)
	} else {
		fmt.Fprintf(p.w, "\"%sLease\" : %d\n", prefix, kv.Lease)
	}
}

// id prints a member or cluster ID, in hex with --hex.
func (p *fieldsPrinter) id(name string, id uint64) {
	if p.isHex {
		fmt.Fprintf(p.w, "\"%s\" : %s\n", name, strconv.FormatUint(id, 16))
	} else {
		fmt.Fprintf(p.w, "\"%s\" : %d\n", name, id)
	}
}

// hdr prints a response header. Revision is left out when it is 0, as it is in
// non-KV responses such as the member list.
func (p *fieldsPrinter) hdr(h *pb.ResponseHeader) {
	p.id("ClusterID", h.ClusterId)
	p.id("MemberID", h.MemberId)
	if h.Revision > 0 {
		fmt.Fprintf(p.w, "\"Revision\" : %d\n", h.Revision)
	}
	fmt.Fprintf(p.w, "\"RaftTerm\" : %d\n", h.RaftTerm)
}

func (p *fieldsPrinter) Del(r clientv3.DeleteResponse) error {
	p.hdr(r.Header)
	fmt.Fprintf(p.w, "\"Deleted\" : %d\n", r.Deleted)
	for _, kv := range r.PrevKvs {
		p.kv("Prev", kv)
	}
	return nil
}

func (p *fieldsPrinter) Get(r clientv3.GetResponse) error {
	p.hdr(r.Header)
	for _, kv := range r.Kvs {
		p.kv("", kv)
	}
	fmt.Fprintf(p.w, "\"More\" : %t\n", r.More)
	fmt.Fprintf(p.w, "\"Count\" : %d\n", r.Count)
	return nil
}

func (p *fieldsPrinter) Put(r clientv3.PutResponse) error {
	p.hdr(r.Header)
	if r.PrevKv != nil {
		p.kv("Prev", r.PrevKv)
	}
	return nil
}

func (p *fieldsPrinter) Txn(r clientv3.TxnResponse) error {
	p.hdr(r.Header)
	fmt.Fprintf(p.w, "\"Succeeded\" : %t\n", r.Succeeded)
	for _, op := range r.Responses {
		switch v := op.Response.(type) {
		case *pb.ResponseOp_ResponseDeleteRange:
			p.Del(clientv3.DeleteResponse(*v.ResponseDeleteRange))
		case *pb.ResponseOp_ResponsePut:
			p.Put(clientv3.PutResponse(*v.ResponsePut))
		case *pb.ResponseOp_ResponseRange:
			p.Get(clientv3.GetResponse(*v.ResponseRange))
		default: // a nested txn, which the txn grammar cannot ask for
			fmt.Fprintf(p.w, "\"Unknown\" : %q\n", fmt.Sprintf("%+v", v))
		}
	}
	return nil
}

func (p *fieldsPrinter) Watch(r clientv3.WatchResponse) error {
	p.hdr(&r.Header)
	for _, ev := range r.Events {
		fmt.Fprintf(p.w, "\"Type\" : %v\n", ev.Type)
		if ev.PrevKv != nil {
			p.kv("Prev", ev.PrevKv)
		}
		p.kv("", ev.Kv)
	}
	return nil
}

// leaseID prints a lease ID, as %016x with --hex.
func (p *fieldsPrinter) leaseID(id clientv3.LeaseID) {
	if p.isHex {
		fmt.Fprintf(p.w, "\"ID\" : %016x\n", id)
	} else {
		fmt.Fprintf(p.w, "\"ID\" : %d\n", id)
	}
}

func (p *fieldsPrinter) Grant(r clientv3.LeaseGrantResponse) error {
	p.hdr(r.ResponseHeader)
	p.leaseID(r.ID)
	fmt.Fprintf(p.w, "\"TTL\" : %d\n", r.TTL)
	return nil
}

func (p *fieldsPrinter) Revoke(_ clientv3.LeaseID, r clientv3.LeaseRevokeResponse) error {
	p.hdr(r.Header)
	return nil
}

func (p *fieldsPrinter) KeepAlive(r clientv3.LeaseKeepAliveResponse) error {
	p.hdr(r.ResponseHeader)
	p.leaseID(r.ID)
	fmt.Fprintf(p.w, "\"TTL\" : %d\n", r.TTL)
	return nil
}

// TimeToLive lists the attached keys whenever the response has them.
func (p *fieldsPrinter) TimeToLive(r clientv3.LeaseTimeToLiveResponse, _ bool) error {
	p.hdr(r.ResponseHeader)
	p.leaseID(r.ID)
	fmt.Fprintf(p.w, "\"TTL\" : %d\n", r.TTL)
	fmt.Fprintf(p.w, "\"GrantedTTL\" : %d\n", r.GrantedTTL)
	for _, k := range r.Keys {
		fmt.Fprintf(p.w, "\"Key\" : %q\n", string(k))
	}
	return nil
}

func (p *fieldsPrinter) Leases(r clientv3.LeaseLeasesResponse) error {
	p.hdr(r.ResponseHeader)
	for _, l := range r.Leases {
		p.leaseID(l.ID)
	}
	return nil
}

func (p *fieldsPrinter) MemberList(r clientv3.MemberListResponse) error {
	p.hdr(r.Header)
	for _, m := range r.Members {
		p.id("ID", m.ID)
		fmt.Fprintf(p.w, "\"Name\" : %q\n", m.Name)
		for _, u := range m.PeerURLs {
			fmt.Fprintf(p.w, "\"PeerURL\" : %q\n", u)
		}
		for _, u := range m.ClientURLs {
			fmt.Fprintf(p.w, "\"ClientURL\" : %q\n", u)
		}
		fmt.Fprintf(p.w, "\"IsLearner\" : %t\n", m.IsLearner)
		fmt.Fprintln(p.w)
	}
	return nil
}

func (p *fieldsPrinter) EndpointHealth(hs []epHealth) error {
	for _, h := range hs {
		fmt.Fprintf(p.w, "\"Endpoint\" : %q\n", h.Ep)
		fmt.Fprintf(p.w, "\"Health\" : %t\n", h.Health)
		fmt.Fprintf(p.w, "\"Took\" : %s\n", h.Took)
		fmt.Fprintf(p.w, "\"Error\" : %s\n", h.Error)
		fmt.Fprintln(p.w)
	}
	return nil
}

func (p *fieldsPrinter) EndpointStatus(sts []epStatus) error {
	for _, st := range sts {
		r := st.Resp
		p.hdr(r.Header)
		fmt.Fprintf(p.w, "\"Version\" : %q\n", r.Version)
		fmt.Fprintf(p.w, "\"StorageVersion\" : %q\n", r.StorageVersion)
		fmt.Fprintf(p.w, "\"DBSize\" : %d\n", r.DbSize)
		fmt.Fprintf(p.w, "\"DBSizeInUse\" : %d\n", r.DbSizeInUse)
		fmt.Fprintf(p.w, "\"DBSizeQuota\" : %d\n", r.DbSizeQuota)
		fmt.Fprintf(p.w, "\"Leader\" : %d\n", r.Leader)
		fmt.Fprintf(p.w, "\"IsLearner\" : %t\n", r.IsLearner)
		fmt.Fprintf(p.w, "\"RaftIndex\" : %d\n", r.RaftIndex)
		fmt.Fprintf(p.w, "\"RaftTerm\" : %d\n", r.RaftTerm)
		fmt.Fprintf(p.w, "\"RaftAppliedIndex\" : %d\n", r.RaftAppliedIndex)
		fmt.Fprintf(p.w, "\"Errors\" : %v\n", r.Errors)
		fmt.Fprintf(p.w, "\"Endpoint\" : %q\n", st.Ep)
		fmt.Fprintf(p.w, "\"DowngradeTargetVersion\" : %q\n", r.DowngradeInfo.GetTargetVersion())
		fmt.Fprintf(p.w, "\"DowngradeEnabled\" : %t\n", r.DowngradeInfo.GetEnabled())
		fmt.Fprintln(p.w)
	}
	return nil
}

func (p *fieldsPrinter) EndpointHashKV(hs []epHashKV) error {
	for _, h := range hs {
		p.hdr(h.Resp.Header)
		fmt.Fprintf(p.w, "\"Endpoint\" : %q\n", h.Ep)
		fmt.Fprintf(p.w, "\"Hash\" : %d\n", h.Resp.Hash)
		fmt.Fprintf(p.w, "\"HashRevision\" : %d\n", h.Resp.HashRevision)
		fmt.Fprintln(p.w)
	}
	return nil
}

// Alarm prints the header, then each alarm's member (in hex with --hex) and type.
//
// The response of `alarm disarm` has no header (see printer.Alarm); etcdctl dereferences
// it anyway and crashes with a nil pointer panic (exit 2). larchctl prints the alarms
// without the header lines instead.
func (p *fieldsPrinter) Alarm(r clientv3.AlarmResponse) error {
	if r.Header != nil {
		p.hdr(r.Header)
	}
	for _, a := range r.Alarms {
		p.id("MemberID", a.MemberID)
		fmt.Fprintf(p.w, "\"AlarmType\" : %v\n", a.Alarm)
		fmt.Fprintln(p.w)
	}
	return nil
}

// The auth commands print the response header, role get its permissions as well.

func (p *fieldsPrinter) RoleAdd(_ string, r clientv3.AuthRoleAddResponse) error {
	p.hdr(r.Header)
	return nil
}

// RoleGet names each permission's type after a double space, as etcdctl's Println of
// `"PermType" : ` and the type does.
func (p *fieldsPrinter) RoleGet(_ string, r clientv3.AuthRoleGetResponse) error {
	p.hdr(r.Header)
	for _, perm := range r.Perm {
		fmt.Fprintf(p.w, "\"PermType\" :  %s\n", perm.PermType)
		fmt.Fprintf(p.w, "\"Key\" : %q\n", string(perm.Key))
		fmt.Fprintf(p.w, "\"RangeEnd\" : %q\n", string(perm.RangeEnd))
	}
	return nil
}

func (p *fieldsPrinter) RoleDelete(_ string, r clientv3.AuthRoleDeleteResponse) error {
	p.hdr(r.Header)
	return nil
}

func (p *fieldsPrinter) RoleList(r clientv3.AuthRoleListResponse) error {
	p.hdr(r.Header)
	fmt.Fprint(p.w, `"Roles" :`)
	for _, role := range r.Roles {
		fmt.Fprintf(p.w, " %q", role)
	}
	fmt.Fprintln(p.w)
	return nil
}

func (p *fieldsPrinter) RoleGrantPermission(_ string, r clientv3.AuthRoleGrantPermissionResponse) error {
	p.hdr(r.Header)
	return nil
}

func (p *fieldsPrinter) RoleRevokePermission(_, _, _ string, r clientv3.AuthRoleRevokePermissionResponse) error {
	p.hdr(r.Header)
	return nil
}

func (p *fieldsPrinter) UserAdd(_ string, r clientv3.AuthUserAddResponse) error {
	p.hdr(r.Header)
	return nil
}

func (p *fieldsPrinter) UserChangePassword(r clientv3.AuthUserChangePasswordResponse) error {
	p.hdr(r.Header)
	return nil
}

func (p *fieldsPrinter) UserGrantRole(_, _ string, r clientv3.AuthUserGrantRoleResponse) error {
	p.hdr(r.Header)
	return nil
}

func (p *fieldsPrinter) UserRevokeRole(_, _ string, r clientv3.AuthUserRevokeRoleResponse) error {
	p.hdr(r.Header)
	return nil
}

func (p *fieldsPrinter) UserDelete(_ string, r clientv3.AuthUserDeleteResponse) error {
	p.hdr(r.Header)
	return nil
}
