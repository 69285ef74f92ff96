package mvcc

import "bytes"

// Txn runs a transaction: every compare, at every nesting level, against the
// state before it, then the ops of the chosen branches in order. It takes one
// new revision if any op changed something. On error (a missing lease, an
// ignore_* put on a missing key, a Range at a future or compacted revision in
// a branch that runs) the store is unchanged. It does not validate req (see
// ValidateTxn). leases may be nil: then no lease exists.
//
// A nested txn's TxnResult and OpResult carry Revision 0, as etcd leaves a
// nested response header empty.
func (s *Store) Txn(req TxnRequest, leases LeaseChecker) (TxnResult, []Event, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()

	w := s.beginLocked(leases)
	w.comparePath(&req)
	res, err := w.execTxn(&req)
	if err != nil {
		w.abort()
		return TxnResult{}, nil, err
	}
	events := w.commit()
	res.Revision = s.rev
	return res, events, nil
}

// ReadTxn runs a transaction whose ops, at every level, are all ranges
// (TxnRequest.ReadOnly) under the read lock, so it neither waits for the
// apply loop's writes beyond their commit nor blocks other readers. Such a
// txn changes nothing and reports the current revision.
func (s *Store) ReadTxn(req TxnRequest) (TxnResult, error) {
	if !req.ReadOnly() {
		return TxnResult{}, errNotReadOnly
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	w := &writer{s: s, begin: s.rev}
	w.comparePath(&req)
	res, err := w.execTxn(&req)
	if err != nil {
		return TxnResult{}, err
	}
	res.Revision = s.rev
	return res, nil
}

// ReadOnly reports whether every op of the txn, nested txns included, in
// both branches, is a range.
func (t *TxnRequest) ReadOnly() bool {
	for _, ops := range [][]Op{t.Success, t.Failure} {
		for i := range ops {
			switch ops[i].kind() {
			case opRange:
			case opTxn:
				if !ops[i].Txn.ReadOnly() {
					return false
				}
			default:
				return false
			}
		}
	}
	return true
}

// Put stores one key; it is a one-op Txn, except that, like etcd's Put RPC,
// it checks the lease before the ignore_* flags.
func (s *Store) Put(req PutRequest, leases LeaseChecker) (PutResult, []Event, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()

	w := s.beginLocked(leases)
	res, err := w.putOp(&req, true)
	if err != nil {
		w.abort()
		return PutResult{}, nil, err
	}
	return res, w.commit(), nil
}

// Delete removes the keys of a range in one revision; deleting nothing
// leaves the revision alone. Events and PrevKVs come in key order.
func (s *Store) Delete(req DeleteRequest) (DeleteResult, []Event, error) {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()

	w := s.beginLocked(nil)
	res := w.deleteOp(&req)
	return res, w.commit(), nil
}

// writer runs one write transaction. It writes straight into the live tree
// (the caller holds writeMu and mu), so a Range inside the txn needs no
// overlay, and keeps what each write replaced so abort can put it back.
type writer struct {
	s       *Store
	leases  LeaseChecker
	begin   int64    // the store revision before the txn
	changes []change // in sub-revision order
	path    []bool   // compare outcome of every txn level, depth first
	pos     int      // next unread element of path
	scratch []keyEntry
}

// change is one version the txn wrote and the entry it replaced.
type change struct {
	before  keyEntry
	existed bool // whether before was in the tree
	key     []byte
	v       version
}

type opKind int

const (
	opNone opKind = iota
	opRange
	opPut
	opDelete
	opTxn
)

// kind names the op's request. Built from a protobuf oneof, an Op has at
// most one field set; if several are, the first in field order counts,
// everywhere in this package.
func (op *Op) kind() opKind {
	switch {
	case op.Range != nil:
		return opRange
	case op.Put != nil:
		return opPut
	case op.Delete != nil:
		return opDelete
	case op.Txn != nil:
		return opTxn
	}
	return opNone
}

func (s *Store) beginLocked(leases LeaseChecker) *writer {
	w := &s.w
	w.s, w.leases, w.begin = s, leases, s.rev
	w.changes, w.path, w.pos = w.changes[:0], w.path[:0], 0
	return w
}

// rev is the store revision as the next op sees it.
func (w *writer) rev() int64 {
	if len(w.changes) > 0 {
		return w.begin + 1
	}
	return w.begin
}

func (w *writer) nextRevision() Revision {
	return Revision{Main: w.begin + 1, Sub: int64(len(w.changes))}
}

func (w *writer) write(e keyEntry, existed bool, v version) {
	w.s.live += liveDelta(&e, &v)
	ne := w.s.appendVersionLocked(e, v)
	w.s.tree.ReplaceOrInsert(ne)
	w.s.size += versionSize(&v)
	if !existed {
		w.s.size += int64(len(ne.key))
	}
	w.changes = append(w.changes, change{before: e, existed: existed, key: ne.key, v: v})
}

func (w *writer) abort() {
	for i := len(w.changes) - 1; i >= 0; i-- {
		c := &w.changes[i]
		w.s.live -= liveDelta(&c.before, &c.v)
		w.s.size -= versionSize(&c.v)
		if !c.existed {
			w.s.size -= int64(len(c.key))
		}
		if c.existed {
			w.s.tree.ReplaceOrInsert(c.before)
		} else {
			w.s.tree.Delete(keyEntry{key: c.key})
		}
	}
	w.reset()
}

// commit publishes the txn's revision and returns its events. PrevKV is the
// key as it was before the txn, and nil for a put that creates the key:
// that is what etcd's watchers report (they read at ModRevision-1).
func (w *writer) commit() []Event {
	if len(w.changes) == 0 {
		w.reset()
		return nil
	}
	w.s.rev = w.begin + 1
	events := make([]Event, len(w.changes))
	var prevs []KeyValue // one block for all PrevKVs; never grown past its cap
	for i := range w.changes {
		c, ev := &w.changes[i], &events[i]
		if c.v.tombstone() {
			ev.Type = EventDelete
			ev.KV = KeyValue{Key: c.key, ModRevision: c.v.rev.Main}
		} else {
			ev.Type = EventPut
			ev.KV = kvOf(c.key, &c.v)
			if c.v.ver == 1 {
				continue
			}
		}
		if !c.existed {
			continue
		}
		if p := c.before.liveAt(w.begin); p != nil {
			if prevs == nil {
				prevs = make([]KeyValue, 0, len(w.changes))
			}
			prevs = append(prevs, kvOf(c.key, p))
			ev.PrevKV = &prevs[len(prevs)-1]
		}
	}
	w.reset()
	return events
}

// reset drops the references the scratch state holds into the tree.
func (w *writer) reset() {
	clear(w.changes)
	w.changes = w.changes[:0]
	w.leases = nil
}

func kvOf(key []byte, v *version) KeyValue {
	return KeyValue{
		Key:            key,
		Value:          v.value,
		CreateRevision: v.create,
		ModRevision:    v.rev.Main,
		Version:        v.ver,
		Lease:          v.lease,
	}
}

// comparePath evaluates the compares of req and of every nested txn in the
// branch it picks, depth first, before any op runs (etcd's compareToPath).
func (w *writer) comparePath(req *TxnRequest) {
	ok := true
	for i := range req.Compare {
		if !w.compare(&req.Compare[i]) {
			ok = false
			break
		}
	}
	w.path = append(w.path, ok)
	ops := req.Success
	if !ok {
		ops = req.Failure
	}
	for i := range ops {
		if ops[i].kind() == opTxn {
			w.comparePath(ops[i].Txn)
		}
	}
}

// compare is true if every key of c's range passes; an empty range compares
// as one missing key, whose value never matches.
func (w *writer) compare(c *Compare) bool {
	found, all := false, true
	scanRange(w.s.tree, c.Key, c.End, func(e keyEntry) bool {
		v := e.latest() // nothing is written yet: latest is the pre-txn state
		if v == nil {
			return true
		}
		found = true
		all = compareVersion(c, v)
		return all
	})
	if !found {
		return c.Target != CompareValue && compareVersion(c, &version{})
	}
	return all
}

func compareVersion(c *Compare, v *version) bool {
	n := c.Number
	if c.HasValue {
		n = 0
	}
	var r int
	switch c.Target {
	case CompareValue:
		r = bytes.Compare(v.value, c.Value)
	case CompareCreate:
		r = compareInt64(v.create, n)
	case CompareMod:
		r = compareInt64(v.rev.Main, n)
	case CompareVersion:
		r = compareInt64(v.ver, n)
	case CompareLease:
		r = compareInt64(v.lease, n)
	}
	switch c.Result {
	case CompareEqual:
		return r == 0
	case CompareNotEqual:
		return r != 0
	case CompareGreater:
		return r > 0
	case CompareLess:
		return r < 0
	}
	return true
}

func (w *writer) execTxn(req *TxnRequest) (TxnResult, error) {
	ok := w.path[w.pos]
	w.pos++
	ops := req.Success
	if !ok {
		ops = req.Failure
	}
	res := TxnResult{Succeeded: ok}
	if len(ops) > 0 {
		res.Results = make([]OpResult, len(ops))
	}
	for i := range ops {
		op, r := &ops[i], &res.Results[i]
		switch op.kind() {
		case opRange:
			rr, err := w.rangeOp(op.Range)
			if err != nil {
				return TxnResult{}, err
			}
			r.Revision, r.Range = rr.Revision, &rr
		case opPut:
			pr, err := w.putOp(op.Put, false)
			if err != nil {
				return TxnResult{}, err
			}
			r.Revision, r.Put = pr.Revision, &pr
		case opDelete:
			dr := w.deleteOp(op.Delete)
			r.Revision, r.Delete = dr.Revision, &dr
		case opTxn:
			tr, err := w.execTxn(op.Txn)
			if err != nil {
				return TxnResult{}, err
			}
			r.Txn = &tr
		}
	}
	return res, nil
}

// rangeOp is a Range inside a txn: it sees the txn's earlier writes. etcd
// checks its revision against the state before the txn, so a non-zero
// Revision above that is future, and one below the compaction (negative
// ones included) is compacted.
func (w *writer) rangeOp(req *RangeRequest) (RangeResult, error) {
	if req.Revision != 0 {
		if req.Revision > w.begin {
			return RangeResult{}, ErrFutureRev
		}
		if req.Revision < w.s.compactRev {
			return RangeResult{}, ErrCompacted
		}
	}
	cur := w.rev()
	rev := req.Revision
	if rev <= 0 {
		rev = cur
	}
	return readRange(w.s.tree, req, rev, cur), nil
}

// putOp follows etcd's put: in a txn the ignore_* flags are checked before
// the lease, in a plain Put after it (leaseFirst).
func (w *writer) putOp(req *PutRequest, leaseFirst bool) (PutResult, error) {
	if leaseFirst {
		if err := w.checkLease(req.Lease); err != nil {
			return PutResult{}, err
		}
	}
	var cur *version
	e, existed := w.s.tree.Get(keyEntry{key: req.Key})
	if existed {
		cur = e.latest()
	}
	if (req.IgnoreValue || req.IgnoreLease) && cur == nil {
		return PutResult{}, ErrKeyNotFound
	}
	if !leaseFirst {
		if err := w.checkLease(req.Lease); err != nil {
			return PutResult{}, err
		}
	}
	var res PutResult
	if req.PrevKV && cur != nil {
		kv := kvOf(e.key, cur)
		res.PrevKV = &kv
	}
	v := version{rev: w.nextRevision(), lease: req.Lease}
	if req.IgnoreValue {
		v.value = cur.value
	} else if len(req.Value) > 0 {
		v.value = bytes.Clone(req.Value)
	}
	if req.IgnoreLease {
		v.lease = cur.lease
	}
	if cur != nil {
		v.create, v.ver = cur.create, cur.ver+1
	} else {
		v.create, v.ver = v.rev.Main, 1
	}
	if !existed {
		e = keyEntry{key: bytes.Clone(req.Key), epoch: w.s.epoch}
	}
	w.write(e, existed, v)
	res.Revision = w.begin + 1
	return res, nil
}

func (w *writer) checkLease(id int64) error {
	if id != 0 && (w.leases == nil || !w.leases.LeaseExists(id)) {
		return ErrLeaseNotFound
	}
	return nil
}

func (w *writer) deleteOp(req *DeleteRequest) DeleteResult {
	live := w.scratch[:0]
	scanRange(w.s.tree, req.Key, req.End, func(e keyEntry) bool {
		if e.latest() != nil {
			live = append(live, e)
		}
		return true
	})
	res := DeleteResult{Deleted: int64(len(live))}
	if req.PrevKV && len(live) > 0 {
		res.PrevKVs = make([]KeyValue, len(live))
		for i := range live {
			res.PrevKVs[i] = kvOf(live[i].key, live[i].latest())
		}
	}
	for _, e := range live {
		w.write(e, true, version{rev: w.nextRevision()})
	}
	clear(live)
	w.scratch = live[:0]
	res.Revision = w.rev()
	return res
}
