package mvcc

import (
	"bytes"
	"cmp"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"
)

// model is the slow, obviously correct reference the store is checked
// against: every version of every key ever written, in a map, never dropped;
// compaction only moves compactRev. etcd's rules are written out plainly,
// without an index, copy-on-write or undo.
type model struct {
	hist       map[string][]mver
	rev        int64
	compactRev int64
}

type mver struct {
	rev                Revision
	tomb               bool
	value              string
	create, ver, lease int64
}

func newModel() *model { return &model{hist: map[string][]mver{}, rev: 1, compactRev: -1} }

func (m *model) clone() *model {
	c := &model{hist: map[string][]mver{}, rev: m.rev, compactRev: m.compactRev}
	for k, vs := range m.hist {
		c.hist[k] = slices.Clone(vs)
	}
	return c
}

// at returns key as of revision rev, nil if it did not exist.
func (m *model) at(key string, rev int64) *mver {
	var found *mver
	for i, v := range m.hist[key] {
		if v.rev.Main <= rev {
			found = &m.hist[key][i]
		}
	}
	if found == nil || found.tomb {
		return nil
	}
	return found
}

func (v *mver) kv(key string) KeyValue {
	return KeyValue{Key: []byte(key), Value: bs(v.value), CreateRevision: v.create, ModRevision: v.rev.Main, Version: v.ver, Lease: v.lease}
}

func inRange(k string, key, end []byte) bool {
	switch {
	case end == nil:
		return k == string(key)
	case len(end) == 0 || string(end) == "\x00":
		return k >= string(key)
	}
	return k >= string(key) && k < string(end)
}

