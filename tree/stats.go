package tree

import "sync/atomic"

// stats counts operations for /v2/stats/store. The counters are local to a
// member (etcd's are too) and are not part of snapshots.
type stats struct {
	getsSuccess, getsFail     atomic.Uint64
	setsSuccess, setsFail     atomic.Uint64
	deleteSuccess, deleteFail atomic.Uint64
	updateSuccess, updateFail atomic.Uint64
	createSuccess, createFail atomic.Uint64
	casSuccess, casFail       atomic.Uint64
	cadSuccess, cadFail       atomic.Uint64
	expireCount               atomic.Uint64
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
		GetSuccess:              s.stats.getsSuccess.Load(),
		GetFail:                 s.stats.getsFail.Load(),
		SetSuccess:              s.stats.setsSuccess.Load(),
		SetFail:                 s.stats.setsFail.Load(),
		DeleteSuccess:           s.stats.deleteSuccess.Load(),
		DeleteFail:              s.stats.deleteFail.Load(),
		UpdateSuccess:           s.stats.updateSuccess.Load(),
		UpdateFail:              s.stats.updateFail.Load(),
		CreateSuccess:           s.stats.createSuccess.Load(),
		CreateFail:              s.stats.createFail.Load(),
		CompareAndSwapSuccess:   s.stats.casSuccess.Load(),
		CompareAndSwapFail:      s.stats.casFail.Load(),
		CompareAndDeleteSuccess: s.stats.cadSuccess.Load(),
		CompareAndDeleteFail:    s.stats.cadFail.Load(),
		ExpireCount:             s.stats.expireCount.Load(),
		Watchers:                uint64(s.hub.count.Load()),
	}
}
