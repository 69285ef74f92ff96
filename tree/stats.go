package tree

import "sync/atomic"

// stats counts operations for /v2/stats/store. The counters are local to a
// member (etcd's are too) and are not part of snapshots.
type stats struct {
	gets, sets, deletes, updates, creates, cas, cad opCount
	expireCount                                     atomic.Uint64
}

// opCount counts the successes and failures of one kind of operation.
type opCount struct {
	success, fail atomic.Uint64
}

// count records the outcome of one operation and returns it as the public
// methods do (a nil *Error becomes a nil error).
func (c *opCount) count(e *Event, err *Error) (*Event, error) {
	if err != nil {
		c.fail.Add(1)
		return nil, err
	}
	c.success.Add(1)
	return e, nil
}

// Stats is the body of /v2/stats/store, in etcd's field order.
type Stats struct {
	GetSuccess              uint64 `json:"getsSuccess"`
	GetFail                 uint64 `json:"getsFail"`
	SetSuccess              uint64 `json:"setsSuccess"`
	SetFail                 uint64 `json:"setsFail"`
	DeleteSuccess           uint64 `json:"deleteSuccess"`
	DeleteFail              uint64 `json:"deleteFail"`
	UpdateSuccess           uint64 `json:"updateSuccess"`
	UpdateFail              uint64 `json:"updateFail"`
	CreateSuccess           uint64 `json:"createSuccess"`
	CreateFail              uint64 `json:"createFail"`
	CompareAndSwapSuccess   uint64 `json:"compareAndSwapSuccess"`
	CompareAndSwapFail      uint64 `json:"compareAndSwapFail"`
	CompareAndDeleteSuccess uint64 `json:"compareAndDeleteSuccess"`
	CompareAndDeleteFail    uint64 `json:"compareAndDeleteFail"`
	ExpireCount             uint64 `json:"expireCount"`
	Watchers                uint64 `json:"watchers"`
}

// Stats returns the operation counters and the number of live watchers.
func (s *Store) Stats() Stats {
	return Stats{
		GetSuccess:              s.stats.gets.success.Load(),
		GetFail:                 s.stats.gets.fail.Load(),
		SetSuccess:              s.stats.sets.success.Load(),
		SetFail:                 s.stats.sets.fail.Load(),
		DeleteSuccess:           s.stats.deletes.success.Load(),
		DeleteFail:              s.stats.deletes.fail.Load(),
		UpdateSuccess:           s.stats.updates.success.Load(),
		UpdateFail:              s.stats.updates.fail.Load(),
		CreateSuccess:           s.stats.creates.success.Load(),
		CreateFail:              s.stats.creates.fail.Load(),
		CompareAndSwapSuccess:   s.stats.cas.success.Load(),
		CompareAndSwapFail:      s.stats.cas.fail.Load(),
		CompareAndDeleteSuccess: s.stats.cad.success.Load(),
		CompareAndDeleteFail:    s.stats.cad.fail.Load(),
		ExpireCount:             s.stats.expireCount.Load(),
		Watchers:                uint64(s.hub.count.Load()),
	}
}
