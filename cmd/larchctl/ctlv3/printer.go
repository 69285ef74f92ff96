package ctlv3

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// printer writes one command's response in one output format. A format that does not
// support a response returns an exit-4 error; the request has run by then, as in etcdctl.
type printer interface {
	Del(clientv3.DeleteResponse) error
	Get(clientv3.GetResponse) error
	Put(clientv3.PutResponse) error
	Txn(clientv3.TxnResponse) error
	Watch(clientv3.WatchResponse) error

	Grant(clientv3.LeaseGrantResponse) error
	Revoke(id clientv3.LeaseID, r clientv3.LeaseRevokeResponse) error
	KeepAlive(clientv3.LeaseKeepAliveResponse) error
	// TimeToLive gets --keys, which the simple format needs to tell "no keys" from
	// "not asked".
	TimeToLive(r clientv3.LeaseTimeToLiveResponse, keys bool) error
	Leases(clientv3.LeaseLeasesResponse) error

	// MemberAdd also gets the new member's name and the --peer-urls text, for the
	// environment lines of the simple format.
	MemberAdd(r clientv3.MemberAddResponse, name, peerURLs string) error
	MemberRemove(id uint64, r clientv3.MemberRemoveResponse) error
	MemberUpdate(id uint64, r clientv3.MemberUpdateResponse) error
	MemberPromote(id uint64, r clientv3.MemberPromoteResponse) error
	MemberList(clientv3.MemberListResponse) error

	EndpointHealth([]epHealth) error
	EndpointStatus([]epStatus) error
	EndpointHashKV([]epHashKV) error
	MoveLeader(leader, target uint64, r clientv3.MoveLeaderResponse) error

	// Alarm prints the alarms of `alarm list` and those `alarm disarm` cleared. The
	// response of a disarm is assembled by clientv3 from one request per alarm, so it has
	// no header.
	Alarm(clientv3.AlarmResponse) error

	authPrinter
}

// authPrinter prints the responses of the user, role and auth commands. The names of the
// user and role, and the key range of a revoked permission, are the command's arguments:
// the responses do not hold them.
type authPrinter interface {
	RoleAdd(role string, r clientv3.AuthRoleAddResponse) error
	RoleGet(role string, r clientv3.AuthRoleGetResponse) error
	RoleDelete(role string, r clientv3.AuthRoleDeleteResponse) error
	RoleList(clientv3.AuthRoleListResponse) error
	RoleGrantPermission(role string, r clientv3.AuthRoleGrantPermissionResponse) error
	RoleRevokePermission(role, key, end string, r clientv3.AuthRoleRevokePermissionResponse) error

	UserAdd(user string, r clientv3.AuthUserAddResponse) error
	UserGet(user string, r clientv3.AuthUserGetResponse) error
	UserList(clientv3.AuthUserListResponse) error
	UserChangePassword(clientv3.AuthUserChangePasswordResponse) error
	UserGrantRole(user, role string, r clientv3.AuthUserGrantRoleResponse) error
	UserRevokeRole(user, role string, r clientv3.AuthUserRevokeRoleResponse) error
	UserDelete(user string, r clientv3.AuthUserDeleteResponse) error

	AuthStatus(clientv3.AuthStatusResponse) error
}

// epHealth is one endpoint's `endpoint health` result.
type epHealth struct {
	Ep     string `json:"endpoint"`
	Health bool   `json:"health"`
	Took   string `json:"took"`
	Error  string `json:"error,omitempty"`
}

// epStatus is one endpoint's `endpoint status` result.
type epStatus struct {
	Ep   string                   `json:"Endpoint"`
	Resp *clientv3.StatusResponse `json:"Status"`
}

// epHashKV is one endpoint's `endpoint hashkv` result.
type epHashKV struct {
	Ep   string                   `json:"Endpoint"`
	Resp *clientv3.HashKVResponse `json:"HashKV"`
}

