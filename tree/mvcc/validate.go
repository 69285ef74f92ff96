package mvcc

// The Validate functions check what does not depend on the store's state,
// in etcd's order, so the API layer can refuse a request before proposing
// it. What depends on the state (leases, ignore_* targets, revisions) is
// checked when the request is applied.

// ValidateRange checks a Range: a key, and sort enums inside their ranges.
func ValidateRange(req RangeRequest) error {
	if len(req.Key) == 0 {
		return ErrEmptyKey
	}
	if req.SortOrder < SortNone || req.SortOrder > SortDescend ||
		req.SortTarget < SortByKey || req.SortTarget > SortByValue {
		return ErrInvalidSortOption
	}
	return nil
}

// ValidatePut checks a Put: a key, and no value or lease next to the
// matching ignore_* flag.
func ValidatePut(req PutRequest) error {
	switch {
	case len(req.Key) == 0:
		return ErrEmptyKey
	case req.IgnoreValue && len(req.Value) != 0:
		return ErrValueProvided
	case req.IgnoreLease && req.Lease != 0:
		return ErrLeaseProvided
	}
	return nil
}

// ValidateDelete checks a DeleteRange: a key.
func ValidateDelete(req DeleteRequest) error {
	if len(req.Key) == 0 {
		return ErrEmptyKey
	}
	return nil
}

// ValidateTxn checks a Txn; maxOps is --max-txn-ops (etcd's default: 128).
//
// First the sizes and arguments, depth first: a level with n =
// max(len(Compare), len(Success), len(Failure)) > its limit gives
// ErrTooManyOps, where the top level's limit is maxOps and a nested txn's is
// its parent's limit minus the parent's n; then every compare needs a key;
// then every op, success list before failure list, is checked like the
// request it carries, and an empty Op gives ErrKeyNotFound.
//
// Then the duplicate-key rule, for the success and the failure list apart:
// within one list, nested txns included, no key may be put twice or be put
// and deleted (ErrDuplicateKey). Puts in the two branches of one nested txn
// do not conflict. As in etcd, a delete whose end is not above its key (the
// from-key and all-keys forms among them) conflicts with nothing, and a
// nested txn's puts are checked only against the deletes of its own level
// and of the nested txns before it.
func ValidateTxn(req TxnRequest, maxOps int) error {
	if err := validateTxn(&req, maxOps); err != nil {
		return err
	}
	if _, _, err := checkDuplicates(req.Success); err != nil {
		return err
	}
	_, _, err := checkDuplicates(req.Failure)
	return err
}

func validateTxn(req *TxnRequest, maxOps int) error {
	n := max(len(req.Compare), len(req.Success), len(req.Failure))
	if n > maxOps {
		return ErrTooManyOps
	}
	for i := range req.Compare {
		if len(req.Compare[i].Key) == 0 {
			return ErrEmptyKey
		}
	}
	for _, ops := range [...][]Op{req.Success, req.Failure} {
		for i := range ops {
			if err := validateOp(&ops[i], maxOps-n); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateOp(op *Op, maxOps int) error {
	switch op.kind() {
	case opRange:
		return ValidateRange(*op.Range)
	case opPut:
		return ValidatePut(*op.Put)
	case opDelete:
		return ValidateDelete(*op.Delete)
	case opTxn:
		return validateTxn(op.Txn, maxOps)
	}
	return ErrKeyNotFound
}

// span is a deleted range [begin, end) as etcd's interval tree holds it: a
// single-key delete is [k, k+"\x00"), which holds k alone. A span whose end
// is not above its begin holds no key.
type span struct{ begin, end string }

func (sp span) holds(k string) bool { return sp.begin <= k && k < sp.end }

func deleteSpan(d *DeleteRequest) span {
	if len(d.End) == 0 {
		return span{string(d.Key), string(d.Key) + "\x00"}
	}
	return span{string(d.Key), string(d.End)}
}

func anyHolds(dels []span, k string) bool {
	for _, sp := range dels {
		if sp.holds(k) {
			return true
		}
	}
	return false
}

// checkDuplicates follows etcd's checkIntervals: it returns the keys put and
// the ranges deleted by one op list, nested txns included, for the caller's
// own check. The outcome does not depend on map order: every key is checked
// against sets that only grow with other keys.
func checkDuplicates(ops []Op) (map[string]struct{}, []span, error) {
	var dels []span
	for i := range ops {
		if ops[i].kind() == opDelete {
			dels = append(dels, deleteSpan(ops[i].Delete))
		}
	}
	puts := make(map[string]struct{})
	for i := range ops {
		if ops[i].kind() != opTxn {
			continue
		}
		putsThen, delsThen, err := checkDuplicates(ops[i].Txn.Success)
		if err != nil {
			return nil, nil, err
		}
		putsElse, delsElse, err := checkDuplicates(ops[i].Txn.Failure)
		if err != nil {
			return nil, nil, err
		}
		for k := range putsThen {
			if _, dup := puts[k]; dup || anyHolds(dels, k) {
				return nil, nil, ErrDuplicateKey
			}
			puts[k] = struct{}{}
		}
		for k := range putsElse {
			if _, dup := puts[k]; dup {
				if _, sameTxn := putsThen[k]; !sameTxn {
					return nil, nil, ErrDuplicateKey
				}
			}
			if anyHolds(dels, k) {
				return nil, nil, ErrDuplicateKey
			}
			puts[k] = struct{}{}
		}
		dels = append(dels, delsThen...)
		dels = append(dels, delsElse...)
	}
	for i := range ops {
		if ops[i].kind() != opPut {
			continue
		}
		k := string(ops[i].Put.Key)
		if _, dup := puts[k]; dup || anyHolds(dels, k) {
			return nil, nil, ErrDuplicateKey
		}
		puts[k] = struct{}{}
	}
	return puts, dels, nil
}