func (m *model) keys(key, end []byte) []string {
	var out []string
	for k := range m.hist {
		if inRange(k, key, end) {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

func (m *model) live(key, end []byte, rev int64) []KeyValue {
	var kvs []KeyValue
	for _, k := range m.keys(key, end) {
		if v := m.at(k, rev); v != nil {
			kvs = append(kvs, v.kv(k))
		}
	}
	return kvs
}

func (m *model) read(req RangeRequest, rev, cur int64) RangeResult {
	kvs := m.live(req.Key, req.End, rev)
	res := RangeResult{Revision: cur, Count: int64(len(kvs))}
	if req.CountOnly {
		return res
	}
	filtered := req.MinModRevision != 0 || req.MaxModRevision != 0 || req.MinCreateRevision != 0 || req.MaxCreateRevision != 0
	if req.SortOrder == SortNone && !filtered && req.Limit > 0 && int64(len(kvs)) > req.Limit+1 {
		kvs = kvs[:req.Limit+1]
	}
	var out []KeyValue
	for _, kv := range kvs {
		if (req.MinModRevision == 0 || kv.ModRevision >= req.MinModRevision) &&
			(req.MaxModRevision == 0 || kv.ModRevision <= req.MaxModRevision) &&
			(req.MinCreateRevision == 0 || kv.CreateRevision >= req.MinCreateRevision) &&
			(req.MaxCreateRevision == 0 || kv.CreateRevision <= req.MaxCreateRevision) {
			out = append(out, kv)
		}
	}
	order := req.SortOrder
	if req.SortTarget != SortByKey && order == SortNone {
		order = SortAscend
	}
	field := func(kv KeyValue) string {
		switch req.SortTarget {
		case SortByVersion:
			return fmt.Sprintf("%020d", kv.Version)
		case SortByCreate:
			return fmt.Sprintf("%020d", kv.CreateRevision)
		case SortByMod:
			return fmt.Sprintf("%020d", kv.ModRevision)
		case SortByValue:
			return string(kv.Value)
		}
		return string(kv.Key)
	}
	switch order {
	case SortAscend:
		sort.SliceStable(out, func(i, j int) bool { return field(out[i]) < field(out[j]) })
	case SortDescend:
		sort.SliceStable(out, func(i, j int) bool { return field(out[i]) > field(out[j]) })
	}
	if req.Limit > 0 && int64(len(out)) > req.Limit {
		out, res.More = out[:req.Limit], true
	}
	if req.KeysOnly {
		for i := range out {
			out[i].Value = nil
		}
	}
	res.KVs = out
	return res
}

func (m *model) Range(req RangeRequest) (RangeResult, error) {
	rev := req.Revision
	switch {
	case rev > m.rev:
		return RangeResult{}, ErrFutureRev
	case rev <= 0:
		rev = m.rev
	}
	if rev < m.compactRev {
		return RangeResult{}, ErrCompacted
	}
	return m.read(req, rev, m.rev), nil
}

func (m *model) Compact(rev int64) error {
	switch {
	case rev <= m.compactRev:
		return ErrCompacted
	case rev > m.rev:
		return ErrFutureRev
	}
	m.compactRev = rev
	return nil
}

// mtxn is one write transaction on a copy of the model.
type mchange struct {
	key string
	idx int // in w.hist[key]
}

type mtxn struct {
	pre, w  *model
	begin   int64
	changes []mchange
	leases  LeaseChecker
	path    []bool
}

func (m *model) begin(leases LeaseChecker) *mtxn {
	return &mtxn{pre: m, w: m.clone(), begin: m.rev, leases: leases}
}

func (x *mtxn) rev() int64 {
	if len(x.changes) > 0 {
		return x.begin + 1
	}
	return x.begin
}

func (x *mtxn) write(key string, v mver) {
	v.rev = Revision{Main: x.begin + 1, Sub: int64(len(x.changes))}
	x.w.hist[key] = append(x.w.hist[key], v)
	x.changes = append(x.changes, mchange{key, len(x.w.hist[key]) - 1})
}

// commit installs the working copy and derives the events from the changes.
func (x *mtxn) commit(m *model) []Event {
	if len(x.changes) == 0 {
		return nil
	}
	*m = *x.w
	m.rev = x.begin + 1
	var evs []Event
	for _, c := range x.changes {
		v := m.hist[c.key][c.idx]
		ev := Event{Type: EventPut, KV: v.kv(c.key)}
		if v.tomb {
			ev = Event{Type: EventDelete, KV: KeyValue{Key: []byte(c.key), ModRevision: v.rev.Main}}
		}
		if v.tomb || v.ver != 1 {
			if p := x.pre.at(c.key, x.begin); p != nil {
				kv := p.kv(c.key)
				ev.PrevKV = &kv
			}
		}
		evs = append(evs, ev)
	}
	return evs
}

func (x *mtxn) put(req *PutRequest, leaseFirst bool) (PutResult, error) {
	leaseOK := req.Lease == 0 || (x.leases != nil && x.leases.LeaseExists(req.Lease))
	if leaseFirst && !leaseOK {
		return PutResult{}, ErrLeaseNotFound
	}
	key := string(req.Key)
	cur := x.w.at(key, x.begin+1)
	if (req.IgnoreValue || req.IgnoreLease) && cur == nil {
		return PutResult{}, ErrKeyNotFound
	}
	if !leaseFirst && !leaseOK {
		return PutResult{}, ErrLeaseNotFound
	}
	var res PutResult
	v := mver{value: string(req.Value), lease: req.Lease, create: x.begin + 1, ver: 1}
	if cur != nil {
		if req.PrevKV {
			kv := cur.kv(key)
			res.PrevKV = &kv
		}
		v.create, v.ver = cur.create, cur.ver+1
		if req.IgnoreValue {
			v.value = cur.value
		}
		if req.IgnoreLease {
			v.lease = cur.lease
		}
	}
	x.write(key, v)
	res.Revision = x.begin + 1
	return res, nil
}

func (x *mtxn) del(req *DeleteRequest) DeleteResult {
	kvs := x.w.live(req.Key, req.End, x.begin+1)
	res := DeleteResult{Deleted: int64(len(kvs))}
	if req.PrevKV {
		res.PrevKVs = kvs
	}
	for _, kv := range kvs {
		x.write(string(kv.Key), mver{tomb: true})
	}
	res.Revision = x.rev()
	return res
}

func (x *mtxn) rangeOp(req *RangeRequest) (RangeResult, error) {
	if req.Revision != 0 && req.Revision > x.begin {
		return RangeResult{}, ErrFutureRev
	}
	if req.Revision != 0 && req.Revision < x.pre.compactRev {
		return RangeResult{}, ErrCompacted
	}
	rev := req.Revision
	if rev <= 0 {
		rev = x.rev()
	}
	return x.w.read(*req, rev, x.rev()), nil
}

func (x *mtxn) compare(c *Compare) bool {
	kvs := x.pre.live(c.Key, c.End, x.begin)
	if len(kvs) == 0 {
		if c.Target == CompareValue {
			return false
		}
		kvs = []KeyValue{{}}
	}
	for _, kv := range kvs {
		n := c.Number
		if c.HasValue {
			n = 0
		}
		var r int
		switch c.Target {
		case CompareValue:
			r = bytes.Compare(kv.Value, c.Value)
		case CompareCreate:
			r = cmp.Compare(kv.CreateRevision, n)
		case CompareMod:
			r = cmp.Compare(kv.ModRevision, n)
		case CompareVersion:
			r = cmp.Compare(kv.Version, n)
		case CompareLease:
			r = cmp.Compare(kv.Lease, n)
		}
		ok := true
		switch c.Result {
		case CompareEqual:
			ok = r == 0
		case CompareNotEqual:
			ok = r != 0
		case CompareGreater:
			ok = r > 0
		case CompareLess:
			ok = r < 0
		}
		if !ok {
			return false
		}
	}
	return true
}

func (x *mtxn) decide(req *TxnRequest) {
	ok := true
	for i := range req.Compare {
		ok = ok && x.compare(&req.Compare[i])
	}
	x.path = append(x.path, ok)
	ops := req.Success
	if !ok {
		ops = req.Failure
	}
	for _, op := range ops {
		if op.kind() == opTxn {
			x.decide(op.Txn)
		}
	}
}

func (x *mtxn) exec(req *TxnRequest) (TxnResult, error) {
	ok := x.path[0]
	x.path = x.path[1:]
	ops := req.Success
	if !ok {
		ops = req.Failure
	}
	res := TxnResult{Succeeded: ok}
	for _, op := range ops {
		var r OpResult
		switch op.kind() {
		case opRange:
			rr, err := x.rangeOp(op.Range)
			if err != nil {
				return TxnResult{}, err
			}
			r.Revision, r.Range = rr.Revision, &rr
		case opPut:
			pr, err := x.put(op.Put, false)
			if err != nil {
				return TxnResult{}, err
			}
			r.Revision, r.Put = pr.Revision, &pr
		case opDelete:
			dr := x.del(op.Delete)
			r.Revision, r.Delete = dr.Revision, &dr
		case opTxn:
			tr, err := x.exec(op.Txn)
			if err != nil {
				return TxnResult{}, err
			}
			r.Txn = &tr
		}
		res.Results = append(res.Results, r)
	}
	return res, nil
}

func (m *model) Txn(req TxnRequest, leases LeaseChecker) (TxnResult, []Event, error) {
	x := m.begin(leases)
	x.decide(&req)
	res, err := x.exec(&req)
	if err != nil {
		return TxnResult{}, nil, err
	}
	evs := x.commit(m)
	res.Revision = m.rev
	return res, evs, nil
}

func (m *model) Put(req PutRequest, leases LeaseChecker) (PutResult, []Event, error) {
	x := m.begin(leases)
	res, err := x.put(&req, true)
	if err != nil {
		return PutResult{}, nil, err
	}
	return res, x.commit(m), nil
}

func (m *model) Delete(req DeleteRequest) (DeleteResult, []Event, error) {
	x := m.begin(nil)
	res := x.del(&req)
	return res, x.commit(m), nil
}

// generations splits a key's history after every tombstone; the last
// generation is the open one, empty if the history ends with a tombstone.
func generations(vs []mver) [][]mver {
	gens := [][]mver{nil}
	for _, v := range vs {
		gens[len(gens)-1] = append(gens[len(gens)-1], v)
		if v.tomb {
			gens = append(gens, nil)
		}
	}
	return gens
}

// compactPlan is etcd's keyIndex compaction in its own terms: generations
// that ended before at go; in the first one left, versions before its
// newest one at or below at go. It returns what is left and that newest one.
func compactPlan(vs []mver, at int64) (left []mver, newest *mver) {
	gens := generations(vs)
	for len(gens) > 1 && gens[0][len(gens[0])-1].rev.Main < at {
		gens = gens[1:]
	}
	first, start := gens[0], 0
	for i := range first {
		if first[i].rev.Main <= at {
			start, newest = i, &first[i]
		}
	}
	left = append(left, first[start:]...)
	for _, g := range gens[1:] {
		left = append(left, g...)
	}
	return left, newest
}

func (m *model) HashKV(rev int64) (uint32, int64, int64, error) {
	switch {
	case rev > 0 && rev < m.compactRev:
		return 0, 0, m.compactRev, ErrCompacted
	case rev > m.rev:
		return 0, 0, m.compactRev, ErrFutureRev
	case rev == 0:
		rev = m.rev
	}
	type item struct {
		key       string
		v         mver
		compacted bool
	}
	var items []item
	keepAny := false
	for key, vs := range m.hist {
		stored := vs
		if m.compactRev >= 0 {
			stored, _ = compactPlan(vs, m.compactRev)
		}
		_, keep := compactPlan(stored, rev)
		if keep != nil && keep.tomb {
			keep = nil
		}
		keepAny = keepAny || keep != nil
		for _, v := range stored {
			if v.rev.Main == m.compactRev && v.tomb {
				continue // etcd never hashes a tombstone at the compaction
			}
			if v.rev.Main <= rev {
				items = append(items, item{key, v, v.rev.Main <= m.compactRev && (keep == nil || keep.rev != v.rev)})
			}
		}
	}
	if keepAny {
		items = slices.DeleteFunc(items, func(it item) bool { return it.compacted })
	}
	sort.Slice(items, func(i, j int) bool {
		a, b := items[i].v.rev, items[j].v.rev
		return a.Main < b.Main || (a.Main == b.Main && a.Sub < b.Sub)
	})
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	h.Write([]byte("key"))
	for _, it := range items {
		v := version{rev: it.v.rev, create: it.v.create, ver: it.v.ver, lease: it.v.lease, value: bs(it.v.value)}
		h.Write(appendKVProto(appendRevKey(nil, &v), []byte(it.key), &v))
	}
	return h.Sum32(), rev, m.compactRev, nil
}

// gen makes random requests over a small keyspace, so that keys collide,
// ranges overlap and every corner of the rules gets hit.
type gen struct{ r *rand.Rand }

var (
	modelKeys   = []string{"a", "ab", "b", "ba", "c", "c\x00", "d", "e"}
	modelValues = []string{"", "0", "1", "x", "xy", "\xff"}
	modelLeases = []int64{0, 0, 0, 1, 2, 7}
)

func (g gen) pick(n int) int { return g.r.IntN(n) }
func (g gen) key() []byte    { return []byte(modelKeys[g.pick(len(modelKeys))]) }
func (g gen) value() []byte  { return bs(modelValues[g.pick(len(modelValues))]) }

func (g gen) end() []byte {
	switch g.pick(7) {
	case 0, 1, 2:
		return nil
	case 3:
		return []byte{0}
	case 4:
		return []byte{} // etcd: from key, like "\x00"
	}
	return g.key() // sometimes at or below the key: an empty range
}

// rev picks a revision around the interesting ones: compacted, current,
// future, and the "current" spellings 0 and -1.
func (g gen) rev(cur, compactRev int64) int64 {
	switch g.pick(4) {
	case 0:
		return 0
	case 1:
		return -1
	}
	lo := max(compactRev-1, 1)
	return lo + int64(g.pick(int(cur+2-lo)))
}

func (g gen) rangeReq(cur, compactRev int64) RangeRequest {
	req := RangeRequest{Key: g.key(), End: g.end()}
	if g.pick(2) == 0 {
		req.Revision = g.rev(cur, compactRev)
	}
	if g.pick(3) == 0 {
		req.Limit = int64(g.pick(5)) - 1
	}
	if g.pick(3) == 0 {
		req.SortOrder, req.SortTarget = SortOrder(g.pick(3)), SortTarget(g.pick(5))
	}
	req.KeysOnly = g.pick(6) == 0
	req.CountOnly = g.pick(6) == 0
	if g.pick(4) == 0 {
		bound := func() int64 {
			if g.pick(2) == 0 {
				return 0
			}
			return int64(g.pick(int(cur + 1)))
		}
		req.MinModRevision, req.MaxModRevision = bound(), bound()
		req.MinCreateRevision, req.MaxCreateRevision = bound(), bound()
	}
	return req
}

func (g gen) putReq() PutRequest {
	req := PutRequest{Key: g.key(), Value: g.value(), Lease: modelLeases[g.pick(len(modelLeases))], PrevKV: g.pick(2) == 0}
	if g.pick(5) == 0 {
		req.IgnoreValue, req.Value = true, nil
	}
	if g.pick(5) == 0 {
		req.IgnoreLease, req.Lease = true, 0
	}
	return req
}

func (g gen) deleteReq() DeleteRequest {
	return DeleteRequest{Key: g.key(), End: g.end(), PrevKV: g.pick(2) == 0}
}

func (g gen) compare() Compare {
	c := Compare{
		Key: g.key(), Target: CompareTarget(g.pick(6)), Result: CompareResult(g.pick(5)),
		Number: int64(g.pick(5)), Value: g.value(), HasValue: g.pick(6) == 0,
	}
	if g.pick(3) == 0 {
		c.End = g.end()
	}
	return c
}

func (g gen) txnReq(depth int, cur, compactRev int64) TxnRequest {
	var req TxnRequest
	for range g.pick(3) {
		req.Compare = append(req.Compare, g.compare())
	}
	ops := func(n int) []Op {
		var out []Op
		for range n {
			switch k := g.pick(10); {
			case k < 4:
				p := g.putReq()
				out = append(out, Op{Put: &p})
			case k < 6:
				d := g.deleteReq()
				out = append(out, Op{Delete: &d})
			case k < 8:
				r := g.rangeReq(cur, compactRev)
				out = append(out, Op{Range: &r})
			case k < 9 && depth < 2:
				t := g.txnReq(depth+1, cur, compactRev)
				out = append(out, Op{Txn: &t})
			default:
				out = append(out, Op{}) // applied as a no-op
			}
		}
		return out
	}
	req.Success, req.Failure = ops(g.pick(5)), ops(g.pick(4))
	return req
}

// describe prints a request readably, following pointers.
func describe(req any) string {
	switch r := req.(type) {
	case TxnRequest:
		var b strings.Builder
		fmt.Fprintf(&b, "txn{cmp %+v then [", r.Compare)
		for _, op := range r.Success {
			b.WriteString(describeOp(op) + "; ")
		}
		b.WriteString("] else [")
		for _, op := range r.Failure {
			b.WriteString(describeOp(op) + "; ")
		}
		b.WriteString("]}")
		return b.String()
	}
	return fmt.Sprintf("%T%+v", req, req)
}

func describeOp(op Op) string {
	switch op.kind() {
	case opRange:
		return describe(*op.Range)
	case opPut:
		return describe(*op.Put)
	case opDelete:
		return describe(*op.Delete)
	case opTxn:
		return describe(*op.Txn)
	}
	return "empty"
}

// keyspace is the part of a store or model the model test compares.
type keyspace interface {
	Range(RangeRequest) (RangeResult, error)
	Put(PutRequest, LeaseChecker) (PutResult, []Event, error)
	Delete(DeleteRequest) (DeleteResult, []Event, error)
	Txn(TxnRequest, LeaseChecker) (TxnResult, []Event, error)
	Compact(int64) error
	HashKV(int64) (uint32, int64, int64, error)
}

var (
	_ keyspace = (*Store)(nil)
	_ keyspace = (*model)(nil)
)

// apply runs req on k and renders everything observable about it.
func apply(k keyspace, req any, leases LeaseChecker) string {
	var out string
	var err error
	switch r := req.(type) {
	case RangeRequest:
		var res RangeResult
		res, err = k.Range(r)
		out = renderRange(res)
	case PutRequest:
		var res PutResult
		var evs []Event
		res, evs, err = k.Put(r, leases)
		out = renderPut(res) + " " + renderEvents(evs)
	case DeleteRequest:
		var res DeleteResult
		var evs []Event
		res, evs, err = k.Delete(r)
		out = renderDelete(res) + " " + renderEvents(evs)
	case TxnRequest:
		var res TxnResult
		var evs []Event
		res, evs, err = k.Txn(r, leases)
		out = renderTxn(res) + " " + renderEvents(evs)
	case compactReq:
		err = k.Compact(int64(r))
	case hashKVReq:
		h, hr, cr, e := k.HashKV(int64(r))
		out, err = fmt.Sprintf("hash=%d rev=%d compact=%d", h, hr, cr), e
	}
	if err != nil {
		return renderErr(err)
	}
	return out
}

type hashKVReq int64

// TestModel drives the store and the model with the same random requests
// and compares every result, every event, and regularly the whole history
// readable since the last compaction.
func TestModel(t *testing.T) {
	steps := 3000
	if testing.Short() {
		steps = 500
	}
	for seed := range uint64(6) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runModel(t, seed, steps) })
	}
}

