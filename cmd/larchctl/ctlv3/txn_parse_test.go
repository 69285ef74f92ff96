package ctlv3

import (
	"bufio"
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

func TestParseCompare(t *testing.T) {
	cmp := func(target pb.Compare_CompareTarget, result pb.Compare_CompareResult, key string, union any) *pb.Compare {
		c := &pb.Compare{Target: target, Result: result, Key: []byte(key)}
		switch v := union.(type) {
		case int64:
			switch target {
			case pb.Compare_VERSION:
				c.TargetUnion = &pb.Compare_Version{Version: v}
			case pb.Compare_CREATE:
				c.TargetUnion = &pb.Compare_CreateRevision{CreateRevision: v}
			case pb.Compare_MOD:
				c.TargetUnion = &pb.Compare_ModRevision{ModRevision: v}
			}
		case string:
			c.TargetUnion = &pb.Compare_Value{Value: []byte(v)}
		}
		return c
	}
	tests := []struct {
		line string
		want *pb.Compare
	}{
		{`ver("k") = "1"`, cmp(pb.Compare_VERSION, pb.Compare_EQUAL, "k", int64(1))},
		{`version("k") != "0"`, cmp(pb.Compare_VERSION, pb.Compare_NOT_EQUAL, "k", int64(0))},
		{`c("k") > "-3"`, cmp(pb.Compare_CREATE, pb.Compare_GREATER, "k", int64(-3))},
		{`create("k") < "9"`, cmp(pb.Compare_CREATE, pb.Compare_LESS, "k", int64(9))},
		{`m("k") = "2"`, cmp(pb.Compare_MOD, pb.Compare_EQUAL, "k", int64(2))},
		{`mod("a b") > "0"`, cmp(pb.Compare_MOD, pb.Compare_GREATER, "a b", int64(0))},
		{`val("k") = "x y"`, cmp(pb.Compare_VALUE, pb.Compare_EQUAL, "k", "x y")},
		{`value("k\x00") != "\n"`, cmp(pb.Compare_VALUE, pb.Compare_NOT_EQUAL, "k\x00", "\n")},
		{`val("") = ""`, cmp(pb.Compare_VALUE, pb.Compare_EQUAL, "", "")},
		// The scanner stops after the value: trailing text is ignored.
		{`val("k") = "v" trailing`, cmp(pb.Compare_VALUE, pb.Compare_EQUAL, "k", "v")},
		// Backquoted strings are Go strings too.
		{"val(`k`) = `v`", cmp(pb.Compare_VALUE, pb.Compare_EQUAL, "k", "v")},
	}
	for _, tc := range tests {
		got, err := parseCompare(tc.line)
		if err != nil {
			t.Errorf("parseCompare(%q): %v", tc.line, err)
			continue
		}
		if !reflect.DeepEqual((*pb.Compare)(got), tc.want) {
			t.Errorf("parseCompare(%q) = %v, want %v", tc.line, got, tc.want)
		}
	}
}

// TestParseCompareErrors holds every compare error line of etcdctl (spec 7.4); all exit 3.
func TestParseCompareErrors(t *testing.T) {
	tests := []struct{ line, want string }{
		{`bad`, `malformed comparison: bad`},
		{`mod(key1) > "0"`, `malformed comparison: mod(key1) > "0"; got mod("")  ""`},
		{`mod("key1") > 0`, `malformed comparison: mod("key1") > 0; got mod("key1") > ""`},
		{`mod("key1")>"0"`, `malformed comparison: mod("key1")>"0"; got mod("key1")  ""`},
		{`mod("key1") >`, `malformed comparison: mod("key1") >; got mod("key1") > ""`},
		{`foo("key1") > "0"`, `malformed comparison: foo("key1") > "0" (unknown target foo)`},
		{`Mod("key1") > "0"`, `malformed comparison: Mod("key1") > "0" (unknown target Mod)`},
		{`mod("key1") > "x"`, `invalid txn compare request: mod("key1") > "x"`},
		{`ver("key1") = "1.5"`, `invalid txn compare request: ver("key1") = "1.5"`},
		// The integer is checked before the operator, so no panic here.
		{`ver("k") >= "x"`, `invalid txn compare request: ver("k") >= "x"`},
	}
	for _, tc := range tests {
		_, err := parseCompare(tc.line)
		checkExitError(t, tc.line, err, exitInvalidInput, tc.want)
	}
}

// TestParseComparePanics: etcd's client panics on these, and etcdctl with it.
func TestParseComparePanics(t *testing.T) {
	tests := []struct{ line, want string }{
		{`lease("k") = "1"`, "bad value"},
		{`lease("k") >= "1"`, "Unknown result op"},
		{`mod("k") >= "1"`, "Unknown result op"},
		{`val("k") <> "x"`, "Unknown result op"},
		{`value("k") == "x"`, "Unknown result op"},
	}
	for _, tc := range tests {
		func() {
			defer func() {
				if r := recover(); r != tc.want {
					t.Errorf("parseCompare(%q) panicked with %v, want %q", tc.line, r, tc.want)
				}
			}()
			parseCompare(tc.line)
		}()
	}
}

func TestArgify(t *testing.T) {
	tests := []struct {
		line string
		want []string
	}{
		{`put k v`, []string{"put", "k", "v"}},
		{`  put   k    v  `, []string{"put", "k", "v"}},
		{`put k "a b\n\"c\""`, []string{"put", "k", "a b\n\"c\""}},
		{`put "k" "" x`, []string{"put", "k", "", "x"}},
		{`get a --prefix`, []string{"get", "a", "--prefix"}},
		{`put k v"w`, []string{"put", "k", `v"w`}},
		// The single-quote quirk: a '…' token becomes token[1:N-1], N the number of tokens.
		{`put k 'abc'`, []string{"put", "k", "a"}},
		{`put 'k' v`, []string{"put", "k", "v"}},
		{`put k 'abc' x y z`, []string{"put", "k", "abc'", "x", "y", "z"}},
		{`put k 'a b' x`, []string{"put", "k", "a ", "x"}},
		{`get 'x'`, []string{"get", ""}},
	}
	for _, tc := range tests {
		got, err := argify(tc.line)
		if err != nil {
			t.Errorf("argify(%q): %v", tc.line, err)
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("argify(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}

	_, err := argify(`put k "\z"`)
	checkExitError(t, `put k "\z"`, err, exitInvalidInput, "invalid syntax")

	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(error).Error(), "slice bounds out of range [:6] with length 5") {
			t.Errorf("argify with 7 tokens and a 5-byte quoted token: recovered %v", r)
		}
	}()
	argify(`put k 'abc' x y z w`)
}

func TestParseOp(t *testing.T) {
	tests := []struct {
		line string
		want clientv3.Op
	}{
		{`put k v`, clientv3.OpPut("k", "v")},
		{`put k "v w" --prev-kv`, clientv3.OpPut("k", "v w", clientv3.WithPrevKV())},
		{`put k v --lease=1f`, clientv3.OpPut("k", "v", clientv3.WithLease(0x1f))},
		{`put k --ignore-value --ignore-lease`, clientv3.OpPut("k", "", clientv3.WithIgnoreValue(), clientv3.WithIgnoreLease())},
		{`get k`, clientv3.OpGet("k", clientv3.WithLimit(0), clientv3.WithSort(clientv3.SortByKey, clientv3.SortNone))},
		{`get k --prefix --keys-only`, clientv3.OpGet("k", clientv3.WithLimit(0), clientv3.WithSort(clientv3.SortByKey, clientv3.SortNone), clientv3.WithPrefix(), clientv3.WithKeysOnly())},
		{`get a c --limit 2 --order=descend --sort-by=modify --rev=4`, clientv3.OpGet("a", clientv3.WithRange("c"), clientv3.WithLimit(2), clientv3.WithRev(4), clientv3.WithSort(clientv3.SortByModRevision, clientv3.SortDescend))},
		{`ge k --consistency=s`, clientv3.OpGet("k", clientv3.WithSerializable(), clientv3.WithLimit(0), clientv3.WithSort(clientv3.SortByKey, clientv3.SortNone))},
		{`del k --prev-kv`, clientv3.OpDelete("k", clientv3.WithPrevKV())},
		{`del "" --from-key`, clientv3.OpDelete("\x00", clientv3.WithFromKey())},
		{`del a c --range`, clientv3.OpDelete("a", clientv3.WithRange("c"))},
	}
	for _, tc := range tests {
		c := &ctl{stderr: &bytes.Buffer{}, env: Env{Stdin: strings.NewReader("")}, sleep: func(time.Duration) {}}
		got, err := c.parseOp(tc.line)
		if err != nil {
			t.Errorf("parseOp(%q): %v", tc.line, err)
			continue
		}
		if !reflect.DeepEqual(*got, tc.want) {
			t.Errorf("parseOp(%q) = %+v, want %+v", tc.line, *got, tc.want)
		}
	}
}

func TestParseOpErrors(t *testing.T) {
	tests := []struct {
		line string
		code int
		want string
	}{
		{`foo a`, exitInvalidInput, `invalid txn request: foo a`},
		{`put`, exitInvalidInput, `invalid txn compare request: put`},
		{`get`, exitInvalidInput, `invalid txn compare request: get`},
		{`get a --badflag`, exitInvalidInput, `invalid txn request: get a --badflag`},
		{`get a --help`, exitInvalidInput, `invalid txn request: get a --help`},
		{`put a`, exitBadArgs, `put command needs 1 argument and input from stdin or 2 arguments`},
		{`put a v --lease=zz`, exitBadArgs, `bad lease ID (strconv.ParseInt: parsing "zz": invalid syntax), expecting ID in Hex`},
		{`get a z --prefix`, exitBadArgs, "too many arguments, only accept one argument when `--prefix` or `--from-key` is set"},
		{`get a --consistency=x`, exitBadFeature, `unknown consistency flag "x"`},
		{`get a --order=up`, exitBadFeature, `bad sort order up`},
		{`del a b c`, exitBadArgs, `del command needs one argument as key and an optional argument as range_end`},
	}
	for _, tc := range tests {
		c := &ctl{stderr: &bytes.Buffer{}, env: Env{Stdin: strings.NewReader("")}, sleep: func(time.Duration) {}}
		_, err := c.parseOp(tc.line)
		checkExitError(t, tc.line, err, tc.code, tc.want)
	}
}

// TestParseOpRangeWarning: a del range inside a txn warns and waits like the del command.
func TestParseOpRangeWarning(t *testing.T) {
	var stderr bytes.Buffer
	var slept time.Duration
	c := &ctl{stderr: &stderr, env: Env{Stdin: strings.NewReader("")}, sleep: func(d time.Duration) { slept += d }}
	if _, err := c.parseOp(`del a c`); err != nil {
		t.Fatal(err)
	}
	want := "Warning: Keys between \"a\" and \"c\" will be deleted. Please interrupt the command within next 2 seconds to cancel. You can provide `--range` flag to avoid the delay.\n"
	if stderr.String() != want || slept != 2*time.Second {
		t.Errorf("stderr %q after sleeping %v", stderr.String(), slept)
	}
}

// TestReadSections: sections end at empty lines (after trimming); EOF anywhere before the
// end of a section is an error, even after a complete line.
func TestReadSections(t *testing.T) {
	c := &ctl{stderr: &bytes.Buffer{}, env: Env{Stdin: strings.NewReader("")}, sleep: func(time.Duration) {}}
	r := bufio.NewReader(strings.NewReader("  val(\"a\") = \"1\"  \n\t\nput a 2\n  \n"))
	cmps, err := readCompares(r)
	if err != nil || len(cmps) != 1 {
		t.Fatalf("readCompares = %v, %v", cmps, err)
	}
	ops, err := c.readOps(r)
	if err != nil || len(ops) != 1 {
		t.Fatalf("readOps = %v, %v", ops, err)
	}
	_, err = c.readOps(r)
	checkExitError(t, "third section", err, exitInvalidInput, "EOF")

	_, err = c.readOps(bufio.NewReader(strings.NewReader("put a b")))
	checkExitError(t, "no newline", err, exitInvalidInput, "EOF")
}

func checkExitError(t *testing.T, what string, err error, code int, msg string) {
	t.Helper()
	var ce *commandError
	if !errors.As(err, &ce) {
		t.Errorf("%s: error %v, want exit %d %q", what, err, code, msg)
		return
	}
	if ce.code != code || ce.Error() != msg {
		t.Errorf("%s: exit %d %q, want exit %d %q", what, ce.code, ce.Error(), code, msg)
	}
}
