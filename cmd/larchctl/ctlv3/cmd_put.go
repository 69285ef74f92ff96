package ctlv3

import (
	"errors"
	"io"
	"strconv"

	"github.com/spf13/cobra"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// putOptions are the flags of put, also accepted by put lines inside txn.
type putOptions struct {
	lease       string
	prevKV      bool
	ignoreValue bool
	ignoreLease bool
}

// putCommand declares put and its flags; the caller supplies Run.
func putCommand(o *putOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "put [options] <key> <value> (<value> can also be given from stdin)",
		Short: "Puts the given key into the store",
		Long: `
Puts the given key into the store.

A <value> that starts with '-' would be read as a flag. Put '--' before it:

$ put <key> -- <value>
$ put -- <key> <value>

Without a <value> argument, and unless '--ignore-value' is given, the value is read
from standard input, for example:

$ cat file | put <key>

stores the contents of the file under <key>.
`,
	}
	cmd.Flags().StringVar(&o.lease, "lease", "0", "lease ID (in hexadecimal) to attach to the key")
	cmd.Flags().BoolVar(&o.prevKV, "prev-kv", false, "return the previous key-value pair before modification")
	cmd.Flags().BoolVar(&o.ignoreValue, "ignore-value", false, "updates the key using its current value")
	cmd.Flags().BoolVar(&o.ignoreLease, "ignore-lease", false, "updates the key using its current lease")
	return cmd
}

func (c *ctl) newPutCommand() *cobra.Command {
	o := &putOptions{}
	cmd := putCommand(o)
	cmd.Run = c.run(func(cmd *cobra.Command, args []string) error {
		key, value, opts, err := o.op(args, c.env.Stdin)
		if err != nil {
			return err
		}
		cli, err := c.client(cmd)
		if err != nil {
			return err
		}
		ctx, cancel := c.commandCtx()
		resp, err := cli.Put(ctx, key, value, opts...)
		cancel()
		if err != nil {
			return fail(exitError, err)
		}
		return c.display.Put(*resp)
	})
	return cmd
}

// op checks put's arguments and builds the request. Without a value argument the value
// is all of stdin.
func (o *putOptions) op(args []string, stdin io.Reader) (key, value string, opts []clientv3.OpOption, err error) {
	errArgs := errors.New("put command needs 1 argument and input from stdin or 2 arguments")
	if len(args) == 0 {
		return "", "", nil, fail(exitBadArgs, errArgs)
	}
	key = args[0]
	if o.ignoreValue && len(args) > 1 {
		return "", "", nil, failf(exitBadArgs, "put command needs only 1 argument when 'ignore-value' is set")
	}
	if !o.ignoreValue {
		if len(args) > 1 {
			value = args[1]
		} else {
			b, rerr := io.ReadAll(stdin)
			if rerr != nil || len(b) == 0 {
				return "", "", nil, fail(exitBadArgs, errArgs)
			}
			value = string(b)
		}
	}

	id, perr := strconv.ParseInt(o.lease, 16, 64)
	if perr != nil {
		return "", "", nil, failf(exitBadArgs, "bad lease ID (%w), expecting ID in Hex", perr)
	}
	if id != 0 {
		opts = append(opts, clientv3.WithLease(clientv3.LeaseID(id)))
	}
	if o.prevKV {
		opts = append(opts, clientv3.WithPrevKV())
	}
	if o.ignoreValue {
		opts = append(opts, clientv3.WithIgnoreValue())
	}
	if o.ignoreLease {
		opts = append(opts, clientv3.WithIgnoreLease())
	}
	return key, value, opts, nil
}
