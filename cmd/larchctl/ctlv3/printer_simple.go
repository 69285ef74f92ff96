package ctlv3

import (
	"encoding/hex"
	"fmt"
	"io"
	"strings"

	"go.etcd.io/etcd/api/v3/authpb"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// simplePrinter is the default format: keys and values on lines of their own, "OK" for a
// put, counts for a delete, comma-separated rows for members and endpoints.
type simplePrinter struct {
	w         io.Writer
	errw      io.Writer // unhealthy endpoints
	isHex     bool
	valueOnly bool // get --print-value-only
}

var _ printer = (*simplePrinter)(nil)

// kv prints the key line (unless valueOnly) and the value line. With --hex both are
// written as \x68\x6b.
func (p *simplePrinter) kv(kv *mvccpb.KeyValue) {
	k, v := string(kv.Key), string(kv.Value)
	if p.isHex {
		k, v = hexEscape(kv.Key), hexEscape(kv.Value)
	}
	if !p.valueOnly {
		fmt.Fprintln(p.w, k)
	}
	fmt.Fprintln(p.w, v)
}

// hexEscape writes every byte of b as \xNN.
func hexEscape(b []byte) string {
	var s strings.Builder
	h := hex.EncodeToString(b)
	for i := 0; i < len(h); i += 2 {
		s.WriteString(`\x`)
		s.WriteString(h[i : i+2])
	}
	return s.String()
}

func (p *simplePrinter) Del(r clientv3.DeleteResponse) error {
	fmt.Fprintln(p.w, r.Deleted)
	for _, kv := range r.PrevKvs {
		p.kv(kv)
	}
	return nil
}

func (p *simplePrinter) Get(r clientv3.GetResponse) error {
	for _, kv := range r.Kvs {
		p.kv(kv)
	}
	return nil
}

func (p *simplePrinter) Put(r clientv3.PutResponse) error {
	fmt.Fprintln(p.w, "OK")
	if r.PrevKv != nil {
		p.kv(r.PrevKv)
	}
	return nil
}

// Txn prints SUCCESS or FAILURE, then each op's output after an empty line.
func (p *simplePrinter) Txn(r clientv3.TxnResponse) error {
	if r.Succeeded {
		fmt.Fprintln(p.w, "SUCCESS")
	} else {
		fmt.Fprintln(p.w, "FAILURE")
	}
	for _, op := range r.Responses {
		fmt.Fprintln(p.w, "")
		switch v := op.Response.(type) {
		case *pb.ResponseOp_ResponseDeleteRange:
			p.Del(clientv3.DeleteResponse(*v.ResponseDeleteRange))
		case *pb.ResponseOp_ResponsePut:
			p.Put(clientv3.PutResponse(*v.ResponsePut))
		case *pb.ResponseOp_ResponseRange:
			p.Get(clientv3.GetResponse(*v.ResponseRange))
		default: // a nested txn, which the txn grammar cannot ask for
			fmt.Fprintf(p.w, "unexpected response %+v\n", op)
		}
	}
	return nil
}

// Watch prints each event's type, its previous key and value if any, then its key and value.
func (p *simplePrinter) Watch(r clientv3.WatchResponse) error {
	for _, ev := range r.Events {
		fmt.Fprintln(p.w, ev.Type)
		if ev.PrevKv != nil {
			p.kv(ev.PrevKv)
		}
		p.kv(ev.Kv)
	}
	return nil
}

func (p *simplePrinter) Grant(r clientv3.LeaseGrantResponse) error {
	fmt.Fprintf(p.w, "lease %016x granted with TTL(%ds)\n", r.ID, r.TTL)
	return nil
}

func (p *simplePrinter) Revoke(id clientv3.LeaseID, _ clientv3.LeaseRevokeResponse) error {
	fmt.Fprintf(p.w, "lease %016x revoked\n", id)
	return nil
}

func (p *simplePrinter) KeepAlive(r clientv3.LeaseKeepAliveResponse) error {
	fmt.Fprintf(p.w, "lease %016x keepalived with TTL(%d)\n", r.ID, r.TTL)
	return nil
}

// TimeToLive prints the keys, with --keys, as a Go string slice: [a b].
func (p *simplePrinter) TimeToLive(r clientv3.LeaseTimeToLiveResponse, keys bool) error {
	if r.GrantedTTL == 0 && r.TTL == -1 {
		fmt.Fprintf(p.w, "lease %016x already expired\n", r.ID)
		return nil
	}
	txt := fmt.Sprintf("lease %016x granted with TTL(%ds), remaining(%ds)", r.ID, r.GrantedTTL, r.TTL)
	if keys {
		ks := make([]string, len(r.Keys))
		for i, k := range r.Keys {
			ks[i] = string(k)
		}
		txt += fmt.Sprintf(", attached keys(%v)", ks)
	}
	fmt.Fprintln(p.w, txt)
	return nil
}

func (p *simplePrinter) Leases(r clientv3.LeaseLeasesResponse) error {
	fmt.Fprintf(p.w, "found %d leases\n", len(r.Leases))
	for _, l := range r.Leases {
		fmt.Fprintf(p.w, "%016x\n", l.ID)
	}
	return nil
}

// MemberAdd prints etcdctl's lines, then the settings that start the new member: etcd
// reads them as ETCD_* variables, the larch server as LARCH_* ones, so both sets follow
// (the LARCH_* lines are larchctl's addition). INITIAL_CLUSTER names every peer URL of
// every member in the response, which lists members by ID; members that have not
// started yet have no name there.
func (p *simplePrinter) MemberAdd(r clientv3.MemberAddResponse, name, peerURLs string) error {
	as := " "
	if r.Member.IsLearner {
		as = " as learner "
	}
	fmt.Fprintf(p.w, "Member %16x added%sto cluster %16x\n", r.Member.ID, as, r.Header.ClusterId)

	var cluster []string
	for _, m := range r.Members {
		n := m.Name
		if m.ID == r.Member.ID {
			n = name
		}
		for _, u := range m.PeerURLs {
			cluster = append(cluster, n+"="+u)
		}
	}
	fmt.Fprintln(p.w)
	for _, prefix := range []string{"ETCD", "LARCH"} {
		fmt.Fprintf(p.w, "%s_NAME=%q\n", prefix, name)
		fmt.Fprintf(p.w, "%s_INITIAL_CLUSTER=%q\n", prefix, strings.Join(cluster, ","))
		fmt.Fprintf(p.w, "%s_INITIAL_ADVERTISE_PEER_URLS=%q\n", prefix, peerURLs)
		fmt.Fprintf(p.w, "%s_INITIAL_CLUSTER_STATE=\"existing\"\n", prefix)
	}
	return nil
}

func (p *simplePrinter) MemberRemove(id uint64, r clientv3.MemberRemoveResponse) error {
	fmt.Fprintf(p.w, "Member %16x removed from cluster %16x\n", id, r.Header.ClusterId)
	return nil
}

func (p *simplePrinter) MemberUpdate(id uint64, r clientv3.MemberUpdateResponse) error {
	fmt.Fprintf(p.w, "Member %16x updated in cluster %16x\n", id, r.Header.ClusterId)
	return nil
}

func (p *simplePrinter) MemberPromote(id uint64, r clientv3.MemberPromoteResponse) error {
	fmt.Fprintf(p.w, "Member %16x promoted in cluster %16x\n", id, r.Header.ClusterId)
	return nil
}

func (p *simplePrinter) MemberList(r clientv3.MemberListResponse) error {
	_, rows := memberListTable(r)
	for _, row := range rows {
		fmt.Fprintln(p.w, strings.Join(row, ", "))
	}
	return nil
}

// EndpointHealth prints healthy endpoints on stdout and unhealthy ones on stderr.
func (p *simplePrinter) EndpointHealth(hs []epHealth) error {
	for _, h := range hs {
		if h.Error == "" {
			fmt.Fprintf(p.w, "%s is healthy: successfully committed proposal: took = %v\n", h.Ep, h.Took)
		} else {
			fmt.Fprintf(p.errw, "%s is unhealthy: failed to commit proposal: %v\n", h.Ep, h.Error)
		}
	}
	return nil
}

func (p *simplePrinter) EndpointStatus(sts []epStatus) error {
	_, rows := endpointStatusTable(sts)
	for _, row := range rows {
		fmt.Fprintln(p.w, strings.Join(row, ", "))
	}
	return nil
}

func (p *simplePrinter) EndpointHashKV(hs []epHashKV) error {
	_, rows := endpointHashKVTable(hs)
	for _, row := range rows {
		fmt.Fprintln(p.w, strings.Join(row, ", "))
	}
	return nil
}

// Alarm prints each alarm as its message's compact text form, which ends in a space:
// "memberID:9368506742490709939 alarm:NOSPACE ". --hex does not change it.
func (p *simplePrinter) Alarm(r clientv3.AlarmResponse) error {
	for _, a := range r.Alarms {
		fmt.Fprintln(p.w, a)
	}
	return nil
}

// MoveLeader names the members in unpadded hex.
func (p *simplePrinter) MoveLeader(leader, target uint64, _ clientv3.MoveLeaderResponse) error {
	fmt.Fprintf(p.w, "Leadership transferred from %x to %x\n", leader, target)
	return nil
}

func (p *simplePrinter) RoleAdd(role string, _ clientv3.AuthRoleAddResponse) error {
	fmt.Fprintf(p.w, "Role %s created\n", role)
	return nil
}

// RoleGet lists the keys the role may read, then those it may write: a single key as is,
// a range as [key, end), marked "(prefix key)" when it is one, and [key, <open ended> up
// to the end of the keyspace. A root role without permissions is shown with the whole
// keyspace, which it may use.
func (p *simplePrinter) RoleGet(role string, r clientv3.AuthRoleGetResponse) error {
	fmt.Fprintf(p.w, "Role %s\n", role)
	if role == "root" && r.Perm == nil {
		fmt.Fprint(p.w, "KV Read:\n\t[, <open ended>\nKV Write:\n\t[, <open ended>\n")
		return nil
	}
	fmt.Fprintln(p.w, "KV Read:")
	p.perms(r.Perm, authpb.READ)
	fmt.Fprintln(p.w, "KV Write:")
	p.perms(r.Perm, authpb.WRITE)
	return nil
}

// perms prints the permissions of type typ, counting readwrite ones as both.
func (p *simplePrinter) perms(perms []*authpb.Permission, typ authpb.Permission_Type) {
	for _, perm := range perms {
		if perm.PermType != typ && perm.PermType != authpb.READWRITE {
			continue
		}
		key, end := string(perm.Key), string(perm.RangeEnd)
		switch {
		case end == "":
			fmt.Fprintf(p.w, "\t%s\n", key)
			continue
		case end == "\x00":
			fmt.Fprintf(p.w, "\t[%s, <open ended>", key)
		default:
			fmt.Fprintf(p.w, "\t[%s, %s)", key, end)
		}
		if key != "" && clientv3.GetPrefixRangeEnd(key) == end {
			fmt.Fprintf(p.w, " (prefix %s)", key)
		}
		fmt.Fprintln(p.w)
	}
}

func (p *simplePrinter) RoleDelete(role string, _ clientv3.AuthRoleDeleteResponse) error {
	fmt.Fprintf(p.w, "Role %s deleted\n", role)
	return nil
}

func (p *simplePrinter) RoleList(r clientv3.AuthRoleListResponse) error {
	for _, role := range r.Roles {
		fmt.Fprintln(p.w, role)
	}
	return nil
}

func (p *simplePrinter) RoleGrantPermission(role string, _ clientv3.AuthRoleGrantPermissionResponse) error {
	fmt.Fprintf(p.w, "Role %s updated\n", role)
	return nil
}

func (p *simplePrinter) RoleRevokePermission(role, key, end string, _ clientv3.AuthRoleRevokePermissionResponse) error {
	switch end {
	case "":
		fmt.Fprintf(p.w, "Permission of key %s is revoked from role %s\n", key, role)
	case "\x00":
		fmt.Fprintf(p.w, "Permission of range [%s, <open ended> is revoked from role %s\n", key, role)
	default:
		fmt.Fprintf(p.w, "Permission of range [%s, %s) is revoked from role %s\n", key, end, role)
	}
	return nil
}

func (p *simplePrinter) UserAdd(user string, _ clientv3.AuthUserAddResponse) error {
	fmt.Fprintf(p.w, "User %s created\n", user)
	return nil
}

// UserGet writes "Roles:" with a space before each role, so a user without roles gets
// "Roles:" alone.
func (p *simplePrinter) UserGet(user string, r clientv3.AuthUserGetResponse) error {
	fmt.Fprintf(p.w, "User: %s\nRoles:", user)
	for _, role := range r.Roles {
		fmt.Fprint(p.w, " "+role)
	}
	fmt.Fprintln(p.w)
	return nil
}

func (p *simplePrinter) UserList(r clientv3.AuthUserListResponse) error {
	for _, user := range r.Users {
		fmt.Fprintln(p.w, user)
	}
	return nil
}

func (p *simplePrinter) UserChangePassword(clientv3.AuthUserChangePasswordResponse) error {
	fmt.Fprintln(p.w, "Password updated")
	return nil
}

func (p *simplePrinter) UserGrantRole(user, role string, _ clientv3.AuthUserGrantRoleResponse) error {
	fmt.Fprintf(p.w, "Role %s is granted to user %s\n", role, user)
	return nil
}

func (p *simplePrinter) UserRevokeRole(user, role string, _ clientv3.AuthUserRevokeRoleResponse) error {
	fmt.Fprintf(p.w, "Role %s is revoked from user %s\n", role, user)
	return nil
}

func (p *simplePrinter) UserDelete(user string, _ clientv3.AuthUserDeleteResponse) error {
	fmt.Fprintf(p.w, "User %s deleted\n", user)
	return nil
}

func (p *simplePrinter) AuthStatus(r clientv3.AuthStatusResponse) error {
	fmt.Fprintf(p.w, "Authentication Status: %t\nAuthRevision: %d\n", r.Enabled, r.AuthRevision)
	return nil
}
