package ctlv3

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	pb "go.etcd.io/etcd/api/v3/etcdserverpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// The txn grammar, as etcdctl reads it from stdin:
//
//	<compare>*  <empty line>     compares, all ANDed
//	<op>*       <empty line>     ops run when every compare holds
//	<op>*       <empty line>     ops run otherwise
//
// Lines are trimmed of surrounding space. End of input before the third empty line is an
// error ("Error: EOF", exit 3), even right after a complete line.
//
// A compare is `<target>("<key>") <op> "<value>"`: a target name, a Go-quoted key in
// parentheses, one space, an operator token, one space and a Go-quoted value. Targets:
// ver/version, c/create and m/mod take an integer value, val/value a string. Operators are
// =, !=, < and >.
//
// An op is a put, get or del command line with the same flags and argument checks as the
// real commands. Tokens are split by argify.
//
// Kept quirks of etcdctl (the compatibility contract is the bytes users see):
//   - A target of `lease`, or any other operator token (`>=`), panics inside etcd's client
//     ("panic: bad value", "panic: Unknown result op"), which ends the process with exit 2.
//   - A '…'-quoted token is cut to token[1:N-1], N being the number of tokens on the line,
//     which garbles it, or panics when N-1 is past its end.
//   - An op line of fewer than two tokens is reported as an "invalid txn compare request".

// readCompares reads compare lines up to an empty line.
func readCompares(r *bufio.Reader) ([]clientv3.Cmp, error) {
	var cmps []clientv3.Cmp
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, fail(exitInvalidInput, err)
		}
		line = strings.TrimSpace(line)
		if line == "" {
			return cmps, nil
		}
		cmp, err := parseCompare(line)
		if err != nil {
			return nil, err
		}
		cmps = append(cmps, *cmp)
	}
}

// readOps reads op lines up to an empty line.
func (c *ctl) readOps(r *bufio.Reader) ([]clientv3.Op, error) {
	var ops []clientv3.Op
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil, fail(exitInvalidInput, err)
		}
		line = strings.TrimSpace(line)
		if line == "" {
			return ops, nil
		}
		op, err := c.parseOp(line)
		if err != nil {
			return nil, err
		}
		ops = append(ops, *op)
	}
}

// parseCompare parses one compare line. Errors exit 3.
func parseCompare(line string) (*clientv3.Cmp, error) {
	target, rest, ok := strings.Cut(line, "(")
	if !ok {
		return nil, failf(exitInvalidInput, "malformed comparison: %s", line)
	}
	var key, op, val string
	// fmt's scanner defines what a quoted key or value is, and how much of the line a
	// malformed one consumes (shown back in the error message).
	n, serr := fmt.Sscanf(rest, "%q) %s %q", &key, &op, &val)
	if n != 3 {
		return nil, failf(exitInvalidInput, "malformed comparison: %s; got %s(%q) %s %q", line, target, key, op, val)
	}
	if serr != nil {
		return nil, failf(exitInvalidInput, "malformed comparison: %s (%w)", line, serr)
	}

	var (
		cmp clientv3.Cmp
		v   int64
		err error
	)
	switch target {
	case "ver", "version":
		if v, err = strconv.ParseInt(val, 10, 64); err == nil {
			cmp = clientv3.Compare(clientv3.Version(key), op, v)
		}
	case "c", "create":
		if v, err = strconv.ParseInt(val, 10, 64); err == nil {
			cmp = clientv3.Compare(clientv3.CreateRevision(key), op, v)
		}
	case "m", "mod":
		if v, err = strconv.ParseInt(val, 10, 64); err == nil {
			cmp = clientv3.Compare(clientv3.ModRevision(key), op, v)
		}
	case "val", "value":
		cmp = clientv3.Compare(clientv3.Value(key), op, val)
	case "lease":
		// etcdctl hands the string value to a lease compare, which the client refuses with
		// a panic. Kept: see the grammar notes above.
		cmp = clientv3.Compare(clientv3.Cmp{Target: pb.Compare_LEASE}, op, val)
	default:
		return nil, failf(exitInvalidInput, "malformed comparison: %s (unknown target %s)", line, target)
	}
	if err != nil {
		return nil, failf(exitInvalidInput, "invalid txn compare request: %s", line)
	}
	return &cmp, nil
}

// argRegexp matches one token of an op line: a "double-quoted" string with backslash
// escapes, a 'single-quoted' string, or a run of non-space characters.
var argRegexp = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'[^']*'|[^'"\s]\S*[^'"\s]?`)

// argify splits an op line into arguments. Double-quoted tokens are unquoted as Go
// strings (an invalid one exits 3); single-quoted ones get etcdctl's slicing quirk.
func argify(line string) ([]string, error) {
	args := argRegexp.FindAllString(line, -1)
	for i, a := range args {
		switch a[0] {
		case '\'':
			args[i] = a[1 : len(args)-1]
		case '"':
			if _, err := fmt.Sscanf(a, "%q", &args[i]); err != nil {
				return nil, fail(exitInvalidInput, err)
			}
		}
	}
	return args, nil
}

// parseOp parses one op line by running it through put, get and del commands whose Run
// builds the request instead of sending it. A line the commands reject (unknown command
// or flag) exits 3; argument errors exit as the command itself would.
func (c *ctl) parseOp(line string) (*clientv3.Op, error) {
	args, err := argify(line)
	if err != nil {
		return nil, err
	}
	if len(args) < 2 {
		return nil, failf(exitInvalidInput, "invalid txn compare request: %s", line)
	}

	var (
		op    *clientv3.Op
		opErr error
	)
	po, gpo, dpo := &putOptions{}, &getOptions{}, &delOptions{}
	put := putCommand(po)
	put.Run = func(_ *cobra.Command, args []string) {
		key, value, opts, err := po.op(args, c.env.Stdin)
		if err != nil {
			opErr = err
			return
		}
		o := clientv3.OpPut(key, value, opts...)
		op = &o
	}
	get := getCommand(gpo)
	get.Run = func(_ *cobra.Command, args []string) {
		key, opts, err := gpo.op(args)
		if err != nil {
			opErr = err
			return
		}
		o := clientv3.OpGet(key, opts...)
		op = &o
	}
	del := delCommand(dpo)
	del.Run = func(_ *cobra.Command, args []string) {
		key, opts, err := dpo.op(args, c.stderr, c.sleep)
		if err != nil {
			opErr = err
			return
		}
		o := clientv3.OpDelete(key, opts...)
		op = &o
	}

	// A root of its own, with cobra's default usage text: a flag error prints that usage
	// of the op command on stderr before the txn error.
	cmds := &cobra.Command{SilenceErrors: true}
	cmds.CompletionOptions.DisableDefaultCmd = true
	cmds.SetOut(c.stderr)
	cmds.SetErr(c.stderr)
	cmds.AddCommand(put, get, del)
	cmds.SetArgs(args)
	if err := cmds.Execute(); err != nil {
		return nil, failf(exitInvalidInput, "invalid txn request: %s", line)
	}
	if opErr != nil {
		return nil, opErr
	}
	if op == nil {
		// `get k --help`: etcdctl prints the help and then waits forever for an op that
		// never comes. larchctl reports the line instead.
		return nil, failf(exitInvalidInput, "invalid txn request: %s", line)
	}
	return op, nil
}