// newPrinter returns the printer for a --write-out value, or nil for an unknown one.
func newPrinter(format string, isHex bool, stdout, stderr io.Writer) printer {
	switch format {
	case "simple":
		return &simplePrinter{w: stdout, errw: stderr, isHex: isHex}
	case "fields":
		return &fieldsPrinter{w: stdout, isHex: isHex, changesUnsupported: "fields", authUnsupported: "fields"}
	case "json":
		p := &jsonPrinter{w: stdout, errw: stderr, isHex: isHex}
		p.messagePrinter = messagePrinter{func(m marshaler) error { return p.print(m) }}
		return p
	case "protobuf":
		p := &pbPrinter{w: stdout, errw: stderr}
		p.messagePrinter = messagePrinter{p.print}
		return p
	case "table":
		return &tablePrinter{w: stdout, changesUnsupported: "table", leasesUnsupported: "table", authUnsupported: "table"}
	}
	return nil
}

// messagePrinter prints the responses of membership changes, move-leader, the alarm
// commands and the auth commands as their messages, which is all the json and protobuf
// formats do with them.
type messagePrinter struct {
	show func(marshaler) error
}

func (p messagePrinter) MemberAdd(r clientv3.MemberAddResponse, _, _ string) error {
	return p.show((*pb.MemberAddResponse)(&r))
}
func (p messagePrinter) MemberRemove(_ uint64, r clientv3.MemberRemoveResponse) error {
	return p.show((*pb.MemberRemoveResponse)(&r))
}
func (p messagePrinter) MemberUpdate(_ uint64, r clientv3.MemberUpdateResponse) error {
	return p.show((*pb.MemberUpdateResponse)(&r))
}
func (p messagePrinter) MemberPromote(_ uint64, r clientv3.MemberPromoteResponse) error {
	return p.show((*pb.MemberPromoteResponse)(&r))
}
func (p messagePrinter) MoveLeader(_, _ uint64, r clientv3.MoveLeaderResponse) error {
	return p.show((*pb.MoveLeaderResponse)(&r))
}
func (p messagePrinter) Alarm(r clientv3.AlarmResponse) error {
	return p.show((*pb.AlarmResponse)(&r))
}

func (p messagePrinter) RoleAdd(_ string, r clientv3.AuthRoleAddResponse) error {
	return p.show((*pb.AuthRoleAddResponse)(&r))
}
func (p messagePrinter) RoleGet(_ string, r clientv3.AuthRoleGetResponse) error {
	return p.show((*pb.AuthRoleGetResponse)(&r))
}
func (p messagePrinter) RoleDelete(_ string, r clientv3.AuthRoleDeleteResponse) error {
	return p.show((*pb.AuthRoleDeleteResponse)(&r))
}
func (p messagePrinter) RoleList(r clientv3.AuthRoleListResponse) error {
	return p.show((*pb.AuthRoleListResponse)(&r))
}
func (p messagePrinter) RoleGrantPermission(_ string, r clientv3.AuthRoleGrantPermissionResponse) error {
	return p.show((*pb.AuthRoleGrantPermissionResponse)(&r))
}
func (p messagePrinter) RoleRevokePermission(_, _, _ string, r clientv3.AuthRoleRevokePermissionResponse) error {
	return p.show((*pb.AuthRoleRevokePermissionResponse)(&r))
}
func (p messagePrinter) UserAdd(_ string, r clientv3.AuthUserAddResponse) error {
	return p.show((*pb.AuthUserAddResponse)(&r))
}
func (p messagePrinter) UserGet(_ string, r clientv3.AuthUserGetResponse) error {
	return p.show((*pb.AuthUserGetResponse)(&r))
}
func (p messagePrinter) UserList(r clientv3.AuthUserListResponse) error {
	return p.show((*pb.AuthUserListResponse)(&r))
}
func (p messagePrinter) UserChangePassword(r clientv3.AuthUserChangePasswordResponse) error {
	return p.show((*pb.AuthUserChangePasswordResponse)(&r))
}
func (p messagePrinter) UserGrantRole(_, _ string, r clientv3.AuthUserGrantRoleResponse) error {
	return p.show((*pb.AuthUserGrantRoleResponse)(&r))
}
func (p messagePrinter) UserRevokeRole(_, _ string, r clientv3.AuthUserRevokeRoleResponse) error {
	return p.show((*pb.AuthUserRevokeRoleResponse)(&r))
}
func (p messagePrinter) UserDelete(_ string, r clientv3.AuthUserDeleteResponse) error {
	return p.show((*pb.AuthUserDeleteResponse)(&r))
}
func (p messagePrinter) AuthStatus(r clientv3.AuthStatusResponse) error {
	return p.show((*pb.AuthStatusResponse)(&r))
}

