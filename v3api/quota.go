package v3api

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
)

// checkQuota refuses a write that would take the state past
// --quota-backend-bytes, and raises the NOSPACE alarm for this member, as
// etcd does before it proposes a put, a txn with puts or a lease grant.
// Once the alarm is raised every member's apply loop refuses such writes,
// whichever member they came through.
func (s *Server) checkQuota(ctx context.Context, cost int64) error {
	if cost == 0 || s.cfg.QuotaBackendBytes < 0 || s.member.DBSize()+cost < s.cfg.QuotaBackendBytes {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.member.RequestTimeout())
	defer cancel()
	// The write is refused whether or not the alarm could be raised now;
	// the next refused write tries again.
	_, _ = s.member.Alarm(ctx, &pb.AlarmRequest{MemberID: uint64(s.member.ID()), Action: pb.AlarmRequest_ACTIVATE, Alarm: pb.AlarmType_NOSPACE})
	return rpctypes.ErrGRPCNoSpace
}
