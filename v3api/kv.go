package v3api

import (
	"context"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"

	"github.com/larchkv/larch/auth"
	"github.com/larchkv/larch/cluster"
	"github.com/larchkv/larch/tree/mvcc"
	"github.com/larchkv/larch/tree/mvcc/wire"
)

type kvServer struct {
	pb.UnimplementedKVServer
	s *Server
}

func (k *kvServer) Range(ctx context.Context, r *pb.RangeRequest) (*pb.RangeResponse, error) {
	req := wire.RangeRequest(r)
	if err := mvcc.ValidateRange(req); err != nil {
		return nil, togRPCError(err)
	}
	if !r.Serializable {
		if err := k.s.member.LinearizableReadNotify(ctx); err != nil {
			return nil, togRPCError(err)
		}
	}
	var res mvcc.RangeResult
	err := k.s.readChecked(ctx, func(c caller) error {
		return k.s.member.Auth().Check(c.user, c.rev, r.Key, r.RangeEnd, auth.Read)
	}, func() (err error) {
		res, err = k.s.member.KV().Range(req)
		return togRPCError(err)
	})
	if err != nil {
		return nil, err
	}
	resp := wire.RangeResponse(&res)
	k.s.fillHeader(resp.Header)
	return resp, nil
}

func (k *kvServer) Put(ctx context.Context, r *pb.PutRequest) (*pb.PutResponse, error) {
	if err := k.s.checkQuota(ctx, cluster.PutCost(r)); err != nil {
		return nil, err
	}
	if err := mvcc.ValidatePut(wire.PutRequest(r)); err != nil {
		return nil, togRPCError(err)
	}
	resp, err := propose[*pb.PutResponse](ctx, k.s, &pb.InternalRaftRequest{Put: r})
	if err != nil {
		return nil, err
	}
	k.s.fillHeader(resp.Header)
	return resp, nil
}

func (k *kvServer) DeleteRange(ctx context.Context, r *pb.DeleteRangeRequest) (*pb.DeleteRangeResponse, error) {
	if err := mvcc.ValidateDelete(wire.DeleteRequest(r)); err != nil {
		return nil, togRPCError(err)
	}
	resp, err := propose[*pb.DeleteRangeResponse](ctx, k.s, &pb.InternalRaftRequest{DeleteRange: r})
	if err != nil {
		return nil, err
	}
	k.s.fillHeader(resp.Header)
	return resp, nil
}

func (k *kvServer) Txn(ctx context.Context, r *pb.TxnRequest) (*pb.TxnResponse, error) {
	if err := k.s.checkQuota(ctx, cluster.TxnCost(r)); err != nil {
		return nil, err
	}
	req := wire.TxnRequest(r)
	if err := mvcc.ValidateTxn(req, k.s.cfg.MaxTxnOps); err != nil {
		return nil, togRPCError(err)
	}
	if req.ReadOnly() {
		// A txn of reads changes nothing: serve it locally like a Range.
		if !serializable(r) {
			if err := k.s.member.LinearizableReadNotify(ctx); err != nil {
				return nil, togRPCError(err)
			}
		}
		var res mvcc.TxnResult
		err := k.s.readChecked(ctx, func(c caller) error {
			return cluster.CheckTxn(k.s.member.Auth(), c.user, c.rev, r)
		}, func() (err error) {
			res, err = k.s.member.KV().ReadTxn(req)
			return togRPCError(err)
		})
		if err != nil {
			return nil, err
		}
		resp := wire.TxnResponse(&res)
		k.s.fillHeader(resp.Header)
		return resp, nil
	}
	resp, err := propose[*pb.TxnResponse](ctx, k.s, &pb.InternalRaftRequest{Txn: r})
	if err != nil {
		return nil, err
	}
	k.s.fillHeader(resp.Header)
	return resp, nil
}

func (k *kvServer) Compact(ctx context.Context, r *pb.CompactionRequest) (*pb.CompactionResponse, error) {
	resp, err := propose[*pb.CompactionResponse](ctx, k.s, &pb.InternalRaftRequest{Compaction: r})
	if err != nil {
		return nil, err
	}
	k.s.fillHeader(resp.Header)
	return resp, nil
}

// serializable reports whether every range of a read-only txn asked for a
// serializable read; one linearizable range makes the whole txn linearizable.
func serializable(t *pb.TxnRequest) bool {
	for _, ops := range [][]*pb.RequestOp{t.Success, t.Failure} {
		for _, op := range ops {
			if r := op.GetRequestRange(); r != nil && !r.Serializable {
				return false
			}
			if n := op.GetRequestTxn(); n != nil && !serializable(n) {
				return false
			}
		}
	}
	return true
}