// changesUnsupported is the format, fields or table, that has nothing to print for
// membership changes and move-leader: etcdctl makes the change, then fails with exit 4.
type changesUnsupported string

func (f changesUnsupported) MemberAdd(clientv3.MemberAddResponse, string, string) error {
	return unsupported(string(f))
}
func (f changesUnsupported) MemberRemove(uint64, clientv3.MemberRemoveResponse) error {
	return unsupported(string(f))
}
func (f changesUnsupported) MemberUpdate(uint64, clientv3.MemberUpdateResponse) error {
	return unsupported(string(f))
}
func (f changesUnsupported) MemberPromote(uint64, clientv3.MemberPromoteResponse) error {
	return unsupported(string(f))
}
func (f changesUnsupported) MoveLeader(uint64, uint64, clientv3.MoveLeaderResponse) error {
	return unsupported(string(f))
}

// leasesUnsupported is the format, table, that has nothing to print for the lease
// commands: etcdctl makes the request, then fails with exit 4.
type leasesUnsupported string

func (f leasesUnsupported) Grant(clientv3.LeaseGrantResponse) error { return unsupported(string(f)) }
func (f leasesUnsupported) Revoke(clientv3.LeaseID, clientv3.LeaseRevokeResponse) error {
	return unsupported(string(f))
}
func (f leasesUnsupported) KeepAlive(clientv3.LeaseKeepAliveResponse) error {
	return unsupported(string(f))
}
func (f leasesUnsupported) TimeToLive(clientv3.LeaseTimeToLiveResponse, bool) error {
	return unsupported(string(f))
}
func (f leasesUnsupported) Leases(clientv3.LeaseLeasesResponse) error { return unsupported(string(f)) }

// authUnsupported is the format that has nothing to print for the auth commands: table
// for all of them, fields for user get, user list and auth status (fieldsPrinter has its own
// methods for the others). etcdctl makes the request, then fails with exit 4.
type authUnsupported string

func (f authUnsupported) RoleAdd(string, clientv3.AuthRoleAddResponse) error {
	return unsupported(string(f))
}
func (f authUnsupported) RoleGet(string, clientv3.AuthRoleGetResponse) error {
	return unsupported(string(f))
}
func (f authUnsupported) RoleDelete(string, clientv3.AuthRoleDeleteResponse) error {
	return unsupported(string(f))
}
func (f authUnsupported) RoleList(clientv3.AuthRoleListResponse) error {
	return unsupported(string(f))
}
func (f authUnsupported) RoleGrantPermission(string, clientv3.AuthRoleGrantPermissionResponse) error {
	return unsupported(string(f))
}
func (f authUnsupported) RoleRevokePermission(string, string, string, clientv3.AuthRoleRevokePermissionResponse) error {
	return unsupported(string(f))
}
func (f authUnsupported) UserAdd(string, clientv3.AuthUserAddResponse) error {
	return unsupported(string(f))
}
func (f authUnsupported) UserGet(string, clientv3.AuthUserGetResponse) error {
	return unsupported(string(f))
}
func (f authUnsupported) UserList(clientv3.AuthUserListResponse) error {
	return unsupported(string(f))
}
func (f authUnsupported) UserChangePassword(clientv3.AuthUserChangePasswordResponse) error {
	return unsupported(string(f))
}
func (f authUnsupported) UserGrantRole(string, string, clientv3.AuthUserGrantRoleResponse) error {
	return unsupported(string(f))
}
func (f authUnsupported) UserRevokeRole(string, string, clientv3.AuthUserRevokeRoleResponse) error {
	return unsupported(string(f))
}
func (f authUnsupported) UserDelete(string, clientv3.AuthUserDeleteResponse) error {
	return unsupported(string(f))
}
func (f authUnsupported) AuthStatus(clientv3.AuthStatusResponse) error {
	return unsupported(string(f))
}