func runModel(t *testing.T, seed uint64, steps int) {
	g := gen{rand.New(rand.NewPCG(seed, 0x5eed))}
	s, m := New(), newModel()
	leases := leaseSet{1: true, 2: true}

	type snap struct {
		v    *Snapshot
		m    *model
		hash uint32
	}
	var snaps []snap

	for i := range steps {
		var req any
		switch k := g.pick(40); {
		case k < 10:
			req = g.putReq()
		case k < 14:
			req = g.deleteReq()
		case k < 24:
			req = g.txnReq(0, m.rev, m.compactRev)
		case k < 26:
			// Mostly ahead of the last compaction, sometimes at or below it.
			req = compactReq(max(m.compactRev, 0) + int64(g.pick(int(m.rev-max(m.compactRev, 0)+3))) - 1)
		case k < 36:
			req = g.rangeReq(m.rev, m.compactRev)
		case k < 38:
			req = hashKVReq(g.rev(m.rev, m.compactRev))
		case k < 39:
			snaps = append(snaps, snap{s.Snapshot(), m.clone(), s.Hash()})
			continue
		default:
			checkHistory(t, s, m)
			continue
		}
		got, want := apply(s, req, leases), apply(m, req, leases)
		if got != want {
			t.Fatalf("seed %d step %d: %s\n got %s\nwant %s", seed, i, describe(req), got, want)
		}
		if s.Rev() != m.rev || s.CompactRev() != m.compactRev {
			t.Fatalf("seed %d step %d: store at %d/%d, model at %d/%d", seed, i, s.Rev(), s.CompactRev(), m.rev, m.compactRev)
		}
	}
	checkHistory(t, s, m)

	// Snapshots taken along the way still show their moment, survive a
	// round trip, and the restored store keeps working like the model.
	for i, sn := range snaps {
		var buf bytes.Buffer
		if _, err := sn.v.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		r, err := Restore(&buf)
		if err != nil {
			t.Fatalf("snapshot %d: %v", i, err)
		}
		if r.Hash() != sn.hash {
			t.Fatalf("snapshot %d: restored hash %d, want %d", i, r.Hash(), sn.hash)
		}
		checkHistory(t, r, sn.m)
		for range 20 {
			req := g.txnReq(0, sn.m.rev, sn.m.compactRev)
			if got, want := apply(r, req, leases), apply(sn.m, req, leases); got != want {
				t.Fatalf("restored snapshot %d: %s\n got %s\nwant %s", i, describe(req), got, want)
			}
		}
	}
}

