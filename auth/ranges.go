package auth

import (
	"bytes"
	"cmp"
	"slices"
)

// keyRange is the half-open range [begin, end) of keys; an empty end is
// past every key.
type keyRange struct {
	begin, end []byte
}

// compareEnd orders range ends, the empty end last.
func compareEnd(a, b []byte) int {
	switch {
	case len(a) == 0 && len(b) == 0:
		return 0
	case len(a) == 0:
		return 1
	case len(b) == 0:
		return -1
	}
	return bytes.Compare(a, b)
}

// before tells whether key comes before end, the empty end past every key.
func before(key, end []byte) bool { return len(end) == 0 || bytes.Compare(key, end) < 0 }

// rangeOf is the range a permission covers: a single key is [key, key\x00),
// "\x00" as the end means no end.
func rangeOf(p Permission) keyRange {
	switch {
	case len(p.RangeEnd) == 0:
		return keyRange{begin: p.Key, end: append(bytes.Clone(p.Key), 0)}
	case openEnded(p.RangeEnd):
		return keyRange{begin: p.Key}
	default:
		return keyRange{begin: p.Key, end: p.RangeEnd}
	}
}

// keyRanges are ranges sorted by begin.
type keyRanges []keyRange

// containsKey tells whether some range holds key.
func (rs keyRanges) containsKey(key []byte) bool {
	for _, r := range rs {
		if bytes.Compare(r.begin, key) > 0 {
			return false
		}
		if before(key, r.end) {
			return true
		}
	}
	return false
}

// containsRange tells whether the ranges together hold all of [key, end),
// end as in the KV API ("\x00" for no end), with etcd's rule: the ranges
// that overlap it must begin at or before key, follow each other without
// a gap, and reach its end.
func (rs keyRanges) containsRange(key, end []byte) bool {
	if openEnded(end) {
		end = nil
	}
	var covered []byte // the end of what the overlapping ranges cover
	found := false
	for _, r := range rs {
		if !before(r.begin, end) || !before(key, r.end) {
			continue
		}
		if !found {
			if bytes.Compare(r.begin, key) > 0 {
				return false
			}
			found, covered = true, r.end
			continue
		}
		if len(covered) > 0 && bytes.Compare(covered, r.begin) < 0 {
			return false // a gap
		}
		if compareEnd(r.end, covered) > 0 {
			covered = r.end
		}
	}
	return found && compareEnd(covered, end) >= 0
}

// mergedPerms are the ranges one user may read and write, from all its roles.
type mergedPerms struct {
	read, write keyRanges
}

// rebuildLocked works out every user's merged ranges again.
func (s *Store) rebuildLocked() {
	s.merged = make(map[string]*mergedPerms, len(s.users))
	for name, u := range s.users {
		m := &mergedPerms{}
		for _, rn := range u.Roles {
			r, ok := s.roles[rn]
			if !ok {
				continue
			}
			for _, p := range r.KV {
				kr := rangeOf(p)
				if p.Type == Read || p.Type == ReadWrite {
					m.read = append(m.read, kr)
				}
				if p.Type == Write || p.Type == ReadWrite {
					m.write = append(m.write, kr)
				}
			}
		}
		byBegin := func(a, b keyRange) int {
			return cmp.Or(bytes.Compare(a.begin, b.begin), compareEnd(a.end, b.end))
		}
		slices.SortFunc(m.read, byBegin)
		slices.SortFunc(m.write, byBegin)
		s.merged[name] = m
	}
}
