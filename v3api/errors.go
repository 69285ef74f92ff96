package v3api

import (
	"context"
	"errors"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/tree/lease"
	"github.com/larchkv/larch/tree/mvcc"
)

// grpcErrors maps the errors of the layers below to etcd's wire errors, so
// etcd's clients recognise them by their text.
var grpcErrors = []struct {
	err  error
	wire error
}{
	{mvcc.ErrEmptyKey, rpctypes.ErrGRPCEmptyKey},
	{mvcc.ErrKeyNotFound, rpctypes.ErrGRPCKeyNotFound},
	{mvcc.ErrValueProvided, rpctypes.ErrGRPCValueProvided},
	{mvcc.ErrLeaseProvided, rpctypes.ErrGRPCLeaseProvided},
	{mvcc.ErrLeaseNotFound, rpctypes.ErrGRPCLeaseNotFound},
	{lease.ErrNotFound, rpctypes.ErrGRPCLeaseNotFound},
	{lease.ErrExists, rpctypes.ErrGRPCLeaseExist},
	{lease.ErrTTLTooLarge, rpctypes.ErrGRPCLeaseTTLTooLarge},
	{mvcc.ErrInvalidSortOption, rpctypes.ErrGRPCInvalidSortOption},
	{mvcc.ErrTooManyOps, rpctypes.ErrGRPCTooManyOps},
	{mvcc.ErrDuplicateKey, rpctypes.ErrGRPCDuplicateKey},
	{mvcc.ErrCompacted, rpctypes.ErrGRPCCompacted},
	{mvcc.ErrFutureRev, rpctypes.ErrGRPCFutureRev},
	{cluster.ErrRequestTooLarge, rpctypes.ErrGRPCRequestTooLarge},
	{cluster.ErrNoSpace, rpctypes.ErrGRPCNoSpace},
	{cluster.ErrCorrupt, rpctypes.ErrGRPCCorrupt},
	{cluster.ErrTimeout, rpctypes.ErrGRPCTimeout},
	{cluster.ErrStopped, rpctypes.ErrGRPCStopped},
	{cluster.ErrNoLeader, rpctypes.ErrGRPCNoLeader},
	{cluster.ErrIDNotFound, rpctypes.ErrGRPCMemberNotFound},
	{cluster.ErrIDRemoved, rpctypes.ErrGRPCMemberNotFound},
	{cluster.ErrIDExists, rpctypes.ErrGRPCMemberExist},
	{cluster.ErrPeerURLExists, rpctypes.ErrGRPCPeerURLExist},
	{cluster.ErrMemberNotLearner, rpctypes.ErrGRPCMemberNotLearner},
	{cluster.ErrLearnerNotReady, rpctypes.ErrGRPCLearnerNotReady},
	{cluster.ErrTooManyLearners, rpctypes.ErrGRPCTooManyLearners},
	{cluster.ErrUnhealthy, rpctypes.ErrGRPCUnhealthy},
	// etcd sends this one with code Unknown (its map names a client-side
	// error), and clients see exactly that.
	{cluster.ErrNotEnoughStartedMembers, status.Error(codes.Unknown, cluster.ErrNotEnoughStartedMembers.Error())},
	{cluster.ErrNotLeader, rpctypes.ErrGRPCNotLeader},
	{cluster.ErrBadLeaderTransferee, rpctypes.ErrGRPCBadLeaderTransferee},
	{cluster.ErrLeaderTransferTimeout, status.Error(codes.Unknown, cluster.ErrLeaderTransferTimeout.Error())},
	{context.Canceled, rpctypes.ErrGRPCCanceled},
	{context.DeadlineExceeded, rpctypes.ErrGRPCDeadlineExceeded},
}

// togRPCError converts err into the status etcd would send for it.
func togRPCError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	for _, e := range grpcErrors {
		if errors.Is(err, e.err) {
			return e.wire
		}
	}
	for _, e := range authErrors {
		if errors.Is(err, e.err) {
			return e.wire
		}
	}
	return status.Error(codes.Unknown, err.Error())
}