// checkHistory compares every key at every readable revision, the reads
// just below the compaction, and HashKV at every revision.
func checkHistory(t *testing.T, s *Store, m *model) {
	t.Helper()
	if got, want := s.Size(), scanSize(s); got != want {
		t.Fatalf("Size() = %d, but the index holds %d", got, want)
	}
	if got, want := s.LiveKeys(), int64(len(m.live([]byte{0}, []byte{0}, m.rev))); got != want {
		t.Fatalf("LiveKeys() = %d, the model has %d keys", got, want)
	}
	if s.Rev() != m.rev || s.CompactRev() != m.compactRev {
		t.Fatalf("store at %d/%d, model at %d/%d", s.Rev(), s.CompactRev(), m.rev, m.compactRev)
	}
	for rev := max(m.compactRev-1, 1); rev <= m.rev; rev++ {
		req := RangeRequest{Key: []byte{0}, End: []byte{0}, Revision: rev}
		if got, want := apply(s, req, nil), apply(m, req, nil); got != want {
			t.Fatalf("history at %d:\n got %s\nwant %s", rev, got, want)
		}
		if got, want := apply(s, hashKVReq(rev), nil), apply(m, hashKVReq(rev), nil); got != want {
			t.Fatalf("HashKV at %d:\n got %s\nwant %s", rev, got, want)
		}
	}
}

// scanSize recomputes Size from the index, the slow obvious way.
func scanSize(s *Store) int64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n int64
	s.tree.Ascend(func(e keyEntry) bool {
		n += int64(len(e.key))
		for _, v := range e.versions {
			n += versionOverhead + int64(len(v.value))
		}
		return true
	})
	return n
}