// unsupported is the error of a format that cannot print a response.
func unsupported(format string) error {
	return fail(exitBadFeature, errors.New(format+" not supported as output format"))
}

// memberListTable is the member list as rows of cells, shared by the simple and table formats.
func memberListTable(r clientv3.MemberListResponse) (hdr []string, rows [][]string) {
	hdr = []string{"ID", "Status", "Name", "Peer Addrs", "Client Addrs", "Is Learner"}
	for _, m := range r.Members {
		status := "started"
		if m.Name == "" {
			status = "unstarted"
		}
		rows = append(rows, []string{
			fmt.Sprintf("%x", m.ID),
			status,
			m.Name,
			strings.Join(m.PeerURLs, ","),
			strings.Join(m.ClientURLs, ","),
			strconv.FormatBool(m.IsLearner),
		})
	}
	return hdr, rows
}

func endpointHealthTable(hs []epHealth) (hdr []string, rows [][]string) {
	hdr = []string{"endpoint", "health", "took", "error"}
	for _, h := range hs {
		rows = append(rows, []string{h.Ep, strconv.FormatBool(h.Health), h.Took, h.Error})
	}
	return hdr, rows
}

func endpointStatusTable(sts []epStatus) (hdr []string, rows [][]string) {
	hdr = []string{
		"endpoint", "ID", "version", "storage version", "db size", "in use", "percentage not in use", "quota",
		"is leader", "is learner", "raft term", "raft index", "raft applied index", "errors",
		"downgrade target version", "downgrade enabled",
	}
	for _, st := range sts {
		r := st.Resp
		rows = append(rows, []string{
			st.Ep,
			fmt.Sprintf("%x", r.Header.MemberId),
			r.Version,
			r.StorageVersion,
			humanBytes(uint64(r.DbSize)),
			humanBytes(uint64(r.DbSizeInUse)),
			fmt.Sprintf("%d%%", notInUsePercent(r.DbSize, r.DbSizeInUse)),
			humanBytes(uint64(r.DbSizeQuota)),
			strconv.FormatBool(r.Leader == r.Header.MemberId),
			strconv.FormatBool(r.IsLearner),
			strconv.FormatUint(r.RaftTerm, 10),
			strconv.FormatUint(r.RaftIndex, 10),
			strconv.FormatUint(r.RaftAppliedIndex, 10),
			strings.Join(r.Errors, ", "),
			r.DowngradeInfo.GetTargetVersion(),
			strconv.FormatBool(r.DowngradeInfo.GetEnabled()),
		})
	}
	return hdr, rows
}

func endpointHashKVTable(hs []epHashKV) (hdr []string, rows [][]string) {
	hdr = []string{"endpoint", "hash", "hash_revision"}
	for _, h := range hs {
		rows = append(rows, []string{
			h.Ep,
			strconv.FormatUint(uint64(h.Resp.Hash), 10),
			strconv.FormatInt(h.Resp.HashRevision, 10),
		})
	}
	return hdr, rows
}

// notInUsePercent is 100 − inUse·100/size in integer arithmetic. etcdctl divides by zero
// (and panics) for an empty database; larchctl reports 0 instead.
func notInUsePercent(size, inUse int64) int64 {
	if size == 0 {
		return 0
	}
	return 100 - inUse*100/size
}
