// Package wire translates between etcd's v3 wire messages
// (go.etcd.io/etcd/api/v3/etcdserverpb) and the plain types of tree/mvcc, so
// the store stays free of protobuf and the API and apply layers share one
// translation.
package wire

import (
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	"go.etcd.io/etcd/api/v3/mvccpb"

	"github.com/larchkv/larch/tree/mvcc"
)

// RangeRequest converts a Range request.
func RangeRequest(r *pb.RangeRequest) mvcc.RangeRequest {
	return mvcc.RangeRequest{
		Key:               r.Key,
		End:               r.RangeEnd,
		Revision:          r.Revision,
		Limit:             r.Limit,
		SortOrder:         mvcc.SortOrder(r.SortOrder),
		SortTarget:        mvcc.SortTarget(r.SortTarget),
		KeysOnly:          r.KeysOnly,
		CountOnly:         r.CountOnly,
		MinModRevision:    r.MinModRevision,
		MaxModRevision:    r.MaxModRevision,
		MinCreateRevision: r.MinCreateRevision,
		MaxCreateRevision: r.MaxCreateRevision,
	}
}

// PutRequest converts a Put request.
func PutRequest(r *pb.PutRequest) mvcc.PutRequest {
	return mvcc.PutRequest{Key: r.Key, Value: r.Value, Lease: r.Lease, PrevKV: r.PrevKv, IgnoreValue: r.IgnoreValue, IgnoreLease: r.IgnoreLease}
}

// DeleteRequest converts a DeleteRange request.
func DeleteRequest(r *pb.DeleteRangeRequest) mvcc.DeleteRequest {
	return mvcc.DeleteRequest{Key: r.Key, End: r.RangeEnd, PrevKV: r.PrevKv}
}

// TxnRequest converts a Txn request, nested transactions included.
func TxnRequest(r *pb.TxnRequest) mvcc.TxnRequest {
	t := mvcc.TxnRequest{
		Compare: make([]mvcc.Compare, len(r.Compare)),
		Success: ops(r.Success),
		Failure: ops(r.Failure),
	}
	for i, c := range r.Compare {
		mc := mvcc.Compare{Key: c.Key, End: c.RangeEnd, Target: mvcc.CompareTarget(c.Target), Result: mvcc.CompareResult(c.Result)}
		// etcd reads the number from the union member that the target
		// names; any other member leaves it 0.
		switch u := c.TargetUnion.(type) {
		case *pb.Compare_Version:
			if c.Target == pb.Compare_VERSION {
				mc.Number = u.Version
			}
		case *pb.Compare_CreateRevision:
			if c.Target == pb.Compare_CREATE {
				mc.Number = u.CreateRevision
			}
		case *pb.Compare_ModRevision:
			if c.Target == pb.Compare_MOD {
				mc.Number = u.ModRevision
			}
		case *pb.Compare_Lease:
			if c.Target == pb.Compare_LEASE {
				mc.Number = u.Lease
			}
		case *pb.Compare_Value:
			mc.Value, mc.HasValue = u.Value, true
		}
		t.Compare[i] = mc
	}
	return t
}

func ops(in []*pb.RequestOp) []mvcc.Op {
	out := make([]mvcc.Op, len(in))
	for i, op := range in {
		switch u := op.Request.(type) {
		case *pb.RequestOp_RequestRange:
			if u.RequestRange != nil {
				rr := RangeRequest(u.RequestRange)
				out[i].Range = &rr
			}
		case *pb.RequestOp_RequestPut:
			if u.RequestPut != nil {
				pr := PutRequest(u.RequestPut)
				out[i].Put = &pr
			}
		case *pb.RequestOp_RequestDeleteRange:
			if u.RequestDeleteRange != nil {
				dr := DeleteRequest(u.RequestDeleteRange)
				out[i].Delete = &dr
			}
		case *pb.RequestOp_RequestTxn:
			if u.RequestTxn != nil {
				tr := TxnRequest(u.RequestTxn)
				out[i].Txn = &tr
			}
		}
	}
	return out
}

// KeyValue converts one key-value version to its wire form.
func KeyValue(kv *mvcc.KeyValue) *mvccpb.KeyValue {
	if kv == nil {
		return nil
	}
	return &mvccpb.KeyValue{Key: kv.Key, Value: kv.Value, CreateRevision: kv.CreateRevision, ModRevision: kv.ModRevision, Version: kv.Version, Lease: kv.Lease}
}

func keyValues(kvs []mvcc.KeyValue) []*mvccpb.KeyValue {
	if len(kvs) == 0 {
		return nil
	}
	out := make([]*mvccpb.KeyValue, len(kvs))
	backing := make([]mvccpb.KeyValue, len(kvs))
	for i := range kvs {
		kv := &kvs[i]
		backing[i] = mvccpb.KeyValue{Key: kv.Key, Value: kv.Value, CreateRevision: kv.CreateRevision, ModRevision: kv.ModRevision, Version: kv.Version, Lease: kv.Lease}
		out[i] = &backing[i]
	}
	return out
}

// RangeResponse converts a range result; the header carries only the revision.
func RangeResponse(r *mvcc.RangeResult) *pb.RangeResponse {
	return &pb.RangeResponse{Header: &pb.ResponseHeader{Revision: r.Revision}, Kvs: keyValues(r.KVs), Count: r.Count, More: r.More}
}

// PutResponse converts a put result.
func PutResponse(r *mvcc.PutResult) *pb.PutResponse {
	return &pb.PutResponse{Header: &pb.ResponseHeader{Revision: r.Revision}, PrevKv: KeyValue(r.PrevKV)}
}

// DeleteResponse converts a delete result.
func DeleteResponse(r *mvcc.DeleteResult) *pb.DeleteRangeResponse {
	return &pb.DeleteRangeResponse{Header: &pb.ResponseHeader{Revision: r.Revision}, Deleted: r.Deleted, PrevKvs: keyValues(r.PrevKVs)}
}

// TxnResponse converts a txn result. Each op's header carries the revision
// that op saw; a nested txn's header is empty, as etcd sends it.
func TxnResponse(r *mvcc.TxnResult) *pb.TxnResponse {
	resp := txnResponse(r)
	resp.Header = &pb.ResponseHeader{Revision: r.Revision}
	return resp
}

func txnResponse(r *mvcc.TxnResult) *pb.TxnResponse {
	resp := &pb.TxnResponse{Header: &pb.ResponseHeader{}, Succeeded: r.Succeeded, Responses: make([]*pb.ResponseOp, len(r.Results))}
	for i := range r.Results {
		res := &r.Results[i]
		op := &pb.ResponseOp{}
		switch {
		case res.Range != nil:
			rr := RangeResponse(res.Range)
			rr.Header.Revision = res.Revision
			op.Response = &pb.ResponseOp_ResponseRange{ResponseRange: rr}
		case res.Put != nil:
			pr := PutResponse(res.Put)
			pr.Header.Revision = res.Revision
			op.Response = &pb.ResponseOp_ResponsePut{ResponsePut: pr}
		case res.Delete != nil:
			dr := DeleteResponse(res.Delete)
			dr.Header.Revision = res.Revision
			op.Response = &pb.ResponseOp_ResponseDeleteRange{ResponseDeleteRange: dr}
		case res.Txn != nil:
			op.Response = &pb.ResponseOp_ResponseTxn{ResponseTxn: txnResponse(res.Txn)}
		}
		resp.Responses[i] = op
	}
	return resp
}
